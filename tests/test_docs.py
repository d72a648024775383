"""The docs tell the truth: every command is documented, and the CI recipe works."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fetcher.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in
             app.registered_commands]
    return [*names, "db upgrade"]


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_guide_and_the_readme(command: str) -> None:
    guide = (ROOT / "docs" / "guide.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert (f"`fetcher {command}", f"`fetcher {command}") == (
        f"`fetcher {command}" if f"`fetcher {command}" in guide else "missing from guide",
        f"`fetcher {command}" if f"`fetcher {command}" in readme else "missing from README")


def _bash_blocks(path: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)


@pytest.fixture
def live_emulator(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """A real-clock emulator with a quick task schedule, and the env pointing at it."""
    from fetcher.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(seed=3, queued_seconds=0.1, in_progress_seconds=0.2)
    with Emulator(config) as emu:
        key = tmp_path / "key.json"
        key.write_text(json.dumps(emu.service_key()))
        key.chmod(0o600)
        env = {**os.environ, "FETCHER_CLMS_KEY": str(key), "FETCHER_CLMS_URL": emu.urls.clms,
               "FETCHER_CEDA_URL": emu.urls.ceda, "FETCHER_ZENODO_URL": emu.urls.zenodo,
               "FETCHER_POLL_INTERVAL": "0.05",
               "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        yield emu, env


def _run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run([bash, "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_ci_recipe_passes_on_locked_data_and_fails_on_drift(
        live_emulator: tuple[Any, dict[str, str]], tmp_path: Path) -> None:
    emu, env = live_emulator
    (tmp_path / "specs").mkdir()
    for spec in (ROOT / "specs").glob("*.yaml"):
        (tmp_path / "specs" / spec.name).write_text(spec.read_text())
    lock_it, check_it = _bash_blocks(ROOT / "docs" / "ci.md")[:2]

    locked = _run(lock_it, tmp_path, env)
    assert (0, True) == (locked.returncode, (tmp_path / "specs" / "fetcher.lock").exists())
    posts = emu.stats["posts"]
    searches = emu.stats["searches"]

    checked = _run(check_it, tmp_path, env)
    assert (0, posts, searches) == (checked.returncode, emu.stats["posts"],
                                    emu.stats["searches"])

    tif = next((tmp_path / "data" / "lc100-discrete-2019").glob("*.tif"))
    tif.write_bytes(tif.read_bytes()[:-1] + b"\0")
    drifted = _run("fetcher status --check --verify specs/", tmp_path, env)
    assert 1 == drifted.returncode


def test_every_library_function_the_guide_shows_exists() -> None:
    import fetcher

    guide = (ROOT / "docs" / "guide.md").read_text()
    named = sorted(set(re.findall(r"\bfetcher\.([a-z_]+)\(", guide)))
    assert [] == [name for name in named if not hasattr(fetcher, name)]
