"""``fetcher --help`` start-up: wall time of the command, against a bare interpreter.

The baseline is ``python -c pass`` with the same interpreter: what no Python
command can beat. Both run ``repeats * 5`` times, interleaved; medians.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import Row, median, timed

NAME = "help"


def run(quick: bool, repeats: int) -> list[Row]:
    """Time ``fetcher --help`` and ``python -c pass``."""
    cli = str(Path(sys.executable).with_name("fetcher"))
    ours, theirs = [], []
    for _ in range(repeats * 5):
        for walls, argv in ((ours, [cli, "--help"]), (theirs, [sys.executable, "-c", "pass"])):
            wall, done = timed(lambda: subprocess.run(
                argv, capture_output=True, check=False))  # noqa: B023
            if done.returncode:
                raise SystemExit(f"help: {' '.join(argv)} failed: {done.stderr.decode()}")
            walls.append(wall)
    value, base = median(ours), median(theirs)
    return [Row(NAME, "`fetcher --help` start-up", value, "s", "< 0.3 s", value < 0.3,
                baseline=base, baseline_name="python -c pass", ratio=value / base,
                samples=ours, baseline_samples=theirs)]
