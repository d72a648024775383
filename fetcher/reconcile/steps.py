"""What each action does: the side effects, item by item.

Called by ``apply.Reconciler`` only. Every CLMS task is written to the ledger
before its POST leaves (an intent) and updated as soon as the answer arrives;
a run that dies between the two is repaired by adoption.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fetcher import failpoints, store
from fetcher.config import Settings
from fetcher.download import fetch
from fetcher.errors import ArchiveError, FetcherError, LedgerError, StorageError
from fetcher.net import Http
from fetcher.reconcile.plan import Step, resolution_key
from fetcher.types import (
    Action,
    FileRecord,
    Item,
    LocalFile,
    RemoteFile,
    Snapshot,
    Source,
    TaskRecord,
)

if TYPE_CHECKING:
    from fetcher.reconcile.apply import Reconciler
    from fetcher.sources.clms import ClmsClient, Resolution, Task

CLMS_NOT_READY = (403, 404)  # the FME host's answers for a while after a task ends


class Services:
    """The remote services, built on first use (no key is read for a sync without CLMS)."""

    def __init__(self, settings: Settings, http: Http, *, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.http = http
        self.log = log
        self.counts: Counter[str] = Counter()
        self._clms: ClmsClient | None = None
        self._lock = threading.Lock()

    @property
    def clms(self) -> ClmsClient:
        """The CLMS client, with the service key loaded."""
        with self._lock:
            if self._clms is None:
                from fetcher.auth import load_service_key
                from fetcher.sources.clms import ClmsClient

                key = load_service_key(self.settings.clms_key, warn=self.log)
                self._clms = ClmsClient(self.http, self.settings.clms_url, key,
                                        now=self.http.now, warn=self.log)
            return self._clms


# --- resolve, verify, extract ------------------------------------------------


def resolve(rec: Reconciler, step: Step) -> None:
    """Find the item's catalogue entry or file listing and remember it."""
    item = _item(step)
    request = item.request
    payload: dict[str, Any]
    known = rec.ledger.resolution(_res_key(item))
    if item.source is Source.CLMS:
        from fetcher.sources.clms import Resolution

        client = rec.services.clms
        if known is None:  # another item of this round may have resolved the same reference
            resolution = client.resolve(request)
            rec.services.counts["catalogue"] += 1
            rec.ledger.save_resolution(_res_key(item), item.source.value,
                                       json.loads(resolution.to_json()))
        else:
            resolution = Resolution.from_json(known)
        client.check(request, resolution)
        rec.note(item.key, f"resolved to {resolution.title!r}")
        return
    if known is not None:
        return
    if item.source is Source.CEDA:
        from fetcher.sources import ceda

        files = ceda.list_files(rec.http, rec.settings.ceda_url, request["path"], request["files"])
    else:
        from fetcher.sources import zenodo

        files = zenodo.list_files(rec.http, rec.settings.zenodo_url, request["record"],
                                  request.get("files"))
    rec.services.counts["listings"] += 1
    payload = {"files": [asdict(f) for f in files]}
    rec.ledger.save_resolution(_res_key(item), item.source.value, payload)
    rec.note(item.key, f"listed {len(files)} file(s)")


def verify(rec: Reconciler, step: Step) -> None:
    """Re-hash files whose size or time changed: keep the same bytes, remove changed ones.

    A removed file stays recorded, so the next round sees it missing and fetches it.
    """
    records: list[FileRecord] = []
    for record in rec.ledger.snapshot().files.get(step.key, ()):
        path = rec.settings.data_dir / record.path
        try:
            size, sha256, _ = store.hash_file(path)
        except FileNotFoundError:
            records.append(record)
            continue
        if (size, sha256) == (record.size, record.sha256):
            records.append(_restamp(record, path))
        else:
            path.unlink()
            records.append(record)
            rec.note(step.key, f"{record.path} changed on disk; removed, it will be fetched "
                               "again")
    rec.ledger.record_files(step.key, records)


def extract(rec: Reconciler, step: Step) -> None:
    """Extract a kept archive whose extracted files are missing."""
    item = _item(step)
    archives = [f for f in rec.ledger.snapshot().files.get(step.key, ()) if f.role == "archive"]
    records = list(archives)
    for archive in archives:
        records += _extract(rec, item, rec.settings.data_dir / archive.path, keep=True)
    rec.ledger.record_files(step.key, records)


HANDLERS: dict[Action, Callable[[Reconciler, Step], None]] = {
    Action.RESOLVE: resolve, Action.VERIFY: verify, Action.EXTRACT: extract,
}


# --- CLMS requests -------------------------------------------------------------


