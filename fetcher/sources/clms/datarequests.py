"""CLMS data requests: adopt what the server holds, post what is missing, poll.

Every request is written to the ledger before its POST leaves (an intent) and updated
as soon as the answer arrives; a run that dies between the two is repaired by
adoption. The server has no idempotency key, so:

- a POST whose outcome is unknown (a 5xx, an answer cut off) is followed by a search
  for the task it may have created, adopted when found; only when there is none is it
  posted again, with back-off, at most ``POST_TRIES`` times in the run;
- a POST answered without a task id (CDSE-routed datasets: the server makes the task
  after answering) leaves the request ``pending``; the polls adopt its task once the
  listing shows it;
- adoption never takes a stale task (unfinished ``FETCHER_CLMS_STALE_AFTER`` after it
  was registered) nor a finished one whose result expired; a stale task of ours is
  cancelled before it is requested again (the server's duplicate rule would refuse);
- two items that ask the server for the same thing share one task, so that no twin
  blocks later requests through the duplicate rule;
- a refusal that says the catalogue entry changed (a FileID the server calls invalid)
  makes the item look the catalogue up again, once in the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fetcher import failpoints
from fetcher.errors import ApiError, FetcherError, RemoteError
from fetcher.sources.clms import rules
from fetcher.sources.clms.catalogue import Resolution, ResolveError
from fetcher.sources.clms.check import RequestRejected
from fetcher.transfer.retry import Retrying
from fetcher.types import Action, Item, Snapshot, Step, TaskRecord

if TYPE_CHECKING:
    from fetcher.context import StepContext
    from fetcher.sources.clms.client import ClmsClient
    from fetcher.sources.clms.tasks import Task

POST_TRIES = 4
"""POSTs of one item in one run whose outcome was unknown and found no task."""
PENDING = "pending"
PENDING_FOR = 3600.0
"""Seconds a posted request without a task id is looked for before it counts as lost."""
FAILED = frozenset({"Finished_nok", "Rejected", "Cancelled"})
ALIVE = frozenset({"Queued", "In_progress"})
USELESS = frozenset({"gone", "Cancelled"})
"""Recorded statuses whose task adoption must not take again."""
STALE_CATALOGUE = frozenset({rules.MESSAGES[k] for k in (
    "INVALID_FILE_ID", "INVALID_DATASET_ID", "NOT_DOWNLOADABLE", "UNDEFINED_INFO_ID")})
"""Refusals meaning the catalogue entry fetcher remembers is no longer the server's."""


def submit_all(ctx: StepContext, steps: Sequence[Step]) -> None:
    """Adopt what the server already holds, then post one request per remaining item."""
    round_ = Requests(ctx)
    for step in steps:
        try:
            round_.submit(step)
        except FetcherError as exc:
            if round_.refresh_if_stale(step, exc):
                continue
            if is_input_error(exc):
                exc.exit_code = 2
            ctx.fail(step, exc)


