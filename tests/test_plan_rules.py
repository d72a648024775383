"""`fetcher plan` refuses, without the network, what the CLMS server would refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fetcher.cli import run
from fetcher.config import Settings
from fetcher.ops.sync import sync
from fetcher.reconcile.apply import SyncOptions
from fetcher.transfer.http import Http
from tests.support import ledgers

SPEC = """version: 1
datasets:
  builtup:
    source: clms
    uid: a8d945f0edd143a0a5240c28bafa23da
    layer: "{layer}"
    regions: [ITC11]
"""


def test_plan_quotes_the_server_for_a_layer_the_catalogue_lacks(
        emulator: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fetcher.emulator import Emulator

    assert isinstance(emulator, Emulator)
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(SPEC.format(layer="Cover Fraction: Built-up "))
    key = tmp_path / "key.json"
    key.write_text(json.dumps(emulator.service_key()))
    key.chmod(0o600)
    db = ledgers.new(tmp_path, migrated=False, name="l.db")
    settings = Settings.from_env({}, db=db, data_dir=tmp_path / "data",
                                 clms_key=key, clms_url=emulator.urls.clms)
    http = Http(sleep=emulator.clock.advance, now=emulator.clock.now)
    sync([specs], settings, SyncOptions(wait=False), http=http)
    (specs / "a.yaml").write_text(SPEC.format(layer="Cover Fraction: Moss"))
    capsys.readouterr()

    code = run(["plan", str(specs), "--db", db, "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert (2, True) == (code, "Error, the requested band/layer is not valid" in err)
