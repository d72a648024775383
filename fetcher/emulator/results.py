"""Result archives as FME builds them: zips of small GeoTIFFs, deterministic per request.

Custom (area/time) tasks give one zip with a GeoTIFF per requested item. Prepackaged
(FileID) tasks give an outer zip holding ``Results/<file>.zip``, which holds the
GeoTIFF(s) in a subfolder, as xcube-clms expects (§5.6). ``sized_result`` builds the
same shapes streamed at an exact size: the last GeoTIFF grows to fill it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from typing import Any

from fetcher.emulator.bodies import Body, Literal
from fetcher.emulator.geotiff import geotiff, geotiff_body
from fetcher.emulator.zipfiles import fitted_zip

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


def _custom_member(index: int, item: dict[str, Any], seed: int) -> tuple[str, str, tuple[
        float, float, float, float]]:
    """The GeoTIFF name, salt and box of one custom item."""
    salt = json.dumps(item, sort_keys=True) + str(seed)
    area = item.get("NUTSID") or ("bbox" if item.get("BoundingBox") else "full")
    layer = f"_{_slug(item['Layer'])}" if item.get("Layer") else ""
    name = f"{_slug(item.get('DatasetTitle', 'dataset'))}_{area}{layer}_{index}.tif"
    return name, salt, _box(item, salt)


def custom_zip(datasets: list[dict[str, Any]], seed: int) -> bytes:
    """The result of a custom-download task: one GeoTIFF per item."""
    members = []
    for index, item in enumerate(datasets):
        name, salt, (west, north, east, south) = _custom_member(index, item, seed)
        members.append((name, geotiff(_PIXELS, _PIXELS, west, north, east, south, salt)))
    return _zip(members)


def _stem(item: dict[str, Any]) -> str:
    path = base64.urlsafe_b64decode(item.get("FilePath", "")).decode("utf-8", "replace")
    name = re.split(r"[\\/]", path)[-1] or "result.zip"
    return name[:-4] if name.endswith(".zip") else name


_PREPACKAGED_BOX = (-10.0, 70.0, 30.0, 35.0)


def prepackaged_zip(datasets: list[dict[str, Any]], seed: int) -> bytes:
    """The result of a FileID task: ``Results/<file>.zip`` nested in the outer zip."""
    return _zip([(f"Results/{_stem(item)}.zip", _inner_zip(item, seed)) for item in datasets])


def _inner_zip(item: dict[str, Any], seed: int) -> bytes:
    stem = _stem(item)
    salt = json.dumps(item, sort_keys=True) + str(seed)
    tif = geotiff(_PIXELS, _PIXELS, *_PREPACKAGED_BOX, salt)
    return _zip([(f"{stem}/DATA/{stem}.tif", tif)])


def sized_result(datasets: list[dict[str, Any]], seed: int, prepackaged: bool,
                 size: int) -> Body:
    """A task's result zip of exactly ``size`` bytes, or the natural one if it is larger.

    The shape is that of ``custom_zip`` / ``prepackaged_zip``; all members but the last
    are the natural small ones, and the last GeoTIFF is streamed to fill the size.
    """
    natural = (prepackaged_zip if prepackaged else custom_zip)(datasets, seed)
    if size <= len(natural):
        return Literal(natural)
    if prepackaged:
        return _sized_prepackaged(datasets, seed, size)
    fixed: list[tuple[str, Body]] = []
    for index, item in enumerate(datasets[:-1]):
        name, salt, box = _custom_member(index, item, seed)
        fixed.append((name, Literal(geotiff(_PIXELS, _PIXELS, *box, salt))))
    name, salt, box = _custom_member(len(datasets) - 1, datasets[-1], seed)
    return fitted_zip(fixed, name, lambda room: geotiff_body(room, box, salt), size, _STAMP)


def _sized_prepackaged(datasets: list[dict[str, Any]], seed: int, size: int) -> Body:
    fixed: list[tuple[str, Body]] = []
    for item in datasets[:-1]:
        fixed.append((f"Results/{_stem(item)}.zip", Literal(_inner_zip(item, seed))))
    stem = _stem(datasets[-1])
    salt = json.dumps(datasets[-1], sort_keys=True) + str(seed)

    def inner(room: int) -> Body:
        return fitted_zip([], f"{stem}/DATA/{stem}.tif",
                          lambda tif: geotiff_body(tif, _PREPACKAGED_BOX, salt), room, _STAMP)

    return fitted_zip(fixed, f"Results/{stem}.zip", inner, size, _STAMP)
