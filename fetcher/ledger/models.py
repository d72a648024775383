"""The ledger's tables, as SQLAlchemy 2 models.

The schema is owned by the Alembic migrations in ``migrations/``; a test checks
that these models and the migrations agree. Times are UTC epoch seconds (floats),
which every backend stores alike and the planner compares without time zones.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ItemRow(Base):
    """One item: a dataset for a region, keyed by the hash of its canonical request."""

    __tablename__ = "items"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    dataset: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    request: Mapped[dict[str, object]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class ResolutionRow(Base):
    """What a catalogue reference or a remote listing resolved to."""

    __tablename__ = "resolutions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    resolved_at: Mapped[float] = mapped_column(Float)


class TaskRow(Base):
    """A server task, or the intent to create one (``status == 'intent'``)."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_key: Mapped[str] = mapped_column(ForeignKey("items.key", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(64))  # shared by twin items
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    entry: Mapped[dict[str, object]] = mapped_column(JSON)
    download_url: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    registered_at: Mapped[float | None] = mapped_column(Float)
    finalized_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_tasks_item_key", "item_key"),
                      Index("ix_tasks_task_id", "task_id"))


class TaskStatusRow(Base):
    """Every status a task was seen in, with the time and the server's message."""

    __tablename__ = "task_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_row: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    seen_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_task_statuses_task_row", "task_row"),)


class FileRow(Base):
    """A verified file in the data dir (path relative to it)."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_key: Mapped[str] = mapped_column(ForeignKey("items.key", ondelete="CASCADE"))
    location: Mapped[str] = mapped_column(String(500), default="", server_default="")
    path: Mapped[str] = mapped_column(String(1000))
    role: Mapped[str] = mapped_column(String(16), default="data")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str | None] = mapped_column(String(32))
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    url: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_files_item_key", "item_key"),
                      UniqueConstraint("location", "path", name="uq_files_location_path"))


class EventRow(Base):
    """The event log: every transition, in order."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    item_key: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_events_item_key", "item_key"),)


class LockRow(Base):
    """Who reconciles this ledger now (one row per lock name)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(200))
    since: Mapped[float] = mapped_column(Float)
    heartbeat: Mapped[float] = mapped_column(Float)


class LeaseRow(Base):
    """Who works on an item now, in one scope ("request", or "files:<location>").

    Workers sharing a ledger claim items one by one; a lease whose holder stops
    renewing it expires and another worker takes the item over.
    """

    __tablename__ = "leases"

    item_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(600), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
