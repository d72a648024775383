"""Files on disk: hashes, ``.part`` files, atomic placement, and what is there.

Nothing is visible under its final name until it is whole: downloads land in
``<target>.part`` and are renamed after an fsync of the file, followed by an
fsync of the folder so that the rename itself survives a crash.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from fetcher.types import Disk

CHUNK = 1 << 20
PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".part.json"


class Hasher:
    """sha256 (and optionally md5) and a byte count, fed chunk by chunk."""

    def __init__(self, *, md5: bool = True) -> None:
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None

    def update(self, chunk: bytes) -> None:
        """Account for the next chunk of the stream."""
        self.size += len(chunk)
        self._sha256.update(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)

    @property
    def sha256(self) -> str:
        """Hex sha256 of everything fed so far."""
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str | None:
        """Hex md5 of everything fed so far, or None when not computed."""
        return self._md5.hexdigest() if self._md5 is not None else None


def read_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


def hash_file(path: Path, hasher: Hasher | None = None) -> tuple[int, str, str | None]:
    """Hash a file in constant memory.

    Args:
        path: The file to read.
        hasher: Feed this hasher instead of a fresh one (to continue from the file).

    Returns:
        ``(size, sha256, md5)`` of the file's bytes; md5 is None unless the given
        hasher computes it.
    """
    hasher = hasher or Hasher(md5=False)  # md5 costs twice sha256; only sources offer it
    with open(path, "rb") as handle:
        for chunk in read_chunks(handle):
            hasher.update(chunk)
    return hasher.size, hasher.sha256, hasher.md5


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in constant memory."""
    hasher = Hasher(md5=False)
    hash_file(path, hasher)
    return hasher.sha256


def part_path(target: Path) -> Path:
    """Where the bytes of ``target`` accumulate until they are verified."""
    return target.with_name(target.name + PART_SUFFIX)


def sidecar_path(target: Path) -> Path:
    """Where the validators of ``target``'s ``.part`` file are kept across restarts."""
    return target.with_name(target.name + SIDECAR_SUFFIX)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (and Windows) cannot fsync a folder; the rename still holds
    finally:
        os.close(fd)


def finalize(part: Path, target: Path) -> None:
    """fsync ``part``, rename it over ``target`` atomically, then fsync the folder."""
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part, target)
    fsync_dir(target.parent)


def discard(*paths: Path) -> None:
    """Remove files if present."""
    for path in paths:
        path.unlink(missing_ok=True)


def remove_partials(folder: Path) -> list[Path]:
    """Remove every ``.part`` file and sidecar under ``folder``.

    Args:
        folder: Folder to clean, recursively.

    Returns:
        The removed paths, sorted.
    """
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(
        (PART_SUFFIX, SIDECAR_SUFFIX))]
    discard(*found)
    return sorted(found)




def stat_files(data_dir: Path, paths: Iterable[str]) -> Disk:
    """Which of ``paths`` (relative to ``data_dir``) exist, with their size and mtime."""
    disk: dict[str, tuple[int, int]] = {}
    for path in paths:
        try:
            st = os.stat(data_dir / path)
        except OSError:
            continue
        disk[path] = (st.st_size, st.st_mtime_ns)
    return disk
