"""Shared fixtures: the emulator on a real loopback socket, ledgers built by migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ledger-on-postgres", action="store_true",
        help="run every test's ledger on the PostgreSQL server of FETCHER_TEST_PG (default "
             "postgresql://postgres@127.0.0.1:5432/test), one schema per ledger path")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--ledger-on-postgres"):
        # An environment variable, so that the CLI subprocesses of the tests follow too.
        os.environ["FETCHER_TEST_PG_REDIRECT"] = os.environ.get(
            "FETCHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass (FETCHER_TEST_PG_REDIRECT), skip what only SQLite has."""
    if not os.environ.get("FETCHER_TEST_PG_REDIRECT"):
        return
    skip = pytest.mark.skip(reason="inspects the SQLite file itself; this pass runs on "
                                   "PostgreSQL")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


@pytest.fixture
def emulator() -> Iterator[Any]:
    """A fresh emulator with default settings, on 127.0.0.1, with a fake clock."""
    from fetcher.emulator import Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(seed=0, fake_clock=True)) as emu:
        yield emu
