"""What the parts of the ledger share: the engine, the clock, the site, and
connections whose database errors become ``LedgerError``s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from fetcher.errors import LedgerError
from fetcher.ledger import db
from fetcher.ledger.models import FileRow


class LedgerBase:
    """An engine on one ledger, for the files of one site (data folder)."""

    def __init__(self, engine: Engine, url: str, *, now: Callable[[], float] = time.time,
                 site: str = "") -> None:
        self.engine = engine
        self.url = url
        self.now = now
        self.site = site

    def _here(self) -> Any:
        """Files of this ledger's site (and those recorded before sites existed)."""
        return FileRow.location.in_([self.site, ""]) if self.site else FileRow.location == ""

    def _read(self) -> Any:
        return Guard(self.engine.connect, self.url)

    def _write(self) -> Any:
        return Guard(self.engine.begin, self.url)


class Guard:
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


def insert_for(conn: Any, model: Any) -> Any:
    """An INSERT that can be told what to do on conflict (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)
