"""What a step of a sync may use: the ledger, the network, the settings, the journal.

The engine builds one ``StepContext`` per sync and hands it to every step and to
the sources, which see nothing else of the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from fetcher.config import Settings
from fetcher.errors import FetcherError
from fetcher.journal import Journal
from fetcher.types import Step

if TYPE_CHECKING:
    from fetcher.ledger import Ledger
    from fetcher.transfer.http import Http

T = TypeVar("T")


@dataclass
class StepContext:
    """One sync's ledger, network seam, settings and journal."""

    settings: Settings
    ledger: Ledger
    http: Http
    journal: Journal
    expected: Mapping[str, Mapping[str, tuple[int, str]]] | None = None
    """Under ``--frozen``: per item key, every file's (size, sha256) from the lock."""
    _services: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        """The run's clock (the network seam's, so tests can fake both at once)."""
        return self.http.now()

    def service(self, name: str, make: Callable[[], T]) -> T:
        """A per-run client, built on first use (no key is read for a sync without CLMS)."""
        with self._lock:
            if name not in self._services:
                self._services[name] = make()
            service: T = self._services[name]
            return service

    def fail(self, step: Step, exc: FetcherError) -> None:
        """Record that an item cannot progress in this run: the report and the event log.

        A mistake in the spec that only the server revealed (exit 2) names the spec
        file and the line of the dataset that asked for it.
        """
        where = step.item.origin if step.item is not None and exc.exit_code == 2 else ""
        self.journal.fail(step.key, exc, where=where)
        self.ledger.event("error", exc.message, step.key)

    def refresh(self, step: Step, resolution_key: str | None, why: str) -> bool:
        """The server contradicts what the ledger remembers of an item: forget it, once.

        Caches are facts with an age: a catalogue entry or a listing the server
        contradicts is looked up again, once in the run, before the item fails.

        Returns:
            True when the resolution was forgotten (plan again: it is resolved anew);
            False when it was refreshed already in this run (the item fails).
        """
        if (resolution_key is None or resolution_key in self.journal.refreshed
                or self.expected is not None):  # --frozen: the lock's resolutions stand
            return False
        self.journal.refreshed.add(resolution_key)
        self.ledger.forget_resolution(resolution_key)
        self.note(step.key, f"{why}; looking it up again")
        return True

    def note(self, key: str, text: str) -> None:
        """A line of an item's story in the report."""
        self.journal.note(key, text)

    def count(self, name: str, n: int = 1) -> None:
        """Count requests of one kind for the report."""
        self.journal.count(name, n)
