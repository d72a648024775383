"""End-to-end fixtures: the emulator, a workspace, specs, and sync in-process or as a CLI.

In-process syncs run against an emulator with a fake clock and an ``Http`` whose
sleep advances that clock, so nothing really sleeps. Subprocess syncs (the kill -9
tests) run ``python -m fetcher sync`` against an emulator with a real clock and a
schedule of fractions of a second.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fetcher.config import Settings
from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.ledger import Ledger
from fetcher.ops.sync import sync
from fetcher.reconcile.apply import SyncOptions
from fetcher.reconcile.report import Report
from fetcher.transfer.http import Http

REPO = Path(__file__).resolve().parents[2]

# One spec per kind of CLMS item (clms-api.md §4.1, §6.1; the emulator's catalogue).
NUTS_SPEC = """\
  builtup:
    source: clms
    dataset: copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe
    download: {name: RASTER, collection: 100m}
    layer: "Cover Fraction: Built-up "
    format: Geotiff
    crs: EPSG:4326
    regions: [ITC11]
"""
BBOX_SPEC = """\
  builtup-prd:
    source: clms
    uid: a8d945f0edd143a0a5240c28bafa23da
    layer: "Cover Fraction: Built-up "
    format: Geotiff
    regions: [prd]
"""
PREPACKAGED_SPEC = """\
  corine:
    source: clms
    uid: 0407d497d3c44bcd93ce8fd5bf78596a
    file: U2018_CLC2018_V2020_20u1.zip
"""
TIMESERIES_SPEC = """\
  water:
    source: clms
    uid: 7df9bdf94fe94cb5919c11c9ef5cac65
    format: Geotiff
    regions: [ITC11]
    time: {start: 2021-01-01, end: 2021-01-20}
"""
REGIONS = """\
regions:
  prd:
    bbox: [112.0, 21.5, 115.5, 24.0]
