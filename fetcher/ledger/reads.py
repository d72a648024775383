"""Reading the ledger: everything comes out as the plain records of ``fetcher.types``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from fetcher.ledger.base import LedgerBase
from fetcher.ledger.models import EventRow, FileRow, ItemRow, ResolutionRow, TaskRow, TaskStatusRow
from fetcher.types import FileRecord, ItemRecord, Snapshot, TaskRecord


class Reads(LedgerBase):
    """The ledger's queries."""

    def snapshot(self) -> Snapshot:
        """Everything the planner reads, in four queries."""
        with self._read() as conn:
            items = {row.key: ItemRecord(key=row.key, dataset=row.dataset, region=row.region,
                                         source=row.source, request=row.request,
                                         attempts=row.attempts, created_at=row.created_at)
                     for row in conn.execute(select(ItemRow.__table__))}
            resolutions = {row.key: row.payload
                           for row in conn.execute(select(ResolutionRow.__table__))}
            latest = select(func.max(TaskRow.id)).group_by(TaskRow.item_key).scalar_subquery()
            tasks = {row.item_key: _task(row) for row in conn.execute(
                select(TaskRow.__table__).where(TaskRow.id.in_(latest)))}
            files: dict[str, list[FileRecord]] = defaultdict(list)
            for row in conn.execute(select(FileRow.__table__).where(self._here())
                                    .order_by(FileRow.path)):
                files[row.item_key].append(_file(row))
        return Snapshot(items=items, resolutions=resolutions, tasks=tasks,
                        files={k: tuple(v) for k, v in files.items()})

    def resolution(self, key: str) -> dict[str, Any] | None:
        """One remembered resolution, or None."""
        with self._read() as conn:
            payload = conn.execute(select(ResolutionRow.payload)
                                   .where(ResolutionRow.key == key)).scalar()
            return dict(payload) if payload is not None else None

    def tasks_of(self, item_key: str) -> list[TaskRecord]:
        """Every task of an item, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(TaskRow.__table__).where(TaskRow.item_key == item_key)
                                .order_by(TaskRow.id))
            return [_task(row) for row in rows]

    def history(self, task_row: int) -> list[tuple[str, str, float]]:
        """Every (status, message, seen_at) a task went through."""
        with self._read() as conn:
            rows = conn.execute(select(TaskStatusRow.status, TaskStatusRow.message,
                                       TaskStatusRow.seen_at)
                                .where(TaskStatusRow.task_row == task_row)
                                .order_by(TaskStatusRow.id))
            return [(r.status, r.message, r.seen_at) for r in rows]

    def events(self, item_key: str | None = None) -> list[tuple[float, str | None, str, str]]:
        """The event log, oldest first: (at, item_key, kind, message)."""
        query = select(EventRow.at, EventRow.item_key, EventRow.kind, EventRow.message)
        if item_key is not None:
            query = query.where(EventRow.item_key == item_key)
        with self._read() as conn:
            return [(r.at, r.item_key, r.kind, r.message)
                    for r in conn.execute(query.order_by(EventRow.id))]


def _task(row: Any) -> TaskRecord:
    return TaskRecord(row=row.id, item_key=row.item_key, task_id=row.task_id, status=row.status,
                      created_at=row.created_at, message=row.message or "",
                      download_url=row.download_url, file_size=row.file_size,
                      registered_at=row.registered_at, finalized_at=row.finalized_at,
                      updated_at=row.updated_at, entry=row.entry or {})


def _file(row: Any) -> FileRecord:
    return FileRecord(item_key=row.item_key, path=row.path, size=row.size, sha256=row.sha256,
                      mtime_ns=row.mtime_ns, role=row.role, md5=row.md5, url=row.url,
                      etag=row.etag, last_modified=row.last_modified)
