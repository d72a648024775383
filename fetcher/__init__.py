"""fetcher: keep a folder of geospatial data in the state that YAML specs describe.

The library API (``plan_specs``, ``sync``, ``status``, ...) is re-exported here
lazily, so that ``import fetcher`` and ``fetcher --help`` stay fast.
"""

from __future__ import annotations

from typing import Any

from fetcher._version import __version__ as __version__

_API = {
    "sync": "fetcher.ops.sync",
    "SyncOptions": "fetcher.reconcile.apply",
    "status": "fetcher.ops.status",
    "verify": "fetcher.ops.status",
    "item_files": "fetcher.ops.status",
    "write_lock": "fetcher.ops.status",
    "plan_specs": "fetcher.ops.status",
    "read_snapshot": "fetcher.ops.common",
    "load_specs": "fetcher.spec",
    "Settings": "fetcher.config",
    "Ledger": "fetcher.ledger",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'fetcher' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *_API]
