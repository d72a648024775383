"""``fetcher gc`` and ``fetcher cancel``: removing what the specs no longer want.

gc removes orphans (ledger items that no spec names any more): their live server
tasks are cancelled, their recorded files deleted, their rows forgotten. cancel
stops the server tasks of named items and records that they were cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fetcher.config import Settings
from fetcher.errors import UsageError
from fetcher.ops.common import open_ledger
from fetcher.reconcile.plan import ALIVE
from fetcher.spec import load_specs
from fetcher.transfer.http import Http
from fetcher.types import TaskRecord

if TYPE_CHECKING:
    from fetcher.ledger import Ledger


@dataclass
class Removal:
    """One orphan and what gc does (or did) to it."""

    key: str
    item: str
    files: list[str] = field(default_factory=list)
    cancelled: str | None = None


def gc(paths: Sequence[str | Path] = ("specs",), settings: Settings | None = None, *,
       dry_run: bool = False, http: Http | None = None,
       log: Callable[[str], None] = lambda _: None) -> list[Removal]:
    """Remove orphans with their files and live server tasks; return what went."""
    settings = settings or Settings.from_env()
    wanted = {i.key for i in load_specs(list(paths)).items}
    removals = []
    with open_ledger(settings) as ledger:
        snapshot = ledger.snapshot()
        for key, record in snapshot.items.items():
            if key in wanted:
                continue
            removal = Removal(key, record.label,
                              [f.path for f in snapshot.files.get(key, ())])
            task = snapshot.tasks.get(key)
            if task is not None and task.task_id and task.status in ALIVE:
                removal.cancelled = task.task_id
            removals.append(removal)
            if dry_run:
                continue
            if removal.cancelled and task is not None:
                _cancel(ledger, settings, http, task, log)
            for path in removal.files:
                (settings.data_dir / path).unlink(missing_ok=True)
            _prune_empty(settings.data_dir, removal.files)
            ledger.forget_item(key)
            log(f"{removal.item}: removed {len(removal.files)} file(s)")
    return removals


def cancel(names: Sequence[str], settings: Settings | None = None, *,
           http: Http | None = None, log: Callable[[str], None] = lambda _: None
           ) -> list[tuple[str, str]]:
    """Cancel the server tasks of items named by label (dataset/region) or key.

    Returns:
        (item, task id) for each cancelled task.

    Raises:
        UsageError: a name matches no item, or an item has no server task.
    """
    settings = settings or Settings.from_env()
    done = []
    with open_ledger(settings) as ledger:
        snapshot = ledger.snapshot()
        by_name = {r.label: k for k, r in snapshot.items.items()} | {
            k: k for k in snapshot.items}
        for name in names:
            key = by_name.get(name)
            if key is None:
                raise UsageError(f"no item named {name!r} in the ledger",
                                 hint="name items as dataset/region, as `fetcher status` shows")
            task = snapshot.tasks.get(key)
            if task is None or not task.task_id:
                raise UsageError(f"{name} has no server task to cancel")
            _cancel(ledger, settings, http, task, log)
            done.append((name, task.task_id))
    return done


def _cancel(ledger: Ledger, settings: Settings, http: Http | None, task: TaskRecord,
            log: Callable[[str], None]) -> None:
    from fetcher.sources.clms.auth import load_service_key
    from fetcher.sources.clms.client import ClmsClient

    http = http or Http()
    key = load_service_key(settings.clms_key, warn=log)
    client = ClmsClient(http, settings.clms_url, key, now=http.now)
    assert task.task_id is not None
    client.cancel(task.task_id)
    ledger.update_task(task.row, status="Cancelled", message="cancelled by fetcher",
                       finalized_at=http.now())
    log(f"cancelled task {task.task_id}")


def _prune_empty(data_dir: Path, paths: list[str]) -> None:
    """Remove folders the deleted files leave empty, up to the data dir."""
    for path in paths:
        folder = (data_dir / path).parent
        while folder != data_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
