"""``serve`` and ``config_from_file``: what ``fetcher emulator`` runs."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from fetcher.emulator import EmulatorConfig, config_from_file, serve


def test_config_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "emu.yaml"
    yaml_file.write_text(
        "seed: 3\nfake_clock: true\nfaults:\n  files: {error_503: 0.5, retry_after: 2}\n"
        "outcomes:\n  abc: {status: Rejected, message: no}\nschedule:\n  abc: [1, 2]\n"
    )
    config = config_from_file(yaml_file)
    assert (
        config.seed,
        config.faults["files"].error_503,
        config.outcomes["abc"].status,
        config.schedule["abc"],
    ) == (3, 0.5, "Rejected", (1.0, 2.0))
    json_file = tmp_path / "emu.json"
    json_file.write_text(json.dumps({"catalogue_size": 200}))
    assert config_from_file(json_file).catalogue_size == 200


def test_unknown_options_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "emu.json"
    path.write_text(json.dumps({"sed": 1}))
    with pytest.raises(ValueError, match="unknown emulator option"):
        config_from_file(path)


def test_serve_announces_urls_and_writes_a_key(tmp_path: Path) -> None:
    lines: list[str] = []
    stop = threading.Event()
    key_path = tmp_path / "key.json"
    runner = threading.Thread(
        target=serve,
        kwargs={
            "config": EmulatorConfig(),
            "announce": lines.append,
            "key_path": key_path,
            "stop": stop,
        },
    )
    runner.start()
    deadline = time.monotonic() + 10
    while not any(line.startswith("ready") for line in lines) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    runner.join(5)
    assert [line.split(":")[0].split(";")[0] for line in lines] == [
        "clms",
        "token_uri",
        "fme",
        "ceda",
        "zenodo",
        "files",
        "service key",
        "ready",
    ]
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert json.loads(key_path.read_text())["token_uri"].endswith("/api/@@oauth2-token")
