"""fetch against the emulator's file host: resume, restart, verify, refuse, wait out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fetcher.errors import IntegrityError, RemoteError
from fetcher.transfer.download import fetch
from fetcher.transfer.files import part_path, sidecar_path
from fetcher.transfer.http import Http
from fetcher.types import RemoteFile

from .conftest import FakeClock, FilesHost

SIZE = 3 * (1 << 20) + 12345


def content(name: str, size: int = SIZE, seed: str = "0") -> bytes:
    from fetcher.emulator.files import stream

    return b"".join(stream(f"files:{seed}:{name}", size).read(0, size))


def remote(files: FilesHost, name: str, length: int = SIZE, **fields: object) -> RemoteFile:
    """The emulator's file of ``length`` bytes, with ``fields`` as the source states them."""
    return RemoteFile(name=name, url=f"{files.url}/random/{length}/{name}?seed=0",
                      **fields)  # type: ignore[arg-type]


def leave_part(target: Path, data: bytes, url: str, etag: str | None) -> None:
    """What an earlier process leaves behind when it dies mid-download."""
    part_path(target).write_bytes(data)
    fingerprint = hashlib.sha256(url.encode()).hexdigest()  # the sidecar keeps no URL
    sidecar_path(target).write_text(json.dumps({"url": fingerprint, "etag": etag,
                                                "last_modified": None}))


def served(files: FilesHost) -> list[tuple[int, str | None]]:
    return [(r.status, r.range) for r in files.requests]


def test_fetch_places_the_file_with_its_hashes(http: Http, files: FilesHost,
                                               tmp_path: Path) -> None:
    data = content("a.bin")
    target = tmp_path / "a.bin"

    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()

    local = fetch(http, remote(files, "a.bin", md5=md5), target)

    expected = (str(target), SIZE, hashlib.sha256(data).hexdigest(), md5)
    assert expected == (local.path, local.size, local.sha256, local.md5)
    assert data == target.read_bytes()


def test_fetch_records_etag_and_last_modified(http: Http, files: FilesHost,
                                              tmp_path: Path) -> None:
    local = fetch(http, remote(files, "a.bin"), tmp_path / "a.bin")

    assert (True, "Tue, 14 Nov 2023 22:13:20 GMT") == (
        local.etag is not None and local.etag.startswith('"'), local.last_modified)


def test_fetch_leaves_no_part_or_sidecar(http: Http, files: FilesHost, tmp_path: Path) -> None:
    fetch(http, remote(files, "a.bin"), tmp_path / "a.bin")

    expected = ["a.bin"]
    assert expected == sorted(p.name for p in tmp_path.iterdir())


def test_dropped_connection_resumes_from_the_byte_offset(http: Http, files: FilesHost,
                                                         tmp_path: Path) -> None:
    files.faults.script("files", "truncate")
    target = tmp_path / "a.bin"

    fetch(http, remote(files, "a.bin"), target)

    (first, first_range), (second, second_range) = served(files)
    offset = int(str(second_range).removeprefix("bytes=").removesuffix("-"))
    assert (200, None, 206) == (first, first_range, second)
    assert 0 < offset <= files.requests[0].bytes
    assert content("a.bin") == target.read_bytes()


def test_part_left_by_a_dead_process_is_resumed_with_if_range(http: Http, files: FilesHost,
                                                              tmp_path: Path) -> None:
    data = content("a.bin")
    target = tmp_path / "a.bin"
    etag = fetch(http, remote(files, "a.bin"), tmp_path / "probe.bin").etag
    leave_part(target, data[:1_000_000], remote(files, "a.bin").url, etag)

    local = fetch(http, remote(files, "a.bin", md5=hashlib.md5(
        data, usedforsecurity=False).hexdigest()), target)

    assert (206, "bytes=1000000-") == served(files)[-1]
    assert hashlib.sha256(data).hexdigest() == local.sha256


def test_changed_remote_under_if_range_restarts_from_zero(http: Http, files: FilesHost,
                                                          tmp_path: Path) -> None:
    data = content("a.bin")
    target = tmp_path / "a.bin"
    leave_part(target, b"\x00" * 500_000, remote(files, "a.bin").url, '"an-older-version"')

    local = fetch(http, remote(files, "a.bin"), target)

    assert [(200, "bytes=500000-")] == served(files)
    assert hashlib.sha256(data).hexdigest() == local.sha256


