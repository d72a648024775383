"""Shared fixtures: the emulator on a real loopback socket, ledgers built by migrations.

``tests/support`` holds the fixtures the suites share; its plugin adds
``--ledger-on-postgres`` (every ledger on PostgreSQL, see ``tests/support/plugin.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["tests.support.plugin"]


@pytest.fixture
def emulator() -> Iterator[Any]:
    """A fresh emulator with default settings, on 127.0.0.1, with a fake clock."""
    from fetcher.emulator import Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(seed=0, fake_clock=True)) as emu:
        yield emu
