"""The steps every source shares: resolving, verifying and extracting an item, and
turning files on disk into ledger records.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from fetcher.context import StepContext
from fetcher.errors import IntegrityError
from fetcher.sources import resolution_key, source_for
from fetcher.transfer import archives
from fetcher.transfer.files import hash_file
from fetcher.types import FileRecord, Item, LocalFile, Step


def resolve(ctx: StepContext, step: Step) -> None:
    """Find the item's catalogue entry or file listing, remember it, check the request."""
    item = step.wanted
    source = source_for(item.source)
    key = resolution_key(item)
    assert key is not None, f"{item.source.value} items need no resolution"
    known = ctx.ledger.resolution(key)  # another item of this round may share it
    found = source.resolve(ctx, item, known)
    if found.payload is not known:
        ctx.ledger.save_resolution(key, item.source.value, found.payload)
    source.check(item, found.payload)
    if found.note:
        ctx.note(item.key, found.note)


def verify(ctx: StepContext, step: Step) -> None:
    """Re-hash files whose size or time changed: keep the same bytes, remove changed ones.

    A removed file stays recorded, so the next round sees it missing and fetches it.
    """
    records: list[FileRecord] = []
    for record in ctx.ledger.snapshot().files.get(step.key, ()):
        path = ctx.settings.data_dir / record.path
        try:
            size, sha256, _ = hash_file(path)
        except FileNotFoundError:
            records.append(record)
            continue
        if (size, sha256) == (record.size, record.sha256):
            records.append(restamp(record, path))
        else:
            path.unlink()
            records.append(record)
            ctx.note(step.key, f"{record.path} changed on disk; removed, it will be fetched "
                               "again")
    ctx.ledger.record_files(step.key, records)


def extract(ctx: StepContext, step: Step) -> None:
    """Extract a kept archive whose extracted files are missing."""
    item = step.wanted
    kept = [f for f in ctx.ledger.snapshot().files.get(step.key, ()) if f.role == "archive"]
    records = list(kept)
    for archive in kept:
        records += extract_archive(ctx, item, ctx.settings.data_dir / archive.path, keep=True)
    ctx.ledger.record_files(step.key, records)


def extract_archive(ctx: StepContext, item: Item, archive: Path, *,
                    keep: bool) -> list[FileRecord]:
    """Extract an item's archive into its folder; the records of the extracted files."""
    extracted = archives.extract(archive, ctx.settings.data_dir / item.folder,
                                 accept=_as_locked(ctx, item))
    if not keep:
        archive.unlink(missing_ok=True)
    records = []
    for path in extracted:
        size, sha256, md5 = hash_file(path)
        records.append(FileRecord(item_key=item.key, path=relative(ctx, path), size=size,
                                  sha256=sha256, mtime_ns=path.stat().st_mtime_ns, md5=md5,
                                  role="data"))
    return records


def _as_locked(ctx: StepContext, item: Item) -> archives.Accept | None:
    """Under ``--frozen``, a check that extracted files are exactly the locked ones."""
    if ctx.expected is None:
        return None
    expected = ctx.expected.get(item.key, {})
    folder = ctx.settings.data_dir / item.folder

    def accept(files: list[tuple[str, Path]]) -> None:
        for name, path in files:
            where = relative(ctx, folder / name)
            size, sha256, _ = hash_file(path)
            problem = not_as_locked(where, (size, sha256), expected.get(where))
            if problem:
                raise IntegrityError(f"{problem}; nothing was extracted",
                                     path=where, hint=LOCK_HINT)

    return accept


LOCK_HINT = ("the server's bytes differ from the lock; run `fetcher sync` and `fetcher lock` "
             "to accept the new ones, or find out why they changed")


def not_as_locked(path: str, found: tuple[int, str] | None,
                  locked: tuple[int, str] | None) -> str | None:
    """Why a file does not match ``fetcher.lock`` (None when it does)."""
    if locked is None:
        return f"{path} is not in fetcher.lock"
    if found is not None and found != locked:
        return (f"{path} differs from fetcher.lock (sha256 {found[1][:12]}…, "
                f"locked {locked[1][:12]}…)")
    return None


def file_record(ctx: StepContext, key: str, local: LocalFile, *, role: str) -> FileRecord:
    """The ledger record of a downloaded file."""
    return FileRecord(item_key=key, path=relative(ctx, Path(local.path)), size=local.size,
                      sha256=local.sha256, mtime_ns=local.mtime_ns, role=role, md5=local.md5,
                      url=local.url, etag=local.etag, last_modified=local.last_modified)


def restamp(record: FileRecord, path: Path) -> FileRecord:
    """The record with the file's current mtime (same bytes, touched)."""
    return replace(record, mtime_ns=path.stat().st_mtime_ns)


def relative(ctx: StepContext, path: Path) -> str:
    """A path as the ledger records it: relative to the data dir, with slashes."""
    return Path(os.path.relpath(path, ctx.settings.data_dir)).as_posix()
