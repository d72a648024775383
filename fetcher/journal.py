"""The journal of one sync: what became of each item, and what was asked of the services.

Steps write into it (a failure, a note for the report, a count); the engine
reads it to build the run's report. Only the thread that runs the steps writes
outcomes; download workers only report progress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fetcher.errors import FetcherError
from fetcher.types import Item

Log = Callable[[str], None]


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
    hint: str = ""  # what to do about a failure

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"key": self.key, "item": self.item, "outcome": self.outcome,
                "message": self.message, "task_id": self.task_id,
                "server_status": self.server_status, "files": self.files,
                "bytes": self.bytes, "notes": self.notes, "hint": self.hint}


class Progress(Protocol):
    """Where a download's progress is shown (a terminal display)."""

    def transfer(self, key: str, name: str, done: int, total: int | None) -> None:
        """A download's bytes so far."""


class Journal:
    """Outcomes by item key, request counts, and which items this run touched."""

    def __init__(self, items: Iterable[Item], *, log: Log | None = None,
                 progress: Progress | None = None) -> None:
        self.outcomes: dict[str, Outcome] = {
            item.key: Outcome(item.key, item.label, "incomplete") for item in items}
        self.counts: Counter[str] = Counter()
        self.log: Log = log or (lambda _line: None)
        self.progress = progress
        self.failed: set[str] = set()  # items that cannot progress in this run
        self.submitted: set[str] = set()  # items whose request this run posted
        self.seen: set[str] = set()  # items whose task this run posted or read from the server
        self.refreshed: set[str] = set()  # resolutions looked up again in this run
        self.retried: set[str] = set()  # items whose download is tried again in this run

    def count(self, name: str, n: int = 1) -> None:
        """Count requests of one kind (posts, task_lists, catalogue, listings, ...)."""
        self.counts[name] += n

    def fail(self, key: str, exc: FetcherError, *, where: str = "") -> None:
        """An item cannot progress in this run: say why in the report.

        ``where`` (``spec.yaml:12``, the dataset that asked) leads the message of a
        mistake only the server could reveal, so that it points at the spec.
        """
        self.failed.add(key)
        outcome = self.outcomes.get(key)
        if outcome is not None:
            outcome.outcome = "failed"
            outcome.input_error = exc.exit_code == 2
            outcome.message = f"{where}: {exc.message}" if where else exc.message
            outcome.hint = exc.hint or ""
            self.log(f"{outcome.item}: {outcome.message}")

    def settle(self, key: str, message: str) -> None:
        """A request this run posted has failed: report it, retry only on a later sync."""
        self.failed.add(key)
        outcome = self.outcomes.get(key)
        if outcome is not None:
            outcome.outcome = "failed"
            outcome.message = f"{message}; requested again on the next sync"

    def note(self, key: str, text: str) -> None:
        """Add a line to an item's story in the report, and log it."""
        outcome = self.outcomes.get(key)
        if outcome is not None:
            outcome.notes.append(text)
            self.log(f"{outcome.item}: {text}")

    def moved(self, key: str, size: int) -> None:
        """Bytes downloaded for an item."""
        outcome = self.outcomes.get(key)
        if outcome is not None:
            outcome.bytes += size

    def transfer(self, key: str, name: str, done: int, total: int | None) -> None:
        """Show a download's progress (called from the download workers)."""
        if self.progress is not None:
            self.progress.transfer(key, name, done, total)
