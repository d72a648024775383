"""``fetcher demo``: from an installed fetcher, no credentials, no network, under a minute."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SAW = re.compile(r"server saw: (\d+) data request\(s\), (\d+) catalogue search\(es\), "
                 r"(\d+) status poll\(s\), (\d+) download\(s\)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                             float, Path]:
    """One ``fetcher demo --dir`` run in an empty folder with a bare environment."""
    home = tmp_path_factory.mktemp("home")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "fetcher", "demo", "--dir",
                           str(home / "demo")], cwd=home, env=env, capture_output=True,
                          text=True, timeout=90, check=False)
    return done, time.monotonic() - started, home / "demo"


def test_demo_exits_0(demo: tuple[subprocess.CompletedProcess[str], float, Path]) -> None:
    done, _, _ = demo
    assert (0, "") == (done.returncode, done.stderr if done.returncode else "")


def test_demo_runs_in_under_a_minute(
        demo: tuple[subprocess.CompletedProcess[str], float, Path]) -> None:
    _, seconds, _ = demo
    assert True == (seconds < 60)  # noqa: E712


def test_demo_first_sync_makes_one_data_request(
        demo: tuple[subprocess.CompletedProcess[str], float, Path]) -> None:
    done, _, _ = demo
    first, _ = SAW.findall(done.stdout)
    assert ("1", "1") == first[:2]


def test_demo_second_sync_requests_nothing(
        demo: tuple[subprocess.CompletedProcess[str], float, Path]) -> None:
    done, _, _ = demo
    _, second = SAW.findall(done.stdout)
    assert ("0", "0", "0", "0") == second


def test_demo_leaves_no_partial_file(
        demo: tuple[subprocess.CompletedProcess[str], float, Path]) -> None:
    _, _, folder = demo
    leftovers = [p.name for p in (folder / "data").rglob("*") if ".part" in p.name]
    assert ([], True) == (leftovers, any((folder / "data").rglob("*.tif")))
