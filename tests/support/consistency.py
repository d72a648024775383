"""A consistency checker: do the ledger and the data folder agree, exactly?

Every file under the data folder must be recorded with its size and sha256, every
recorded file must be there, and no ``.part``, ``.part.json`` or extraction work folder
may be left. The ledger is read as the workspace's commands write it (its location,
and its data folder's site on a shared ledger), so the check holds on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.workspace import Workspace

LEFTOVER_SUFFIXES = (".part", ".part.json")


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Findings:
    """Every way the ledger and the data folder disagree."""

    unrecorded: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """One line per problem; empty when the two agree."""
        return ([f"unrecorded: {p}" for p in self.unrecorded]
                + [f"differs from the ledger: {p}" for p in self.differing]
                + [f"recorded but missing: {p}" for p in self.missing]
                + [f"leftover: {p}" for p in self.leftovers])


def recorded_files(ws: Workspace) -> dict[str, tuple[int, str]]:
    """Every file the workspace's ledger records: relative path -> (size, sha256)."""
    with ws.ledger() as ledger:
        snapshot = ledger.snapshot()
    return {f.path: (f.size, f.sha256) for files in snapshot.files.values() for f in files}


def disk_files(data: Path) -> dict[str, Path]:
    """Every regular file under ``data`` (leftovers included), by relative path."""
    found = {}
    for folder, _, names in os.walk(data, onerror=lambda _exc: None):
        for name in names:
            path = Path(folder, name)
            if path.is_file():
                found[path.relative_to(data).as_posix()] = path
    return found


def is_leftover(rel: str) -> bool:
    """A ``.part``, its sidecar, or anything inside an extraction work folder."""
    parts = rel.split("/")
    return rel.endswith(LEFTOVER_SUFFIXES) or any(".extract-" in p for p in parts[:-1])


def work_folders(data: Path) -> list[Path]:
    """Extraction work folders (``.<name>.extract-*``) under ``data``."""
    if not data.exists():
        return []
    return sorted(p for p in data.rglob(".*.extract-*") if p.is_dir())


def check(ws: Workspace) -> Findings:
    """Compare the workspace's ledger with its data folder, byte for byte."""
    recorded = recorded_files(ws)
    found = Findings()
    on_disk = disk_files(ws.data)
    for rel, path in sorted(on_disk.items()):
        if is_leftover(rel):
            found.leftovers.append(rel)
        elif rel not in recorded:
            found.unrecorded.append(rel)
        elif recorded[rel] != (path.stat().st_size, sha256(path)):
            found.differing.append(rel)
    found.leftovers += [p.relative_to(ws.data).as_posix() + "/" for p in work_folders(ws.data)
                        if not any(p.iterdir())]
    found.missing = sorted(set(recorded) - set(on_disk))
    return found
