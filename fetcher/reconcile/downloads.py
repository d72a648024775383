"""Downloads: every item's files, several at once, extracted and recorded.

The workers download, extract and hash; the engine's thread writes the ledger,
one transaction per finished item, so a file is recorded only once it is whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from fetcher import failpoints
from fetcher.context import StepContext
from fetcher.errors import ArchiveError, FetcherError, StorageError
from fetcher.reconcile.local import extract_archive, file_record
from fetcher.sources import resolution_key, source_for
from fetcher.transfer.archives import is_archive
from fetcher.transfer.download import fetch
from fetcher.transfer.gates import HostGates
from fetcher.types import FileRecord, LocalFile, RemoteFile, Snapshot, Step

Job = tuple[Step, list[tuple[RemoteFile, Path]]]
Placed = tuple[list[LocalFile], list[FileRecord]]


def download_all(ctx: StepContext, steps: Sequence[Step], *, jobs: int, per_host: int) -> None:
    """Download every item's files, ``jobs`` at once and ``per_host`` per host; record each."""
    snapshot = ctx.ledger.snapshot()
    work: list[Job] = []
    for step in steps:
        try:
            work.append((step, _targets(ctx, step, snapshot)))
        except FetcherError as exc:
            ctx.fail(step, exc)
    gates = HostGates(per_host)

    def one(step: Step, files: list[tuple[RemoteFile, Path]]) -> Placed:
        return _prepare(ctx, step, [_fetch(ctx, gates, step, snapshot, remote, target)
                                    for remote, target in files])

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fetch") as pool:
        futures = {pool.submit(one, step, files): step for step, files in work}
        for future in as_completed(futures):
            step = futures[future]
            try:
                _record(ctx, step, *future.result())
            except FetcherError as exc:
                source_for(step.wanted.source).download_failed(
                    ctx, step, snapshot.tasks.get(step.key), exc)
                ctx.fail(step, exc)
            except OSError as exc:
                ctx.fail(step, StorageError(
                    f"cannot write under {ctx.settings.data_dir}: {exc.strerror or exc}",
                    hint="free some space or fix the permissions, then sync again: "
                         "downloads resume"))


def _fetch(ctx: StepContext, gates: HostGates, step: Step, snapshot: Snapshot,
           remote: RemoteFile, target: Path) -> LocalFile:
    """One file, in a download worker."""
    def progress(done: int, total: int | None) -> None:
        if done and total and done < total:
            failpoints.hit("mid-download")
        ctx.journal.transfer(str(target), remote.name, done, total)

    source = source_for(step.wanted.source)
    with gates.passage(remote.url):
        not_ready = source.not_ready(snapshot.tasks.get(step.key), ctx.now())
        return fetch(ctx.http, remote, target, progress=progress,
                     not_ready=not_ready.statuses, not_ready_until=not_ready.until)


def _targets(ctx: StepContext, step: Step, snapshot: Snapshot) -> list[tuple[RemoteFile, Path]]:
    """What to download for the item, and where each file lands."""
    item = step.wanted
    key = resolution_key(item)
    resolution = snapshot.resolutions.get(key) if key else None
    remote = source_for(item.source).remote_files(item, resolution, snapshot.tasks.get(step.key))
    folder = ctx.settings.data_dir / item.folder
    return [(r, inside(folder, r.name, item.label)) for r in remote]


def inside(folder: Path, name: str, label: str) -> Path:
    """``folder / name`` for a plain file name a server listed; anything else is refused.

    A listing is the server's word, not the user's: an absolute name, a ``..`` or a
    separator would write outside the data folder.

    Raises:
        ArchiveError: the name is not a plain file name.
    """
    plain = name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name
    target = folder / name
    if not plain or target.resolve().parent != folder.resolve():
        raise ArchiveError(f"{label}: the server lists a file named {name!r}, which would "
                           "land outside the data folder; refusing it",
                           hint="report it to the service; fetcher writes only plain names")
    return target


def _prepare(ctx: StepContext, step: Step, placed: list[LocalFile]) -> Placed:
    """Extract what needs extracting; the records of every file the item now has."""
    item = step.wanted
    records: list[FileRecord] = []
    extract_it = bool(item.options.get("extract"))
    keep = bool(item.options.get("keep_archive"))
    failpoints.hit("after-download")
    for local in placed:
        path = Path(local.path)
        archive = extract_it and is_archive(path)
        if archive:
            records += extract_archive(ctx, item, path, keep=keep)
            if not keep:
                continue
        records.append(file_record(ctx, item.key, local, role="archive" if archive else "data"))
    failpoints.hit("after-extract")
    return placed, records


def _record(ctx: StepContext, step: Step, placed: list[LocalFile],
            records: list[FileRecord]) -> None:
    """Record an item's files in one transaction, and tell the report."""
    ctx.ledger.record_files(step.key, records)
    ctx.ledger.reset_attempts(step.key)
    ctx.journal.moved(step.key, sum(local.size for local in placed))
    ctx.count("downloads", len(placed))
    ctx.note(step.key, f"downloaded {len(placed)} file(s), {len(records)} recorded")
