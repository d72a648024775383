"""The pure parts of the download core: headers, magic bytes, back-off."""

from __future__ import annotations

import email.utils
import random

import pytest

from fetcher.sources.web import RemoteState, drifted, remote_file
from fetcher.transfer.http import ContentRange, RetryPolicy, parse_content_range
from fetcher.transfer.magic import kind_for_name, magic_problem
from fetcher.transfer.retry import retry_after
from fetcher.types import LocalFile, RemoteFile

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None,
                                                  expected: float | None) -> None:
    assert expected == retry_after(header, NOW)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes 100-199/1000", ContentRange(100, 199, 1000)),
        ("bytes 0-0/*", ContentRange(0, 0, None)),
        ("bytes */1000", ContentRange(None, None, 1000)),
        ("bytes 200-100/1000", None),
        ("items 0-1/2", None),
        ("bytes 0-1", None),
        ("bytes a-b/10", None),
        (None, None),
    ],
)
def test_parse_content_range(header: str | None, expected: ContentRange | None) -> None:
    assert expected == parse_content_range(header)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"PK\x03\x04rest", "zip"),
        (b"PK\x05\x06", "zip"),
        (b"II*\x00", "tiff"),
        (b"MM\x00*", "tiff"),
        (b"II+\x00", "tiff"),
        (b"CDF\x01", "netcdf"),
        (b"CDF\x02", "netcdf"),
        (b"\x89HDF\r\n", "netcdf"),
        (b"anything at all", None),
    ],
)
def test_magic_bytes_accept_their_kind(head: bytes, kind: str | None) -> None:
    assert None is magic_problem(head, kind)


@pytest.mark.parametrize("kind", ["zip", "tiff", "netcdf", None])
def test_html_page_is_refused_whatever_the_kind(kind: str | None) -> None:
    expected = "an HTML page"
    assert expected == magic_problem(b"\n  <!DOCTYPE html><html>", kind)


def test_wrong_magic_bytes_are_named() -> None:
    expected = "not a zip file (starts with b'II*\\x00')"
    assert expected == magic_problem(b"II*\x00", "zip")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.ZIP", "zip"), ("a.tif", "tiff"), ("a.tiff", "tiff"), ("g.nc", "netcdf"),
     ("readme.txt", None)],
)
def test_kind_follows_the_file_extension(name: str, kind: str | None) -> None:
    assert kind == kind_for_name(name)


def test_backoff_is_jittered_below_an_exponential_cap() -> None:
    policy = RetryPolicy(base=1.0, cap=10.0)
    rng = random.Random(0)

    delays = [policy.backoff(attempt, rng) for attempt in (1, 2, 3, 4, 5, 6)]

    caps = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    expected = [True] * 6
    assert expected == [0 <= d <= c for d, c in zip(delays, caps, strict=True)]


def test_remote_file_names_a_url_by_its_last_segment() -> None:
    expected = RemoteFile(name="my raster.tif", url="https://example.org/d/my%20raster.tif",
                          sha256="ab" * 32, kind="tiff")
    assert expected == remote_file("https://example.org/d/my%20raster.tif", "AB" * 32)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (RemoteState('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT", 10), False),
        (RemoteState('"v2"', "Mon, 01 Jan 2024 00:00:00 GMT", 10), True),
        (RemoteState(None, "Tue, 02 Jan 2024 00:00:00 GMT", 10), True),
        (RemoteState(None, None, 11), True),
        (RemoteState(None, None, None), False),
    ],
)
def test_drift_is_judged_by_etag_then_date_then_size(now: RemoteState, expected: bool) -> None:
    local = LocalFile(path="a", size=10, sha256="0" * 64, mtime_ns=0, etag='"v1"',
                      last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert expected == drifted(local, now)
