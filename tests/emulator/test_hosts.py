"""File hosts (Range, If-Range, 416, HEAD), CEDA listings, Zenodo records, and faults."""

from __future__ import annotations

import email.utils
import hashlib
import socket
import time
from typing import Any

import pytest
import requests

from fetcher.emulator import Emulator, EmulatorConfig


def get(url: str, method: str = "GET", **headers: str) -> requests.Response:
    with requests.request(method, url, headers=headers, timeout=5) as answer:
        answer.content  # noqa: B018 - read before closing
        return answer


def test_startup_is_fast() -> None:
    started = time.perf_counter()
    with Emulator(EmulatorConfig(fake_clock=True, catalogue_size=200)):
        elapsed = time.perf_counter() - started
    print(f"emulator started in {elapsed:.3f} s")
    assert elapsed < 5


def test_random_files_are_deterministic_and_sized(shared: Emulator) -> None:
    url = f"{shared.urls.files}/random/1000000/big.bin?seed=3"
    first, second = get(url), get(url)
    assert (200, 1000000, first.content) == (first.status_code, len(first.content), second.content)
    assert first.content != get(url.replace("seed=3", "seed=4")).content
    head = get(url, "HEAD")
    assert (head.headers["Content-Length"], head.content, head.headers["Accept-Ranges"]) == (
        "1000000",
        b"",
        "bytes",
    )


def test_ranges(shared: Emulator) -> None:
    url = f"{shared.urls.files}/random/5000/f.bin"
    full = get(url).content
    part = get(url, Range="bytes=100-199")
    assert (206, "bytes 100-199/5000", full[100:200]) == (
        part.status_code,
        part.headers["Content-Range"],
        part.content,
    )
    assert full[4900:] == get(url, Range="bytes=-100").content
    assert full[4000:] == get(url, Range="bytes=4000-").content
    unsatisfiable = get(url, Range="bytes=5000-")
    assert (unsatisfiable.status_code, unsatisfiable.headers["Content-Range"]) == (
        416,
        "bytes */5000",
    )


def test_if_range(shared: Emulator) -> None:
    url = f"{shared.urls.files}/random/5000/f.bin"
    etag = get(url, "HEAD").headers["ETag"]
    modified = get(url, "HEAD").headers["Last-Modified"]
    assert get(url, Range="bytes=10-", **{"If-Range": etag}).status_code == 206
    assert get(url, Range="bytes=10-", **{"If-Range": modified}).status_code == 206
    assert get(url, Range="bytes=10-", **{"If-Range": '"stale"'}).status_code == 200
    old = email.utils.formatdate(0, usegmt=True)
    assert get(url, Range="bytes=10-", **{"If-Range": old}).status_code == 200


def test_ceda_listing_matches_the_files(shared: Emulator) -> None:
    folder = f"{shared.urls.ceda}/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf"
    listing = get(f"{folder}?json").json()
    entry = next(i for i in listing["items"] if i["name"] == "gebco_2024.zip")
    body = get(entry["download"])
    assert (entry["size"], entry["md5"]) == (
        len(body.content),
        hashlib.md5(body.content, usedforsecurity=False).hexdigest(),
    )
    assert {"name", "path", "type", "size", "md5", "last_modified", "download"} == set(entry)
    assert body.content[:2] == b"PK"


def test_zenodo_record_shapes(shared: Emulator) -> None:
    current = get(f"{shared.urls.zenodo}/api/records/3939050")
    legacy = get(f"{shared.urls.zenodo}/api/records/1000001").json()
    entry = current.json()["files"][0]
    body = get(entry["links"]["self"]).content
    assert f"md5:{hashlib.md5(body, usedforsecurity=False).hexdigest()}" == entry["checksum"]
    assert (entry["size"], b"II*\x00") == (len(body), body[:4])
    assert {"filename", "filesize", "checksum", "id", "links"} == set(legacy["files"][0])
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        current.headers
    )
    assert get(f"{shared.urls.zenodo}/api/records/42").status_code == 404


def test_zenodo_rate_limit() -> None:
    with Emulator(EmulatorConfig(zenodo_rate_limit=2)) as emu:
        codes = [get(f"{emu.urls.zenodo}/api/records/3939050").status_code for _ in range(3)]
        last = get(f"{emu.urls.zenodo}/api/records/3939050")
        assert (codes, last.headers["X-RateLimit-Remaining"]) == ([200, 200, 429], "0")
        assert int(last.headers["Retry-After"]) > 0


@pytest.fixture
def faulty() -> Any:
    with Emulator(EmulatorConfig(seed=1, fake_clock=True)) as emu:
        yield emu


