"""Plan of 10,000 items: wall time of ``plan_specs`` and of ``fetcher plan --json``.

Ten CLMS datasets of 1,000 NUTS regions each, with no ledger yet (every item
plans to resolve/submit): spec loading, validation, key hashing and planning.
There is no baseline tool that plans; the figure is the wall time itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import WORK_ROOT, Row, clms_spec, median, nuts_codes, timed, write_spec

NAME = "plan"


def run(quick: bool, repeats: int) -> list[Row]:
    """Plan the same specs in process and as the command; median wall times."""
    from fetcher.config import Settings
    from fetcher.ops.status import plan_specs

    datasets, regions = (10, 100) if quick else (10, 1000)
    count = datasets * regions
    folder = Path(tempfile.mkdtemp(prefix="bench-plan-", dir=WORK_ROOT))
    try:
        codes = nuts_codes(regions)
        specs = write_spec(folder / "specs", {f"builtup-{n}": {**clms_spec("b", codes),
                                                               "layer": None if n else
                                                               "Cover Fraction: Built-up "}
                                              for n in range(datasets)})
        settings = Settings.from_env({}, db=str(folder / "ledger.db"),
                                     data_dir=folder / "data")
        walls = []
        for _ in range(repeats):
            wall, (_, plan) = timed(lambda: plan_specs([specs], settings))
            assert len(plan.steps) == count, len(plan.steps)
            walls.append(wall)
        cli = str(Path(sys.executable).with_name("fetcher"))
        env = {**os.environ, "FETCHER_DB": settings.db,
               "FETCHER_DATA_DIR": str(settings.data_dir)}
        cli_walls = []
        for _ in range(repeats):
            wall, done = timed(lambda: subprocess.run([cli, "plan", "--json", str(specs)],
                                                      env=env, capture_output=True, check=False))
            if done.returncode:
                raise SystemExit(f"plan: fetcher plan failed: {done.stderr.decode()[-500:]}")
            cli_walls.append(wall)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    label = f"plan of {count:,} items"
    return [
        Row(NAME, f"{label}: wall (plan_specs)", median(walls), "s", "< 0.5 s",
            median(walls) < 0.5, samples=walls),
        Row(NAME, f"{label}: wall (`fetcher plan --json`)", median(cli_walls), "s", "< 0.5 s",
            median(cli_walls) < 0.5, samples=cli_walls,
            notes="a fresh process: imports and JSON output included"),
    ]
