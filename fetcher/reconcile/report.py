"""The run report: every item's outcome, the requests made, bytes moved, time taken."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fetcher.journal import Journal, Outcome
from fetcher.reconcile.plan import Plan
from fetcher.text import human_size
from fetcher.types import Action, Snapshot

OK_OUTCOMES = frozenset({"downloaded", "up-to-date"})

__all__ = ["OK_OUTCOMES", "Outcome", "Report", "build_report"]


@dataclass
class Report:
    """A whole run."""

    outcomes: list[Outcome] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    bytes_moved: int = 0
    seconds: float = 0.0
    waited_out: bool = False

    @property
    def exit_code(self) -> int:
        """0 all done, 2 when a spec asked for what the server refuses, else 1 if not done."""
        if any(o.input_error for o in self.outcomes):
            return 2
        if all(o.outcome in OK_OUTCOMES or o.outcome == "orphan" for o in self.outcomes):
            return 0
        if self.waited_out and all(o.outcome in (*OK_OUTCOMES, "orphan", "waiting", "submitted")
                                   for o in self.outcomes):
            return 0
        return 1

    def count(self) -> dict[str, int]:
        """How many items had each outcome."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        return counts

    def summary(self) -> str:
        """One line for people."""
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.count().items()))
        asked = ", ".join(f"{n} {k}" for k, n in sorted(self.requests.items()) if n)
        return (f"{len(self.outcomes)} item(s): {counts or 'none'}; "
                f"requests: {asked or 'none'}; {human_size(self.bytes_moved)} moved "
                f"in {self.seconds:.1f} s")

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"items": [o.to_json() for o in self.outcomes], "counts": self.count(),
                "requests": self.requests, "bytes": self.bytes_moved,
                "seconds": round(self.seconds, 3), "exit_code": self.exit_code}


def build_report(journal: Journal, final: Plan, snapshot: Snapshot, *, seconds: float,
                 http_requests: int, waited_out: bool) -> Report:
    """The report of a run whose last plan was ``final``, from what its journal holds.

    Every way out of the engine's loop leaves right after planning: that plan is final.
    """
    outcomes = journal.outcomes
    downloaded_now = {k for k, o in outcomes.items() if o.bytes}
    for step in final.steps:
        outcome = outcomes.get(step.key)
        if outcome is None:
            outcomes[step.key] = Outcome(step.key, step.label, "orphan", step.reason)
            continue
        task = snapshot.tasks.get(step.key)
        if task is not None and task.task_id:
            outcome.task_id = task.task_id
            outcome.server_status = task.status
        outcome.files = len(snapshot.files.get(step.key, ()))
        if step.key in journal.failed:
            continue
        if step.action is Action.UP_TO_DATE:
            outcome.outcome = "downloaded" if step.key in downloaded_now else "up-to-date"
            outcome.message = step.reason
        elif step.action is Action.WAIT:
            outcome.outcome = "waiting"
            outcome.message = step.reason
        elif step.held:
            outcome.outcome = "failed"
            outcome.message = f"{step.reason}; {step.held}"
        else:
            outcome.outcome = "incomplete"
            outcome.message = f"next: {step.action.value} ({step.reason})"
    requests = dict(journal.counts)
    requests["http"] = http_requests
    return Report(outcomes=list(outcomes.values()), requests=requests,
                  bytes_moved=sum(o.bytes for o in outcomes.values()),
                  seconds=seconds, waited_out=waited_out)
