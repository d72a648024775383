"""The planner: from what the specs want and what the ledger knows, what to do next.

``plan`` is a pure function of (items, ledger snapshot, files on disk, now): no
network, no disk, no clock. ``fetcher plan`` prints it; ``sync`` carries it out
with ``apply``. After a successful apply, planning again gives only up-to-date
and orphan steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fetcher.sources import resolution_key, source_for
from fetcher.text import file_count
from fetcher.types import Action, Disk, FileRecord, Item, Snapshot, Step, TaskRecord

RESULT_TTL = 72 * 3600.0
RETRY_BUDGET = 3
STALE_AFTER = 24 * 3600.0
ALIVE = frozenset({"Queued", "In_progress"})
FAILED = frozenset({"Finished_nok", "Rejected", "Cancelled"})
INTENT = "intent"
PENDING = "pending"  # posted; the server names its task later (CDSE-routed datasets)
NO_TASK = frozenset({"lost", "refused", "gone"})  # our marks: nothing usable on the server


@dataclass(frozen=True)
class Policy:
    """The knobs of planning that are not in the specs."""

    result_ttl: float = RESULT_TTL
    retry_budget: int = RETRY_BUDGET
    stale_after: float = STALE_AFTER


@dataclass(frozen=True)
class Plan:
    """Every item's next step, in spec order, orphans last."""

    steps: tuple[Step, ...] = field(default_factory=tuple)

    def count(self) -> dict[str, int]:
        """How many steps of each action."""
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action.value] = counts.get(step.action.value, 0) + 1
        return counts

    @property
    def pending(self) -> list[Step]:
        """Steps that need work (neither up to date nor orphaned nor held)."""
        return [s for s in self.steps
                if s.action not in (Action.UP_TO_DATE, Action.ORPHAN) and not s.held]

    def to_json(self) -> dict[str, Any]:
        """A plain-data view for ``--json``."""
        return {"steps": [s.to_json() for s in self.steps], "counts": self.count()}


def plan(items: Sequence[Item], snapshot: Snapshot, disk: Disk, now: float,
         policy: Policy | None = None) -> Plan:
    """Decide every item's next step.

    Args:
        items: The items the specs want, in spec order.
        snapshot: The ledger's records.
        disk: Which recorded files exist, with their size and mtime.
        now: The current time (epoch seconds), for task expiry.
        policy: Result lifetime and retry budget.

    Returns:
        One step per item, then one ``orphan`` step per ledger item the specs no
        longer name.
    """
    policy = policy or Policy()
    wanted = {item.key for item in items}
    steps = [_step(item, snapshot, disk, now, policy) for item in items]
    for key, record in snapshot.items.items():
        if key not in wanted:
            steps.append(Step(key, record.label, Action.ORPHAN,
                              "in the ledger but no longer in the specs; `fetcher gc` removes it"))
    return Plan(tuple(steps))


def _step(item: Item, snapshot: Snapshot, disk: Disk, now: float, policy: Policy) -> Step:
    def step(action: Action, reason: str, task: TaskRecord | None = None,
             held: str | None = None) -> Step:
        return Step(item.key, item.label, action, reason, item,
                    None if task is None else task.task_id, held)

    source = source_for(item.source)
    files = snapshot.files.get(item.key, ())
    task = snapshot.tasks.get(item.key)
    res_key = resolution_key(item)
    unresolved = res_key is not None and res_key not in snapshot.resolutions
    if files:
        missing = [f.path for f in files if f.path not in disk]
        changed = [f.path for f in files if f.path in disk and disk[f.path] != (f.size, f.mtime_ns)]
        if not missing and not changed:
            return step(Action.UP_TO_DATE, f"{_count(files)} verified", task)
        if not missing:
            return step(Action.VERIFY, f"{changed[0]} changed size or time; re-hashing", task)
        if _archive_left(files, disk):
            return step(Action.EXTRACT, "archive downloaded, extracted files missing", task)
        reason = f"{missing[0]} is missing" + (f" (and {len(missing) - 1} more)"
                                               if len(missing) > 1 else "")
        if source.asynchronous and task and task.status == "Finished_ok" \
                and not expired(task, now, policy):
            return step(Action.DOWNLOAD, f"{reason}; task {task.task_id} still has it", task)
        if unresolved:  # forgotten (refreshed): fetching again needs it looked up first
            return step(Action.RESOLVE, f"{reason}; {source.looks_up} to be looked up again")
        if not source.asynchronous:
            return step(Action.DOWNLOAD, reason)
        if task is None:
            return step(Action.SUBMIT, f"{reason}; no request on record to fetch it from")
        if task.status == "Finished_ok":
            return step(Action.RESUBMIT, f"{reason}; the task's result has expired", task)
        return _task_step(item, task, snapshot, now, policy, step)  # requested again already
    if unresolved:
        return step(Action.RESOLVE, f"{source.looks_up or 'resolution'} not yet known")
    if not source.asynchronous:
        return step(Action.DOWNLOAD, "not downloaded yet")
    return _task_step(item, task, snapshot, now, policy, step)


