"""Safe extraction of the archives every source may bring: zip and tar, nested zips too.

``extract`` trusts nothing in an archive: absolute names, ``..`` components, links
and device files are refused, the total size and compression ratio are capped
(nested zips count against the same budget), and everything is written into a
temporary folder beside the destination first, so that a refused archive leaves
nothing behind.
"""

from __future__ import annotations

import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from fetcher.errors import ArchiveError
from fetcher.transfer.files import fsync_dir, read_chunks

MAX_TOTAL = 64 << 30  # GEBCO's largest zip holds about 8 GB; leave room, stop bombs
MAX_RATIO = 200.0  # deflate tops out near 1032:1; real rasters stay far below 200:1
RATIO_FLOOR = 1 << 20  # tiny members compress absurdly well and harm no one
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")

Accept = Callable[[list[tuple[str, Path]]], None]


def is_archive(path: Path) -> bool:
    """Whether a file's name says it is an archive ``extract`` can open."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


@dataclass
class _Budget:
    """What an archive (with its nested archives) may still write."""

    archive: Path
    max_total: int
    max_ratio: float
    written: int = 0
    seen: set[Path] = field(default_factory=set)
    label: str = ""  # "outer.zip!inner.zip" for nested members

    def refuse(self, member: str, why: str) -> ArchiveError:
        where = self.label or str(self.archive)
        return ArchiveError(
            f"{where}: refusing to extract {member!r}: {why}; nothing was extracted",
            path=str(self.archive),
            hint="the archive is corrupt or malicious; remove it and download it again",
        )

    def claim(self, member: str, size: int) -> None:
        if self.written + size > self.max_total:
            raise self.refuse(member, f"the archive unpacks to more than {self.max_total} "
                                      "bytes in total (a zip bomb?)")
        self.written += size

    def check_ratio(self, member: str, size: int, packed: int) -> None:
        if size > RATIO_FLOOR and size > self.max_ratio * max(packed, 1):
            raise self.refuse(member, f"compression ratio {size / max(packed, 1):.0f}:1 is "
                                      f"above the limit of {self.max_ratio:.0f}:1 (a zip bomb?)")


def _safe_relative(name: str, budget: _Budget) -> PurePosixPath:
    """The member's path relative to the extraction root, or an ArchiveError."""
    unified = name.replace("\\", "/")
    parts = PurePosixPath(unified)
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise budget.refuse(name, "absolute path")
    if ".." in parts.parts:
        raise budget.refuse(name, "'..' in the path leads outside the destination")
    clean = PurePosixPath(*[p for p in parts.parts if p not in ("", ".")])
    if not clean.parts:
        raise budget.refuse(name, "empty name")
    return clean