class Requests:
    """One round of requests: the server's task listing, and the tasks this round made."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.client = clms_client(ctx)
        self.tasks = self._listing()
        self.snapshot = ctx.ledger.snapshot()
        self.made: dict[str, str] = {}  # match form -> task id, for items asking the same

    def submit(self, step: Step) -> None:
        """Adopt or post the item's request."""
        item = step.wanted
        resolution = resolution_of(self.snapshot, item)
        entry = self.client.post_item(item.request, resolution)
        recorded = self.snapshot.tasks.get(step.key)
        if step.action is Action.ADOPT and recorded is not None:
            if self._adopt(step, recorded.row, dict(recorded.entry) or entry, resolution):
                return
        else:
            self.client.check(item.request, resolution)
            if recorded is not None and recorded.task_id and recorded.status in ALIVE:
                if not self._caught_up(step, recorded):
                    # Cancelled, it counts against the retry budget: the next round
                    # requests the item again, or holds it once the budget is spent.
                    self._cancel_stale(step, recorded)
                return
            if self._adopt(step, None, entry, resolution):
                return
        self._post(step, entry, resolution)

    # --- adoption ------------------------------------------------------------------

    def _adopt(self, step: Step, row: int | None, entry: dict[str, Any],
               resolution: Resolution) -> bool:
        """Take over a usable task the server holds for this entry, if there is one.

        Stale tasks holding the entry are cancelled first (the duplicate rule would
        refuse the next POST). When one of them was the interrupted request's of
        ``row``, that request is recorded cancelled, against the retry budget, and
        nothing is posted this round. Returns True when nothing is to be posted.
        """
        found = self._find(step, entry, resolution)
        if found is not None:
            self._take(step, row, entry, resolution, found)
            return True
        stale = self._cancel_stale_matches(step, entry, resolution)
        if row is None:
            return False
        if stale:
            from fetcher.sources.clms.tasks import latest

            task = latest(stale)
            self.ctx.ledger.update_task(row, task_id=task.task_id, **task_fields(task))
            self._record_cancelled(step, row)
            return True
        others = self.client.matching(entry, resolution, self.tasks)
        message = ("the request never reached the server" if not others else
                   "the server's tasks for the request are of no use: "
                   + ", ".join(f"{t.task_id} {t.effective_status}" for t in others))
        self.ctx.ledger.update_task(row, status="lost", message=message)
        self.ctx.note(step.key, "no usable task found for the interrupted request; "
                                "posting it again")
        return False

    def _take(self, step: Step, row: int | None, entry: dict[str, Any],
              resolution: Resolution, found: Task) -> None:
        """Record ``found`` as the item's task (in ``row``, else in a new one)."""
        if row is None:
            row = self.ctx.ledger.add_intent(step.key, entry)
        self.ctx.ledger.update_task(row, task_id=found.task_id, **task_fields(found))
        self.made.setdefault(_form_key(entry, resolution), found.task_id)
        self.ctx.count("adopted")
        self.ctx.journal.seen.add(step.key)
        self.ctx.note(step.key, f"adopted task {found.task_id} ({found.effective_status})")

    def _find(self, step: Step, entry: dict[str, Any], resolution: Resolution) -> Task | None:
        """A task this round made for the same thing, else a usable one in the listing."""
        from fetcher.sources.clms.tasks import Task

        made = self.made.get(_form_key(entry, resolution))
        if made is not None:
            return self.tasks.get(made) or Task(task_id=made, status="Queued")
        return self.client.find_task(entry, resolution, self.tasks,
                                     stale_after=self.ctx.settings.clms_stale_after,
                                     exclude=self._useless(step))

    def _useless(self, step: Step) -> set[str]:
        """The item's tasks the ledger knows to be of no use: results gone, cancelled."""
        return {t.task_id for t in self.ctx.ledger.tasks_of(step.key)
                if t.task_id and t.status in USELESS}

    def _caught_up(self, step: Step, recorded: TaskRecord) -> bool:
        """A task stale by the ledger's last word may have moved on: True if it has.

        Its fresh state is recorded instead (the next round plans from it).
        """
        fresh = self.tasks.get(recorded.task_id or "")
        if fresh is None or (fresh.alive and fresh.stale(self.ctx.now(),
                                                         self.ctx.settings.clms_stale_after)):
            return False
        self.ctx.ledger.update_task(recorded.row, **task_fields(fresh))
        self.ctx.journal.seen.add(step.key)
        return True

    def _cancel_stale(self, step: Step, recorded: TaskRecord) -> None:
        """Cancel a task of ours that stayed unfinished too long, before asking again."""
        assert recorded.task_id is not None
        self._cancel(recorded.task_id)
        self._record_cancelled(step, recorded.row)
        self.ctx.note(step.key, f"cancelled stale task {recorded.task_id}")

    def _record_cancelled(self, step: Step, row: int) -> None:
        """The ledger's task ``row`` was cancelled as stale: it counts against the budget."""
        self.ctx.ledger.update_task(row, status="Cancelled", message=self._stale_message(),
                                    finalized_at=self.ctx.now())
        self.ctx.ledger.bump_attempts(step.key)

    def _cancel_stale_matches(self, step: Step, entry: dict[str, Any],
                              resolution: Resolution) -> list[Task]:
        """Cancel the stale tasks the server holds for this entry; the ledger's events say so."""
        stale = self.client.stale_matches(entry, resolution, self.tasks,
                                          stale_after=self.ctx.settings.clms_stale_after)
        for task in stale:
            self._cancel(task.task_id)
            text = f"cancelled stale task {task.task_id} ({task.status}) holding the same request"
            self.ctx.ledger.event("cancel", f"{text}; {self._stale_message()}", step.key)
            self.ctx.note(step.key, text)
        return stale

    def _cancel(self, task_id: str) -> None:
        try:
            self.client.cancel(task_id)
        except ApiError as exc:  # already gone from the server: nothing to cancel
            if exc.status not in (403, 404):
                raise

    def _stale_message(self) -> str:
        return (f"stale: cancelled by fetcher after "
                f"{self.ctx.settings.clms_stale_after / 3600:g} h (FETCHER_CLMS_STALE_AFTER)")

    # --- posting --------------------------------------------------------------------

    def _post(self, step: Step, entry: dict[str, Any], resolution: Resolution) -> None:
        """POST the item; an unknown outcome is searched for before posting again."""
        from fetcher.sources.clms.client import DuplicateRequest, SubmitFailed

        ctx = self.ctx
        row = ctx.ledger.add_intent(step.key, entry)  # committed before the POST leaves
        failpoints.hit("after-intent")
        retrying = Retrying(replace(ctx.http.policy, attempts=POST_TRIES), ctx.http.sleep,
                            ctx.http.now, ctx.http.rng)
        while True:
            try:
                ctx.count("posts")
                task_id = self.client.submit(entry)
                break
            except DuplicateRequest:
                self.tasks = self._listing()
                if not self._adopt(step, row, entry, resolution):
                    raise
                ctx.journal.submitted.add(step.key)  # this run's request, as far as retries go
                return
            except SubmitFailed as exc:
                if exc.task_id is None:  # accepted, no task id yet: CDSE makes it later
                    self._pending(step, row)
                    return
                ctx.ledger.update_task(row, task_id=exc.task_id, status="Cancelled",
                                       message=exc.message)
                ctx.ledger.bump_attempts(step.key)
                self.client.cancel(exc.task_id)
                raise
            except ApiError as exc:
                if exc.status != 400:
                    raise
                ctx.ledger.update_task(row, status="refused", message=exc.message)
                raise
            except RemoteError as exc:
                if self._after_failure(step, row, entry, resolution, exc):
                    return
                if not retrying.again():
                    ctx.ledger.update_task(row, status="lost", message=exc.message)
                    raise
                ctx.note(step.key, f"{exc.message}; no task was made: posting again")
        failpoints.hit("after-post")
        ctx.journal.submitted.add(step.key)
        ctx.journal.seen.add(step.key)
        ctx.ledger.update_task(row, task_id=task_id, status="Queued")
        self.made[_form_key(entry, resolution)] = task_id
        ctx.note(step.key, f"submitted task {task_id}")

    def _after_failure(self, step: Step, row: int, entry: dict[str, Any],
                       resolution: Resolution, exc: RemoteError) -> bool:
        """After a POST failed on the server's side: True when its task was found and adopted.

        "All requests failed" (FME refused the task) and a bare 500 (FME unreachable,
        clms-api.md §13) leave a Queued task without an FMETaskId that never
        progresses and blocks an identical request: it is cancelled. Any other
        failure may have made a good task: it is adopted.

        Raises:
            RemoteError: ``exc`` again, for "all requests failed" (requested next sync).
        """
        self.tasks = self._listing()
        found = self.client.find_task(entry, resolution, self.tasks,
                                      stale_after=self.ctx.settings.clms_stale_after,
                                      exclude=self._useless(step))
        orphaned = exc.status == 500 and found is not None and found.alive \
            and found.fme_task_id is None
        if orphaned and found is not None:
            self.client.cancel(found.task_id)
            self.ctx.ledger.bump_attempts(step.key)
            self.ctx.note(step.key, f"cancelled orphan task {found.task_id} (the server "
                                    "could not hand it to FME)")
        if rules.MESSAGES["ALL_FAILED"] in exc.message:
            message = ("the server could not hand the request to FME"
                       + ("; fetcher cancelled the orphan task" if orphaned else ""))
            self.ctx.ledger.update_task(row, status="Cancelled", message=message,
                                        **({"task_id": found.task_id}
                                           if orphaned and found else {}))
            raise exc
        if found is None or orphaned:
            return False
        self.ctx.ledger.update_task(row, task_id=found.task_id, **task_fields(found))
        self.made[_form_key(entry, resolution)] = found.task_id
        self.ctx.journal.submitted.add(step.key)
        self.ctx.journal.seen.add(step.key)
        self.ctx.count("adopted")
        self.ctx.note(step.key, f"the POST failed ({exc.message}) but made task "
                                f"{found.task_id}: adopted it")
        return True

    def _pending(self, step: Step, row: int) -> None:
        """The server accepted the request and names its task later: wait for the listing."""
        self.ctx.ledger.update_task(row, status=PENDING,
                                    message="posted; the server names its task later")
        self.ctx.journal.submitted.add(step.key)
        self.ctx.note(step.key, "posted; the server gives no task id yet (CDSE): its task is "
                                "adopted once the server lists it")

    # --- stale catalogue entries ------------------------------------------------------

    def refresh_if_stale(self, step: Step, exc: FetcherError) -> bool:
        """A refusal saying the catalogue entry changed: look it up again, once a run."""
        server = getattr(exc, "server_message", "")
        if not isinstance(exc, ApiError) or server not in STALE_CATALOGUE:
            return False
        from fetcher.sources import resolution_key

        return self.ctx.refresh(step, resolution_key(step.wanted),
                                f"the server says {server!r}")

    def _listing(self) -> dict[str, Task]:
        tasks = self.client.tasks()
        self.ctx.count("task_lists")
        return tasks


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
        if recorded is None:
            continue
        if recorded.task_id is None:
            if recorded.status == PENDING:
                changes += _look_for_pending(ctx, client, step, recorded, snapshot, tasks)
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
        if fields["status"] != recorded.status:
            ctx.note(step.key, f"task {found.task_id}: {fields['status']}"
                               + (f" ({found.message})" if found.message else ""))
            if fields["status"] in FAILED:
                failed.append((step.key, found))
    ctx.ledger.update_tasks(changes)
    for key, found in failed:
        ctx.ledger.bump_attempts(key)
        if key in ctx.journal.submitted:
            ctx.journal.settle(key, f"task {found.task_id} {found.status}"
                                    + (f": {found.message}" if found.message else ""))


