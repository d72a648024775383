"""Writing the ledger: each method one transaction, committed before it returns,
so that an intent is on disk before its request leaves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from fetcher.ledger.base import LedgerBase, insert_for
from fetcher.ledger.models import EventRow, FileRow, ItemRow, ResolutionRow, TaskRow, TaskStatusRow
from fetcher.types import FileRecord, Item

INTENT = "intent"


class Writes(LedgerBase):
    """The ledger's changes."""

    def sync_items(self, items: Sequence[Item]) -> None:
        """Record new items and keep the names of known ones current."""
        now = self.now()
        with self._write() as conn:
            known = {row.key: (row.dataset, row.region)
                     for row in conn.execute(select(ItemRow.key, ItemRow.dataset, ItemRow.region))}
            fresh = [dict(key=i.key, source=i.source.value, dataset=i.dataset, region=i.region,
                          request=dict(i.request), attempts=0, created_at=now, updated_at=now)
                     for i in items if i.key not in known]
            if fresh:  # other workers may be adding the same items right now
                conn.execute(insert_for(conn, ItemRow).on_conflict_do_nothing(
                    index_elements=["key"]), fresh)
            for item in items:
                if item.key in known and known[item.key] != (item.dataset, item.region):
                    conn.execute(update(ItemRow).where(ItemRow.key == item.key).values(
                        dataset=item.dataset, region=item.region, updated_at=now))

    def save_resolution(self, key: str, source: str, payload: Mapping[str, Any]) -> None:
        """Remember what a reference resolved to."""
        values = dict(key=key, source=source, payload=dict(payload), resolved_at=self.now())
        with self._write() as conn:
            statement = insert_for(conn, ResolutionRow).values(**values)
            conn.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"}))

    def forget_resolution(self, key: str) -> None:
        """Drop a remembered resolution (the server contradicted it): it is looked up again."""
        with self._write() as conn:
            conn.execute(delete(ResolutionRow).where(ResolutionRow.key == key))
            conn.execute(insert(EventRow).values(at=self.now(), item_key=None, kind="refresh",
                                                 message=f"resolution {key} forgotten"))

    def add_intent(self, item_key: str, entry: Mapping[str, Any]) -> int:
        """Record, before posting, that a request for this item is about to go out."""
        now = self.now()
        with self._write() as conn:
            row = conn.execute(insert(TaskRow).values(
                item_key=item_key, task_id=None, status=INTENT, message="", entry=dict(entry),
                created_at=now, updated_at=now)).inserted_primary_key
            assert row is not None
            task_row = int(row[0])
            conn.execute(insert(TaskStatusRow).values(task_row=task_row, status=INTENT,
                                                      message="", seen_at=now))
            conn.execute(insert(EventRow).values(at=now, item_key=item_key, kind="intent",
                                                 message="request about to be posted"))
        return task_row

    def update_task(self, task_row: int, **fields: Any) -> None:
        """Change a task's fields; a new status is appended to its history.

        Accepts task_id, status, message, download_url, file_size, registered_at,
        finalized_at.
        """
        self.update_tasks([(task_row, fields)])

    def update_tasks(self, changes: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """Several tasks' changes (a polling round's) in one transaction, a few statements.

        Changes with the same fields share one executemany UPDATE; new statuses and their
        events are inserted together.
        """
        if not changes:
            return
        now = self.now()
        with self._write() as conn:
            current = {row.id: row for row in conn.execute(
                select(TaskRow.id, TaskRow.status, TaskRow.message, TaskRow.item_key,
                       TaskRow.task_id).where(TaskRow.id.in_([c[0] for c in changes]))
                .with_for_update())}
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            statuses, events = [], []
            for task_row, fields in changes:
                groups[tuple(sorted(fields))].append({"row_id": task_row, **fields})
                old = current[task_row]
                status = fields.get("status", old.status)
                message = fields.get("message", old.message) or ""
                if status != old.status:
                    statuses.append(dict(task_row=task_row, status=status, message=message,
                                         seen_at=now))
                    events.append(dict(at=now, item_key=old.item_key, kind="status",
                                       message=f"task {fields.get('task_id', old.task_id)}: "
                                               f"{old.status} -> {status}"
                                               + (f" ({message})" if message else "")))
            for keys, rows in groups.items():
                values: dict[str, Any] = {key: bindparam(key) for key in keys}
                conn.execute(update(TaskRow).where(TaskRow.id == bindparam("row_id"))
                             .values(updated_at=now, **values), rows)
            if statuses:
                conn.execute(insert(TaskStatusRow), statuses)
                conn.execute(insert(EventRow), events)

    def record_files(self, item_key: str, files: Iterable[FileRecord]) -> None:
        """Make ``files`` the item's recorded files (replacing what was there)."""
        now = self.now()
        rows = [dict(item_key=item_key, location=self.site, path=f.path, role=f.role,
                     size=f.size, sha256=f.sha256, md5=f.md5, mtime_ns=f.mtime_ns, url=f.url,
                     etag=f.etag, last_modified=f.last_modified, recorded_at=now) for f in files]
        with self._write() as conn:
            conn.execute(delete(FileRow).where(FileRow.item_key == item_key, self._here()))
            paths = [r["path"] for r in rows]
            if paths:
                conn.execute(delete(FileRow).where(FileRow.path.in_(paths), self._here()))
                conn.execute(insert(FileRow), rows)
            conn.execute(insert(EventRow).values(at=now, item_key=item_key, kind="files",
                                                 message=f"{len(rows)} file(s) recorded"))

    def bump_attempts(self, item_key: str) -> None:
        """Count one more failed server attempt against the item's retry budget."""
        with self._write() as conn:
            conn.execute(update(ItemRow).where(ItemRow.key == item_key).values(
                attempts=ItemRow.attempts + 1, updated_at=self.now()))

    def reset_attempts(self, item_key: str) -> None:
        """Clear the item's retry count (after success, or when asked to retry)."""
        with self._write() as conn:
            conn.execute(update(ItemRow).where(ItemRow.key == item_key).values(attempts=0))

    def event(self, kind: str, message: str, item_key: str | None = None) -> None:
        """Append to the event log."""
        with self._write() as conn:
            conn.execute(insert(EventRow).values(at=self.now(), item_key=item_key, kind=kind,
                                                 message=message))

    def forget_item(self, item_key: str) -> None:
        """Remove an item with its tasks and files (the files on disk are the caller's)."""
        with self._write() as conn:
            task_rows = select(TaskRow.id).where(TaskRow.item_key == item_key)
            conn.execute(delete(TaskStatusRow).where(TaskStatusRow.task_row.in_(task_rows)))
            conn.execute(delete(TaskRow).where(TaskRow.item_key == item_key))
            conn.execute(delete(FileRow).where(FileRow.item_key == item_key))
            conn.execute(delete(ItemRow).where(ItemRow.key == item_key))
            conn.execute(insert(EventRow).values(at=self.now(), item_key=item_key, kind="gc",
                                                 message="item forgotten"))
