"""The task store: tasks shaped as §4.4/§5.2, moved through their statuses lazily.

Nothing runs in the background: whenever a task is read, its status is brought up to
date from the clock and its schedule (Queued, then In_progress, then its outcome), so
a fake clock advanced by a test drives it. CDSE parents (``cdse.py``) are created
the same lazy way once their due time has come.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fetcher.emulator import cdse
from fetcher.emulator.bodies import Body, Literal
from fetcher.emulator.config import Clock, EmulatorConfig, Outcome
from fetcher.emulator.results import custom_zip, prepackaged_zip, sized_result

OK_MESSAGE = "Download process finished successfully"
ACTIVE = ("Queued", "In_progress")


@dataclass
class Task:
    """One stored task: its public record plus what drives its lifecycle."""

    task_id: str
    record: dict[str, Any]
    registered: float
    queued_for: float
    in_progress_for: float
    outcome: Outcome | None
    prepackaged: bool
    finalized: float | None = None
    settled: bool = False
    archive: Body | None = None
    child: bool = False
    parent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TaskStore:
    """All tasks of all users, keyed by TaskID."""

    def __init__(self, config: EmulatorConfig, clock: Clock, fme_url: str) -> None:
        self.config = config
        self.clock = clock
        self.fme_url = fme_url
        self._tasks: dict[str, Task] = {}
        self._lock = threading.RLock()
        self._rng = random.Random(f"{config.seed}:tasks")
        self._fme_ids = 4050 + self._rng.randrange(100000)
        self._pending: list[cdse.PendingParent] = []

    def timestamp(self, when: float) -> str:
        """A task timestamp in the configured style (aware since 2025-10, naive before)."""
        moment = datetime.fromtimestamp(when, timezone.utc)
        if self.config.timestamp_style == "naive":
            moment = moment.replace(tzinfo=None)
        return moment.isoformat(timespec="microseconds")

    def create(self, user_id: str, datasets: list[dict[str, Any]], prepackaged: bool) -> Task:
        """Store a new Queued task and give it an FME id."""
        with self._lock:
            task_id = self._new_id()
            now = self.clock.now()
            queued, running = self._schedule(datasets)
            self._fme_ids += 1
            record = {
                "Datasets": datasets, "Status": "Queued", "UserID": user_id,
                "RegistrationDateTime": self.timestamp(now), "FMETaskId": self._fme_ids,
            }
            task = Task(task_id, record, now, queued, running, self._outcome(datasets),
                        prepackaged)
            self._tasks[task_id] = task
            if self.config.cdse_children and not prepackaged:
                self._add_children(task)
            return task

    def _new_id(self) -> str:
        task_id = str(self._rng.randint(0, 99999999999))
        while task_id in self._tasks:
            task_id = str(self._rng.randint(0, 99999999999))
        return task_id

    def _schedule(self, datasets: list[dict[str, Any]]) -> tuple[float, float]:
        return self.config.schedule.get(
            datasets[0].get("DatasetID", ""),
            (self.config.queued_seconds, self.config.in_progress_seconds),
        )

    def orphan(self, task: Task) -> None:
        """Leave a task Queued for ever without FMETaskId (the FME hand-off failed)."""
        with self._lock:
            task.record.pop("FMETaskId", None)
            task.settled = True

    def schedule_cdse(self, user_id: str, datasets: list[dict[str, Any]]) -> None:
        """Have the async job create the parent task of these CDSE items, if it can."""
        if datasets and not cdse.job_fails(datasets):
            due = self.clock.now() + self.config.cdse_parent_delay
            with self._lock:
                self._pending.append(cdse.PendingParent(due, user_id, datasets))

    def _materialize(self) -> None:
        """Create the CDSE parents whose time has come (called under the lock)."""
        now = self.clock.now()
        due = [p for p in self._pending if p.due <= now]
        self._pending = [p for p in self._pending if p.due > now]
        for pending in due:
            task_id = self._new_id()
            group = cdse.group_id(self._rng)
            record = cdse.parent_record(task_id, group, pending.user_id, pending.datasets,
                                        self.timestamp(pending.due))
            queued, running = self._schedule(pending.datasets)
            task = Task(task_id, record, pending.due, queued, running,
                        self._outcome(pending.datasets), False, parent=True)
            self._tasks[task_id] = task
            if self.config.cdse_children:
                self._add_children(task, group)

    def _outcome(self, datasets: list[dict[str, Any]]) -> Outcome | None:
        for item in datasets:
            if item.get("DatasetID") in self.config.outcomes:
                return self.config.outcomes[item["DatasetID"]]
        roll = self._rng.random()
        if roll < self.config.rejection_rate:
            return Outcome("Rejected", "The request was rejected by the processing service.")
        if roll < self.config.rejection_rate + self.config.failure_rate:
            return Outcome()
        return None

    def _add_children(self, parent: Task, group: str | None = None) -> None:
        group = group or cdse.group_id(self._rng)
        for n in range(2):
            child_id = str(self._rng.randint(0, 99999999999))
            record = cdse.child_record(parent.record, group, cdse.batch_id(parent.task_id, n))
            self._tasks[child_id] = Task(child_id, record, parent.registered,
                                         parent.queued_for, parent.in_progress_for, None,
                                         False, child=True)

    def get(self, task_id: str) -> Task | None:
        """One task, brought up to date, or None."""
        with self._lock:
            self._materialize()
            task = self._tasks.get(task_id)
            if task is not None:
                self._refresh(task)
            return task

    def of_user(self, user_id: str) -> list[Task]:
        """Every task of one user, brought up to date, in creation order."""
        with self._lock:
            self._materialize()
            tasks = [t for t in self._tasks.values() if t.record.get("UserID") == user_id]
            for task in tasks:
                self._refresh(task)
            return tasks

    def by_fme_id(self, fme_id: int) -> Task | None:
        """The task FME knows by ``fme_id``, brought up to date."""
        with self._lock:
            self._materialize()
            for task in self._tasks.values():
                if task.record.get("FMETaskId") == fme_id:
                    self._refresh(task)
                    return task
            return None

    def cancel(self, task: Task) -> None:
        """Set Cancelled and FinalizationDateTime, whatever the status (§5.5)."""
        with self._lock:
            now = self.clock.now()
            task.record["Status"] = "Cancelled"
            task.record["FinalizationDateTime"] = self.timestamp(now)
            task.finalized = now
            task.settled = True

    def force(self, task_id: str, status: str, message: str | None = None) -> None:
        """Set a task's status now, as an FME PATCH would (for tests)."""
        with self._lock:
            task = self._tasks[task_id]
            now = self.clock.now()
            if status == "Finished_ok":
                self._finish(task, now, Outcome("Finished_nok", OK_MESSAGE), ok=True)
            elif status in ACTIVE:
                task.record["Status"] = status
            else:
                self._finish(task, now, Outcome(status, message or ""), ok=False)  # type: ignore[arg-type]
            if message is not None:
                task.record["Message"] = message
            task.settled = True

    def age(self, task_id: str, seconds: float) -> None:
        """Move a task's registration (and finalisation) ``seconds`` into the past."""
        with self._lock:
            task = self._tasks[task_id]
            task.registered -= seconds
            if task.finalized is not None:
                task.finalized -= seconds
                task.record["FinalizationDateTime"] = self.timestamp(task.finalized)
            task.record["RegistrationDateTime"] = self.timestamp(task.registered)

    def _refresh(self, task: Task) -> None:
        if task.settled:
            return
        elapsed = self.clock.now() - task.registered
        rejected = task.outcome is not None and task.outcome.status == "Rejected"
        handed_to_fme = task.parent and not rejected and elapsed >= task.queued_for
        if handed_to_fme and "FMETaskId" not in task.record:
            self._fme_ids += 1
            task.record["FMETaskId"] = self._fme_ids
        if elapsed < task.queued_for:
            status = "Queued"
        elif elapsed < task.queued_for + task.in_progress_for and not rejected:
            status = "In_progress"
        else:
            end = task.registered + task.queued_for + (0 if rejected else task.in_progress_for)
            if task.child:
                task.record["Status"] = "FINISHED_OK"
                task.settled = True
            elif task.outcome is None:
                self._finish(task, end, Outcome("Finished_nok", OK_MESSAGE), ok=True)
            else:
                self._finish(task, end, task.outcome, ok=False)
            return
        if task.child:
            status = {"Queued": "QUEUED", "In_progress": "IN PROGRESS"}[status]
        task.record["Status"] = status

    def _finish(self, task: Task, when: float, outcome: Outcome, ok: bool) -> None:
        task.finalized = when
        task.settled = True
        task.record["FinalizationDateTime"] = self.timestamp(when)
        task.record["Message"] = outcome.message
        if not ok:
            task.record["Status"] = outcome.status
            return
        task.record["Status"] = "Finished_ok"
        body = self.archive(task)
        task.record["DownloadURL"] = (
            f"{self.fme_url}/clmsdatadownload/results/{task.record['FMETaskId']}.zip"
        )
        task.record["FileSize"] = body.size

    def archive(self, task: Task) -> Body:
        """The task's result zip, built once, deterministic for the request content.

        Its size is the dataset's ``results`` size when one is configured.
        """
        if task.archive is None:
            datasets = task.record["Datasets"]
            behaviour = self.config.results.get(datasets[0].get("DatasetID", ""))
            if behaviour is not None and behaviour.size is not None:
                task.archive = sized_result(datasets, self.config.seed, task.prepackaged,
                                            behaviour.size)
            else:
                build = prepackaged_zip if task.prepackaged else custom_zip
                task.archive = Literal(build(datasets, self.config.seed))
        return task.archive

    def active_datasets(self, user_id: str) -> list[Any]:
        """The Datasets entries of the user's Queued and In_progress tasks (duplicate rule)."""
        found: list[Any] = []
        for task in self.of_user(user_id):
            if task.record.get("Status") in ACTIVE:
                found.extend(task.record.get("Datasets", []))
        return found

    def all(self) -> list[Task]:
        """Every task, brought up to date."""
        with self._lock:
            self._materialize()
            for task in self._tasks.values():
                self._refresh(task)
            return list(self._tasks.values())


    def count_by_item(self, statuses: Iterable[str] | None = None,
                      user_id: str | None = None) -> dict[str, int]:
        """How many tasks hold each normalised item (children aside), keyed by its JSON.

        ``statuses`` keeps only tasks in those statuses; ``user_id`` only that user's.
        """
        wanted = set(statuses) if statuses is not None else None
        counts: Counter[str] = Counter()
        for task in self.all():
            if task.child or (wanted is not None and task.record.get("Status") not in wanted):
                continue
            if user_id is not None and task.record.get("UserID") != user_id:
                continue
            for item in task.record.get("Datasets", []):
                counts[item_key(item)] += 1
        return dict(counts)


def item_key(item: Any) -> str:
    """The key ``count_by_item`` files a normalised item under: its sorted-key JSON."""
    return json.dumps(item, sort_keys=True)


def digest(item: Any) -> str:
    """The server's duplicate-check hash of one normalised item."""
    return hashlib.sha512(json.dumps(item, sort_keys=True).encode()).hexdigest()
