"""Downloads: every item's files, several at once, extracted and recorded.

The workers download, extract and hash; the engine's thread writes the ledger,
one transaction per finished item, so a file is recorded only once it is whole.
Downloads run beside the engine's rounds: one item's slow or retried download
never holds back polling, submitting or downloading the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from fetcher import failpoints
from fetcher.context import StepContext
from fetcher.errors import ArchiveError, FetcherError, IntegrityError, StorageError
from fetcher.reconcile.local import LOCK_HINT, extract_archive, file_record, relative
from fetcher.sources import resolution_key, source_for
from fetcher.transfer.archives import is_archive
from fetcher.transfer.download import fetch
from fetcher.transfer.gates import HostGates
from fetcher.types import FileRecord, Item, LocalFile, RemoteFile, Snapshot, Step, TaskRecord

Job = tuple[Step, list[tuple[RemoteFile, Path]]]
Placed = tuple[list[LocalFile], list[FileRecord]]


class Downloads:
    """Items' downloads, running in worker threads while the engine polls and submits.

    ``start`` hands items to the workers and returns at once; ``collect`` records
    what finished (on the engine's thread, one transaction per item), waiting for
    the first to finish when asked to. An item whose download fails is reported,
    or, when its source learnt something that may help, planned again once.
    """

    def __init__(self, ctx: StepContext, *, jobs: int, per_host: int) -> None:
        self.ctx = ctx
        self.gates = HostGates(per_host)
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fetch")
        self.running: dict[Future[Placed], tuple[Step, TaskRecord | None]] = {}

    @property
    def busy(self) -> set[str]:
        """The items being downloaded now."""
        return {step.key for step, _ in self.running.values()}

    def start(self, steps: Sequence[Step]) -> None:
        """Start downloading each item not already being downloaded."""
        snapshot = self.ctx.ledger.snapshot()
        busy = self.busy
        for step in steps:
            if step.key in busy:
                continue
            task = snapshot.tasks.get(step.key)
            try:
                files = _targets(self.ctx, step, snapshot)
            except FetcherError as exc:
                self.ctx.fail(step, exc)
                continue
            future = self.pool.submit(self._one, step, task, files)
            self.running[future] = (step, task)

    def collect(self, timeout: float | None = 0.0) -> bool:
        """Record the downloads that finished, waiting up to ``timeout`` real seconds
        (None: until one finishes) when none has; True when any was collected."""
        if not self.running:
            return False
        done, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            step, task = self.running.pop(future)
            self._settle(step, task, future)
        return bool(done)

    def close(self) -> None:
        """Let the running downloads finish, record them, stop the workers."""
        while self.running:
            self.collect(None)
        self.pool.shutdown(wait=True)

    def _one(self, step: Step, task: TaskRecord | None,
             files: list[tuple[RemoteFile, Path]]) -> Placed:
        """One item's files, in a download worker: fetched, extracted, hashed."""
        placed = [_fetch(self.ctx, self.gates, step, task, remote, target)
                  for remote, target in files]
        return _prepare(self.ctx, step, placed)

    def _settle(self, step: Step, task: TaskRecord | None, future: Future[Placed]) -> None:
        ctx = self.ctx
        try:
            _record(ctx, step, *future.result())
        except FetcherError as exc:
            source = source_for(step.wanted.source)
            again = source.download_failed(ctx, step, task, exc)
            if again and step.key not in ctx.journal.retried:
                ctx.journal.retried.add(step.key)  # planned again in this run, once
                return
            ctx.fail(step, exc)
        except OSError as exc:
            ctx.fail(step, StorageError(
                f"cannot write under {ctx.settings.data_dir}: {exc.strerror or exc}",
                hint="free some space or fix the permissions, then sync again: "
                     "downloads resume"))


def download_all(ctx: StepContext, steps: Sequence[Step], *, jobs: int, per_host: int) -> None:
    """Download every item's files, ``jobs`` at once and ``per_host`` per host; record each."""
    downloads = Downloads(ctx, jobs=jobs, per_host=per_host)
    try:
        downloads.start(steps)
    finally:
        downloads.close()


def _fetch(ctx: StepContext, gates: HostGates, step: Step, task: TaskRecord | None,
           remote: RemoteFile, target: Path) -> LocalFile:
    """One file, in a download worker; the host's gate is held only while bytes flow."""
    def progress(done: int, total: int | None) -> None:
        if done and total and done < total:
            failpoints.hit("mid-download")
        ctx.journal.transfer(str(target), remote.name, done, total)

    not_ready = source_for(step.wanted.source).not_ready(task, ctx.now())
    try:
        return fetch(ctx.http, remote, target, progress=progress, gate=gates.passage,
                     not_ready=not_ready.statuses, not_ready_until=not_ready.until)
    except IntegrityError as exc:
        if ctx.expected is None:
            raise
        # Under --frozen the size and checksums checked are the lock's: say so, not
        # that the listing will be looked up again (it is not).
        where = relative(ctx, target)
        raise IntegrityError(f"{where} differs from fetcher.lock "
                             f"({exc.message}); nothing was placed", path=where,
                             hint=LOCK_HINT) from exc


def _targets(ctx: StepContext, step: Step, snapshot: Snapshot) -> list[tuple[RemoteFile, Path]]:
    """What to download for the item, and where each file lands."""
    item = step.wanted
    key = resolution_key(item)
    resolution = snapshot.resolutions.get(key) if key else None
    remote = source_for(item.source).remote_files(item, resolution, snapshot.tasks.get(step.key))
    folder = ctx.settings.data_dir / item.folder
    targets = [(r, inside(folder, r.name)) for r in remote]
    if ctx.expected is not None:
        targets = [(_as_locked(ctx, item, r, target), target) for r, target in targets]
    return targets


def _as_locked(ctx: StepContext, item: Item, remote: RemoteFile, target: Path) -> RemoteFile:
    """Under ``--frozen``: the file must hash as the lock says, checked before it is placed.

    An archive that is extracted and not kept is not in the lock; its files are
    checked against it before they are moved into place.
    """
    assert ctx.expected is not None
    where = relative(ctx, target)
    locked = ctx.expected.get(item.key, {}).get(where)
    if locked is not None:
        return replace(remote, size=locked[0], sha256=locked[1])
    if item.options.get("extract") and is_archive(target):
        return remote
    raise IntegrityError(f"{where} is not in fetcher.lock", path=where, hint=LOCK_HINT)


def inside(folder: Path, name: str) -> Path:
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
        raise ArchiveError(f"the server lists a file named {name!r}, which would "
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
