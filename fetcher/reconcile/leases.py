"""Per-item leases, so that workers sharing a ledger split the work.

Before acting on an item a worker claims it in the ledger: in the "request"
scope to submit or adopt its CLMS request (one request per item, whoever makes
it), in a "files:<site>" scope to download or extract into one data folder (one
download per folder). A thread renews the worker's leases while it works; a
worker that dies stops renewing, and another takes its items over once the
leases expire. On SQLite the one-reconciler lock already serialises workers,
and leases cost a couple of writes per acted-on item.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fetcher.errors import LedgerError
from fetcher.types import Action, Step

if TYPE_CHECKING:
    from fetcher.ledger import Ledger

REQUEST_ACTIONS = frozenset({Action.SUBMIT, Action.RESUBMIT, Action.ADOPT})


class Leases:
    """One worker's leases on one ledger."""

    def __init__(self, ledger: Ledger, *, ttl: float) -> None:
        self.ledger = ledger
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def scope(self, step: Step) -> str:
        """The scope a step's work needs."""
        return "request" if step.action in REQUEST_ACTIONS else f"files:{self.ledger.site}"

    def claim(self, steps: Sequence[Step]) -> tuple[list[Step], list[Step]]:
        """Claim each step's item; return (claimed, held by other workers).

        A ledger of one machine needs no leases: the reconciler lock already makes
        this process the only worker, and leases left by a killed run must not
        hold up the next one.
        """
        if not self.ledger.shared:
            return list(steps), []
        claimed, deferred = [], []
        for step in steps:
            if step.action is Action.RESOLVE or self.ledger.claim(
                    step.key, self.scope(step), self.holder, self.ttl, dead=_dead):
                claimed.append(step)
            else:
                deferred.append(step)
        if claimed:
            self._keep_alive()
        return claimed, deferred

    def release(self, keep: set[str] | None = None) -> None:
        """Give every lease back, but those of the items in ``keep`` (still being worked on)."""
        if self.ledger.shared:
            self.ledger.release(self.holder, keep=keep)

    def close(self) -> None:
        """Stop renewing and give every lease back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(LedgerError):  # if not, the leases expire by themselves
            self.release()

    def _keep_alive(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._renew, name="fetcher-leases", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.ledger.renew(self.holder, self.ttl)
            except LedgerError:
                continue  # the next renewal may succeed; expiry is the safety net


def _dead(holder: str) -> bool:
    """Whether a lease holder ("host:pid:nonce") is a process of this host that is gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
