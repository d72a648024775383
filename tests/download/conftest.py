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


class Host:
    """One of the emulator's hosts on a loopback socket, with its faults and request log.

    Built from the emulator's own server and apps, so the bytes on the wire are the
    emulator's; only the facade that would start every host at once is skipped.
    """

    def __init__(self, name: str, app: Any, clock: FakeClock) -> None:
        from fetcher.emulator.faults import Faults, Recorder
        from fetcher.emulator.server import HostServer

        self.faults = Faults(0, {})
        self.recorder = Recorder()
        self.server = HostServer(name, app, self.faults, self.recorder, clock.time)
        self.url = self.server.base_url

    @property
    def requests(self) -> list[Any]:
        """The request log: host, method, path, status, range, bytes, fault."""
        return list(self.recorder.log)


FilesHost = Host


def _serve(name: str, app: Any, clock: FakeClock) -> Iterator[Host]:
    host = Host(name, app, clock)
    host.server.start()
    yield host
    host.server.stop()


@pytest.fixture
def files(clock: FakeClock) -> Iterator[Host]:
    """The emulator's files host (``/random/<size>/<name>?seed=N``), running."""
    from fetcher.emulator.files import FilesApp

    yield from _serve("files", FilesApp(), clock)


@pytest.fixture
def ceda_host(clock: FakeClock) -> Iterator[Host]:
    """The emulator's CEDA archive (GEBCO 2024 zips with ``?json`` listings), running."""
    from fetcher.emulator.ceda import CedaApp, CedaArchive

    yield from _serve("ceda", CedaApp(CedaArchive(0, 300_000)), clock)


@pytest.fixture
def zenodo_host(clock: FakeClock) -> Iterator[Host]:
    """The emulator's Zenodo (records 3939050 and legacy 1000001), running."""
    from fetcher.emulator.zenodo import ZenodoApp

    yield from _serve("zenodo", ZenodoApp(0, 200_000, 133), clock)


@pytest.fixture
def zenodo_limited(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    """Zenodo allowing two API calls a minute, its window timed by the fake clock."""
    import types

    from fetcher.emulator import zenodo
    from fetcher.emulator.zenodo import ZenodoApp

    # The emulator's rate window reads time.time(); point it at the fake clock so
    # that waiting (a fake sleep) really reopens the window.
    monkeypatch.setattr(zenodo, "time", types.SimpleNamespace(time=clock.time))
    yield from _serve("zenodo", ZenodoApp(0, 200_000, 2), clock)
