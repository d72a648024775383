"""The fetcher names tests/support uses, imported here only, so a rename is one edit."""

from __future__ import annotations

from fetcher.config import Settings
from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.ledger import Ledger
from fetcher.ops.common import open_ledger
from fetcher.ops.sync import sync
from fetcher.reconcile.apply import SyncOptions
from fetcher.reconcile.report import Report
from fetcher.transfer.http import Http

__all__ = ["Emulator", "EmulatorConfig", "Http", "Ledger", "Report", "Settings", "SyncOptions",
           "open_ledger", "sync"]
