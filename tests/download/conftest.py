"""Fixtures for the download core: a clock that never sleeps, an Http wired to it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from fetcher.net import Http, RetryPolicy


class FakeClock:
    """A clock whose sleep advances time instead of waiting; it records every sleep."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


@pytest.fixture
def http(clock: FakeClock) -> Iterator[Http]:
    """An Http whose retries sleep on the fake clock, with short timeouts."""
    policy = RetryPolicy(attempts=4, connect_timeout=2.0, read_timeout=2.0)
    client = Http(policy=policy, sleep=clock.sleep, now=clock.time, rng=random.Random(0))
    yield client
    client.close()


class FilesHost:
    """The emulator's plain file host on a loopback socket, with its faults and log."""

    def __init__(self, clock: FakeClock) -> None:
        from fetcher.emulator.faults import Faults, Recorder
        from fetcher.emulator.files import FilesApp
        from fetcher.emulator.server import HostServer

        self.faults = Faults(0, {})
        self.recorder = Recorder()
        self.server = HostServer("files", FilesApp(), self.faults, self.recorder, clock.time)
        self.url = self.server.base_url

    @property
    def requests(self) -> list[Any]:
        """The request log: host, method, path, status, range, bytes, fault."""
        return list(self.recorder.log)


@pytest.fixture
def files(clock: FakeClock) -> Iterator[FilesHost]:
    """The emulator's files host (``/random/<size>/<name>?seed=N``), running."""
    host = FilesHost(clock)
    host.server.start()
    yield host
    host.server.stop()
