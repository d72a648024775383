"""One reconciler per ledger: a lock row naming its holder, recovered when the holder dies.

The row is taken with an INSERT (the primary key makes two takers collide, on
SQLite and PostgreSQL alike). A holder on this host is alive while its pid is;
a holder elsewhere is alive while its heartbeat is fresh.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from fetcher.errors import LockHeldError
from fetcher.ledger.models import LockRow

STALE_AFTER = 120.0  # seconds without a heartbeat before a remote holder counts as dead


@dataclass(frozen=True)
class Holder:
    """Who holds the lock."""

    pid: int
    host: str
    since: float
    heartbeat: float

    def describe(self) -> str:
        """'pid 123 on host, since 2026-11-24 09:00:00 UTC'."""
        since = datetime.fromtimestamp(self.since, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"pid {self.pid} on {self.host}, since {since} UTC"


class ReconcilerLock:
    """The ``sync`` lock of one ledger."""

    def __init__(self, ledger: object, *, name: str = "sync",
                 now: Callable[[], float], sleep: Callable[[float], None]) -> None:
        from fetcher.ledger import Ledger

        assert isinstance(ledger, Ledger)
        self.engine = ledger.engine
        self.name = name
        self.now = now
        self.sleep = sleep
        self.pid = os.getpid()
        self.host = socket.gethostname()

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds for a live holder.

        Raises:
            LockHeldError: naming the holder, when it is still held after ``wait``.
        """
        deadline = self.now() + wait
        while True:
            holder = self._try()
            if holder is None:
                return
            if self.now() >= deadline:
                raise LockHeldError(
                    f"another sync holds this ledger: {holder.describe()}",
                    hint="wait for it, or pass --wait-lock SECONDS")
            self.sleep(min(1.0, max(0.05, deadline - self.now())))

    def heartbeat(self) -> None:
        """Tell other hosts this holder is alive."""
        with self.engine.begin() as conn:
            conn.execute(update(LockRow).where(LockRow.name == self.name,
                                               LockRow.pid == self.pid,
                                               LockRow.host == self.host)
                         .values(heartbeat=self.now()))

    def release(self) -> None:
        """Give the lock back (only if this process holds it)."""
        with self.engine.begin() as conn:
            conn.execute(delete(LockRow).where(LockRow.name == self.name,
                                               LockRow.pid == self.pid,
                                               LockRow.host == self.host))

    def __enter__(self) -> ReconcilerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _try(self) -> Holder | None:
        """Take the lock if free or stale; return the live holder otherwise."""
        now = self.now()
        row = dict(name=self.name, holder=f"{self.pid}@{self.host}", pid=self.pid,
                   host=self.host, since=now, heartbeat=now)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(LockRow).values(**row))
            return None
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            found = conn.execute(select(LockRow).where(LockRow.name == self.name)).first()
            if found is None:
                return Holder(0, "?", now, now)  # released meanwhile: try again next turn
            holder = Holder(found.pid, found.host, found.since, found.heartbeat)
            if holder.pid == self.pid and holder.host == self.host:
                return None
            if self._alive(holder, now):
                return holder
            conn.execute(delete(LockRow).where(LockRow.name == self.name,
                                               LockRow.pid == holder.pid,
                                               LockRow.host == holder.host))
        return self._try()

    def _alive(self, holder: Holder, now: float) -> bool:
        if holder.host == self.host:
            try:
                os.kill(holder.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        return now - holder.heartbeat < STALE_AFTER
