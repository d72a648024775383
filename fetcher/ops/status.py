"""What the specs want against what the ledger and the disk hold: plan, status,
verify, lock and files, with no network.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fetcher.config import Settings
from fetcher.errors import FetcherError, SpecProblem
from fetcher.ops.common import read_snapshot
from fetcher.reconcile.plan import ALIVE, Plan, Policy, plan
from fetcher.sources import resolution_key, source_for
from fetcher.spec import Specs, load_specs
from fetcher.transfer.files import hash_file, stat_files
from fetcher.types import Action, FileRecord, Snapshot, Step, TaskRecord


def plan_specs(paths: Sequence[str | Path] = ("specs",), settings: Settings | None = None,
               *, now: float | None = None, policy: Policy | None = None,
               snapshot: Snapshot | None = None) -> tuple[Specs, Plan]:
    """What ``sync`` would do for the specs at ``paths``, item by item; no network.

    Raises:
        SpecError: the specs are invalid.
        LedgerError: the ledger cannot be read.
    """
    settings = settings or Settings.from_env()
    specs = load_specs(list(paths))  # a spec mistake stops here, before the ledger is opened
    snapshot = read_snapshot(settings) if snapshot is None else snapshot
    return specs, plan_loaded(specs, snapshot, settings, now=now, policy=policy)


def plan_loaded(specs: Specs, snapshot: Snapshot, settings: Settings, *,
                now: float | None = None, policy: Policy | None = None) -> Plan:
    """``plan_specs`` for specs already loaded, against a snapshot already read."""
    disk = stat_files(settings.data_dir,
                      (f.path for files in snapshot.files.values() for f in files))
    policy = policy or Policy(stale_after=settings.clms_stale_after)
    return plan(specs.items, snapshot, disk, time.time() if now is None else now, policy)


def server_rule_problems(specs: Specs, snapshot: Snapshot) -> list[SpecProblem]:
    """Requests the servers would refuse, judged from resolutions already known.

    The rules are each source's own (for CLMS: layer, format conversion, CRS, area,
    time series, full-dataset); an item whose resolution is not in the ledger yet is
    checked when ``sync`` resolves it.
    """
    problems = []
    for item in specs.items:
        key = resolution_key(item)
        payload = snapshot.resolutions.get(key) if key else None
        if payload is None:
            continue
        source = source_for(item.source)
        try:
            source.check(item, payload)
        except FetcherError as exc:
            if not source.is_input_error(exc):
                raise
            path, _, line = item.origin.rpartition(":")
            server = getattr(exc, "server_message", "") or exc.message
            problems.append(SpecProblem(path, int(line or 1), 1,
                                        f"{item.label}: the {item.source.value.upper()} server "
                                        f"would refuse this request: {server}"))
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
    from fetcher.spec import lockfile

    settings = settings or Settings.from_env()
    now = time.time() if now is None else now
    specs = load_specs(list(paths))
    snapshot = read_snapshot(settings)
    current = plan_loaded(specs, snapshot, settings, now=now)
    rows = []
    for step in current.steps:
        task = snapshot.tasks.get(step.key)
        files = snapshot.files.get(step.key, ())
        record = snapshot.items.get(step.key)
        row = ItemStatus(
            key=step.key, item=step.label,
            source=step.item.source.value if step.item else (record.source if record else "?"),
            state=_state(step, task),
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


def _state(step: Step, task: TaskRecord | None) -> str:
    """What ``status`` calls an item's state, from its next step."""
    if step.held:
        return "failed"
    if step.action is Action.RESUBMIT and task is not None and task.status in ALIVE:
        return "stale"
    return STATES[step.action.value]


def verify_records(data_dir: Path, files: Iterable[FileRecord]) -> list[str]:
    """Re-hash recorded files; say which are missing or changed."""
    problems = []
    for record in files:
        path = data_dir / record.path
        try:
            size, sha256, _ = hash_file(path)
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
    wanted = [i.key for i in load_specs(list(paths)).items] if paths else None
    snapshot = read_snapshot(settings)
    keys: Iterable[str] = snapshot.files if wanted is None else wanted
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
    from fetcher.spec import lockfile

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
