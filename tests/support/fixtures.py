"""The fixtures of the suites that sync against the emulator (e2e, ops), for their conftest.

``make_emulator`` starts fake-clock emulators (``emulators.FAKE_CLOCK``); ``live_emu``
has a real clock and a schedule of fractions of a second (``emulators.REAL_CLOCK``), for
CLI children that really sleep. Each ``*ws`` is a workspace against one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import emulators
from tests.support.emulators import EmulatorFactory
from tests.support.library import Emulator
from tests.support.workspace import Workspace, make_workspace


@pytest.fixture
def make_emulator() -> Iterator[EmulatorFactory]:
    """Start fake-clock emulators with the given config fields; stopped at teardown."""
    with emulators.factory(emulators.FAKE_CLOCK) as make:
        yield make


@pytest.fixture
def emu(make_emulator: EmulatorFactory) -> Emulator:
    """An emulator with a fake clock and the default task schedule (30 s queued, 60 s running)."""
    return make_emulator()


@pytest.fixture
def ws(tmp_path: Path, emu: Emulator) -> Workspace:
    """A workspace against the fake-clock emulator."""
    return make_workspace(tmp_path, emu)


@pytest.fixture
def live_emu(make_emulator: EmulatorFactory) -> Emulator:
    """An emulator with a real clock and a schedule of fractions of a second."""
    return make_emulator(**emulators.REAL_CLOCK)


@pytest.fixture
def live_ws(tmp_path: Path, live_emu: Emulator) -> Workspace:
    """A workspace against the real-clock emulator, for subprocess runs."""
    return make_workspace(tmp_path, live_emu)
