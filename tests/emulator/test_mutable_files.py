"""Files that change: bumped versions, stale listings, and a record with many files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.emulator.ceda import GEBCO
from fetcher.emulator.zenodo import LC100_FILE, LC100_RECORD, MANY_RECORD


def fetch(url: str, method: str = "GET", **headers: str) -> requests.Response:
    with requests.request(method, url, headers=headers, timeout=5) as answer:
        answer.content  # noqa: B018 - read before closing
        return answer


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(seed=2, fake_clock=True, catalogue_size=0, zenodo_many_files=50)
    with Emulator(config) as emulator:
        yield emulator


def ceda_entry(emu: Emulator, name: str = "gebco_2024.zip") -> dict[str, Any]:
    listing = fetch(f"{emu.urls.ceda}{GEBCO}?json").json()
    return dict(next(i for i in listing["items"] if i["name"] == name))


def zenodo_entry(emu: Emulator, record: str = LC100_RECORD,
                 name: str = LC100_FILE) -> dict[str, Any]:
    files = fetch(f"{emu.urls.zenodo}/api/records/{record}").json()["files"]
    return dict(next(f for f in files if f["key"] == name))


def test_ceda_bump_changes_bytes_validators_and_listing(emu: Emulator) -> None:
    url = f"{emu.urls.ceda}{GEBCO}/gebco_2024.zip"
    before, entry = fetch(url), ceda_entry(emu)
    emu.clock.advance(3600)
    assert 1 == emu.ceda.bump("gebco_2024.zip", size=400_000)
    after, listed = fetch(url), ceda_entry(emu)
    assert (400_000, md5(after.content), 400_000) == (
        len(after.content), listed["md5"], listed["size"])
    assert before.content != after.content and after.content[:2] == b"PK"
    assert before.headers["ETag"] != after.headers["ETag"]
    assert (before.headers["Last-Modified"] != after.headers["Last-Modified"],
            entry["last_modified"] != listed["last_modified"]) == (True, True)


def test_a_stale_ceda_listing_until_publish(emu: Emulator) -> None:
    url = f"{emu.urls.ceda}{GEBCO}/gebco_2024.zip"
    listed = ceda_entry(emu)
    emu.ceda.bump(f"{GEBCO}/gebco_2024.zip", listing=False)
    served = fetch(url).content
    assert (listed["md5"], listed["size"]) == (ceda_entry(emu)["md5"], ceda_entry(emu)["size"])
    assert md5(served) != listed["md5"]
    emu.ceda.publish("gebco_2024.zip")
    assert md5(served) == ceda_entry(emu)["md5"]


def test_bumped_bytes_are_seeded_by_version() -> None:
    def bumped() -> bytes:
        with Emulator(EmulatorConfig(seed=2, fake_clock=True, catalogue_size=0)) as emu:
            emu.ceda.bump("gebco_2024.zip")
            return fetch(f"{emu.urls.ceda}{GEBCO}/gebco_2024.zip").content

    assert bumped() == bumped()


def test_zenodo_bump_updates_checksum_size_and_etag(emu: Emulator) -> None:
    url = f"{emu.urls.zenodo}/records/{LC100_RECORD}/files/{LC100_FILE}"
    etag = fetch(url, "HEAD").headers["ETag"]
    emu.zenodo.bump(LC100_RECORD, LC100_FILE, size=123_456)
    body, entry = fetch(url), zenodo_entry(emu)
    assert (123_456, f"md5:{md5(body.content)}", True) == (
        entry["size"], entry["checksum"], body.headers["ETag"] != etag)
    assert body.content[:4] == b"II*\x00"


def test_a_stale_zenodo_record_until_publish(emu: Emulator) -> None:
    url = f"{emu.urls.zenodo}/records/{LC100_RECORD}/files/{LC100_FILE}"
    old = zenodo_entry(emu)
    emu.zenodo.bump(LC100_RECORD, LC100_FILE, listing=False)
    served = fetch(url).content
    assert (old, False) == (zenodo_entry(emu), f"md5:{md5(served)}" == old["checksum"])
    emu.zenodo.publish(LC100_RECORD, LC100_FILE)
    assert f"md5:{md5(served)}" == zenodo_entry(emu)["checksum"]


def test_random_file_bump(emu: Emulator) -> None:
    url = f"{emu.urls.files}/random/5000/a.bin?seed=1"
    before = fetch(url)
    emu.files.bump("/random/5000/a.bin")
    after = fetch(url)
    assert (5000, True, True) == (len(after.content), before.content != after.content,
                                  before.headers["ETag"] != after.headers["ETag"])
    emu.files.bump("/random/5000/a.bin", size=7000)
    assert 7000 == len(fetch(url).content)
    with pytest.raises(ValueError, match="/random/"):
        emu.files.bump("/elsewhere")


def test_unknown_files_are_refused(emu: Emulator) -> None:
    with pytest.raises(KeyError):
        emu.ceda.bump("nope.zip")
    with pytest.raises(KeyError):
        emu.zenodo.bump(LC100_RECORD, "nope.tif")


def test_a_record_with_many_files(emu: Emulator) -> None:
    files = fetch(f"{emu.urls.zenodo}/api/records/{MANY_RECORD}").json()["files"]
    names = [f["key"] for f in files]
    assert (50, "tile_000.tif", "notes_009.txt") == (len(names), names[0], names[9])
    assert 5 == sum(name.endswith(".txt") for name in names)
    body = fetch(files[0]["links"]["self"]).content
    assert (files[0]["size"], files[0]["checksum"]) == (len(body), f"md5:{md5(body)}")