def _open_member_target(root: Path, rel: PurePosixPath, budget: _Budget, name: str) -> Path:
    """Create the member's parent folders and return its path, refusing duplicates."""
    path = root.joinpath(*rel.parts)
    # Defence in depth: the name checks should make this impossible.
    if not path.resolve().is_relative_to(root.resolve()):
        raise budget.refuse(name, "the path leads outside the destination")
    if path in budget.seen:
        raise budget.refuse(name, "a second member with the same name")
    budget.seen.add(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise budget.refuse(name, f"its folder cannot be made ({exc.strerror})") from exc
    return path


def _copy_capped(source: IO[bytes], path: Path, budget: _Budget, name: str,
                 declared: int) -> None:
    """Write a member while counting bytes, so a lying header cannot exceed the caps."""
    written = 0
    try:
        out = open(path, "xb")  # noqa: SIM115 - closed below; opening can fail on its own
    except OSError as exc:
        raise budget.refuse(name, f"it cannot be written ({exc.strerror})") from exc
    with out:
        for chunk in read_chunks(source):
            written += len(chunk)
            if written > declared:
                raise budget.refuse(name, "more bytes than its header declares")
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def _zip_mode(info: zipfile.ZipInfo) -> int:
    # Unix-made zips keep st_mode in the high 16 bits of external_attr.
    return (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0


def _extract_zip(archive: Path, root: Path, budget: _Budget, nested: bool) -> list[Path]:
    written: list[Path] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_relative(info.filename, budget)
                mode = _zip_mode(info)
                if stat.S_ISLNK(mode):
                    raise budget.refuse(info.filename, "symbolic link")
                # Many zippers store permission bits only (no file type): those are plain.
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                    raise budget.refuse(info.filename, "device or special file")
                if info.is_dir():
                    root.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
                    continue
                budget.check_ratio(info.filename, info.file_size, info.compress_size)
                budget.claim(info.filename, info.file_size)
                path = _open_member_target(root, rel, budget, info.filename)
                with zf.open(info) as source:
                    _copy_capped(source, path, budget, info.filename, info.file_size)
                written.append(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            zlib.error) as exc:
        raise ArchiveError(f"{archive}: corrupt or unsupported zip ({exc})",
                           path=str(archive),
                           hint="remove it and download it again") from exc
    return _expand_nested(written, budget, nested)


def _extract_tar(archive: Path, root: Path, budget: _Budget, nested: bool) -> list[Path]:
    written: list[Path] = []
    packed = archive.stat().st_size
    try:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                rel = _safe_relative(member.name, budget)
                if member.issym():
                    raise budget.refuse(member.name, "symbolic link")
                if member.islnk():
                    raise budget.refuse(member.name, "hard link")
                if member.isdir():
                    root.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg():
                    raise budget.refuse(member.name, "device or special file")
                budget.claim(member.name, member.size)
                # Tar members carry no packed size; judge the archive as a whole.
                budget.check_ratio(member.name, budget.written, packed)
                path = _open_member_target(root, rel, budget, member.name)
                source = tf.extractfile(member)
                if source is None:
                    raise budget.refuse(member.name, "unreadable member")
                with source:
                    _copy_capped(source, path, budget, member.name, member.size)
                written.append(path)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        raise ArchiveError(f"{archive}: corrupt or unsupported tar ({exc})",
                           path=str(archive), hint="remove it and download it again") from exc
    return _expand_nested(written, budget, nested)


def _expand_nested(paths: list[Path], budget: _Budget, nested: bool) -> list[Path]:
    """Unpack nested zips where they lie, then drop them; returns the resulting files."""
    if not nested:
        return paths
    result: list[Path] = []
    for path in paths:
        if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
            label = f"{budget.label or budget.archive}!{path.name}"
            inner = _Budget(path, budget.max_total, budget.max_ratio, budget.written,
                            budget.seen, label)
            result.extend(_extract_zip(path, path.parent, inner, nested))
            budget.written = inner.written
            path.unlink()
        else:
            result.append(path)
    return result


def remove_stale_extractions(data_dir: Path) -> list[Path]:
    """Remove extraction work folders a killed run left (``.<name>.extract-*``).

    Only safe while no other process extracts into this data folder (the caller
    holds the ledger's lock).
    """
    stale = [p for pattern in (".*.extract-*", "*/.*.extract-*") for p in data_dir.glob(pattern)
             if p.is_dir()]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def extract(
    archive: Path,
    dest: Path,
    *,
    max_total: int = MAX_TOTAL,
    max_ratio: float = MAX_RATIO,
    nested: bool = True,
    accept: Accept | None = None,
) -> list[Path]:
    """Extract a zip or tar archive into ``dest``, refusing anything unsafe.

    Args:
        archive: The zip or tar (plain, gz, bz2, xz) file.
        dest: Folder to extract into; created if missing. Existing files of the
            same names are replaced.
        max_total: Cap on the bytes written, nested archives included.
        max_ratio: Cap on a member's uncompressed-to-compressed ratio.
        nested: Also extract zips found inside, where they lie, and remove them.
        accept: Shown every (path relative to ``dest``, extracted file) before any is
            moved into ``dest``; it raises to refuse them all (``--frozen`` compares
            them with the lock file).

    Returns:
        The extracted files' final paths, sorted.

    Raises:
        ArchiveError: the archive is corrupt, or holds an absolute path, a ``..``
            component, a link, a device file, or too many bytes for its size;
            nothing is written into ``dest`` then.
    """
    dest.mkdir(parents=True, exist_ok=True)
    budget = _Budget(archive, max_total, max_ratio)
    for stale in dest.parent.glob(f".{dest.name}.extract-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a run killed mid-extraction
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extract-", dir=dest.parent))
    try:
        if zipfile.is_zipfile(archive):
            files = _extract_zip(archive, work, budget, nested)
        elif tarfile.is_tarfile(archive):
            files = _extract_tar(archive, work, budget, nested)
        else:
            raise ArchiveError(f"{archive}: neither a zip nor a tar archive",
                               path=str(archive), hint="check the dataset's `extract` option")
        if accept is not None:
            accept([(p.relative_to(work).as_posix(), p) for p in files])
        return _move_into(work, files, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _move_into(work: Path, files: list[Path], dest: Path) -> list[Path]:
    final: list[Path] = []
    for path in files:
        target = dest / path.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        final.append(target)
    for folder in {p.parent for p in final}:
        fsync_dir(folder)
    return sorted(final)
