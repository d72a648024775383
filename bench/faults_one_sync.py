"""How many fresh syncs of the example specs complete in ONE run under 20 % faults.

    python bench/faults_one_sync.py             # 20 seeds
    python bench/faults_one_sync.py --seeds 5

Every host of the emulator (CLMS API and token endpoint, FME download host, CEDA,
Zenodo, files) answers one request in five with a fault: 5xx (500/502/503), 429 with
Retry-After, a dropped connection or a truncated body; on top, one CLMS answer in
twenty treats a valid token as expired, and half of the POST faults strike after the
server made the task. The clock is the emulator's fake one (waiting is free). For each
seed the run reports its exit code, data requests against items, tasks per item on
the server, and whether the data folder agrees with the ledger.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import emulator, fake_time_http, service_key, settings_for  # noqa: E402

SHARE = 0.2


def faults() -> dict[str, object]:
    """One request in five meets a fault, on every host."""
    from fetcher.emulator import FaultRates

    rates = FaultRates(error_500=0.1 / 3, error_502=0.1 / 3, error_503=0.1 / 3,
                       throttle=0.03, drop=0.03, truncate=0.04, expire_token=0.05,
                       retry_after=2, post_fault_after_create=0.5)
    return {host: rates for host in ("clms", "fme", "ceda", "zenodo", "files")}


def one(seed: int, folder: Path) -> tuple[int, int, int, list[int], bool, int, int]:
    """(exit code, posts, items, tasks per item, consistent, requests, faulted) of a sync."""
    from fetcher.ops.status import status
    from fetcher.ops.sync import sync

    with emulator(seed=seed, fake_clock=True, faults=faults()) as emu:
        service_key(emu, folder)
        specs = folder / "specs"
        shutil.copytree(ROOT / "specs", specs)
        settings = settings_for(emu, folder)
        http = fake_time_http(emu)
        try:
            report = sync([specs], settings, http=http)
        finally:
            http.close()
        emu.faults.clear()
        log = emu.requests
        faulted = sum(1 for r in log if r.fault)
        check = status([specs], settings, rehash=True)
        per_item = sorted(emu.tasks.count_by_item().values())
        items = sum(1 for o in report.outcomes if o.outcome != "orphan")
        return (report.exit_code, emu.stats["posts"], items, per_item, check.complete,
                len(log), faulted)


def main(argv: list[str] | None = None) -> int:
    """Run the seeds; print one line each and the count that completed in one sync."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    done = 0
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory(prefix="fetcher-faults-") as tmp:
            code, posts, _items, per_item, complete, requests, faulted = one(seed, Path(tmp))
        ok = code == 0 and complete and per_item == [1] * len(per_item)
        done += ok
        print(f"seed {seed:2d}: exit {code}, {requests} requests of which {faulted} faulted, "
              f"{posts} POST(s), tasks per item {per_item}, "
              f"folder {'consistent' if complete else 'NOT complete'}"
              f"{'' if ok else '  <- not in one sync'}", flush=True)
    print(f"\n{done} of {args.seeds} fresh syncs completed in one run under "
          f"{SHARE:.0%} faults on every route")
    return 0


if __name__ == "__main__":
    sys.exit(main())
