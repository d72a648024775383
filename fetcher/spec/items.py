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

from fetcher.sources.clms import rules as clms_rules
from fetcher.spec.models import CedaSpec, ClmsSpec, HttpSpec, RegionDef, ZenodoSpec, _Model
from fetcher.types import Item, SourceKind


def format_name(value: str) -> str | None:
    lowered = {f.lower(): f for f in clms_rules.FORMATS}
    return lowered.get(value.strip().lower().replace("geotif", "geotiff").replace(
        "geotifff", "geotiff"))


def crs_name(value: str) -> str:
    text = value.strip().upper().replace(" ", "")
    return f"EPSG:{text}" if text.isdigit() else text


def _number(value: float) -> float:
    """One form for equal numbers: 112, 112.0 and 1.12e2 all become 112.0."""
    return float(round(float(value), 9)) + 0.0


def canonical(model: _Model, region: str | None,
              regions: Mapping[str, RegionDef]) -> dict[str, Any]:
    """The canonical request of one item: what the server is asked, normalised."""
    if isinstance(model, ClmsSpec):
        ref = next({k: getattr(model, k)} for k in ("uid", "dataset", "title") if getattr(model, k))
        if "uid" in ref:
            ref = {"uid": ref["uid"].lower()}
        area: dict[str, Any] | None = None
        if region is not None:
            if region in regions:
                area = {"bbox": [_number(v) for v in regions[region].bbox]}
            else:
                area = {"nuts": region.upper()}
        download = None if model.download is None else {
            "name": model.download.name.strip(),
            "collection": None if model.download.collection is None
            else model.download.collection.strip()}
        is_file = model.file is not None
        return {
            "source": "clms", "ref": ref, "file": model.file, "download": download,
            "layer": model.layer,
            "format": None if model.format is None else format_name(model.format),
            "crs": None if is_file else crs_name(model.crs or "EPSG:4326"), "area": area,
            "time": None if model.time is None else {
                "start": model.time.start.isoformat(), "end": model.time.end.isoformat()},
        }
    if isinstance(model, CedaSpec):
        return {"source": "ceda", "path": "/" + model.path.strip("/"),
                "files": sorted(set(model.files))}
    if isinstance(model, ZenodoSpec):
        return {"source": "zenodo", "record": model.record,
                "files": None if model.files is None else sorted(set(model.files))}
    assert isinstance(model, HttpSpec)
    return {"source": "http", "url": model.url,
            "sha256": None if model.sha256 is None else model.sha256.lower()}


def item_key(request: Mapping[str, Any]) -> str:
    """The hash of a canonical request: an item's identity in the ledger."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def expand(name: str, model: _Model, regions: Mapping[str, RegionDef],
           origin: str = "") -> list[Item]:
    """The items of one dataset: one per region, or one when it has none."""
    labels: list[str | None] = [None]
    if isinstance(model, ClmsSpec) and model.regions:
        labels = [r.lower() if r.lower() in regions else r.upper() for r in model.regions]
    from fetcher.sources import resolution_basis_key

    items = []
    resolution: str | None = None
    for index, label in enumerate(labels):
        request = canonical(model, label, regions)
        if index == 0:  # every region of a dataset resolves the same reference
            resolution = resolution_basis_key(SourceKind(request["source"]), request)
        options: dict[str, Any] = {"extract": model.extract,  # type: ignore[attr-defined]
                                   "keep_archive": model.keep_archive}  # type: ignore[attr-defined]
        if isinstance(model, HttpSpec) and model.filename:
            options["filename"] = model.filename
        items.append(Item(key=item_key(request), dataset=name, region=label,
                          source=SourceKind(request["source"]), request=request,
                          options=options, origin=origin, resolution=resolution))
    return items
