"""Fixtures for the command-level tests: a workspace synced against the emulator, and
ways to run ``fetcher`` on it in-process (``run``, ``CliRunner``) and as a subprocess.

The workspace holds one item of each source (a CLMS NUTS item, a Zenodo file, a CEDA
archive that is extracted). In-process syncs use the emulator's fake clock; syncs
through the CLI, which sleep for real, use the real-clock emulator with a schedule of
fractions of a second.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fetcher.cli import app, run
from tests.support import emulators
from tests.support.fixtures import emu, live_emu, live_ws, make_emulator, ws
from tests.support.specs import GEBCO_EXTRACTED_SPEC as CEDA_SPEC
from tests.support.specs import NUTS_SPEC, spec_text
from tests.support.workspace import Workspace, make_workspace

__all__ = ["CEDA_SPEC", "NUTS_SPEC", "emu", "live_emu", "live_ws", "make_emulator", "spec_text",
           "ws"]

ZENODO_SPEC = """\
  lc100:
    source: zenodo
    record: 3939050
    files: [PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map_EPSG-4326.tif]
"""
MIXED = spec_text(NUTS_SPEC, ZENODO_SPEC, CEDA_SPEC)
LABELS = ["builtup/ITC11", "lc100", "gebco"]
ZENODO_FILE = "lc100/PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map_EPSG-4326.tif"


@dataclass
class Done:
    """What one command did: its exit code and its two streams."""

    code: int
    out: str
    err: str


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One mixed workspace synced in-process, against a session-long fake-clock emulator."""
    with shared_workspace(tmp_path_factory, fake_clock=True) as workspace:
        report = workspace.sync()
        assert 0 == report.exit_code
        yield workspace


@pytest.fixture
def synced(synced_template: Workspace, tmp_path: Path) -> Workspace:
    """A copy of the synced workspace (specs, data with its mtimes, ledger, key) for one test.

    Syncing once and copying keeps the suite fast; the copy talks to the same emulator,
    whose counters start at zero for each test.
    """
    copied = synced_template.copy(tmp_path / "synced")
    synced_template.emu.reset_stats()
    return copied


@pytest.fixture
def live_synced(live_ws: Workspace) -> Workspace:
    """The mixed workspace against the real-clock emulator, synced in-process."""
    live_ws.write_spec(MIXED)
    report = live_ws.sync()
    assert 0 == report.exit_code
    return live_ws


def _point_env_at(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("FETCHER_")
                 and not n.startswith("FETCHER_TEST_")]:
        monkeypatch.delenv(name)
    for name, value in ws.env().items():
        if name.startswith("FETCHER_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(ws.root)


@pytest.fixture
def inproc(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``fetcher.cli.run`` in this process, pointed at a workspace through FETCHER_* env."""

    def call(ws: Workspace, *args: str, **env: str) -> Done:
        _point_env_at(ws, monkeypatch)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Done(code, captured.out, captured.err)

    return call


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``typer.testing.CliRunner`` on ``fetcher.cli.app``, pointed at a workspace."""

    def call(ws: Workspace, *args: str, columns: int = 200) -> Result:
        _point_env_at(ws, monkeypatch)
        return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})

    return call


def fetcher(ws: Workspace, *args: str, timeout: float = 30, **env: str) -> Done:
    """``python -m fetcher ARGS`` as a subprocess, in the workspace, with its FETCHER_* env."""
    done = ws.fetcher(*args, timeout=timeout, **env)
    return Done(done.code, done.stdout, done.stderr)


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every outgoing socket connection this process tries, refused and remembered."""
    import socket

    tried: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        tried.append(address)
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield tried


def spec_path(ws: Workspace) -> str:
    return str(ws.specs)


def data_file(ws: Workspace, rel: str) -> Path:
    return ws.data / rel


@contextmanager
def shared_workspace(factory: pytest.TempPathFactory, **config: object) -> Iterator[Workspace]:
    """A workspace with the mixed specs and its own emulator, for a module's worth of tests
    that only read one command's output (so the command runs once)."""
    with emulators.running({"seed": 0, "catalogue_size": 10}, **config) as emulator:
        workspace = make_workspace(factory.mktemp("ops"), emulator)
        workspace.write_spec(MIXED)
        yield workspace