"""
KINDS = {"nuts": NUTS_SPEC, "bbox": BBOX_SPEC, "prepackaged": PREPACKAGED_SPEC,
         "timeseries": TIMESERIES_SPEC}
LC100_UID = "a8d945f0edd143a0a5240c28bafa23da"
CORINE_UID = "0407d497d3c44bcd93ce8fd5bf78596a"
WATER_UID = "7df9bdf94fe94cb5919c11c9ef5cac65"


def spec_text(*datasets: str) -> str:
    """A whole spec file holding these dataset blocks (and the named region ``prd``)."""
    return "version: 1\n" + REGIONS + "datasets:\n" + "".join(datasets)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start an emulator with a fake clock and the given config fields; stopped at teardown."""
    started: list[Emulator] = []

    def make(**fields: Any) -> Emulator:
        fields.setdefault("seed", 0)
        fields.setdefault("fake_clock", True)
        fields.setdefault("catalogue_size", 10)
        emu = Emulator(EmulatorConfig(**fields)).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator with a fake clock and the default task schedule (30 s queued, 60 s running)."""
    return make_emulator()


@dataclass
class Workspace:
    """A temporary project: specs, data dir, ledger, service key, settings."""

    root: Path
    emu: Emulator

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

    @property
    def settings(self) -> Settings:
        return Settings.from_env(
            {}, db=str(self.db), data_dir=self.data, clms_key=self.key,
            clms_url=self.emu.urls.clms, ceda_url=self.emu.urls.ceda,
            zenodo_url=self.emu.urls.zenodo)

    def write_spec(self, text: str, name: str = "specs.yaml") -> Path:
        """Write one spec file (dedented) into the specs folder."""
        path = self.specs / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def write_kinds(self, *kinds: str) -> Path:
        """A spec with one dataset of each named kind (nuts, bbox, prepackaged, timeseries)."""
        return self.write_spec(spec_text(*(KINDS[k] for k in kinds)))

    def sync(self, log: Callable[[str], None] | None = None, **options: Any) -> Report:
        """Run ``sync`` in-process; the emulator's fake clock is both clock and sleep."""
        http = Http(sleep=self.emu.clock.advance, now=self.emu.clock.now)
        try:
            return sync([self.specs], self.settings, SyncOptions(**options), http=http, log=log)
        finally:
            http.close()

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        """The workspace's ledger, opened as fetcher opens it for this data folder."""
        from fetcher.ops.common import open_ledger

        with open_ledger(self.settings) as ledger:
            yield ledger

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a ``fetcher`` subprocess pointed at this workspace."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("FETCHER_") or k.startswith("FETCHER_TEST_")}
        env.update({
            "FETCHER_DB": str(self.db), "FETCHER_DATA_DIR": str(self.data),
            "FETCHER_CLMS_KEY": str(self.key), "FETCHER_CLMS_URL": self.emu.urls.clms,
            "FETCHER_CEDA_URL": self.emu.urls.ceda, "FETCHER_ZENODO_URL": self.emu.urls.zenodo,
            "FETCHER_POLL_INTERVAL": "0.05", "PYTHONWARNINGS": "error",
        })
        env.update(extra)
        return env

    def cli(self, *args: str, failpoint: str | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """``python -m fetcher sync <specs> ARGS`` as a subprocess (optionally with a failpoint)."""
        extra = {"FETCHER_FAILPOINT": failpoint} if failpoint else {}
        return subprocess.run(
            [sys.executable, "-m", "fetcher", "sync", str(self.specs), *args],
            env=self.env(**extra), cwd=self.root, capture_output=True, text=True,
            timeout=timeout, check=False)


_TEMPLATE_DIR: list[Path] = []
_TEMPLATE_LOCK = threading.Lock()


@functools.cache
def _templates() -> tuple[str, Path]:
    """One RSA key and one freshly migrated ledger, copied into every workspace.

    Generating a 2048-bit key and running the migrations cost a few tenths of a
    second each; doing them once keeps the suite fast without faking either.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    folder = Path(tempfile.mkdtemp(prefix="fetcher-e2e-"))
    _TEMPLATE_DIR.append(folder)
    Ledger.open(str(folder / "ledger.db")).close()
    return pem, folder / "ledger.db"


@pytest.fixture(scope="session", autouse=True)
def _remove_templates() -> Iterator[None]:
    yield
    for folder in _TEMPLATE_DIR:
        shutil.rmtree(folder, ignore_errors=True)


def make_workspace(root: Path, emu: Emulator) -> Workspace:
    """A workspace in ``root``: specs folder, migrated ledger, a mode-600 service key."""
    ws = Workspace(root, emu)
    ws.specs.mkdir(parents=True)
    with _TEMPLATE_LOCK:  # the kill scenarios build workspaces from several threads
        pem, ledger = _templates()
    if not os.environ.get("FETCHER_TEST_PG_REDIRECT"):  # on PostgreSQL each path has a schema
        shutil.copyfile(ledger, ws.db)
    fd = os.open(ws.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(emu.service_key(private_key=pem), handle)
    return ws


@pytest.fixture
def ws(tmp_path: Path, emu: Emulator) -> Workspace:
    """A workspace against the fake-clock emulator."""
    return make_workspace(tmp_path, emu)


@pytest.fixture
def live_emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator with a real clock and a schedule of fractions of a second."""
    return make_emulator(fake_clock=False, queued_seconds=0.1, in_progress_seconds=0.2)


@pytest.fixture
def live_ws(tmp_path: Path, live_emu: Emulator) -> Workspace:
    """A workspace against the real-clock emulator, for subprocess runs."""
    return make_workspace(tmp_path, live_emu)


# --- what the tests look at -------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def disk_problems(ws: Workspace) -> list[str]:
    """Every way the data dir and the ledger disagree (empty when they match exactly).

    Every file under the data dir must be recorded with its size and sha256; every
    recorded file must exist; no ``.part`` or extraction leftovers may remain.
    """
    with ws.ledger() as ledger:
        recorded = {f.path: f for files in ledger.snapshot().files.values() for f in files}
    problems = []
    on_disk = {p.relative_to(ws.data).as_posix(): p
               for p in ws.data.rglob("*") if p.is_file()} if ws.data.exists() else {}
    for rel, path in sorted(on_disk.items()):
        record = recorded.get(rel)
        if record is None:
            problems.append(f"unrecorded: {rel}")
        elif (record.size, record.sha256) != (path.stat().st_size, sha256(path)):
            problems.append(f"differs from the ledger: {rel}")
    problems += [f"recorded but missing: {rel}" for rel in sorted(set(recorded) - set(on_disk))]
    return problems


def posts(emu: Emulator) -> int:
    return emu.stats["posts"]


def server_tasks(emu: Emulator) -> dict[str, dict[str, Any]]:
    """The emulator's tasks (children excluded), by TaskID."""
    return {t.task_id: t.record for t in emu.tasks.all() if not t.child}


def outcomes(report: Report) -> dict[str, str]:
    return {o.item: o.outcome for o in report.outcomes}
