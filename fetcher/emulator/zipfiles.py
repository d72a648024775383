"""A streamed zip writer (stored members, ZIP64 when needed), and zips of an exact size.

Members are ``Body`` objects, so a zip is itself a ``Body``: its headers are small
literals around the members, the CRCs come from ``Body.crc32`` without reading the
members, and nothing is held in memory. ZIP64 records are used for every member as
soon as the archive could reach 4 GiB, as Python's ``zipfile`` and ``unzip`` read them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from fetcher.emulator.bodies import Body, Concat, Literal

Stamp = tuple[int, int, int, int, int, int]
STAMP: Stamp = (2024, 4, 1, 0, 0, 0)
_LIMIT = 0xFFFFFFFF
_LOCAL, _CENTRAL, _END = 30, 46, 22
_LOCAL64, _CENTRAL64, _END64 = 20, 28, 56 + 20


def overhead(names: Sequence[str], zip64: bool) -> int:
    """Bytes a zip of members with these names adds around their data."""
    per_member = _LOCAL + _CENTRAL + (_LOCAL64 + _CENTRAL64 if zip64 else 0)
    encoded = sum(len(name.encode("utf-8")) for name in names)
    return per_member * len(names) + 2 * encoded + _END + (_END64 if zip64 else 0)


def _dos(stamp: Stamp) -> tuple[int, int]:
    year, month, day, hour, minute, second = stamp
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def zip_body(members: Sequence[tuple[str, Body]], stamp: Stamp = STAMP,
             zip64: bool | None = None) -> Concat:
    """A stored zip of ``members`` (name, body), ZIP64 when it could pass 4 GiB.

    ``zip64`` forces the choice (tests use it to check the ZIP64 form on small files).
    """
    if zip64 is None:
        names = [name for name, _ in members]
        zip64 = sum(b.size for _, b in members) + overhead(names, False) >= _LIMIT
    time, date = _dos(stamp)
    parts: list[Body] = []
    central = b""
    offset = 0
    for name, body in members:
        raw = name.encode("utf-8")
        crc = body.crc32()
        local = _local(raw, crc, body.size, time, date, zip64)
        central += _central(raw, crc, body.size, offset, time, date, zip64)
        parts += [Literal(local), body]
        offset += len(local) + body.size
    parts.append(Literal(central + _end(len(members), len(central), offset, zip64)))
    return Concat(parts)


def _local(raw: bytes, crc: int, size: int, time: int, date: int, zip64: bool) -> bytes:
    flags = 0x800 if not raw.isascii() else 0
    if zip64:
        extra = struct.pack("<HHQQ", 1, 16, size, size)
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, flags, 0, time, date, crc, _LIMIT,
                           _LIMIT, len(raw), len(extra)) + raw + extra
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, time, date, crc, size, size,
                       len(raw), 0) + raw


def _central(raw: bytes, crc: int, size: int, offset: int, time: int, date: int,
             zip64: bool) -> bytes:
    flags = 0x800 if not raw.isascii() else 0
    version = 45 if zip64 else 20
    extra = struct.pack("<HHQQQ", 1, 24, size, size, offset) if zip64 else b""
    shown = (_LIMIT, _LIMIT, _LIMIT) if zip64 else (size, size, offset)
    return struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | version, version, flags, 0, time, date,
        crc, shown[0], shown[1], len(raw), len(extra), 0, 0, 0, 0o644 << 16, shown[2],
    ) + raw + extra


def _end(count: int, central_size: int, central_offset: int, zip64: bool) -> bytes:
    if not zip64:
        return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, central_size,
                           central_offset, 0)
    record_offset = central_offset + central_size
    record = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                         central_size, central_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                      _LIMIT, _LIMIT, 0)
    return record + locator + end


def fitted_zip(fixed: Sequence[tuple[str, Body]], last: str, make_last: Callable[[int], Body],
               total: int, stamp: Stamp = STAMP) -> Concat:
    """A zip of exactly ``total`` bytes: the ``fixed`` members, then ``last`` filling the rest.

    Raises:
        ValueError: ``total`` cannot hold the fixed members and their headers.
    """
    names = [name for name, _ in fixed] + [last]
    used = sum(body.size for _, body in fixed)
    zip64 = total >= _LIMIT
    room = total - used - overhead(names, zip64)
    if room < 0:
        raise ValueError(f"a zip of {total} bytes cannot hold {len(names)} members")
    return zip_body([*fixed, (last, make_last(room))], stamp, zip64)
