"""How many transfers may run against one host at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fetcher.transfer.urls import host_of


class HostGates:
    """A semaphore per host: at most ``per_host`` transfers from any one host at once.

    Shared by the download workers of a run, so that ``--jobs 8`` against one
    server still opens only a few connections to it.
    """

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._gates: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def passage(self, url: str) -> Iterator[None]:
        """Hold one of the URL's host's places while the block runs."""
        host = host_of(url)
        with self._lock:
            gate = self._gates.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with gate:
            yield