def submit_all(rec: Reconciler, steps: Sequence[Step]) -> None:
    """Adopt what the server already holds, then post one request per remaining item."""
    client = rec.services.clms
    tasks = client.tasks()
    rec.services.counts["task_lists"] += 1
    snapshot = rec.ledger.snapshot()
    for step in steps:
        item = _item(step)
        try:
            resolution = _resolution(snapshot, item)
            entry = client.post_item(item.request, resolution)
            recorded = snapshot.tasks.get(step.key)
            if step.action is Action.ADOPT and recorded is not None:
                if _adopt(rec, step, recorded.row, dict(recorded.entry) or entry, resolution,
                          tasks):
                    continue
            else:
                client.check(item.request, resolution)
                if _adopt(rec, step, None, entry, resolution, tasks):
                    continue
            _post(rec, step, entry, resolution)
        except FetcherError as exc:
            if _is_input_error(exc):
                exc.exit_code = 2
            rec.fail(step, exc)


def _adopt(rec: Reconciler, step: Step, row: int | None, entry: dict[str, Any],
           resolution: Resolution, tasks: dict[str, Task]) -> bool:
    """Take over a live or ready task the server holds for this entry, if there is one."""
    client = rec.services.clms
    found = client.find_task(entry, resolution, tasks)
    usable = found is not None and (found.alive or (found.finished_ok
                                                    and not client.is_expired(found)))
    if found is None or not usable:
        if row is not None:
            rec.ledger.update_task(row, status="lost",
                                   message="the request never reached the server")
            rec.note(step.key, "no task found for the interrupted request; posting it again")
        return False
    known = {t.task_id for t in rec.ledger.snapshot().tasks.values() if t.task_id}
    if found.task_id in known and (row is None or found.task_id != step.task_id):
        return False  # another item of ours already owns that task
    if row is None:
        row = rec.ledger.add_intent(step.key, entry)
    try:
        rec.ledger.update_task(row, task_id=found.task_id, **task_fields(found))
    except LedgerError:
        return False
    rec.services.counts["adopted"] += 1
    rec.seen.add(step.key)
    rec.note(step.key, f"adopted task {found.task_id} ({found.status})")
    return True


def _post(rec: Reconciler, step: Step, entry: dict[str, Any], resolution: Resolution) -> None:
    from fetcher.sources.clms import DuplicateRequest, SubmitFailed

    client = rec.services.clms
    row = rec.ledger.add_intent(step.key, entry)  # committed before the POST leaves
    failpoints.hit("after-intent")
    try:
        rec.services.counts["posts"] += 1
        task_id = client.submit(entry)
    except DuplicateRequest:
        tasks = client.tasks()
        rec.services.counts["task_lists"] += 1
        if not _adopt(rec, step, row, entry, resolution, tasks):
            raise
        rec.submitted.add(step.key)  # this run's request, as far as retries go
        return
    except SubmitFailed as exc:
        if exc.task_id is None:
            raise
        rec.ledger.update_task(row, task_id=exc.task_id, status="Cancelled", message=exc.message)
        rec.ledger.bump_attempts(step.key)
        client.cancel(exc.task_id)
        raise
    except FetcherError as exc:
        status = getattr(exc, "status", None)
        if status == 400:
            rec.ledger.update_task(row, status="refused", message=exc.message)
        elif status == 500:
            _cancel_orphan(rec, step, row, entry, resolution)
        raise
    failpoints.hit("after-post")
    rec.submitted.add(step.key)
    rec.seen.add(step.key)
    rec.ledger.update_task(row, task_id=task_id, status="Queued")
    rec.note(step.key, f"submitted task {task_id}")


def _cancel_orphan(rec: Reconciler, step: Step, row: int, entry: dict[str, Any],
                   resolution: Resolution) -> None:
    """After "all requests failed" the server keeps a Queued task FME never got: cancel it.

    Left alone it would never progress, and would block (and be adopted by) the
    next identical request.
    """
    client = rec.services.clms
    tasks = client.tasks()
    rec.services.counts["task_lists"] += 1
    found = client.find_task(entry, resolution, tasks)
    if found is None or not found.alive or found.fme_task_id is not None:
        return
    client.cancel(found.task_id)
    rec.ledger.update_task(row, task_id=found.task_id, status="Cancelled",
                           message="the server could not hand the request to FME; "
                                   "fetcher cancelled the orphan task")
    rec.ledger.bump_attempts(step.key)
    rec.note(step.key, f"cancelled orphan task {found.task_id} (FME refused it)")


