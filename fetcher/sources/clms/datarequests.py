"""CLMS data requests: adopt what the server holds, post what is missing, poll.

Every CLMS task is written to the ledger before its POST leaves (an intent) and
updated as soon as the answer arrives; a run that dies between the two is
repaired by adoption.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fetcher import failpoints
from fetcher.errors import FetcherError, LedgerError
from fetcher.sources.clms.catalogue import Resolution, ResolveError
from fetcher.sources.clms.check import RequestRejected
from fetcher.types import Action, Item, Snapshot, Step, TaskRecord

if TYPE_CHECKING:
    from fetcher.context import StepContext
    from fetcher.sources.clms.client import ClmsClient
    from fetcher.sources.clms.tasks import Task


def submit_all(ctx: StepContext, steps: Sequence[Step]) -> None:
    """Adopt what the server already holds, then post one request per remaining item."""
    client = clms_client(ctx)
    tasks = client.tasks()
    ctx.count("task_lists")
    snapshot = ctx.ledger.snapshot()
    for step in steps:
        item = step.wanted
        try:
            resolution = resolution_of(snapshot, item)
            entry = client.post_item(item.request, resolution)
            recorded = snapshot.tasks.get(step.key)
            if step.action is Action.ADOPT and recorded is not None:
                if _adopt(ctx, step, recorded.row, dict(recorded.entry) or entry, resolution,
                          tasks):
                    continue
            else:
                client.check(item.request, resolution)
                if _adopt(ctx, step, None, entry, resolution, tasks):
                    continue
            _post(ctx, step, entry, resolution)
        except FetcherError as exc:
            if is_input_error(exc):
                exc.exit_code = 2
            ctx.fail(step, exc)


def _adopt(ctx: StepContext, step: Step, row: int | None, entry: dict[str, Any],
           resolution: Resolution, tasks: dict[str, Task]) -> bool:
    """Take over a live or ready task the server holds for this entry, if there is one."""
    client = clms_client(ctx)
    found = client.find_task(entry, resolution, tasks)
    usable = found is not None and (found.alive or (found.finished_ok
                                                    and not client.is_expired(found)))
    if found is None or not usable:
        if row is not None:
            ctx.ledger.update_task(row, status="lost",
                                   message="the request never reached the server")
            ctx.note(step.key, "no task found for the interrupted request; posting it again")
        return False
    known = {t.task_id for t in ctx.ledger.snapshot().tasks.values() if t.task_id}
    if found.task_id in known and (row is None or found.task_id != step.task_id):
        return False  # another item of ours already owns that task
    if row is None:
        row = ctx.ledger.add_intent(step.key, entry)
    try:
        ctx.ledger.update_task(row, task_id=found.task_id, **task_fields(found))
    except LedgerError:
        return False
    ctx.count("adopted")
    ctx.journal.seen.add(step.key)
    ctx.note(step.key, f"adopted task {found.task_id} ({found.status})")
    return True


def _post(ctx: StepContext, step: Step, entry: dict[str, Any], resolution: Resolution) -> None:
    from fetcher.sources.clms.client import DuplicateRequest, SubmitFailed

    client = clms_client(ctx)
    row = ctx.ledger.add_intent(step.key, entry)  # committed before the POST leaves
    failpoints.hit("after-intent")
    try:
        ctx.count("posts")
        task_id = client.submit(entry)
    except DuplicateRequest:
        tasks = client.tasks()
        ctx.count("task_lists")
        if not _adopt(ctx, step, row, entry, resolution, tasks):
            raise
        ctx.journal.submitted.add(step.key)  # this run's request, as far as retries go
        return
    except SubmitFailed as exc:
        if exc.task_id is None:
            raise
        ctx.ledger.update_task(row, task_id=exc.task_id, status="Cancelled", message=exc.message)
        ctx.ledger.bump_attempts(step.key)
        client.cancel(exc.task_id)
        raise
    except FetcherError as exc:
        status = getattr(exc, "status", None)
        if status == 400:
            ctx.ledger.update_task(row, status="refused", message=exc.message)
        elif status == 500:
            _cancel_orphan(ctx, step, row, entry, resolution)
        raise
    failpoints.hit("after-post")
    ctx.journal.submitted.add(step.key)
    ctx.journal.seen.add(step.key)
    ctx.ledger.update_task(row, task_id=task_id, status="Queued")
    ctx.note(step.key, f"submitted task {task_id}")


def _cancel_orphan(ctx: StepContext, step: Step, row: int, entry: dict[str, Any],
                   resolution: Resolution) -> None:
    """After "all requests failed" the server keeps a Queued task FME never got: cancel it.

    Left alone it would never progress, and would block (and be adopted by) the
    next identical request.
    """
    client = clms_client(ctx)
    tasks = client.tasks()
    ctx.count("task_lists")
    found = client.find_task(entry, resolution, tasks)
    if found is None or not found.alive or found.fme_task_id is not None:
        return
    client.cancel(found.task_id)
    ctx.ledger.update_task(row, task_id=found.task_id, status="Cancelled",
                           message="the server could not hand the request to FME; "
                                   "fetcher cancelled the orphan task")
    ctx.ledger.bump_attempts(step.key)
    ctx.note(step.key, f"cancelled orphan task {found.task_id} (FME refused it)")


def poll(ctx: StepContext, steps: Sequence[Step]) -> None:
    """One task listing for every waiting item; every change recorded in one transaction."""
    client = clms_client(ctx)
    tasks = client.tasks()
    ctx.count("task_lists")
    snapshot = ctx.ledger.snapshot()
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
            ctx.note(step.key, f"task {recorded.task_id} vanished from the server; "
                               "requesting again")
            continue
        fields = task_fields(found)
        if not _changed(recorded, fields):
            continue
        changes.append((recorded.row, fields))
        if found.status != recorded.status:
            ctx.note(step.key, f"task {found.task_id}: {found.status}"
                               + (f" ({found.message})" if found.message else ""))
            if found.status in ("Finished_nok", "Rejected", "Cancelled"):
                failed.append((step.key, found))
    ctx.ledger.update_tasks(changes)
    for key, found in failed:
        ctx.ledger.bump_attempts(key)
        if key in ctx.journal.submitted:
            ctx.journal.settle(key, f"task {found.task_id} {found.status}"
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


def is_input_error(exc: FetcherError) -> bool:
    """A refusal that means the spec asks for what the catalogue or the server cannot give."""
    return isinstance(exc, RequestRejected | ResolveError)


def clms_client(ctx: StepContext) -> ClmsClient:
    """The run's CLMS client, with the service key loaded on first use."""
    def make() -> ClmsClient:
        from fetcher.sources.clms.auth import load_service_key
        from fetcher.sources.clms.client import ClmsClient

        key = load_service_key(ctx.settings.clms_key, warn=ctx.journal.log)
        return ClmsClient(ctx.http, ctx.settings.clms_url, key, now=ctx.http.now,
                          warn=ctx.journal.log)

    return ctx.service("clms", make)


def resolution_of(snapshot: Snapshot, item: Item) -> Resolution:
    """The item's catalogue resolution, as the ledger holds it."""
    from fetcher.sources import resolution_key

    payload = snapshot.resolutions.get(resolution_key(item) or "")
    if payload is None:
        raise FetcherError(f"{item.label}: no catalogue resolution recorded")
    return Resolution.from_json(payload)
