"""Reliability fixtures: a real-clock emulator, a workspace of every source, the CLI as a child.

The syncs under test run as ``python -m fetcher sync`` subprocesses (so that they can
be killed with SIGKILL) against an emulator in this process with a real clock and a
task schedule of fractions of a second. Heavier variants run only with FETCHER_SLOW=1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fetcher.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parents[2]
SLOW = os.environ.get("FETCHER_SLOW") == "1"

CLMS_SPEC = """\
  builtup:
    source: clms
    dataset: copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe
    download: {name: RASTER, collection: 100m}
    layer: "Cover Fraction: Built-up "
    format: Geotiff
    crs: EPSG:4326
    regions: [ITC11, prd]
  corine:
    source: clms
    uid: 0407d497d3c44bcd93ce8fd5bf78596a
    file: U2018_CLC2018_V2020_20u1.zip
"""
CEDA_SPEC = """\
  gebco:
    source: ceda
    path: /bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf
    files: ["gebco_2024*.zip"]
    extract: true
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
    """A whole spec file of these dataset blocks, with the named region ``prd``."""
    body = "".join(b.replace("{files}", emu.urls.files) for b in blocks)
    return ("version: 1\nregions:\n  prd:\n    bbox: [112.0, 21.5, 115.5, 24.0]\n"
            "datasets:\n" + body)


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
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start real-clock emulators with short task schedules; stopped at teardown."""
    started: list[Emulator] = []

    def make(**fields: Any) -> Emulator:
        fields.setdefault("seed", 0)
        fields.setdefault("fake_clock", False)
        fields.setdefault("queued_seconds", 0.1)
        fields.setdefault("in_progress_seconds", 0.2)
        fields.setdefault("catalogue_size", 10)
        fields.setdefault("ceda_file_size", 120_000)
        fields.setdefault("zenodo_file_size", 150_000)
        emu = Emulator(EmulatorConfig(**fields)).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    """A real-clock emulator with no faults."""
    return make_emulator()


@dataclass
class Run:
    """One finished CLI run."""

    args: list[str]
    code: int
    stdout: str
    stderr: str


@dataclass
class Workspace:
    """A temporary project against one emulator, and every output its runs produced."""

    root: Path
    emu: Emulator
    runs: list[Run] = field(default_factory=list)
    env_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def specs(self) -> Path:
        return self.root / "specs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def db(self) -> Path:
        return self.root / "ledger.db"

    @property
    def key(self) -> Path:
        return self.root / "clms-service-key.json"

    def write_spec(self, text: str, name: str = "specs.yaml") -> Path:
        path = self.specs / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a ``fetcher`` child pointed at this workspace."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FETCHER_")}
        env.update({
            "FETCHER_DB": str(self.db), "FETCHER_DATA_DIR": str(self.data),
            "FETCHER_CLMS_KEY": str(self.key), "FETCHER_CLMS_URL": self.emu.urls.clms,
            "FETCHER_CEDA_URL": self.emu.urls.ceda, "FETCHER_ZENODO_URL": self.emu.urls.zenodo,
            "FETCHER_POLL_INTERVAL": "0.05", "PYTHONWARNINGS": "error",
        })
        env.update(self.env_overrides)
        env.update(extra)
        return env

    def argv(self, *args: str, command: str = "sync") -> list[str]:
        if command == "sync":
            return [sys.executable, "-m", "fetcher", "sync", str(self.specs), *args]
        return [sys.executable, "-m", "fetcher", command, *args]

    def start(self, *args: str, failpoint: str | None = None, command: str = "sync",
              preexec: Callable[[], None] | None = None) -> subprocess.Popen[str]:
        """Start a CLI child (optionally with a failpoint); the caller waits or kills."""
        extra = {"FETCHER_FAILPOINT": failpoint} if failpoint else {}
        return subprocess.Popen(self.argv(*args, command=command), env=self.env(**extra),
                                cwd=self.root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=preexec)

    def finish(self, proc: subprocess.Popen[str], args: list[str],
               timeout: float = 60) -> Run:
        """Wait for a child, keep its output, and return it."""
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        run = Run(args, proc.returncode, out, err)
        self.runs.append(run)
        return run

    def cli(self, *args: str, failpoint: str | None = None, command: str = "sync",
            timeout: float = 60, preexec: Callable[[], None] | None = None) -> Run:
        """Run the CLI to its end."""
        proc = self.start(*args, failpoint=failpoint, command=command, preexec=preexec)
        return self.finish(proc, list(args), timeout)

    def kill_after(self, delay: float, *args: str) -> Run:
        """Start a sync and SIGKILL it after ``delay`` seconds (if still running)."""
        proc = self.start(*args)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
        return self.finish(proc, list(args))

    def until_done(self, *args: str, tries: int = 5) -> Run:
        """Rerun sync until it exits 0 (a crash may leave a task to wait for)."""
        run = self.cli(*args)
        for _ in range(tries - 1):
            if run.code == 0:
                break
            time.sleep(0.2)
            run = self.cli(*args)
        return run


def make_workspace(root: Path, emu: Emulator) -> Workspace:
    """A workspace with a service key (mode 600) and an empty specs folder."""
    ws = Workspace(root, emu)
    ws.specs.mkdir(parents=True)
    fd = os.open(ws.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(emu.service_key(), handle)
    return ws


@pytest.fixture
def ws(tmp_path: Path, emu: Emulator) -> Workspace:
    """A workspace against the real-clock emulator."""
    return make_workspace(tmp_path, emu)


def clms_posts(emu: Emulator) -> int:
    """POSTs the CLMS host answered (the emulator's own count)."""
    return emu.stats["posts"]


def server_tasks(emu: Emulator) -> list[Any]:
    """The emulator's tasks, CDSE children excluded."""
    return [t for t in emu.tasks.all() if not t.child]


# --- the figures the issue asks for, printed at the end of the run ------------------

FIGURES: dict[str, int] = {"trials": 0, "faults injected": 0, "duplicate posts": 0,
                           "partial files seen": 0, "leaks found": 0, "samples": 0}


def tally(**counts: int) -> None:
    """Add to the run's figures."""
    for name, value in counts.items():
        FIGURES[name.replace("_", " ")] = FIGURES.get(name.replace("_", " "), 0) + value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the reliability figures when any reliability test ran."""
    if any(FIGURES.values()):
        line = ", ".join(f"{name}: {value}" for name, value in FIGURES.items())
        terminalreporter.write_line(f"reliability figures: {line}")
