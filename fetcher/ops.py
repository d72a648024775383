"""The library's operations, as functions returning plain data.

The CLI is a thin layer over these; a Snakemake rule or a notebook can call them
directly (``import fetcher; fetcher.plan_specs(["specs"])``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fetcher.config import Settings
from fetcher.errors import SpecProblem
from fetcher.reconcile.plan import Disk, Plan, Policy, plan
from fetcher.spec import Specs, load_specs
from fetcher.types import FileRecord, Snapshot, Source

if TYPE_CHECKING:  # SQLAlchemy loads only when a ledger is really opened
    from fetcher.ledger import Ledger


def open_ledger(settings: Settings, *, now: Callable[[], float] = time.time) -> Ledger:
    """Open (creating or upgrading) the ledger the settings name, for their data folder."""
    from fetcher.ledger import Ledger

    ledger = Ledger.open(settings.db, now=now)
    ledger.site = settings.site(ledger.shared)
    return ledger


def read_snapshot(settings: Settings) -> Snapshot:
    """The ledger's records, without creating a ledger that does not exist yet."""
    if "://" not in settings.db and not Path(settings.db).expanduser().exists():
        return Snapshot()  # no ledger yet: nothing to read, and no database library to load
    from fetcher.ledger.db import database_url

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
               *, now: float | None = None, policy: Policy | None = None,
               snapshot: Snapshot | None = None) -> tuple[Specs, Plan]:
    """What ``sync`` would do for the specs at ``paths``, item by item; no network.

    Raises:
        SpecError: the specs are invalid.
        LedgerError: the ledger cannot be read.
    """
    settings = settings or Settings.from_env()
    specs = load_specs(list(paths))
    snapshot = read_snapshot(settings) if snapshot is None else snapshot
    recorded = (f for files in snapshot.files.values() for f in files)
    disk = stat_files(settings.data_dir, recorded)
    return specs, plan(specs.items, snapshot, disk, time.time() if now is None else now, policy)


def server_rule_problems(specs: Specs, snapshot: Snapshot) -> list[SpecProblem]:
    """CLMS requests the server would refuse, judged from catalogue entries already known.

    The rules are the server's own (layer, format conversion, CRS, area, time series,
    full-dataset); an item whose catalogue entry is not in the ledger yet is checked
    when ``sync`` resolves it.
    """
    from fetcher.reconcile.plan import resolution_key
    from fetcher.sources.clms_catalogue import Resolution
    from fetcher.sources.clms_check import RequestRejected, check

    problems = []
    for item in specs.items:
        key = resolution_key(item)
        payload = snapshot.resolutions.get(key) if key and item.source is Source.CLMS else None
        if payload is None:
            continue
        try:
            check(item.request, Resolution.from_json(payload))
        except RequestRejected as exc:
            path, _, line = item.origin.rpartition(":")
            problems.append(SpecProblem(path, int(line or 1), 1,
                                        f"{item.label}: the CLMS server would refuse this "
                                        f"request: {exc.server_message or exc.message}"))
    return problems


# --- status and verify ------------------------------------------------------------

STATES = {
    "up-to-date": "complete", "wait": "waiting", "download": "ready", "submit": "missing",
    "resolve": "missing", "adopt": "interrupted", "resubmit": "failed", "verify": "changed",
    "extract": "unextracted", "orphan": "orphan",
}


@dataclass
class ItemStatus:
    """One item's state for ``fetcher status``."""

    key: str
    item: str
    source: str
    state: str
    reason: str
    task_id: str | None = None
    server_status: str | None = None
    age: float | None = None
    files: int = 0
    size: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return asdict(self)


@dataclass
class StatusReport:
    """Every item's state, and what keeps ``--check`` from passing."""

    items: list[ItemStatus]
    lock_problems: list[str] = field(default_factory=list)
    lock_checked: bool = False

    @property
    def complete(self) -> bool:
        """Every wanted item complete, its files intact, and the lock (if any) matched."""
        return not self.lock_problems and all(
            i.state == "complete" and not i.problems for i in self.items if i.state != "orphan")

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"items": [i.to_json() for i in self.items], "complete": self.complete,
                "lock_checked": self.lock_checked, "lock_problems": self.lock_problems}


