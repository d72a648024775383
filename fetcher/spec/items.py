"""Items: a dataset for a region, identified by the hash of its canonical request.

The canonical request holds the source and every parameter that changes what the
server returns, normalised (codes upper-cased, formats in the server's spelling,
numbers as floats, defaults filled in), so that an item's key does not change with
key order, YAML formatting or the dataset's name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from fetcher.sources import resolution_basis_key
from fetcher.spec.models import DatasetSpec, RegionDef
from fetcher.types import Item, SourceKind


def item_key(request: Mapping[str, Any]) -> str:
    """The hash of a canonical request: an item's identity in the ledger."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def expand(name: str, model: DatasetSpec, regions: Mapping[str, RegionDef],
           origin: str = "") -> list[Item]:
    """The items of one dataset: one per region, or one when it has none."""
    labels: list[str | None] = [
        r.lower() if r.lower() in regions else r.upper() for r in model.region_refs] or [None]
    items = []
    resolution: str | None = None
    options = model.options()
    for index, label in enumerate(labels):
        request = model.canonical(label, regions)
        kind = SourceKind(request["source"])
        if index == 0:  # every region of a dataset resolves the same reference
            resolution = resolution_basis_key(kind, request)
        items.append(Item(key=item_key(request), dataset=name, region=label, source=kind,
                          request=request, options=options, origin=origin,
                          resolution=resolution))
    return items
