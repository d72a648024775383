"""The library's operations, as functions returning plain data.

The CLI is a thin layer over these; a Snakemake rule or a notebook can call them
directly (``import fetcher; fetcher.plan_specs(["specs"])``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from fetcher.config import Settings
from fetcher.ledger import Ledger
from fetcher.ledger.db import database_url
from fetcher.reconcile.plan import Disk, Plan, Policy, plan
from fetcher.spec import Specs, load_specs
from fetcher.types import FileRecord, Snapshot


def open_ledger(settings: Settings) -> Ledger:
    """Open (creating or upgrading) the ledger the settings name."""
    return Ledger.open(settings.db)


def read_snapshot(settings: Settings) -> Snapshot:
    """The ledger's records, without creating a ledger that does not exist yet."""
    url = database_url(settings.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return Snapshot()
    with open_ledger(settings) as ledger:
        return ledger.snapshot()


def stat_files(data_dir: Path, files: Iterable[FileRecord]) -> Disk:
    """The recorded files that exist, with their size and mtime."""
    disk: dict[str, tuple[int, int]] = {}
    for record in files:
        try:
            st = os.stat(data_dir / record.path)
        except OSError:
            continue
        disk[record.path] = (st.st_size, st.st_mtime_ns)
    return disk


def plan_specs(paths: Sequence[str | Path] = ("specs",), settings: Settings | None = None,
               *, now: float | None = None, policy: Policy | None = None) -> tuple[Specs, Plan]:
    """What ``sync`` would do for the specs at ``paths``, item by item; no network.

    Raises:
        SpecError: the specs are invalid.
        LedgerError: the ledger cannot be read.
    """
    settings = settings or Settings.from_env()
    specs = load_specs(list(paths))
    snapshot = read_snapshot(settings)
    recorded = (f for files in snapshot.files.values() for f in files)
    disk = stat_files(settings.data_dir, recorded)
    return specs, plan(specs.items, snapshot, disk, time.time() if now is None else now, policy)