def _look_for_pending(ctx: StepContext, client: ClmsClient, step: Step, recorded: TaskRecord,
                      snapshot: Snapshot, tasks: dict[str, Task]
                      ) -> list[tuple[int, dict[str, Any]]]:
    """A posted request without a task id: adopt its task once listed, or give it up."""
    resolution = resolution_of(snapshot, step.wanted)
    found = client.find_task(dict(recorded.entry), resolution, tasks,
                             stale_after=ctx.settings.clms_stale_after)
    if found is not None:
        ctx.journal.seen.add(step.key)
        ctx.note(step.key, f"the server lists task {found.task_id} for the request: adopted")
        return [(recorded.row, {"task_id": found.task_id, **task_fields(found)})]
    if ctx.now() - recorded.created_at > PENDING_FOR:
        ctx.note(step.key, "the server never listed a task for the request; "
                           "requesting again")
        return [(recorded.row, {"status": "lost", "message": "the server never listed "
                                                             "a task for the request"})]
    return []


def task_fields(task: Task) -> dict[str, Any]:
    """The ledger's columns for a server task."""
    return {"status": task.effective_status, "message": task.message or "",
            "download_url": task.download_url, "file_size": task.file_size,
            "registered_at": task.registered.timestamp() if task.registered else None,
            "finalized_at": task.finalized.timestamp() if task.finalized else None}


def _changed(recorded: TaskRecord, fields: dict[str, Any]) -> bool:
    current = {"status": recorded.status, "message": recorded.message,
               "download_url": recorded.download_url, "file_size": recorded.file_size,
               "registered_at": recorded.registered_at, "finalized_at": recorded.finalized_at}
    return current != fields


def _form_key(entry: dict[str, Any], resolution: Resolution) -> str:
    """What makes two entries the same request to the server."""
    from fetcher.sources.clms.tasks import match_form

    return json.dumps(match_form(entry, resolution), sort_keys=True)


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
        raise FetcherError("no catalogue resolution recorded")
    return Resolution.from_json(payload)
