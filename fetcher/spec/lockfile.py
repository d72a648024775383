"""``fetcher.lock``: the exact ids and bytes a set of specs resolved to.

Written by ``fetcher lock`` beside the specs: per item its canonical request,
its catalogue resolution (CLMS ids, or the CEDA/Zenodo file listing) and its
files with size and sha256. The text is JSON with sorted keys and one value per
line, so that a change reads as a small diff. ``sync --frozen`` seeds the ledger
with the locked resolutions (no catalogue search) and fails on any difference;
``status --check`` compares the ledger's files with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fetcher.errors import FetcherError, UsageError
from fetcher.sources import resolution_key
from fetcher.types import Item, Snapshot

LOCK_NAME = "fetcher.lock"
LOCK_VERSION = 1


class DriftError(FetcherError):
    """The specs, the ledger or the data differ from ``fetcher.lock``."""

    exit_code = 1


@dataclass(frozen=True)
class LockedItem:
    """One item as the lock file records it."""

    key: str
    item: str
    request: Mapping[str, Any]
    resolution: Mapping[str, Any] | None
    files: tuple[tuple[str, int, str], ...]  # (path, size, sha256), sorted by path


def build(items: list[Item], snapshot: Snapshot) -> str:
    """The lock file's text for ``items`` as the ledger knows them.

    Raises:
        UsageError: some item is not complete yet (sync first).
    """
    missing = [i.label for i in items if not snapshot.files.get(i.key)]
    if missing:
        raise UsageError(f"cannot lock: {len(missing)} item(s) have no files yet: "
                         + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
                         hint="run `fetcher sync` until every item is complete, then lock")
    entries = []
    for item in sorted(items, key=lambda i: i.label):
        res_key = resolution_key(item)
        entries.append({
            "key": item.key,
            "item": item.label,
            "request": dict(item.request),
            "resolution": None if res_key is None else snapshot.resolutions.get(res_key),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256}
                      for f in sorted(snapshot.files[item.key], key=lambda f: f.path)],
        })
    return json.dumps({"version": LOCK_VERSION, "items": entries}, indent=1,
                      sort_keys=True, ensure_ascii=False) + "\n"


def read(path: Path) -> dict[str, LockedItem]:
    """The lock file's items by key.

    Raises:
        UsageError: the file is missing or not a fetcher lock.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != LOCK_VERSION:
            raise ValueError(f"version {document.get('version')!r}")
        return {entry["key"]: LockedItem(
            key=entry["key"], item=entry["item"], request=entry["request"],
            resolution=entry.get("resolution"),
            files=tuple((f["path"], int(f["size"]), f["sha256"]) for f in entry["files"]))
            for entry in document["items"]}
    except FileNotFoundError as exc:
        raise UsageError(f"no {LOCK_NAME} at {path}",
                         hint="run `fetcher lock` after a complete sync and commit the file"
                         ) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: not a fetcher lock file ({exc})",
                         hint="regenerate it with `fetcher lock`") from exc


def spec_differences(items: list[Item], locked: Mapping[str, LockedItem]) -> list[str]:
    """How the specs' items differ from the locked ones."""
    wanted = {i.key: i for i in items}
    problems = [f"{i.label}: not in {LOCK_NAME} (new, or its parameters changed)"
                for i in items if i.key not in locked]
    problems += [f"{entry.item}: in {LOCK_NAME} but no longer in the specs"
                 for key, entry in locked.items() if key not in wanted]
    return problems


def file_differences(items: list[Item], snapshot: Snapshot,
                     locked: Mapping[str, LockedItem]) -> list[str]:
    """How the ledger's recorded files differ from the locked ones."""
    problems = []
    for item in items:
        entry = locked.get(item.key)
        if entry is None:
            continue
        have = tuple(sorted((f.path, f.size, f.sha256) for f in snapshot.files.get(item.key, ())))
        if have and have != entry.files:
            problems.append(f"{item.label}: files differ from {LOCK_NAME} "
                            f"({_first_difference(have, entry.files)})")
    return problems


def _first_difference(have: tuple[tuple[str, int, str], ...],
                      want: tuple[tuple[str, int, str], ...]) -> str:
    have_by = {p: (s, h) for p, s, h in have}
    want_by = {p: (s, h) for p, s, h in want}
    for path in sorted(set(have_by) | set(want_by)):
        if path not in have_by:
            return f"{path} missing"
        if path not in want_by:
            return f"{path} not locked"
        if have_by[path] != want_by[path]:
            return f"{path}: sha256 {have_by[path][1][:12]}… instead of {want_by[path][1][:12]}…"
    return "order"
