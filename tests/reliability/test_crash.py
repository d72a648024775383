"""Crash at any moment: SIGKILL the sync at seeded random moments and at every failpoint.

After each kill the data folder must hold no partial file in view; after a final
run to completion the server must have received exactly one POST per CLMS item, no
``.part`` may remain, and the ledger and the disk must agree byte for byte.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import CLMS_ITEMS, every_source, make_workspace
from tests.reliability.figures import tally
from tests.support import consistency
from tests.support.emulators import posts
from tests.support.watcher import Watcher
from tests.support.workspace import Workspace

FAILPOINTS = ("after-intent", "after-post", "mid-download", "after-download", "after-extract")
# A sync of every source takes about 1 s of imports and 1-2 s of work: kill inside that.
KILL_WINDOW = (0.5, 3.5)
QUICK_CHAINS, SLOW_CHAINS, KILLS_PER_CHAIN = 2, 12, 3


def crash_chain(ws: Workspace, rng: random.Random, kills: int) -> tuple[int, Watcher]:
    """Kill ``kills`` syncs at random moments, then run to completion; return the kills."""
    killed = 0
    with Watcher(ws.data) as watcher:
        for _ in range(kills):
            run = ws.kill_after(rng.uniform(*KILL_WINDOW))
            killed += run.code == -signal.SIGKILL
        final = ws.until_done()
    assert 0 == final.code, final.stderr
    return killed, watcher


def outcome(ws: Workspace, watcher: Watcher) -> dict[str, object]:
    """Posts, partial files seen, and disagreements (extraction work folders aside).

    A kill that lands inside an extraction leaves its work folder behind: that defect
    has its own (xfail) test below, so a random kill that happens to hit it does not
    hide everything else these trials check.
    """
    recorded = consistency.recorded_files(ws)
    problems = [p for p in consistency.check(ws).problems if ".extract-" not in p]
    return {"posts": posts(ws.emu), "partial": watcher.partial(recorded),
            "problems": problems}


EXPECTED = {"posts": CLMS_ITEMS, "partial": [], "problems": []}


def run_chains(tmp_path: Path, make_emulator: object, chains: int, seed: int) -> None:
    rng = random.Random(seed)
    results = []
    for n in range(chains):
        emu = make_emulator(seed=n)  # type: ignore[operator]
        ws = make_workspace(tmp_path / f"chain-{n}", emu)
        ws.write_spec(every_source(emu))
        killed, watcher = crash_chain(ws, rng, KILLS_PER_CHAIN)
        result = outcome(ws, watcher)
        tally(trials=killed, duplicate_posts=max(0, int(result["posts"]) - CLMS_ITEMS),  # type: ignore[call-overload]
              partial_files_seen=len(result["partial"]), samples=watcher.samples)  # type: ignore[arg-type]
        results.append(result)
        emu.stop()
    assert [EXPECTED] * chains == results


def test_random_kills_leave_one_post_per_item_and_a_consistent_folder(
        tmp_path: Path, make_emulator: object) -> None:
    run_chains(tmp_path, make_emulator, QUICK_CHAINS, seed=7)


@pytest.mark.slow
def test_many_random_kills_leave_one_post_per_item_and_a_consistent_folder(
        tmp_path: Path, make_emulator: object) -> None:
    run_chains(tmp_path, make_emulator, SLOW_CHAINS, seed=2026)


@pytest.mark.parametrize("point", FAILPOINTS)
def test_a_kill_at_a_failpoint_leaves_one_post_per_item_and_a_consistent_folder(
        ws: Workspace, point: str) -> None:
    ws.write_spec(every_source(ws.emu))
    with Watcher(ws.data) as watcher:
        killed = ws.cli(failpoint=point)
        final = ws.until_done()
    tally(trials=1, samples=watcher.samples)
    assert (-signal.SIGKILL, 0) == (killed.code, final.code)
    assert EXPECTED == outcome(ws, watcher)


@pytest.mark.slow
@pytest.mark.parametrize("point", FAILPOINTS)
@pytest.mark.parametrize("nth", [1, 2, 3])
def test_a_kill_at_the_nth_hit_of_a_failpoint_leaves_a_consistent_folder(
        ws: Workspace, point: str, nth: int) -> None:
    ws.write_spec(every_source(ws.emu))
    with Watcher(ws.data) as watcher:
        ws.cli(failpoint=f"{point}:{nth}")
        final = ws.until_done()
    tally(trials=1, samples=watcher.samples)
    assert 0 == final.code
    assert EXPECTED == outcome(ws, watcher)


def test_a_kill_during_extraction_leaves_no_work_folder_behind(
        tmp_path: Path, make_emulator: object) -> None:
    emu = make_emulator(ceda_file_size=60_000_000)  # type: ignore[operator]
    ws = make_workspace(tmp_path, emu)
    ws.write_spec(every_source(emu).split("  lc100:")[0].replace(
        "regions: [ITC11, prd]", "regions: [ITC11]"))
    proc = ws.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(consistency.disk_files(folder) for folder in consistency.work_folders(ws.data)):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    killed = ws.finish(proc, [])
    tally(trials=1)
    final = ws.until_done()
    assert (-signal.SIGKILL, 0, []) == (killed.code, final.code,
                                        consistency.check(ws).leftovers)
