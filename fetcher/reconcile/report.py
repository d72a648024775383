"""The run report: every item's outcome, the requests made, bytes moved, time taken."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fetcher.reconcile.plan import human_size

OK_OUTCOMES = frozenset({"downloaded", "up-to-date"})


@dataclass
class Outcome:
    """What became of one item in this run."""

    key: str
    item: str
    outcome: str  # downloaded, up-to-date, waiting, submitted, failed, incomplete, orphan
    message: str = ""
    task_id: str | None = None
    server_status: str | None = None
    files: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)
    input_error: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"key": self.key, "item": self.item, "outcome": self.outcome,
                "message": self.message, "task_id": self.task_id,
                "server_status": self.server_status, "files": self.files,
                "bytes": self.bytes, "notes": self.notes}


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
