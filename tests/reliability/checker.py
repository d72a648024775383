"""A consistency checker: do the ledger and the data folder agree, exactly?

Used after every crash trial and fault run. It reads the ledger through the
library (a real SQLite file built by the migrations) and walks the data folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from fetcher.ledger import Ledger

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


def recorded_files(db: Path) -> dict[str, tuple[int, str]]:
    """Every file the ledger records: relative path -> (size, sha256)."""
    with Ledger.open(str(db)) as ledger:
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


def check(db: Path, data: Path) -> Findings:
    """Compare the ledger at ``db`` with the folder ``data``, byte for byte."""
    recorded = recorded_files(db)
    found = Findings()
    on_disk = disk_files(data)
    for rel, path in sorted(on_disk.items()):
        if is_leftover(rel):
            found.leftovers.append(rel)
        elif rel not in recorded:
            found.unrecorded.append(rel)
        elif recorded[rel] != (path.stat().st_size, sha256(path)):
            found.differing.append(rel)
    found.leftovers += [p.relative_to(data).as_posix() + "/" for p in work_folders(data)
                        if not any(p.iterdir())]
    found.missing = sorted(set(recorded) - set(on_disk))
    return found


def work_folders(data: Path) -> list[Path]:
    """Extraction work folders (``.<name>.extract-*``) under ``data``."""
    if not data.exists():
        return []
    return sorted(p for p in data.rglob(".*.extract-*") if p.is_dir())
