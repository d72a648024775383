"""No-op sync of 1,000 satisfied CLMS items: wall time and requests made.

The ledger is built by a real sync (fake clock: the emulator's processing takes no
real time), then a second sync is timed, in process and as the ``fetcher sync``
command. The baseline is one run of the seed-style script over the same regions,
which searches, posts, polls and downloads everything again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import baseline_script
from bench.common import (
    LC100_ID,
    LC100_LAYER,
    WORK_ROOT,
    Row,
    clms_spec,
    emulator,
    fake_time_http,
    median,
    nuts_codes,
    service_key,
    settings_for,
    timed,
    write_spec,
)

NAME = "noop"


def run(quick: bool, repeats: int) -> list[Row]:
    """Build the ledger, then time no-op syncs and count their requests."""
    from fetcher.ops.sync import sync
    from fetcher.reconcile.apply import SyncOptions
    from fetcher.transfer.http import Http

    count = 100 if quick else 1000
    folder = Path(tempfile.mkdtemp(prefix="bench-noop-", dir=WORK_ROOT))
    try:
        with emulator(fake_clock=True) as emu:
            key_path, key = service_key(emu, folder)
            regions = nuts_codes(count)
            specs = write_spec(folder / "specs", {"builtup": clms_spec("builtup", regions)})
            settings = settings_for(emu, folder, key_path)
            setup_s, first = timed(lambda: sync([specs], settings, SyncOptions(jobs=8),
                                                 http=fake_time_http(emu)))
            done = sum(o.outcome in ("downloaded", "up-to-date") for o in first.outcomes)
            if done != count:
                raise SystemExit(f"noop: the first sync completed {done} of {count} items")

            walls, requests = [], []
            for _ in range(repeats):
                emu.reset_stats()
                wall, report = timed(lambda: sync([specs], settings, SyncOptions(), http=Http()))
                walls.append(wall)
                requests.append(float(emu.stats["requests"]))
                assert all(o.outcome == "up-to-date" for o in report.outcomes)
            env = {**os.environ, "FETCHER_DB": settings.db,
                   "FETCHER_DATA_DIR": str(settings.data_dir), "FETCHER_CLMS_KEY": str(key_path),
                   "FETCHER_CLMS_URL": emu.urls.clms}
            cli = str(Path(sys.executable).with_name("fetcher"))
            cli_walls = []
            for _ in range(repeats):
                emu.reset_stats()
                wall, done_cli = timed(lambda: subprocess.run(
                    [cli, "sync", str(specs)], env=env, capture_output=True, check=False))
                if done_cli.returncode:
                    raise SystemExit(f"noop: fetcher sync failed: {done_cli.stderr.decode()}")
                cli_walls.append(wall)
                requests.append(float(emu.stats["requests"]))

            # The baseline: what a seed-style script costs on every run, same regions.
            emu.reset_stats()
            wanted = [baseline_script.Wanted(LC100_ID, r, LC100_LAYER) for r in regions]
            base_wall, base = timed(lambda: baseline_script.run(
                key, emu.urls.clms, wanted, folder / "baseline", poll_interval=30.0,
                sleep=emu.clock.advance, now=emu.clock.now))
            base_requests = float(emu.stats["requests"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    label = f"no-op sync of {count:,} satisfied items"
    note = (f"ledger built by a first sync in {setup_s:.1f} s; baseline: seed-style script "
            f"({base.pages} catalogue pages, {base.posts} POSTs, {base.status_calls} status "
            f"calls, {base.downloads} downloads), its wall time with the server's processing "
            "time faked away")
    wall = median(walls)
    return [
        Row(NAME, f"{label}: wall (library sync)", wall, "s", "< 1 s", wall < 1.0,
            baseline=base_wall, baseline_name="seed script", ratio=wall / base_wall,
            samples=walls, baseline_samples=[base_wall], notes=note),
        Row(NAME, f"{label}: wall (`fetcher sync`)", median(cli_walls), "s", "< 1 s",
            median(cli_walls) < 1.0, baseline=base_wall, baseline_name="seed script",
            ratio=median(cli_walls) / base_wall, samples=cli_walls,
            notes="a fresh process: imports included"),
        Row(NAME, f"{label}: requests", max(requests), "req", "0", max(requests) == 0,
            baseline=base_requests, baseline_name="seed script",
            ratio=max(requests) / base_requests, samples=requests,
            baseline_samples=[base_requests]),
    ]