@pytest.mark.parametrize(
    ("kind", "status"),
    [("error_500", 500), ("error_502", 502), ("error_503", 503), ("throttle", 429)],
)
def test_scripted_status_faults(faulty: Emulator, kind: str, status: int) -> None:
    faulty.faults.script("files", kind)
    url = f"{faulty.urls.files}/random/10/a"
    assert [status, 200] == [get(url).status_code, get(url).status_code]


def test_retry_after_forms(faulty: Emulator) -> None:
    url = f"{faulty.urls.files}/random/10/a"
    faulty.faults.set("files", throttle=1.0, retry_after=7)
    assert get(url).headers["Retry-After"] == "7"
    faulty.faults.set("files", retry_after_http_date=True)
    when = email.utils.parsedate_to_datetime(get(url).headers["Retry-After"]).timestamp()
    assert round(when - faulty.clock.now()) == 7


def test_drop_closes_without_an_answer(faulty: Emulator) -> None:
    faulty.faults.script("files", "drop")
    with pytest.raises(requests.ConnectionError):
        get(f"{faulty.urls.files}/random/10/a")


def test_truncate_sends_less_than_content_length(faulty: Emulator) -> None:
    faulty.faults.script("files", "truncate")
    host, port = faulty.urls.files.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /random/1000/a HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert (b"Content-Length: 1000" in head, 500) == (True, len(body))


def test_slow(faulty: Emulator) -> None:
    faulty.faults.set("files", slow=1.0, slow_seconds=0.2)
    started = time.perf_counter()
    get(f"{faulty.urls.files}/random/10/a")
    assert time.perf_counter() - started >= 0.2


def test_expire_token_fault(faulty: Emulator) -> None:
    from conftest import Client, token_for

    client = Client(faulty, token_for(faulty, faulty.service_key()))
    faulty.faults.script("clms", "expire_token")
    assert [
        client.call("GET", "@datarequest_search").status_code,
        client.call("GET", "@datarequest_search").status_code,
    ] == [401, 200]


def test_fault_rates_are_deterministic_per_seed() -> None:
    def pattern() -> list[int]:
        config = EmulatorConfig(seed=5)
        with Emulator(config) as emu:
            emu.faults.set("files", error_503=0.5)
            return [get(f"{emu.urls.files}/random/10/a").status_code for _ in range(12)]

    first = pattern()
    assert first == pattern() and {200, 503} == set(first)


def test_request_log_and_counters(faulty: Emulator) -> None:
    get(f"{faulty.urls.files}/random/100/a", Range="bytes=0-9", Authorization="Bearer secret")
    record = faulty.requests[-1]
    assert (record.host, record.method, record.path, record.status, record.range, record.bytes) == (
        "files",
        "GET",
        "/random/100/a",
        206,
        "bytes=0-9",
        10,
    )
    assert (faulty.stats["downloads"], faulty.stats["bytes"]) == (1, 10)
    assert "secret" not in repr(faulty.requests)


def test_control_endpoints(faulty: Emulator) -> None:
    root = faulty.urls.clms.removesuffix("/api")
    before = faulty.clock.now()
    with requests.post(f"{root}/_emulator/clock/advance?seconds=60", timeout=5) as answer:
        assert round(answer.json()["now"] - before) == 60
    with requests.post(
        f"{root}/_emulator/faults", json={"host": "files", "error_503": 1}, timeout=5
    ) as answer:
        assert answer.status_code == 200
    assert get(f"{faulty.urls.files}/random/1/a").status_code == 503
    assert get(f"{root}/_emulator/stats").json()["requests"] == 1
    assert get(f"{root}/_emulator/requests").json()[0]["host"] == "files"


def test_runtime_controls_over_http(faulty: Emulator) -> None:
    from conftest import Client, lc100, token_for

    root = faulty.urls.clms.removesuffix("/api")
    client = Client(faulty, token_for(faulty, faulty.service_key()))

    def call(target: str, **body: Any) -> requests.Response:
        with requests.post(f"{root}/_emulator/call/{target}", json=body, timeout=5) as answer:
            answer.content  # noqa: B018 - read before closing
            return answer

    assert {"result": None} == call("post_faults/script", args=["after_503"]).json()
    assert 503 == client.post(lc100()).status_code
    counts = get(f"{root}/_emulator/tasks/by-item").json()
    assert [1] == list(counts.values())
    assert {"result": 1} == call("files/bump", path="/random/10/a").json()
    assert 400 == call("ceda/bump", path_or_name="nope").status_code
    assert 404 == call("tasks/force").status_code
    by_path = get(f"{root}/_emulator/requests/by-path?host=clms").json()
    assert 1 == by_path["/api/@datarequest_post"]
