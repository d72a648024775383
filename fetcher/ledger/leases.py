"""Leases in the ledger: workers sharing it split the items between them.

A lease is a row (item, scope) naming its holder and when it expires; taking one is
an INSERT (the primary key makes two takers collide, on SQLite and PostgreSQL
alike), or an UPDATE of an expired or dead holder's row.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from fetcher.errors import LedgerError
from fetcher.ledger import db
from fetcher.ledger.base import LedgerBase
from fetcher.ledger.models import LeaseRow


class LeaseRows(LedgerBase):
    """Claiming, renewing and releasing per-item leases."""

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

    def release(self, holder: str, *, keep: set[str] | None = None) -> None:
        """Give back every lease ``holder`` has, but those on the items in ``keep``."""
        query = delete(LeaseRow).where(LeaseRow.holder == holder)
        if keep:
            query = query.where(LeaseRow.item_key.not_in(sorted(keep)))
        with self._write() as conn:
            conn.execute(query)
