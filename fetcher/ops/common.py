"""Opening the ledger the settings name, for the operations and the engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fetcher.config import Settings
from fetcher.types import Snapshot

if TYPE_CHECKING:  # SQLAlchemy loads only when a ledger is really opened
    from fetcher.ledger import Ledger


def open_ledger(settings: Settings, *, now: Callable[[], float] = time.time) -> Ledger:
    """Open (creating or upgrading) the ledger the settings name, for their data folder."""
    from fetcher.ledger import Ledger

    ledger = Ledger.open(settings.db, now=now)
    ledger.site = settings.site(ledger.shared)
    return ledger


def read_snapshot(settings: Settings) -> Snapshot:
    """The ledger's records, without creating a ledger (file, tables) that does not exist."""
    if "://" not in settings.db and not Path(settings.db).expanduser().exists():
        return Snapshot()  # no ledger yet: nothing to read, and no database library to load
    from fetcher.ledger import Ledger
    from fetcher.ledger.db import database_url

    url = database_url(settings.db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return Snapshot()
    ledger = Ledger.open_if_exists(settings.db)
    if ledger is None:
        return Snapshot()
    with ledger:
        ledger.site = settings.site(ledger.shared)
        return ledger.snapshot()
