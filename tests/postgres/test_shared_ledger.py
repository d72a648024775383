"""A shared ledger on PostgreSQL: many workers, two data folders, one request per item."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from fetcher.config import Settings
from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.ledger import Ledger
from fetcher.ops.status import status
from fetcher.sources.clms import rules as clms_rules

LC100 = "a8d945f0edd143a0a5240c28bafa23da"
CODES = sorted(c for c in clms_rules.COUNTRIES if c.isalpha())[:50]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(seed=9, queued_seconds=0.3, in_progress_seconds=0.6)
    with Emulator(config) as emulator:
        yield emulator


def _workspace(tmp_path: Path, emu: Emulator, codes: list[str]) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    regions = ", ".join(codes)
    (specs / "shared.yaml").write_text(f"""version: 1
datasets:
  builtup:
    source: clms
    uid: {LC100}
    layer: "Cover Fraction: Built-up "
    regions: [{regions}]
  lc100-map:
    source: zenodo
    record: 3939050
  gebco:
    source: ceda
    path: /bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf
    files: ["gebco_2024*.zip"]
  blob:
    source: http
    url: {emu.urls.files}/random/3000000/blob.bin?seed=4
""")
    key = tmp_path / "key.json"
    key.write_text(json.dumps(emu.service_key()))
    key.chmod(0o600)
    return specs


def _env(emu: Emulator, db: str, data: Path, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FETCHER_DB": db, "FETCHER_DATA_DIR": str(data),
            "FETCHER_CLMS_KEY": str(tmp_path / "key.json"), "FETCHER_CLMS_URL": emu.urls.clms,
            "FETCHER_CEDA_URL": emu.urls.ceda, "FETCHER_ZENODO_URL": emu.urls.zenodo,
            "FETCHER_POLL_INTERVAL": "0.2", "FETCHER_LEASE_SECONDS": "5"}


def _workers(specs: Path, envs: list[dict[str, str]]) -> list[subprocess.CompletedProcess[str]]:
    procs = [subprocess.Popen([sys.executable, "-m", "fetcher", "sync", str(specs)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for env in envs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error")][:3]


def test_eight_workers_in_two_folders_make_one_request_per_item(
        emu: Emulator, pg_url: str, tmp_path: Path) -> None:
    specs = _workspace(tmp_path, emu, CODES)
    folders = [tmp_path / "site-a", tmp_path / "site-b"]
    envs = [_env(emu, pg_url, folders[n % 2], tmp_path) for n in range(8)]
    started = time.monotonic()
    results = _workers(specs, envs)
    elapsed = time.monotonic() - started
    complete = [status([specs], Settings.from_env(env), rehash=True).complete
                for env in envs[:2]]
    failures = [(r.returncode, r.stdout[-400:], _errors(r.stderr)) for r in results
                if r.returncode != 0]
    print(f"8 workers, 2 folders, {len(CODES)} CLMS items + 3 file items: {elapsed:.1f} s")
    assert ([], len(CODES), [True, True]) == (failures, emu.stats["posts"], complete)


def test_a_lease_of_a_vanished_worker_is_taken_over_once_it_expires(
        emu: Emulator, pg_url: str, tmp_path: Path) -> None:
    specs = _workspace(tmp_path, emu, ["ITC11"])
    env = _env(emu, pg_url, tmp_path / "data", tmp_path)
    settings = Settings.from_env(env)
    from fetcher.spec import load_specs

    item = next(i for i in load_specs([specs]).items if i.region == "ITC11")
    with Ledger.open(pg_url) as ledger:
        ledger.sync_items([item])
        expires = time.time() + 3
        assert ledger.claim(item.key, "request", "elsewhere:4242:gone", ttl=3.0)
    (result,) = _workers(specs, [env])
    with Ledger.open(pg_url) as ledger:
        (first, *_) = ledger.tasks_of(item.key)
    assert (0, 1, True) == (result.returncode, emu.stats["posts"], first.created_at >= expires)
    assert status([specs], settings).complete


def test_a_worker_killed_after_its_intent_is_adopted_by_the_next(
        emu: Emulator, pg_url: str, tmp_path: Path) -> None:
    specs = _workspace(tmp_path, emu, ["ITC11", "ES"])
    env = _env(emu, pg_url, tmp_path / "data", tmp_path)
    killed = _workers(specs, [{**env, "FETCHER_FAILPOINT": "after-post"}])
    (rerun,) = _workers(specs, [env])
    assert (-9, 0, 2) == (killed[0].returncode, rerun.returncode, emu.stats["posts"])


def test_a_data_folder_shared_by_two_machines_is_downloaded_once(
        emu: Emulator, pg_url: str, tmp_path: Path) -> None:
    specs = _workspace(tmp_path, emu, ["ITC11", "ES"])
    shared = tmp_path / "shared-data"
    envs = [{**_env(emu, pg_url, shared, tmp_path), "FETCHER_LOCATION": "cluster-scratch"}
            for _ in range(2)]
    _workers(specs, envs[:1])
    alone = emu.stats["downloads"]
    (shutil.rmtree(shared), emu.reset_stats())
    with Ledger.open(pg_url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM files"))
    results = _workers(specs, envs)
    assert ([0, 0], alone) == ([r.returncode for r in results], emu.stats["downloads"])