def _task_step(item: Item, task: TaskRecord | None, snapshot: Snapshot, now: float,
               policy: Policy, step: Callable[..., Step]) -> Step:
    if task is None:
        return step(Action.SUBMIT, "no request made yet")
    if task.status in NO_TASK:
        return step(Action.SUBMIT, f"previous request {task.status}: {task.message}")
    if task.status == INTENT:
        return step(Action.ADOPT, "a request may have been posted before fetcher "
                                  "stopped; looking for its task", task)
    if task.status == PENDING:
        return step(Action.WAIT, "posted; waiting for the server to list its task", task)
    if task.status in FAILED:
        reason = f"task {task.task_id} {task.status}" + (f": {task.message}" if task.message
                                                         else "")
        return _retry(item, task, snapshot, policy, step, reason)
    if task.status in ALIVE and stale(task, now, policy):
        hours = (now - _registered(task)) / 3600
        return _retry(item, task, snapshot, policy, step,
                      f"stale: task {task.task_id} is still {task.status} after {hours:.0f} h "
                      f"(FETCHER_CLMS_STALE_AFTER={policy.stale_after / 3600:g}); it is "
                      "cancelled and requested again")
    if task.status == "Finished_ok":
        if expired(task, now, policy):
            return step(Action.RESUBMIT, f"task {task.task_id}'s result expired "
                                         "before it was downloaded", task)
        return step(Action.DOWNLOAD, f"task {task.task_id} finished", task)
    return step(Action.WAIT, f"task {task.task_id} is {task.status}", task)


def _retry(item: Item, task: TaskRecord, snapshot: Snapshot, policy: Policy,
           step: Callable[..., Step], reason: str) -> Step:
    """Request again, unless the item's retry budget is spent (then held)."""
    record = snapshot.items.get(item.key)
    attempts = record.attempts if record else 0
    if attempts >= policy.retry_budget:
        return step(Action.RESUBMIT, reason, task,
                    held=f"retry budget spent ({attempts}/{policy.retry_budget}); "
                         "`fetcher sync --retry-failed` tries again")
    return step(Action.RESUBMIT, reason, task)


def _registered(task: TaskRecord) -> float:
    return task.registered_at if task.registered_at is not None else task.created_at


def stale(task: TaskRecord, now: float, policy: Policy | None = None) -> bool:
    """Whether an unfinished task has outlived ``stale_after`` since it was registered."""
    return now - _registered(task) >= (policy or Policy()).stale_after


def expired(task: TaskRecord, now: float, policy: Policy | None = None) -> bool:
    """Whether a finished task's result is past its lifetime."""
    ttl = (policy or Policy()).result_ttl
    # Without a FinalizationDateTime, the first time fetcher saw the task finished
    # (its last update) stands in for it.
    finished = task.finalized_at if task.finalized_at is not None else task.updated_at
    return finished is not None and now >= finished + ttl


def _archive_left(files: Iterable[FileRecord], disk: Disk) -> bool:
    """The kept archive is there and only extracted files are missing: extract, not fetch."""
    files = list(files)
    archives_present = any(f.role == "archive" and f.path in disk for f in files)
    missing = [f for f in files if f.path not in disk]
    return archives_present and all(f.role != "archive" for f in missing)


def _count(files: Sequence[FileRecord]) -> str:
    return file_count(len(files), sum(f.size for f in files))
