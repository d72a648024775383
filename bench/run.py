"""Run fetcher's benchmarks against the emulator; print a table and write JSON.

    python bench/run.py                 # every case, full size (a few minutes)
    python bench/run.py --quick         # small sizes, one repeat: a smoke run
    python bench/run.py --only verify   # one case (repeatable: --only plan --only help)

Every figure is measured in this run against the baseline a user has today
(curl, pooch, sha256sum, a seed-style script, a page-by-page catalogue scan),
as the median of repeats. Results go to ``bench/results/<date>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Row, fmt  # noqa: E402

CASES = ("noop", "catalogue", "clms_wait", "download", "verify", "plan", "help")


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / (1 << 20):.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return {"cpu": cpu, "cpus": str(os.cpu_count()), "memory": memory,
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "commit": commit}


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    head = ("case", "figure", "fetcher", "baseline", "ratio", "target", "result")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        base = f"{fmt(r.baseline, r.unit)} ({r.baseline_name})" if r.baseline is not None else "-"
        ratio = "-" if r.ratio is None else f"{r.ratio:.3g}"
        lines.append(f"| {r.case} | {r.figure} | {fmt(r.value, r.unit)} | {base} | {ratio} | "
                     f"{r.target} | {'pass' if r.passed else 'MISS'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the cases, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--only", action="append", choices=CASES, metavar="CASE",
                        help=f"run only this case ({', '.join(CASES)}); repeatable")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per measurement (default 3, or 1 with --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results file [default: bench/results/<date>.json]")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for name in args.only or CASES:
        module = importlib.import_module(f"bench.case_{name}")
        print(f"== {name}: {module.__doc__.splitlines()[0]}", flush=True)
        began = time.perf_counter()
        found = module.run(args.quick, repeats)
        seconds[name] = time.perf_counter() - began
        for row in found:
            print(f"   {row.figure}: {fmt(row.value, row.unit)}"
                  + (f" vs {fmt(row.baseline, row.unit)} ({row.baseline_name})"
                     if row.baseline is not None else "")
                  + f"  [{'pass' if row.passed else 'MISS'}; target {row.target}]", flush=True)
        print(f"   ({seconds[name]:.1f} s)", flush=True)
        rows.extend(found)
    total = time.perf_counter() - started
    print()
    print(table(rows))
    load = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    print(f"\n{sum(r.passed for r in rows)} of {len(rows)} figures meet their target; "
          f"{total:.0f} s in all; load average {load[0]:.1f} before, {load[3]:.1f} after "
          f"(on {os.cpu_count()} CPUs: other work on the machine skews wall times)")
    now = dt.datetime.now(dt.timezone.utc)
    out = args.out or ROOT / "bench" / "results" / f"{now:%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "version": 1, "date": now.isoformat(timespec="seconds"), "machine": machine(),
        "quick": args.quick, "repeats": repeats, "load_average_before_after": load,
        "seconds": round(total, 1),
        "case_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "rows": [r.to_json() for r in rows], "table": table(rows),
    }, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
