"""Streamed bodies: CRC combination, periodic streams, the zip and GeoTIFF writers."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pytest

from fetcher.emulator.bodies import PERIOD, Concat, Literal, Pattern, crc32_combine, repeat_crc
from fetcher.emulator.geotiff import HEADER_SIZE, MIN_SIZE, geotiff, geotiff_body, header
from fetcher.emulator.zipfiles import fitted_zip, zip_body


def whole(body: object) -> bytes:
    return b"".join(body.read(0, body.size))  # type: ignore[attr-defined]


@pytest.mark.parametrize("split", [0, 1, 999, 4096])
def test_crc32_combine_matches_zlib(split: int) -> None:
    data = random.Random(split).randbytes(5000)
    first, second = data[:split], data[split:]
    assert zlib.crc32(data) == crc32_combine(zlib.crc32(first), zlib.crc32(second),
                                             len(second))


def test_repeat_crc_matches_zlib() -> None:
    block = b"abcdefg"
    assert zlib.crc32(block * 13) == repeat_crc(zlib.crc32(block), len(block), 13)


@pytest.mark.parametrize("size", [0, 10, PERIOD, PERIOD + 1, 2 * PERIOD + 12345])
def test_pattern_reads_and_crc_agree(size: int) -> None:
    body = Pattern("seed", size)
    data = whole(body)
    assert (size, zlib.crc32(data)) == (len(data), body.crc32())
    assert data[100:5000] == b"".join(body.read(100, 5000))


def test_pattern_repeats_with_a_period_that_is_no_power_of_two() -> None:
    body = Pattern("seed", 3 * PERIOD)
    at = PERIOD - 10
    assert b"".join(body.read(at, at + 50)) == b"".join(body.read(at + PERIOD, at + PERIOD + 50))
    assert b"".join(body.read(0, 64)) != b"".join(body.read(1 << 22, (1 << 22) + 64))


def test_concat_ranges_cross_parts() -> None:
    body = Concat([Literal(b"abc"), Pattern("x", 10), Literal(b"xyz")])
    data = whole(body)
    assert (16, data[:3], data[-3:], zlib.crc32(data)) == (
        body.size, b"abc", b"xyz", body.crc32())
    assert data[2:14] == b"".join(body.read(2, 14))


@pytest.mark.parametrize("zip64", [False, True])
def test_zip_body_is_a_valid_zip(zip64: bool) -> None:
    members = [("a.txt", Literal(b"hello")), ("dir/b.bin", Pattern("b", PERIOD + 7))]
    archive = zipfile.ZipFile(io.BytesIO(whole(zip_body(members, zip64=zip64))))
    assert (None, ["a.txt", "dir/b.bin"], b"hello") == (
        archive.testzip(), archive.namelist(), archive.read("a.txt"))
    assert archive.getinfo("dir/b.bin").file_size == PERIOD + 7


def test_fitted_zip_has_the_exact_size() -> None:
    body = fitted_zip([("one", Literal(b"1"))], "two", lambda room: Pattern("t", room), 5000)
    archive = zipfile.ZipFile(io.BytesIO(whole(body)))
    assert (5000, None) == (body.size, archive.testzip())
    with pytest.raises(ValueError, match="cannot hold"):
        fitted_zip([], "x", lambda room: Pattern("t", room), 10)


def test_geotiff_body_has_the_exact_size_and_a_square_strip() -> None:
    body = geotiff_body(HEADER_SIZE + 100 * 100 + 7, (0.0, 1.0, 1.0, 0.0), "s")
    data = whole(body)
    width, height = (struct.unpack("<I", data[i:i + 4])[0] for i in (18, 30))
    assert (len(data), data[:4], width, height) == (body.size, b"II*\x00", 100, 100)
    assert data[:HEADER_SIZE] == header(100, 100, (0.0, 1.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="at least"):
        geotiff_body(MIN_SIZE - 1, (0.0, 1.0, 1.0, 0.0), "s")


def test_small_geotiffs_keep_their_bytes() -> None:
    tif = geotiff(32, 32, -10.0, 70.0, 30.0, 35.0, "salt")
    assert (HEADER_SIZE + 1024, tif[:4]) == (len(tif), b"II*\x00")
