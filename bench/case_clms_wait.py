"""200 CLMS items, each processed for D seconds: wall time / D and status calls per round.

A real-clock emulator takes QUEUED + D seconds over each task; fetcher polls
every POLL seconds at first (``Settings.poll_interval``, its default back-off
after that), the baseline script polls at a fixed POLL with one
``@datarequest_status_get`` per task. One POST per item on both sides, 200
distinct NUTS regions. Rounds and status calls come from the emulator's log.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench import baseline_script
from bench.common import (
    LC100_ID,
    LC100_LAYER,
    WORK_ROOT,
    Row,
    clms_spec,
    emulator,
    median,
    nuts_codes,
    service_key,
    settings_for,
    write_spec,
)

NAME = "clms_wait"
D_FULL = 10.0
D_QUICK = 3.0
QUEUED = 0.2
POLL = 0.25
STATUS_PATHS = ("/api/@datarequest_search", "/api/@datarequest_status_get")


def run(quick: bool, repeats: int) -> list[Row]:
    """Sync N items against the scheduled emulator, then run the script; compare."""
    count = 40 if quick else 200
    d = D_QUICK if quick else D_FULL
    ours: list[tuple[float, float, int, int]] = []
    theirs: list[tuple[float, float, int]] = []
    for attempt in range(repeats):
        ours.append(_fetcher(count, 3 * attempt, d))
        theirs.append(_baseline(count, 3 * attempt + 2, d))
    processing = QUEUED + d
    walls = [o[0] / processing for o in ours]
    per_round = [o[1] for o in ours]
    base_walls = [t[0] / processing for t in theirs]
    base_round = [t[1] for t in theirs]
    label = f"{count} CLMS items x D={processing:g} s"
    notes = (f"fetcher: {median([o[2] for o in ours]):.0f} poll rounds, "
             f"{median([o[3] for o in ours]):.0f} POSTs; baseline: "
             f"{median([t[2] for t in theirs]):.0f} rounds of {count} calls; "
             f"first poll after {POLL} s on both sides")
    return [
        Row(NAME, f"{label}: wall / D", median(walls), "x", "<= 1.3", median(walls) <= 1.3,
            baseline=median(base_walls), baseline_name="seed script",
            ratio=median(walls) / median(base_walls), samples=walls,
            baseline_samples=base_walls, notes=notes),
        # A round may end without a poll (a download finished first): at most one each.
        Row(NAME, f"{label}: status calls per round", median(per_round), "req", "<= 1",
            median(per_round) <= 1.0, baseline=median(base_round), baseline_name="seed script",
            ratio=median(per_round) / median(base_round), samples=per_round,
            baseline_samples=base_round),
    ]


def _config(d: float) -> dict[str, float]:
    return {"queued_seconds": QUEUED, "in_progress_seconds": d}


def _fetcher(count: int, attempt: int, d: float) -> tuple[float, float, int, int]:
    """One sync: (wall, status calls per round, rounds, posts)."""
    from fetcher.ops.sync import sync
    from fetcher.reconcile.apply import SyncOptions
    from fetcher.transfer.http import Http

    folder = Path(tempfile.mkdtemp(prefix="bench-wait-", dir=WORK_ROOT))
    try:
        with emulator(**_config(d)) as emu:
            key_path, _ = service_key(emu, folder)
            # A different set of regions each attempt: no task is adopted from before.
            regions = nuts_codes(count * (attempt + 1))[count * attempt:]
            specs = write_spec(folder / "specs", {"builtup": clms_spec("builtup", regions)})
            settings = settings_for(emu, folder, key_path, poll_interval=POLL)
            marks: list[int] = []

            def log(line: str) -> None:
                if line.startswith("waiting "):
                    marks.append(len(emu.requests))

            emu.reset_stats()
            started = time.perf_counter()
            options = SyncOptions(jobs=8)
            report = sync([specs], settings, options, http=Http(), log=log)
            wall = time.perf_counter() - started
            done = sum(o.outcome == "downloaded" for o in report.outcomes)
            if done != count:
                raise SystemExit(f"clms_wait: fetcher downloaded {done} of {count} items")
            log_after = emu.requests[marks[0]:] if marks else []
            calls = sum(1 for r in log_after if r.host == "clms" and r.path in STATUS_PATHS)
            return wall, calls / max(1, len(marks)), len(marks), emu.stats["posts"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _baseline(count: int, attempt: int, d: float) -> tuple[float, float, int]:
    """One run of the seed-style script: (wall, status calls per round, rounds)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-wait-base-", dir=WORK_ROOT))
    try:
        with emulator(**_config(d)) as emu:
            key = emu.service_key()
            regions = nuts_codes(count * (attempt + 1))[count * attempt:]
            wanted = [baseline_script.Wanted(LC100_ID, r, LC100_LAYER) for r in regions]
            started = time.perf_counter()
            result = baseline_script.run(key, emu.urls.clms, wanted, folder / "out",
                                         poll_interval=POLL)
            wall = time.perf_counter() - started
            assert result.downloads == count
            return wall, result.status_calls / max(1, result.rounds), result.rounds
    finally:
        shutil.rmtree(folder, ignore_errors=True)
