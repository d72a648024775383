"""kill -9 at every phase of a sync, then a rerun: never a second POST, never a partial file.

Each scenario runs ``python -m fetcher sync`` with FETCHER_FAILPOINT set, so the process
SIGKILLs itself at that place, then runs it again without. Every scenario has its own
emulator (real clock, a schedule of tenths of a second) and workspace; the scenarios
run side by side once per module, and each test reads one fact of one scenario.
"""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fetcher.emulator import Emulator
from tests.e2e.conftest import kinds
from tests.support import emulators
from tests.support.consistency import check
from tests.support.specs import GEBCO_SPEC, spec_text
from tests.support.workspace import Workspace, make_workspace

KILLED = -signal.SIGKILL


@dataclass
class Run:
    """What one kill-then-rerun scenario left behind."""

    codes: tuple[int, int] = (0, 0)
    after_kill: list[str] = field(default_factory=list)
    posts: int = 0
    problems: list[str] = field(default_factory=list)
    ranges: list[str | None] = field(default_factory=list)
    stderr: str = ""


# name -> (failpoint, spec, emulator config fields)
SCENARIOS = {
    "after-intent": ("after-intent", "clms", {}),
    "after-post": ("after-post", "clms", {}),
    "after-download": ("after-download", "clms", {}),
    "after-extract": ("after-extract", "clms", {}),
    "mid-download-http": ("mid-download", "http", {}),
    "mid-download-ceda": ("mid-download", "ceda", {"ceda_file_size": 3_000_000}),
}


def _spec(kind: str, emu: Emulator) -> str:
    if kind == "clms":
        return kinds("nuts", "prepackaged")
    if kind == "ceda":
        return spec_text(GEBCO_SPEC)
    url = f"{emu.urls.files}/random/3000000/big.bin?seed=7"
    return spec_text(f"  big:\n    source: http\n    url: {url}\n")


def _scenario(root: Path, name: str) -> Run:
    failpoint, kind, fields = SCENARIOS[name]
    with emulators.running(emulators.REAL_CLOCK, **fields) as emu:
        ws: Workspace = make_workspace(root / name, emu)
        ws.write_spec(_spec(kind, emu))
        first = ws.cli("--quiet", failpoint=failpoint)
        after_kill = sorted(p.name for p in ws.data.rglob("*") if p.is_file()) \
            if ws.data.exists() else []
        second = ws.cli("--quiet")
        return Run(codes=(first.code, second.code), after_kill=after_kill,
                   posts=emu.stats["posts"], problems=check(ws).problems,
                   ranges=[r.range for r in emu.requests
                           if r.host in ("files", "ceda", "fme") and r.method == "GET"],
                   stderr=second.stderr)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("kill")
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures = {name: pool.submit(_scenario, root, name) for name in SCENARIOS}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_first_run_is_killed_and_the_rerun_succeeds(runs: dict[str, Run],
                                                         name: str) -> None:
    assert ((KILLED, 0), name) == (runs[name].codes, name), runs[name].stderr


@pytest.mark.parametrize("name", ["after-intent", "after-post", "after-download",
                                  "after-extract"])
def test_kill_then_rerun_posts_once_per_item(runs: dict[str, Run], name: str) -> None:
    assert 2 == runs[name].posts


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_kill_then_rerun_leaves_only_recorded_whole_files(runs: dict[str, Run],
                                                          name: str) -> None:
    assert [] == runs[name].problems


@pytest.mark.parametrize("name", ["mid-download-http", "mid-download-ceda"])
def test_kill_mid_download_leaves_only_a_part_file(runs: dict[str, Run], name: str) -> None:
    files = runs[name].after_kill
    assert (True, []) == (any(f.endswith(".part") for f in files),
                          [f for f in files if ".part" not in f])


@pytest.mark.parametrize("name", ["mid-download-http", "mid-download-ceda"])
def test_the_rerun_resumes_the_interrupted_download_with_range(runs: dict[str, Run],
                                                               name: str) -> None:
    ranges = runs[name].ranges
    assert (None, True) == (ranges[0], any(r is not None and r.startswith("bytes=")
                                           for r in ranges[1:]))
