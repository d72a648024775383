"""A minimal GeoTIFF writer (pure stdlib): one band of bytes, georeferenced in EPSG:4326.

Enough for a reader to open the file and find its grid: baseline TIFF tags for a
single uncompressed strip, plus ModelPixelScale, ModelTiepoint and a GeoKeyDirectory
saying geographic WGS 84, pixel-is-area. ``geotiff`` builds a small file in memory;
``geotiff_body`` streams a file of any exact size: the header, a square strip of
seeded pixels, then padding (a classic TIFF addresses 4 GiB, so past that the strip
stops growing and the rest is padding no tag points at).
"""

from __future__ import annotations

import math
import random
import struct

from fetcher.emulator.bodies import Body, Concat, Literal, Pattern

_SHORT, _LONG, _DOUBLE = 3, 4, 12
Box = tuple[float, float, float, float]
"""West, north, east, south in degrees."""


def header(width: int, height: int, box: Box) -> bytes:
    """The TIFF header and IFD of a ``width`` x ``height`` uint8 strip that follows it."""
    west, north, east, south = box
    scale = ((east - west) / width or 1e-6, (north - south) / height or 1e-6, 0.0)
    geokeys = (1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326)
    entries: list[tuple[int, int, tuple[float, ...] | tuple[int, ...]]] = [
        (256, _LONG, (width,)),
        (257, _LONG, (height,)),
        (258, _SHORT, (8,)),
        (259, _SHORT, (1,)),
        (262, _SHORT, (1,)),
        (273, _LONG, (0,)),  # strip offset, patched below
        (277, _SHORT, (1,)),
        (278, _LONG, (height,)),
        (279, _LONG, (width * height,)),
        (284, _SHORT, (1,)),
        (339, _SHORT, (1,)),
        (33550, _DOUBLE, scale),
        (33922, _DOUBLE, (0.0, 0.0, 0.0, west, north, 0.0)),
        (34735, _SHORT, geokeys),
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    extra = bytearray()
    extra_base = ifd_offset + ifd_size
    pixel_offset = extra_base + sum(
        _size(kind, values) for kind, values in ((k, v) for _, k, v in entries)
        if _size(kind, values) > 4
    )
    ifd = bytearray(struct.pack("<H", len(entries)))
    for tag, kind, values in entries:
        if tag == 273:
            values = (pixel_offset,)
        packed = _pack(kind, values)
        if len(packed) <= 4:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, kind, len(values), extra_base + len(extra))
            extra += packed
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", ifd_offset) + bytes(ifd) + bytes(extra)


def _pack(kind: int, values: tuple[float, ...] | tuple[int, ...]) -> bytes:
    code = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}[kind]
    return struct.pack(f"<{len(values)}{code}", *values)


def _size(kind: int, values: tuple[float, ...] | tuple[int, ...]) -> int:
    return {_SHORT: 2, _LONG: 4, _DOUBLE: 8}[kind] * len(values)


HEADER_SIZE = len(header(1, 1, (0.0, 1.0, 1.0, 0.0)))
MIN_SIZE = HEADER_SIZE + 1
"""The smallest GeoTIFF ``geotiff_body`` can make: the header and one pixel."""
_MAX_STRIP = 0xFFFFFFFF - HEADER_SIZE


def geotiff(width: int, height: int, west: float, north: float, east: float, south: float,
            seed: int | str = 0) -> bytes:
    """A little-endian GeoTIFF of ``width`` x ``height`` uint8 pixels covering the box.

    Pixel values are drawn from a generator seeded with ``seed``, so equal arguments
    give equal bytes.
    """
    pixels = random.Random(seed).randbytes(width * height)
    return header(width, height, (west, north, east, south)) + pixels


def geotiff_body(size: int, box: Box, seed: str) -> Body:
    """A streamed GeoTIFF of exactly ``size`` bytes (at least ``MIN_SIZE``) over ``box``.

    Raises:
        ValueError: ``size`` is below ``MIN_SIZE``.
    """
    if size < MIN_SIZE:
        raise ValueError(f"a GeoTIFF needs at least {MIN_SIZE} bytes, not {size}")
    side = max(1, math.isqrt(min(size - HEADER_SIZE, _MAX_STRIP)))
    return Concat([Literal(header(side, side, box)), Pattern(seed, size - HEADER_SIZE)])
