"""Fixtures for the download core: the emulator on loopback, and an Http on its fake clock.

One emulator serves a whole test module (starting six hosts per test would dominate
the run); every test starts with its faults cleared and its request log empty.
"""

from __future__ import annotations

import random
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

from fetcher.transfer.http import Http, RetryPolicy


class FakeClock:
    """The emulator's fake clock, seen from the client: sleeping advances it, and is logged."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.sleeps: list[float] = []

    def time(self) -> float:
        return float(self.emu.clock.now())

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.emu.clock.advance(seconds)


class Host:
    """One emulated host: its URL, the shared faults, and its part of the request log."""

    def __init__(self, emu: Any, name: str) -> None:
        self.emu = emu
        self.name = name
        self.url: str = getattr(emu.urls, name)
        self.faults = emu.faults

    @property
    def requests(self) -> list[Any]:
        """This host's requests: method, path, status, range, bytes, fault.

        The emulator logs a request after sending its answer, so a client can finish
        before the entry lands; wait (briefly, really) until the log stops growing.
        """
        seen = self.emu.requests
        for _ in range(50):
            time.sleep(0.01)
            again = self.emu.requests
            if len(again) == len(seen):
                break
            seen = again
        return [r for r in seen if r.host == self.name]


FilesHost = Host


def _emulator(**options: Any) -> Any:
    from fetcher.emulator import Emulator, EmulatorConfig

    return Emulator(EmulatorConfig(seed=0, fake_clock=True, **options))


def make_http(clock: FakeClock) -> Http:
    """An Http whose retries sleep on the fake clock, with short timeouts."""
    policy = RetryPolicy(attempts=4, connect_timeout=2.0, read_timeout=5.0)
    return Http(policy=policy, sleep=clock.sleep, now=clock.time, rng=random.Random(0))


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Any]:
    """The emulator this module's tests share."""
    with _emulator() as emu:
        yield emu


@pytest.fixture
def emu(shared_emulator: Any) -> Iterator[Any]:
    """The shared emulator with no faults and an empty request log."""
    shared_emulator.faults.clear()
    shared_emulator.reset_stats()
    yield shared_emulator
    shared_emulator.faults.clear()


@pytest.fixture
def clock(emu: Any) -> FakeClock:
    """The emulator's fake clock, with a log of the client's sleeps."""
    return FakeClock(emu)


@pytest.fixture
def http(clock: FakeClock) -> Iterator[Http]:
    """An Http on the fake clock."""
    client = make_http(clock)
    yield client
    client.close()


@pytest.fixture
def files(emu: Any) -> Host:
    """The files host: ``/random/<size>/<name>?seed=N``."""
    return Host(emu, "files")


@pytest.fixture
def ceda_host(emu: Any) -> Host:
    """The CEDA archive: GEBCO 2024 zips with ``?json`` listings."""
    return Host(emu, "ceda")


@pytest.fixture
def zenodo_host(emu: Any) -> Host:
    """Zenodo: record 3939050 (current shape) and 1000001 (legacy shape)."""
    return Host(emu, "zenodo")


@pytest.fixture
def zenodo_limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Http, Host, FakeClock]]:
    """An emulator whose Zenodo allows two API calls a minute, and an Http for it."""
    from fetcher.emulator import zenodo

    with _emulator(zenodo_rate_limit=2) as emu:
        clock = FakeClock(emu)
        # The emulator's rate window reads time.time(), not its fake clock; point it
        # at the fake clock so that waiting (a fake sleep) really reopens the window.
        monkeypatch.setattr(zenodo, "time", types.SimpleNamespace(time=clock.time))
        http = make_http(clock)
        yield http, Host(emu, "zenodo"), clock
        http.close()
