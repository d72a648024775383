"""The sources, one module each behind one protocol (``base.Source``), and their registry.

``source_for(kind)`` gives the source of an item; its module is imported on
first use, so that planning an HTTP-only spec loads nothing of CLMS.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from fetcher.sources.base import Source
from fetcher.types import Item, SourceKind

__all__ = ["Source", "resolution_key", "source_for"]

_MODULES = {
    SourceKind.CLMS: "fetcher.sources.clms",
    SourceKind.CEDA: "fetcher.sources.ceda",
    SourceKind.ZENODO: "fetcher.sources.zenodo",
    SourceKind.HTTP: "fetcher.sources.web",
}


@cache
def source_for(kind: SourceKind) -> Source:
    """The source that serves items of ``kind``."""
    source: Source = importlib.import_module(_MODULES[kind]).SOURCE
    return source


def resolution_basis_key(kind: SourceKind, request: Mapping[str, Any]) -> str | None:
    """The key of the resolution an item of this request shares with its siblings, if any."""
    basis = source_for(kind).resolution_basis(request)
    if basis is None:
        return None
    text = json.dumps({"source": kind.value, **basis}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def resolution_key(item: Item) -> str | None:
    """The ledger key under which the item's catalogue entry or listing is kept."""
    if item.resolution is not None:
        return item.resolution
    return resolution_basis_key(item.source, item.request)