def test_part_of_another_url_is_not_resumed(http: Http, files: FilesHost,
                                            tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    leave_part(target, b"\x00" * 500_000, "http://127.0.0.1:1/other", '"x"')

    fetch(http, remote(files, "a.bin"), target)

    assert [(200, None)] == served(files)


def test_416_with_the_full_size_verifies_instead_of_deleting(http: Http, files: FilesHost,
                                                             tmp_path: Path) -> None:
    data = content("a.bin")
    target = tmp_path / "a.bin"
    etag = fetch(http, remote(files, "a.bin"), tmp_path / "probe.bin").etag
    leave_part(target, data, remote(files, "a.bin").url, etag)

    local = fetch(http, remote(files, "a.bin", size=SIZE), target)

    assert (416, f"bytes={SIZE}-") == served(files)[-1]
    assert (hashlib.sha256(data).hexdigest(), data) == (local.sha256, target.read_bytes())


def test_short_body_every_time_is_a_clear_error_keeping_the_part(
        http: Http, files: FilesHost, tmp_path: Path) -> None:
    files.faults.set("files", truncate=1.0)
    target = tmp_path / "a.bin"

    with pytest.raises(RemoteError, match=r"without progress; last: .*(broke off|short body)"):
        fetch(http, remote(files, "a.bin", length=200_000), target)

    assert (False, True) == (target.exists(), part_path(target).exists())


def test_checksum_mismatch_leaves_no_file_and_says_what_differs(
        http: Http, files: FilesHost, tmp_path: Path) -> None:
    target = tmp_path / "a.bin"

    with pytest.raises(IntegrityError) as caught:
        fetch(http, remote(files, "a.bin", md5="0" * 32), target)

    actual = hashlib.md5(content("a.bin"), usedforsecurity=False).hexdigest()
    assert f"expected {'0' * 32}, found {actual}" in str(caught.value)
    assert [] == list(tmp_path.iterdir())


def test_size_mismatch_with_the_listing_is_refused_before_download(
        http: Http, files: FilesHost, tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match=f"offers {SIZE} bytes, the listing says 10"):
        fetch(http, remote(files, "a.bin", size=10), tmp_path / "a.bin")
    assert [] == list(tmp_path.iterdir())


def test_wrong_magic_bytes_are_never_saved(http: Http, files: FilesHost,
                                           tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match="not a zip file"):
        fetch(http, remote(files, "a.zip", kind="zip"), tmp_path / "a.zip")
    assert [] == list(tmp_path.iterdir())


def test_html_error_page_is_a_remote_error_naming_the_status(http: Http, files: FilesHost,
                                                             tmp_path: Path) -> None:
    bad = RemoteFile(name="a.tif", url=f"{files.url}/nowhere/a.tif", kind="tiff")

    with pytest.raises(RemoteError, match="unexpected answer HTTP 404") as caught:
        fetch(http, bad, tmp_path / "a.tif")
    assert (404, []) == (caught.value.status, list(tmp_path.iterdir()))


def test_429_with_retry_after_is_waited_out(http: Http, files: FilesHost, clock: FakeClock,
                                            tmp_path: Path) -> None:
    files.faults.set("files", retry_after=7)
    files.faults.script("files", "throttle")

    fetch(http, remote(files, "a.bin"), tmp_path / "a.bin")

    assert ([7.0], [429, 200]) == (clock.sleeps, [r.status for r in files.requests])


def test_429_with_an_http_date_is_waited_out(http: Http, files: FilesHost, clock: FakeClock,
                                             tmp_path: Path) -> None:
    files.faults.set("files", retry_after=42, retry_after_http_date=True)
    files.faults.script("files", "throttle")

    fetch(http, remote(files, "a.bin"), tmp_path / "a.bin")

    # An HTTP date has whole seconds; the fake clock may stand within one of them.
    assert [True] == [41.0 <= s <= 42.0 for s in clock.sleeps]


def test_5xx_and_drops_are_retried_with_backoff(http: Http, files: FilesHost, clock: FakeClock,
                                                tmp_path: Path) -> None:
    files.faults.script("files", "error_503", "drop", "error_502")

    local = fetch(http, remote(files, "a.bin"), tmp_path / "a.bin")

    assert (3, SIZE) == (len(clock.sleeps), local.size)


def test_persistent_5xx_ends_with_the_url_and_last_answer(http: Http, files: FilesHost,
                                                          tmp_path: Path) -> None:
    files.faults.set("files", error_503=1.0)

    with pytest.raises(RemoteError) as caught:
        fetch(http, remote(files, "a.bin"), tmp_path / "a.bin")

    expected = (f"GET {files.url}/random/{SIZE}/a.bin failed after 4 attempts; "
                "last answer: HTTP 503 (an HTML page)", 503)
    assert expected == (str(caught.value), caught.value.status)


def test_extra_statuses_are_retried_until_the_window_closes(
        http: Http, files: FilesHost, clock: FakeClock, tmp_path: Path) -> None:
    late = RemoteFile(name="a.zip", url=f"{files.url}/not-yet/a.zip")

    with pytest.raises(RemoteError, match="still HTTP 404"):
        fetch(http, late, tmp_path / "a.zip", not_ready=[403, 404],
              not_ready_until=clock.time() + 120.0)

    assert (True, True) == (sum(clock.sleeps) >= 120.0, len(files.requests) > 2)


def test_progress_reports_bytes_and_total(http: Http, files: FilesHost, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []

    fetch(http, remote(files, "a.bin"), tmp_path / "a.bin",
          progress=lambda done, total: seen.append((done, total)))

    assert (SIZE, SIZE) == seen[-1]
