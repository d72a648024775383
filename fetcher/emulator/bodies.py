"""Streamed bodies of any size: literal bytes, seeded periodic streams, concatenations.

A ``Body`` knows its size, yields any byte range on demand, and computes its CRC-32
without reading itself whole: a ``Pattern`` repeats one seeded period (``PERIOD``
bytes, deliberately not a power of two so that offsets off by a power of two never
line up), so the CRC of a 5 GiB stream is the CRC of one period combined with
itself (zlib's ``crc32_combine``, here in pure Python) in a few dozen steps. That is
what lets the zip and GeoTIFF writers put correct headers in front of huge members.
MD5 cannot be combined: ``md5_of`` reads the body once (about 2.5 s per GiB).
"""

from __future__ import annotations

import functools
import hashlib
import random
import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol

BLOCK = 64 * 1024
PERIOD = 64 * BLOCK - 3
MAX_SIZE = 2**53
"""The largest size a listing can state exactly (JSON numbers are doubles)."""


class Body(Protocol):
    """A rangeable body: ``size``, ``read(start, end)`` and ``crc32()``."""

    @property
    def size(self) -> int:
        """Length in bytes."""

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` in pieces of at most 64 KiB."""

    def crc32(self) -> int:
        """The CRC-32 of the whole body, as zip headers carry it."""


class Literal:
    """Bytes held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield ``data[start:end]`` in 64 KiB pieces."""
        for offset in range(start, min(end, len(self.data)), BLOCK):
            yield self.data[offset:min(end, offset + BLOCK)]

    def crc32(self) -> int:
        """The CRC-32 of the bytes."""
        return zlib.crc32(self.data)


@functools.lru_cache(maxsize=128)
def _block(seed: str, index: int) -> bytes:
    return random.Random(f"{seed}/{index}").randbytes(BLOCK)


class Pattern:
    """``size`` deterministic bytes: one seeded ``PERIOD``-byte period, repeated."""

    def __init__(self, seed: str, size: int) -> None:
        self.seed = seed
        self._size = size
        self._crc: int | None = None

    @property
    def size(self) -> int:
        """Length in bytes."""
        return self._size

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)``, one period block at a time."""
        position, end = start, min(end, self._size)
        while position < end:
            inside = position % PERIOD
            index, offset = divmod(inside, BLOCK)
            length = min(BLOCK - offset, PERIOD - inside, end - position)
            yield _block(self.seed, index)[offset:offset + length]
            position += length

    def crc32(self) -> int:
        """The CRC-32, from one period's CRC combined with itself."""
        if self._crc is None:
            whole, rest = divmod(self._size, PERIOD)
            crc = repeat_crc(_crc_of(self.read(0, PERIOD)), PERIOD, whole) if whole else 0
            self._crc = crc32_combine(crc, _crc_of(self.read(0, rest)), rest)
        return self._crc


class Concat:
    """Several bodies one after the other."""

    def __init__(self, parts: Sequence[Body]) -> None:
        self.parts = list(parts)
        self._size = sum(part.size for part in self.parts)

    @property
    def size(self) -> int:
        """Length in bytes."""
        return self._size

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield ``[start, end)`` from the parts that overlap it."""
        base = 0
        for part in self.parts:
            low, high = max(start, base), min(end, base + part.size)
            if low < high:
                yield from part.read(low - base, high - base)
            base += part.size
            if base >= end:
                break

    def crc32(self) -> int:
        """The CRC-32, combined from the parts'."""
        crc = 0
        for part in self.parts:
            crc = crc32_combine(crc, part.crc32(), part.size)
        return crc


def _crc_of(pieces: Iterator[bytes]) -> int:
    crc = 0
    for piece in pieces:
        crc = zlib.crc32(piece, crc)
    return crc


def md5_of(body: Body) -> str:
    """The hex MD5 of a body, read once from start to end."""
    digest = hashlib.md5(usedforsecurity=False)
    for piece in body.read(0, body.size):
        digest.update(piece)
    return digest.hexdigest()


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[row]) for row in range(32)]


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)`` (zlib's algorithm)."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def repeat_crc(crc: int, length: int, times: int) -> int:
    """The CRC-32 of ``times`` copies of a ``length``-byte block whose CRC is ``crc``."""
    total = 0
    while times:
        if times & 1:
            total = crc32_combine(total, crc, length)
        times >>= 1
        if times:
            crc = crc32_combine(crc, crc, length)
            length *= 2
    return total


def check_size(name: str, value: object, minimum: int) -> None:
    """Refuse a size a body cannot take, with a message naming the option.

    Raises:
        ValueError: not an int, or outside ``[minimum, MAX_SIZE]``.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name}: expected a whole number of bytes, got {value!r}")
    if not minimum <= value <= MAX_SIZE:
        raise ValueError(f"{name}: {value} bytes is outside what the emulator can serve; "
                         f"expected {minimum} to {MAX_SIZE} (2**53) bytes")
