"""Result archives as FME builds them: zips of small GeoTIFFs, deterministic per request.

Custom (area/time) tasks give one zip with a GeoTIFF per requested item. Prepackaged
(FileID) tasks give an outer zip holding ``Results/<file>.zip``, which holds the
GeoTIFF(s) in a subfolder, as xcube-clms expects (§5.6).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from typing import Any

from fetcher.emulator.geotiff import geotiff

_STAMP = (2020, 1, 1, 0, 0, 0)
_PIXELS = 32


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, _STAMP)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60]


def _box(item: dict[str, Any], salt: str) -> tuple[float, float, float, float]:
    """West, north, east, south of an item's GeoTIFF."""
    bbox = item.get("BoundingBox")
    if isinstance(bbox, list) and len(bbox) == 4:
        xs, ys = (float(bbox[0]), float(bbox[2])), (float(bbox[1]), float(bbox[3]))
        return min(xs), max(ys), max(xs), min(ys)
    if item.get("NUTSID"):
        h = int(hashlib.sha256(f"{salt}{item['NUTSID']}".encode()).hexdigest()[:6], 16)
        west, south = -10 + h % 40, 35 + (h >> 8) % 30
        return west, south + 1, west + 1, south
    return -180.0, 90.0, 180.0, -90.0


def custom_zip(datasets: list[dict[str, Any]], seed: int) -> bytes:
    """The result of a custom-download task: one GeoTIFF per item."""
    members = []
    for index, item in enumerate(datasets):
        salt = json.dumps(item, sort_keys=True) + str(seed)
        west, north, east, south = _box(item, salt)
        area = item.get("NUTSID") or ("bbox" if item.get("BoundingBox") else "full")
        layer = f"_{_slug(item['Layer'])}" if item.get("Layer") else ""
        name = f"{_slug(item.get('DatasetTitle', 'dataset'))}_{area}{layer}_{index}.tif"
        members.append((name, geotiff(_PIXELS, _PIXELS, west, north, east, south, salt)))
    return _zip(members)


def prepackaged_zip(datasets: list[dict[str, Any]], seed: int) -> bytes:
    """The result of a FileID task: ``Results/<file>.zip`` nested in the outer zip."""
    members = []
    for item in datasets:
        path = base64.urlsafe_b64decode(item.get("FilePath", "")).decode("utf-8", "replace")
        name = re.split(r"[\\/]", path)[-1] or "result.zip"
        stem = name[:-4] if name.endswith(".zip") else name
        salt = json.dumps(item, sort_keys=True) + str(seed)
        tif = geotiff(_PIXELS, _PIXELS, -10.0, 70.0, 30.0, 35.0, salt)
        inner = _zip([(f"{stem}/DATA/{stem}.tif", tif)])
        members.append((f"Results/{stem}.zip", inner))
    return _zip(members)
