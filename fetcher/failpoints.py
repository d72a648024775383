"""Failpoints: named places where a test can make fetcher die as if killed -9.

Set ``FETCHER_FAILPOINT=<name>`` (optionally ``<name>:<n>`` to die at the n-th
hit) and the process sends itself SIGKILL when it reaches that place. The crash
tests use them to stop a sync exactly between two effects (after the intent is
written and before the POST; after the POST and before its record; in the middle
of a download or an extraction). Unset, a hit costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

_hits: dict[str, int] = {}
_lock = threading.Lock()


def hit(name: str) -> None:
    """Die here if the environment names this failpoint (at its n-th hit)."""
    wanted = os.environ.get("FETCHER_FAILPOINT")
    if not wanted:
        return
    target, _, count = wanted.partition(":")
    if target != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] < int(count or 1):
            return
    os.kill(os.getpid(), signal.SIGKILL)
