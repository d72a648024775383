"""Reliability fixtures: a real-clock emulator, a workspace of every source, the CLI as a child.

The syncs under test run as ``python -m fetcher sync`` subprocesses (so that they can
be killed with SIGKILL) against an emulator in this process with a real clock and a
task schedule of fractions of a second. Heavier variants run only with FETCHER_SLOW=1.
The workspace, the emulators and the consistency checker are ``tests/support``'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import emulators, specs, workspace
from tests.support.emulators import EmulatorFactory
from tests.support.library import Emulator
from tests.support.specs import GEBCO_EXTRACTED_SPEC as CEDA_SPEC
from tests.support.specs import NUTS_SPEC
from tests.support.workspace import Workspace

SLOW = os.environ.get("FETCHER_SLOW") == "1"
# Small CEDA and Zenodo files keep the many runs of a trial short.
DEFAULTS = {**emulators.REAL_CLOCK, "ceda_file_size": 120_000, "zenodo_file_size": 150_000}

CLMS_SPEC = NUTS_SPEC.replace("regions: [ITC11]", "regions: [ITC11, prd]") + """\
  corine:
    source: clms
    uid: 0407d497d3c44bcd93ce8fd5bf78596a
    file: U2018_CLC2018_V2020_20u1.zip
"""
ZENODO_SPEC = """\
  lc100:
    source: zenodo
    record: 3939050
"""
HTTP_SPEC = """\
  plain:
    source: http
    url: {files}/random/3000000/plain.bin
"""
CLMS_ITEMS = 3  # builtup/ITC11, builtup/prd, corine


def spec_text(emu: Emulator, *blocks: str) -> str:
    """A whole spec file of these dataset blocks (``{files}``: the emulator's files host)."""
    return specs.spec_text(*(b.replace("{files}", emu.urls.files) for b in blocks))


def every_source(emu: Emulator) -> str:
    """A spec of three CLMS items, two CEDA zips, a Zenodo record and an HTTP file."""
    return spec_text(emu, CLMS_SPEC, CEDA_SPEC, ZENODO_SPEC, HTTP_SPEC)


@pytest.fixture(scope="session", autouse=True)
def _emulator_without_nagle() -> Iterator[None]:
    """Skip the 40 ms delayed-ACK stall of the emulator's split writes (timing only)."""
    from fetcher.emulator import server

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server._Handler, "disable_nagle_algorithm", True)
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Heavier variants (``slow``) run only when FETCHER_SLOW=1."""
    if SLOW:
        return
    skip = pytest.mark.skip(reason="heavier variant: set FETCHER_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords and "reliability" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture
def make_emulator() -> Iterator[EmulatorFactory]:
    """Start real-clock emulators with short task schedules and small files; stopped at teardown."""
    with emulators.factory(DEFAULTS) as make:
        yield make


@pytest.fixture
def emu(make_emulator: EmulatorFactory) -> Emulator:
    """A real-clock emulator with no faults."""
    return make_emulator()


def make_workspace(root: Path, emu: Emulator) -> Workspace:
    """A workspace whose ledger the first run creates (so a crash trial may kill that too)."""
    return workspace.make_workspace(root, emu, migrated=False)


@pytest.fixture
def ws(tmp_path: Path, emu: Emulator) -> Workspace:
    """A workspace against the real-clock emulator."""
    return make_workspace(tmp_path, emu)
