"""Downloads: every item's files, several at once, extracted and recorded.

The workers download, extract and hash; the main thread writes the ledger, one
transaction per finished item, so a file is recorded only once it is whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fetcher import failpoints
from fetcher.download import fetch
from fetcher.errors import ArchiveError, FetcherError, StorageError
from fetcher.reconcile.plan import Step
from fetcher.reconcile.steps import extract_archive, file_record, item_of, res_key
from fetcher.types import FileRecord, LocalFile, RemoteFile, Snapshot, Source, TaskRecord

if TYPE_CHECKING:
    from fetcher.reconcile.apply import Reconciler

CLMS_NOT_READY = (403, 404)  # the FME host's answers for a while after a task ends

Job = tuple[Step, list[tuple[RemoteFile, Path]]]


def download_all(rec: Reconciler, steps: Sequence[Step]) -> None:
    """Download every item's files, ``--jobs`` at once and a few per host; record each item."""
    snapshot = rec.ledger.snapshot()
    jobs: list[Job] = []
    for step in steps:
        try:
            jobs.append((step, _remote_files(rec, step, snapshot)))
        except FetcherError as exc:
            rec.fail(step, exc)
    hosts: dict[str, threading.Semaphore] = {}

    def one(remote: RemoteFile, target: Path, clms: bool) -> LocalFile:
        host = urlsplit(remote.url).netloc
        gate = hosts.setdefault(host, threading.Semaphore(rec.options.per_host))

        def progress(done: int, total: int | None) -> None:
            _midway(done, total)
            rec.transfer(str(target), remote.name, done, total)

        with gate:
            return fetch(rec.http, remote, target, progress=progress,
                         extra_retry_statuses=CLMS_NOT_READY if clms else (),
                         retry_window=rec.options.download_retry_window if clms else 0.0)

    def work(step: Step, files: list[tuple[RemoteFile, Path]]) -> Placed:
        # Downloading, extracting and hashing run in the workers; the ledger is
        # written by the main thread, one transaction per finished item.
        return _prepare(rec, step, _item_files(one, step, files))

    with ThreadPoolExecutor(max_workers=rec.options.jobs, thread_name_prefix="fetch") as pool:
        futures = {pool.submit(work, step, files): step for step, files in jobs}
        for future in as_completed(futures):
            step = futures[future]
            try:
                _record(rec, step, *future.result())
            except FetcherError as exc:
                _forget_gone_result(rec, step, snapshot.tasks.get(step.key), exc)
                rec.fail(step, exc)
            except OSError as exc:
                rec.fail(step, StorageError(f"cannot write under {rec.settings.data_dir}: "
                                            f"{exc.strerror or exc}",
                                            hint="free some space or fix the permissions, "
                                                 "then sync again: downloads resume"))


def _forget_gone_result(rec: Reconciler, step: Step, task: TaskRecord | None,
                        exc: FetcherError) -> None:
    """A result the download host still denies long after its task finished is gone.

    The server may drop results before the documented 72 h (older docs said 10 days,
    some clients assume 24 h). Marking the task gone lets the next sync request the
    item again instead of knocking at the same URL for ever.
    """
    if task is None or getattr(exc, "status", None) != 404 or step.item is None:
        return
    finished = task.finalized_at or task.updated_at or rec.http.now()
    if step.item.source is Source.CLMS and \
            rec.http.now() - finished > rec.options.download_retry_window:
        rec.ledger.update_task(task.row, status="gone",
                               message="the download host no longer has the result (404)")


def _midway(done: int, total: int | None) -> None:
    if done and total and done < total:
        failpoints.hit("mid-download")


def _item_files(one: Callable[[RemoteFile, Path, bool], LocalFile], step: Step,
                files: list[tuple[RemoteFile, Path]]) -> list[LocalFile]:
    clms = item_of(step).source is Source.CLMS
    return [one(remote, target, clms) for remote, target in files]


def _remote_files(rec: Reconciler, step: Step,
                  snapshot: Snapshot) -> list[tuple[RemoteFile, Path]]:
    item = item_of(step)
    task = snapshot.tasks.get(step.key)
    folder = rec.settings.data_dir / item.folder
    if item.source is Source.CLMS:
        if task is None or not task.download_url:
            raise FetcherError(f"task {step.task_id} has no download URL yet")
        remote = RemoteFile(name=f"{task.task_id}.zip", url=task.download_url,
                            size=task.file_size, kind="zip")
        return [(remote, folder / remote.name)]
    if item.source is Source.HTTP:
        from fetcher.sources import web

        remote = web.remote_file(item.request["url"], item.request.get("sha256"))
        name = item.options.get("filename") or remote.name
        return [(remote, inside(folder, name, item.label))]
    payload = snapshot.resolutions[res_key(item)]
    return [(RemoteFile(**f), inside(folder, f["name"], item.label)) for f in payload["files"]]


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


Placed = tuple[list[LocalFile], list[FileRecord]]


def _prepare(rec: Reconciler, step: Step, placed: list[LocalFile]) -> Placed:
    """Extract what needs extracting; the records of every file the item now has."""
    item = item_of(step)
    records: list[FileRecord] = []
    extract_it = bool(item.options.get("extract"))
    keep = bool(item.options.get("keep_archive"))
    failpoints.hit("after-download")
    for local in placed:
        path = Path(local.path)
        is_archive = extract_it and _is_archive(path)
        if is_archive:
            records += extract_archive(rec, item, path, keep=keep)
            if not keep:
                continue
        records.append(file_record(rec, item.key, local,
                                    role="archive" if is_archive else "data"))
    failpoints.hit("after-extract")
    return placed, records


def _record(rec: Reconciler, step: Step, placed: list[LocalFile],
            records: list[FileRecord]) -> None:
    """Record an item's files in one transaction, and tell the report."""
    item = item_of(step)
    rec.ledger.record_files(item.key, records)
    rec.ledger.reset_attempts(item.key)
    size = sum(local.size for local in placed)
    outcome = rec.outcomes.get(item.key)
    if outcome is not None:
        outcome.bytes += size
    rec.services.counts["downloads"] += len(placed)
    rec.note(item.key, f"downloaded {len(placed)} file(s), {len(records)} recorded")


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"))
