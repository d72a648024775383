"""``fetcher demo``: the whole job, end to end, against the bundled emulator.

It starts the emulator in this process with a generated service key, copies the
example specs into a demo folder, syncs them (CLMS request, polling, download,
extraction, CEDA and Zenodo files), then syncs again to show that nothing is
requested twice. The emulator's clock is fake: waiting for the CLMS task to be
processed takes no real time, though the log shows the waits a real run makes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from fetcher.config import Settings
from fetcher.ops.sync import sync
from fetcher.reconcile.apply import SyncOptions
from fetcher.reconcile.report import Report
from fetcher.transfer.http import Http

PACKAGE = Path(__file__).resolve().parent.parent
EXAMPLES = PACKAGE / "examples"


def example_specs() -> Path:
    """The example specs shipped with fetcher (the repo's ``specs/`` in a checkout)."""
    checkout = PACKAGE.parent / "specs"
    return checkout if checkout.is_dir() else EXAMPLES


def run_demo(folder: Path, *, say: Callable[[str], None] = print,
             log: Callable[[str], None] | None = None) -> tuple[Report, Report]:
    """Sync the example specs twice against an in-process emulator; return both reports."""
    from fetcher.emulator import Emulator, EmulatorConfig

    if folder.exists():
        shutil.rmtree(folder)
    (folder / "specs").mkdir(parents=True)
    for spec in sorted(example_specs().glob("*.yaml")):
        shutil.copy(spec, folder / "specs" / spec.name)
    with Emulator(EmulatorConfig(seed=0, fake_clock=True)) as emu:
        key_path = folder / "clms-service-key.json"
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(emu.service_key(), handle)
        settings = Settings.from_env(
            {}, db=str(folder / "ledger.db"), data_dir=folder / "data", clms_key=key_path,
            clms_url=emu.urls.clms, ceda_url=emu.urls.ceda, zenodo_url=emu.urls.zenodo)
        say(f"emulator: CLMS {emu.urls.clms}, CEDA {emu.urls.ceda}, Zenodo {emu.urls.zenodo}")
        say(f"demo folder: {folder} (specs/, data/, ledger.db)\n")

        def sleep(seconds: float) -> None:
            emu.clock.advance(seconds)
            time.sleep(0.02)  # a beat, so the progress reads as progress

        reports = []
        for attempt in ("first sync: everything is missing", "second sync: nothing to do"):
            say(f"== {attempt}")
            http = Http(sleep=sleep, now=emu.clock.now)
            started = time.monotonic()
            report = sync([folder / "specs"], settings, SyncOptions(), http=http, log=log)
            report.seconds = time.monotonic() - started
            reports.append(report)
            say(f"server saw: {emu.stats['posts']} data request(s), {emu.stats['searches']} "
                f"catalogue search(es), {emu.stats['polls']} status poll(s), "
                f"{emu.stats['downloads']} download(s)\n")
            emu.reset_stats()
    return reports[0], reports[1]
