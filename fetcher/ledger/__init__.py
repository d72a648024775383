"""The ledger: what fetcher knows of every item, task and file, in one database.

SQLAlchemy and Alembic are used here and nowhere else. Everything the rest of
fetcher reads comes out as the plain records of ``fetcher.types``; everything it
writes goes in through methods that are each one transaction, committed before
they return, so that an intent is on disk before its request leaves.

    db        the URL, the engine, the schema brought up to date (Alembic)
    models    the tables
    base      what the parts share: connections whose errors become LedgerErrors
    reads     snapshot, resolutions, task histories, events
    writes    items, resolutions, intents and tasks, files, attempts, events
    leases    per-item leases for workers sharing the ledger
    lock      one reconciler per ledger
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fetcher.ledger import db
from fetcher.ledger.leases import LeaseRows
from fetcher.ledger.reads import Reads
from fetcher.ledger.writes import Writes

__all__ = ["Ledger"]


class Ledger(Reads, Writes, LeaseRows):
    """One open ledger. Use as a context manager, or call ``close``."""

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

    @classmethod
    def open_if_exists(cls, location: str | None = None, *,
                       now: Callable[[], float] = time.time) -> Ledger | None:
        """Open the ledger at a path or URL, or return None if it holds no ledger yet.

        Nothing is created: a read (``plan``, ``status``) leaves an empty database empty.
        An older schema is upgraded as ``open`` would.

        Raises:
            LedgerError: unreachable, unreadable, or written by a newer fetcher.
        """
        url = db.database_url(location or db.default_db())
        engine = db.make_engine(url)
        try:
            if db.revision_or_none(engine, url) is None:
                engine.dispose()
                return None
            db.upgrade(engine, url)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url, now=now)

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
