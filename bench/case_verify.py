"""Verify of 5 GiB of files: ``fetcher verify`` wall / ``sha256sum`` wall.

The files are fetched into a data folder under /work by a real sync from the
emulator's files host (10 http items of 512 MiB of seeded random bytes), which
also records them in the ledger. Then ``fetcher verify`` (the command, start-up
included) and ``sha256sum`` over the same files take turns; both read from the
page cache (the machine has room for the files), so the figure compares hashing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import (
    WORK_ROOT,
    Row,
    emulator,
    median,
    settings_for,
    timed,
    write_spec,
)

NAME = "verify"


def run(quick: bool, repeats: int) -> list[Row]:
    """Download and record the files, then time both verifiers."""
    from fetcher.ops.sync import sync
    from fetcher.reconcile.apply import SyncOptions
    from fetcher.transfer.http import Http

    files, each = (4, 128 << 20) if quick else (10, 512 << 20)
    total = files * each
    free = shutil.disk_usage(WORK_ROOT).free
    if free < 2 * total:
        raise SystemExit(f"verify: {free >> 30} GiB free under {WORK_ROOT}; need {2 * total >> 30}")
    folder = Path(tempfile.mkdtemp(prefix="bench-verify-", dir=WORK_ROOT))
    try:
        with emulator() as emu:
            datasets = {f"part{n}": {"source": "http",
                                     "url": f"{emu.urls.files}/random/{each}/part{n}.bin?seed={n}"}
                        for n in range(files)}
            specs = write_spec(folder / "specs", datasets)
            last = f"part{files - 1}"
            one = write_spec(folder / "one", {last: datasets[last]})  # for the tamper check
            settings = settings_for(emu, folder)
            setup_s, report = timed(lambda: sync([specs], settings, SyncOptions(jobs=4),
                                                 http=Http()))
        if sum(o.outcome == "downloaded" for o in report.outcomes) != files:
            raise SystemExit("verify: the sync did not fetch every file")
        paths = sorted(str(p) for p in (folder / "data").rglob("*.bin"))
        assert len(paths) == files and sum(os.path.getsize(p) for p in paths) == total
        cli = str(Path(sys.executable).with_name("fetcher"))
        ours_argv = [cli, "verify", "--db", settings.db, "--data-dir", str(settings.data_dir)]
        theirs_argv = ["sha256sum", *paths]
        subprocess.run(["cat", *paths], stdout=subprocess.DEVNULL, check=True)  # warm the cache
        ours, theirs = [], []
        for n in range(repeats):
            order = [(ours, ours_argv), (theirs, theirs_argv)]
            for walls, argv in order if n % 2 == 0 else order[::-1]:
                wall, done = timed(lambda: subprocess.run(
                    argv, capture_output=True, check=False))  # noqa: B023
                if done.returncode:
                    raise SystemExit(f"verify: {argv[0]} failed: {done.stderr.decode()[-500:]}")
                walls.append(wall)
        # Proof that the bytes are read: change the last byte of the last file (checked
        # through a spec naming that file alone, to keep the run short).
        with open(paths[-1], "r+b") as handle:
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
            handle.seek(-1, os.SEEK_END)
            handle.write(bytes([last[0] ^ 1]))
        tampered = subprocess.run([*ours_argv, "--json", str(one)], capture_output=True,
                                  check=False)
        if tampered.returncode != 1 or Path(paths[-1]).name not in tampered.stdout.decode():
            raise SystemExit("verify: fetcher verify missed a changed byte; figures invalid")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    gib = total / (1 << 30)
    ratio = median(ours) / median(theirs)
    return [Row(NAME, f"verify of {gib:g} GiB ({files} files)", median(ours), "s",
                "ratio <= 1.1", ratio <= 1.1, baseline=median(theirs), baseline_name="sha256sum",
                ratio=ratio, samples=ours, baseline_samples=theirs,
                notes=f"files fetched and recorded by a sync in {setup_s:.0f} s; "
                      f"fetcher {gib / median(ours):.2f} GiB/s, "
                      f"sha256sum {gib / median(theirs):.2f} GiB/s")]
