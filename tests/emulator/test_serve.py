"""``serve`` and ``config_from_file``: what ``fetcher emulator`` runs."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from fetcher.emulator import EmulatorConfig, config_from_dict, config_from_file, serve


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


def test_the_robustness_options_read_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text(
        "zenodo_file_size: 300000000\nresults:\n  abc: {size: 5368709120, chunk_delay: 0.1}\n"
        "post_faults: {orphan: 0.1, after_503: 0.2}\n"
        "faults:\n  clms: {error_503: 0.2, post_fault_after_create: 0.5}\n"
        "cdse_parent_delay: 0\nzenodo_many_files: 50\nmirrors: true\n"
    )
    config = config_from_file(path)
    assert (300000000, 5368709120, 0.1, 0.5, 0.0, 50, True) == (
        config.zenodo_file_size, config.results["abc"].size, config.post_faults["orphan"],
        config.faults["clms"].post_fault_after_create, config.cdse_parent_delay,
        config.zenodo_many_files, config.mirrors)


def test_bad_robustness_options_are_refused() -> None:
    for bad in ({"post_faults": {"later": 0.1}}, {"post_faults": {"orphan": 0.8, "after_503": 0.5}},
                {"faults": {"clms": {"error_503": 2}}}, {"results": {"a": {"colour": 1}}}):
        with pytest.raises(ValueError):
            config_from_dict(bad)


def test_unknown_options_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "emu.json"
    path.write_text(json.dumps({"sed": 1}))
    with pytest.raises(ValueError, match="unknown emulator option"):
        config_from_file(path)


def test_serve_announces_mirrors_when_asked() -> None:
    lines: list[str] = []
    stop = threading.Event()
    runner = threading.Thread(target=serve, kwargs={
        "config": EmulatorConfig(catalogue_size=0, mirrors=True), "announce": lines.append,
        "stop": stop})
    runner.start()
    deadline = time.monotonic() + 10
    while not any(line.startswith("ready") for line in lines) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    runner.join(5)
    names = [line.split(":")[0] for line in lines]
    assert ["mirror_404", "mirror_reset", "mirror_other"] == names[6:9]


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