def poll(rec: Reconciler, steps: Sequence[Step]) -> None:
    """One task listing for every waiting item; every change recorded in one transaction."""
    client = rec.services.clms
    tasks = client.tasks()
    rec.services.counts["task_lists"] += 1
    snapshot = rec.ledger.snapshot()
    changes: list[tuple[int, dict[str, Any]]] = []
    failed: list[tuple[str, Task]] = []
    for step in steps:
        recorded = snapshot.tasks.get(step.key)
        if recorded is None or recorded.task_id is None:
            continue
        found = tasks.get(recorded.task_id)
        if found is None:
            changes.append((recorded.row, {"status": "lost",
                                           "message": "the server no longer lists this task"}))
            rec.note(step.key, f"task {recorded.task_id} vanished from the server; "
                               "requesting again")
            continue
        fields = task_fields(found)
        if not _changed(recorded, fields):
            continue
        changes.append((recorded.row, fields))
        if found.status != recorded.status:
            rec.note(step.key, f"task {found.task_id}: {found.status}"
                               + (f" ({found.message})" if found.message else ""))
            if found.status in ("Finished_nok", "Rejected", "Cancelled"):
                failed.append((step.key, found))
    rec.ledger.update_tasks(changes)
    for key, found in failed:
        rec.ledger.bump_attempts(key)
        if key in rec.submitted:
            rec.settle(key, f"task {found.task_id} {found.status}"
                            + (f": {found.message}" if found.message else ""))


def task_fields(task: Task) -> dict[str, Any]:
    """The ledger's columns for a server task."""
    return {"status": task.status, "message": task.message or "",
            "download_url": task.download_url, "file_size": task.file_size,
            "registered_at": task.registered.timestamp() if task.registered else None,
            "finalized_at": task.finalized.timestamp() if task.finalized else None}


def _changed(recorded: TaskRecord, fields: dict[str, Any]) -> bool:
    current = {"status": recorded.status, "message": recorded.message,
               "download_url": recorded.download_url, "file_size": recorded.file_size,
               "registered_at": recorded.registered_at, "finalized_at": recorded.finalized_at}
    return current != fields


def _is_input_error(exc: FetcherError) -> bool:
    from fetcher.sources.clms import RequestRejected, ResolveError

    return isinstance(exc, RequestRejected | ResolveError)


# --- downloads -----------------------------------------------------------------


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
    clms = _item(step).source is Source.CLMS
    return [one(remote, target, clms) for remote, target in files]


def _remote_files(rec: Reconciler, step: Step,
                  snapshot: Snapshot) -> list[tuple[RemoteFile, Path]]:
    item = _item(step)
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
    payload = snapshot.resolutions[_res_key(item)]
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
    item = _item(step)
    records: list[FileRecord] = []
    extract_it = bool(item.options.get("extract"))
    keep = bool(item.options.get("keep_archive"))
    failpoints.hit("after-download")
    for local in placed:
        path = Path(local.path)
        is_archive = extract_it and _is_archive(path)
        if is_archive:
            records += _extract(rec, item, path, keep=keep)
            if not keep:
                continue
        records.append(_file_record(rec, item.key, local,
                                    role="archive" if is_archive else "data"))
    failpoints.hit("after-extract")
    return placed, records


def _record(rec: Reconciler, step: Step, placed: list[LocalFile],
            records: list[FileRecord]) -> None:
    """Record an item's files in one transaction, and tell the report."""
    item = _item(step)
    rec.ledger.record_files(item.key, records)
    rec.ledger.reset_attempts(item.key)
    size = sum(local.size for local in placed)
    outcome = rec.outcomes.get(item.key)
    if outcome is not None:
        outcome.bytes += size
    rec.services.counts["downloads"] += len(placed)
    rec.note(item.key, f"downloaded {len(placed)} file(s), {len(records)} recorded")


def _extract(rec: Reconciler, item: Item, archive: Path, *, keep: bool) -> list[FileRecord]:
    folder = rec.settings.data_dir / item.folder
    extracted = store.extract(archive, folder)
    if not keep:
        archive.unlink(missing_ok=True)
    records = []
    for path in extracted:
        size, sha256, md5 = store.hash_file(path)
        records.append(FileRecord(item_key=item.key, path=_relative(rec, path), size=size,
                                  sha256=sha256, mtime_ns=path.stat().st_mtime_ns, md5=md5,
                                  role="data"))
    return records


def _file_record(rec: Reconciler, key: str, local: LocalFile, *, role: str) -> FileRecord:
    return FileRecord(item_key=key, path=_relative(rec, Path(local.path)), size=local.size,
                      sha256=local.sha256, mtime_ns=local.mtime_ns, role=role, md5=local.md5,
                      url=local.url, etag=local.etag, last_modified=local.last_modified)


def _restamp(record: FileRecord, path: Path) -> FileRecord:
    return FileRecord(**{**asdict(record), "mtime_ns": path.stat().st_mtime_ns})


def _relative(rec: Reconciler, path: Path) -> str:
    return Path(os.path.relpath(path, rec.settings.data_dir)).as_posix()


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"))


def _item(step: Step) -> Item:
    assert step.item is not None, "orphans have no work"
    return step.item


def _res_key(item: Item) -> str:
    key = resolution_key(item)
    assert key is not None
    return key


def _resolution(snapshot: Snapshot, item: Item) -> Resolution:
    from fetcher.sources.clms import Resolution

    payload = snapshot.resolutions.get(_res_key(item))
    if payload is None:
        raise FetcherError(f"{item.label}: no catalogue resolution recorded")
    return Resolution.from_json(payload)
