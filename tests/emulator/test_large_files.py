"""Files of any declared size stream in ranges; sizes no body can take are refused early."""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
import zipfile
from typing import Any

import pytest
import requests
from conftest import CORINE, CORINE_FILE, LC100, Client, lc100, token_for

from fetcher.emulator import Emulator, EmulatorConfig, ResultBehaviour, config_from_dict
from fetcher.emulator.ceda import GEBCO
from fetcher.emulator.zenodo import LC100_FILE, LC100_RECORD

GIB5 = 5 * 2**30
ZENODO = f"/records/{LC100_RECORD}/files/{LC100_FILE}"
CEDA = f"{GEBCO}/gebco_2024.zip"


def fetch(url: str, method: str = "GET", **headers: str) -> requests.Response:
    with requests.request(method, url, headers=headers, timeout=10) as answer:
        answer.content  # noqa: B018 - read before closing
        return answer


def ranges(url: str, size: int) -> tuple[bytes, bytes, bytes]:
    """The first 16 bytes, 16 in the middle and the last 64, each by a Range request."""
    middle = size // 2
    pieces = []
    for spec in ("bytes=0-15", f"bytes={middle}-{middle + 15}", "bytes=-64"):
        answer = fetch(url, Range=spec)
        assert (206, f"/{size}") == (answer.status_code,
                                     answer.headers["Content-Range"][-len(f"/{size}"):])
        pieces.append(answer.content)
    return pieces[0], pieces[1], pieces[2]


@pytest.mark.parametrize("size", [300_000_000, GIB5])
def test_zenodo_tif_of_any_size_serves_in_ranges(size: int) -> None:
    with Emulator(EmulatorConfig(seed=4, zenodo_file_size=size, catalogue_size=0)) as emu:
        url = f"{emu.urls.zenodo}{ZENODO}"
        head = fetch(url, "HEAD")
        first, middle, last = ranges(url, size)
    with Emulator(EmulatorConfig(seed=4, zenodo_file_size=size, catalogue_size=0)) as again:
        assert (first, middle, last) == ranges(f"{again.urls.zenodo}{ZENODO}", size)
    assert (str(size), b"II*\x00") == (head.headers["Content-Length"], first[:4])
    assert (16, 64) == (len(middle), len(last))


def test_ceda_zip_of_5_gib_is_zip64_to_the_end() -> None:
    with Emulator(EmulatorConfig(ceda_file_size=GIB5, catalogue_size=0)) as emu:
        first, _, last = ranges(f"{emu.urls.ceda}{CEDA}", GIB5)
    end = last[-22:]
    locator = last[-42:-22]
    assert (b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x07") == (first[:4], end[:4], locator[:4])
    assert struct.unpack("<I", end[16:20])[0] == 0xFFFFFFFF


def test_a_mid_sized_ceda_zip_is_whole_and_matches_its_listing() -> None:
    with Emulator(EmulatorConfig(ceda_file_size=9_000_000, catalogue_size=0)) as emu:
        listing = fetch(f"{emu.urls.ceda}{GEBCO}?json").json()
        entry = next(i for i in listing["items"] if i["name"] == "gebco_2024.zip")
        body = fetch(entry["download"]).content
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert (9_000_000, entry["md5"], None) == (
        len(body), hashlib.md5(body, usedforsecurity=False).hexdigest(), archive.testzip())
    assert archive.read("gebco_2024.nc")[:4] == b"CDF\x01"


def test_a_5_gib_result_zip_streams(rsa_pem: str) -> None:
    config = EmulatorConfig(fake_clock=True, catalogue_size=0,
                            results={LC100: ResultBehaviour(size=GIB5)})
    with Emulator(config) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        task_id = client.post(lc100()).json()["TaskIds"][0]["TaskID"]
        emu.clock.advance(100)
        task = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).json()
        first, _, last = ranges(task["DownloadURL"], GIB5)
    assert (GIB5, b"PK\x03\x04", b"PK\x05\x06") == (task["FileSize"], first[:4], last[-22:-18])


def test_a_sized_prepackaged_result_keeps_its_nested_shape(rsa_pem: str) -> None:
    config = EmulatorConfig(fake_clock=True, catalogue_size=0,
                            results={CORINE: ResultBehaviour(size=300_000)})
    with Emulator(config) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        answer = client.post({"DatasetID": CORINE, "FileID": CORINE_FILE})
        emu.clock.advance(100)
        task_id = answer.json()["TaskIds"][0]["TaskID"]
        task = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).json()
        body = fetch(task["DownloadURL"]).content
    outer = zipfile.ZipFile(io.BytesIO(body))
    inner = zipfile.ZipFile(io.BytesIO(outer.read("Results/U2018_CLC2018_V2020_20u1.zip")))
    assert (300_000, task["FileSize"], None, None) == (
        len(body), len(body), outer.testzip(), inner.testzip())


def test_streaming_a_large_range_holds_little_memory() -> None:
    with Emulator(EmulatorConfig(zenodo_file_size=300_000_000, catalogue_size=0)) as emu:
        url = f"{emu.urls.zenodo}{ZENODO}"
        tracemalloc.start()
        try:
            with requests.get(url, headers={"Range": "bytes=100000000-140000000"},
                              stream=True, timeout=10) as answer:
                received = sum(len(c) for c in answer.iter_content(1 << 20))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert received == 40_000_001
    assert peak < 32 * 2**20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"zenodo_file_size": 2**60}, "zenodo_file_size: .* outside"),
        ({"zenodo_file_size": 100}, "zenodo_file_size: 100 bytes"),
        ({"ceda_file_size": "big"}, "ceda_file_size: expected a whole number"),
        ({"ceda_file_size": 3e8}, "ceda_file_size: expected a whole number"),
        ({"results": {LC100: {"size": 1000}}}, "results.size"),
        ({"results": {LC100: {"chunk_delay": 99}}}, "chunk_delay"),
        ({"zenodo_many_file_size": -1}, "zenodo_many_file_size"),
    ],
)
def test_unservable_sizes_are_refused_at_config_time(options: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_dict(options)