def status(paths: Sequence[str | Path] = ("specs",), settings: Settings | None = None, *,
           rehash: bool = False, now: float | None = None) -> StatusReport:
    """Every item's state from the ledger and the disk; no network.

    Args:
        paths: Spec files or folders.
        settings: Where the ledger and data are.
        rehash: Re-hash every recorded file instead of trusting size and mtime.
        now: The time, for ages and expiry.
    """
    from fetcher import lockfile

    settings = settings or Settings.from_env()
    now = time.time() if now is None else now
    snapshot = read_snapshot(settings)
    specs, current = plan_specs(paths, settings, now=now, snapshot=snapshot)
    rows = []
    for step in current.steps:
        task = snapshot.tasks.get(step.key)
        files = snapshot.files.get(step.key, ())
        record = snapshot.items.get(step.key)
        row = ItemStatus(
            key=step.key, item=step.label,
            source=step.item.source.value if step.item else (record.source if record else "?"),
            state="failed" if step.held else STATES[step.action.value],
            reason=step.reason + (f"; {step.held}" if step.held else ""),
            task_id=task.task_id if task else None,
            server_status=task.status if task and task.task_id else None,
            age=None if task is None else now - (task.finalized_at or task.registered_at
                                                 or task.created_at),
            files=len(files), size=sum(f.size for f in files))
        if rehash:
            row.problems = verify_records(settings.data_dir, files)
        rows.append(row)
    report = StatusReport(rows)
    lock_path = specs.folder / lockfile.LOCK_NAME
    if lock_path.exists():
        locked = lockfile.read(lock_path)
        report.lock_checked = True
        report.lock_problems = (lockfile.spec_differences(specs.items, locked)
                                + lockfile.file_differences(specs.items, snapshot, locked))
    return report


def verify_records(data_dir: Path, files: Iterable[FileRecord]) -> list[str]:
    """Re-hash recorded files; say which are missing or changed."""
    from fetcher import store

    problems = []
    for record in files:
        path = data_dir / record.path
        try:
            size, sha256, _ = store.hash_file(path)
        except FileNotFoundError:
            problems.append(f"{record.path}: missing")
            continue
        if (size, sha256) != (record.size, record.sha256):
            problems.append(f"{record.path}: changed (sha256 {sha256[:12]}…, "
                            f"recorded {record.sha256[:12]}…)")
    return problems


def verify(paths: Sequence[str | Path] | None = None,
           settings: Settings | None = None) -> dict[str, list[str]]:
    """Re-hash every recorded file (of the specs' items, or of the whole ledger).

    Returns:
        Problems by item label; empty when every file is intact.
    """
    settings = settings or Settings.from_env()
    snapshot = read_snapshot(settings)
    keys: Iterable[str] = snapshot.files
    if paths:
        keys = [i.key for i in load_specs(list(paths)).items]
    problems: dict[str, list[str]] = {}
    for key in keys:
        record = snapshot.items.get(key)
        found = verify_records(settings.data_dir, snapshot.files.get(key, ()))
        if found:
            problems[record.label if record else key] = found
    return problems


def write_lock(paths: Sequence[str | Path] = ("specs",),
               settings: Settings | None = None) -> Path:
    """Write ``fetcher.lock`` beside the specs; return its path."""
    from fetcher import lockfile

    settings = settings or Settings.from_env()
    specs = load_specs(list(paths))
    text = lockfile.build(specs.items, read_snapshot(settings))
    target = specs.folder / lockfile.LOCK_NAME
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return target


def item_files(label: str, paths: Sequence[str | Path] = ("specs",),
               settings: Settings | None = None) -> list[Path]:
    """The local files of one item (``dataset`` or ``dataset/region``), as recorded.

    Raises:
        UsageError: the specs name no such item.
    """
    from fetcher.errors import UsageError

    settings = settings or Settings.from_env()
    items = {i.label: i for i in load_specs(list(paths)).items}
    if label not in items:
        raise UsageError(f"no item {label!r} in the specs",
                         hint="items are named dataset or dataset/region, as `fetcher status` "
                              "shows")
    files = read_snapshot(settings).files.get(items[label].key, ())
    return [settings.data_dir / f.path for f in files if f.role == "data"]
