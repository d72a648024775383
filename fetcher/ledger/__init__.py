"""The ledger: what fetcher knows of every item, task and file, in one database.

SQLAlchemy and Alembic are used here and nowhere else. Everything the rest of
fetcher reads comes out as the plain records of ``fetcher.types``; everything it
writes goes in through the methods below, each one transaction, committed before
it returns, so that an intent is on disk before its request leaves.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from fetcher.errors import LedgerError
from fetcher.ledger import db
from fetcher.ledger.models import (
    EventRow,
    FileRow,
    ItemRow,
    LeaseRow,
    ResolutionRow,
    TaskRow,
    TaskStatusRow,
)
from fetcher.types import FileRecord, Item, ItemRecord, Snapshot, TaskRecord

INTENT = "intent"


class Ledger:
    """One open ledger. Use as a context manager, or call ``close``."""

    def __init__(self, engine: Engine, url: str, *, now: Callable[[], float] = time.time,
                 site: str = "") -> None:
        self.engine = engine
        self.url = url
        self.now = now
        self.site = site

    @classmethod
    def open(cls, location: str | None = None, *, now: Callable[[], float] = time.time,
             site: str = "") -> Ledger:
        """Open (creating or upgrading) the ledger at a path or URL.

        Args:
            location: A path (SQLite) or an SQLAlchemy URL; default ``FETCHER_DB``.
            now: The clock for recorded times.
            site: Whose files this ledger reads and records: the data folder's location
                (files are recorded per location when several machines share a ledger).

        Raises:
            LedgerError: unreadable, or written by a newer fetcher.
        """
        url = db.database_url(location or db.default_db())
        engine = db.make_engine(url)
        try:
            db.upgrade(engine, url)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url, now=now, site=site)

    @property
    def shared(self) -> bool:
        """Whether several machines may use this ledger at once (not SQLite)."""
        return not self.url.startswith("sqlite")

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------

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

    # --- writing ---------------------------------------------------------

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
                conn.execute(_insert(conn, ItemRow).on_conflict_do_nothing(
                    index_elements=["key"]), fresh)
            for item in items:
                if item.key in known and known[item.key] != (item.dataset, item.region):
                    conn.execute(update(ItemRow).where(ItemRow.key == item.key).values(
                        dataset=item.dataset, region=item.region, updated_at=now))

    def save_resolution(self, key: str, source: str, payload: Mapping[str, Any]) -> None:
        """Remember what a reference resolved to."""
        values = dict(key=key, source=source, payload=dict(payload), resolved_at=self.now())
        with self._write() as conn:
            statement = _insert(conn, ResolutionRow).values(**values)
            conn.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"}))

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

    # --- leases: workers sharing a ledger split the items ---------------------

    def claim(self, item_key: str, scope: str, holder: str, ttl: float,
              now: float | None = None, dead: Callable[[str], bool] | None = None) -> bool:
        """Take the lease on (item, scope) if it is free, expired, ours, or its holder is dead.

        ``dead`` tells from a holder's name that it is gone (a process of this host).
        """
        now = time.time() if now is None else now
        values = dict(holder=holder, acquired_at=now, expires_at=now + ttl)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(LeaseRow).values(item_key=item_key, scope=scope, **values))
            return True
        except IntegrityError:
            pass
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot claim work in the ledger at {db.redact(self.url)}: "
                              f"{type(exc).__name__}") from exc
        with self._write() as conn:
            row = conn.execute(select(LeaseRow.holder, LeaseRow.expires_at)
                               .where(LeaseRow.item_key == item_key, LeaseRow.scope == scope)
                               .with_for_update(skip_locked=True)).first()
            if row is None:
                return False  # being claimed by another worker right now
            if row.holder != holder and row.expires_at > now and not (dead and dead(row.holder)):
                return False  # held by a live worker
            conn.execute(update(LeaseRow).where(LeaseRow.item_key == item_key,
                                                LeaseRow.scope == scope).values(**values))
            return True

    def renew(self, holder: str, ttl: float, now: float | None = None) -> None:
        """Extend every lease ``holder`` has."""
        now = time.time() if now is None else now
        with self._write() as conn:
            conn.execute(update(LeaseRow).where(LeaseRow.holder == holder)
                         .values(expires_at=now + ttl))

    def release(self, holder: str) -> None:
        """Give back every lease ``holder`` has."""
        with self._write() as conn:
            conn.execute(delete(LeaseRow).where(LeaseRow.holder == holder))

    # --- plumbing --------------------------------------------------------

    def _here(self) -> Any:
        """Files of this ledger's site (and those recorded before sites existed)."""
        return FileRow.location.in_([self.site, ""]) if self.site else FileRow.location == ""

    def _read(self) -> Any:
        return _Guard(self.engine.connect, self.url)

    def _write(self) -> Any:
        return _Guard(self.engine.begin, self.url)


class _Guard:
    """A connection whose database errors become LedgerErrors."""

    def __init__(self, opener: Callable[[], Any], url: str) -> None:
        self.opener = opener
        self.url = url
        self.context: Any = None

    def __enter__(self) -> Any:
        try:
            self.context = self.opener()
            return self.context.__enter__()
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot use the ledger at {db.redact(self.url)}: "
                              f"{type(exc).__name__}") from exc

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            self.context.__exit__(kind, exc, tb)
        except SQLAlchemyError as error:
            raise LedgerError(f"cannot write the ledger at {db.redact(self.url)}: "
                              f"{type(error).__name__}") from error
        if isinstance(exc, SQLAlchemyError):
            raise LedgerError(f"ledger error at {db.redact(self.url)}: "
                              f"{type(exc).__name__}: {exc.args[0] if exc.args else ''}"[:300]
                              ) from exc


def _insert(conn: Any, model: Any) -> Any:
    """An INSERT that can be told what to do on conflict (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


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
