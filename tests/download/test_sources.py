"""The ceda, zenodo and http sources against the emulator, through the download core."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from fetcher.errors import RemoteError
from fetcher.sources import ceda, web, zenodo
from fetcher.transfer.archives import extract
from fetcher.transfer.download import fetch
from fetcher.transfer.http import Http

from .conftest import FakeClock, Host

GEBCO = "/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf"
LC100 = "PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map_EPSG-4326.tif"


def test_ceda_glob_matches_the_zips_with_size_and_md5(http: Http, ceda_host: Host) -> None:
    found = ceda_list(http, ceda_host, ["gebco_2024*.zip"])

    names = [(f.name, f.kind, f.size is not None, f.md5 is not None) for f in found]
    assert [("gebco_2024.zip", "zip", True, True),
            ("gebco_2024_sub_ice_topo.zip", "zip", True, True)] == names


def test_ceda_exact_name_matches_one_file(http: Http, ceda_host: Host) -> None:
    assert ["gebco_2024.zip"] == [f.name for f in ceda_list(http, ceda_host, ["gebco_2024.zip"])]


def test_ceda_pattern_matching_nothing_lists_the_folder(http: Http, ceda_host: Host) -> None:
    with pytest.raises(RemoteError) as caught:
        ceda_list(http, ceda_host, ["gebco_2023*.zip"])

    expected = (f"CEDA folder {GEBCO} has nothing matching 'gebco_2023*.zip'; it holds: "
                "00README_catalogue_and_licence.txt, gebco_2024.zip, "
                "gebco_2024_sub_ice_topo.zip")
    assert expected == str(caught.value)


def test_ceda_missing_folder_is_a_remote_error(http: Http, ceda_host: Host) -> None:
    with pytest.raises(RemoteError) as caught:
        ceda.list_files(http, ceda_host.url, "/bodc/nowhere", ["*.zip"])
    assert 404 == caught.value.status


def test_gebco_zip_downloads_verifies_and_extracts(http: Http, ceda_host: Host,
                                                   tmp_path: Path) -> None:
    [gebco] = ceda_list(http, ceda_host, ["gebco_2024.zip"])

    local = fetch(http, gebco, tmp_path / "gebco_2024.zip")
    paths = extract(Path(local.path), tmp_path / "gebco-2024")

    assert (gebco.md5, gebco.size) == (local.md5, local.size)
    assert [tmp_path / "gebco-2024" / "gebco_2024.nc"] == paths
    assert b"CDF\x01" == paths[0].read_bytes()[:4]


@pytest.mark.parametrize(
    ("record", "names", "expected"),
    [
        (3939050, [LC100], [LC100]),
        (1000001, ["gebco_subset.tif"], ["gebco_subset.tif"]),
        (1000001, None, ["gebco_subset.tif", "README.txt"]),
    ],
    ids=["current-shape", "legacy-shape", "all-files"],
)
def test_zenodo_lists_both_record_shapes(http: Http, zenodo_host: Host, record: int,
                                         names: list[str] | None, expected: list[str]) -> None:
    found = zenodo.list_files(http, zenodo_host.url, record, names)

    assert expected == [f.name for f in found]
    assert [True] * len(found) == [f.md5 is not None and f.size is not None for f in found]


@pytest.mark.parametrize("record", [3939050, 1000001])
def test_zenodo_file_downloads_and_verifies(http: Http, zenodo_host: Host, tmp_path: Path,
                                            record: int) -> None:
    first = zenodo.list_files(http, zenodo_host.url, record, None)[0]

    local = fetch(http, first, tmp_path / first.name)

    assert (first.md5, first.size) == (local.md5, local.size)


def test_zenodo_record_is_read_once_per_run(http: Http, zenodo_host: Host) -> None:
    zenodo.list_files(http, zenodo_host.url, 3939050, [LC100])
    zenodo.list_files(http, zenodo_host.url, 3939050, None)

    assert ["/api/records/3939050"] == [r.path for r in zenodo_host.requests]


def test_zenodo_missing_file_lists_what_the_record_holds(http: Http, zenodo_host: Host) -> None:
    with pytest.raises(RemoteError, match=r"has no file 'nope.tif'; it holds: README.txt, "
                                          r"gebco_subset.tif"):
        zenodo.list_files(http, zenodo_host.url, 1000001, ["nope.tif"])


def test_zenodo_legacy_record_links_are_normalised() -> None:
    entry: dict[str, Any] = {"filename": "a.tif", "filesize": 3, "checksum": "ab" * 16,
                             "links": {"download": "https://zenodo.org/record/7/files/a.tif"}}

    found = zenodo._remote_file(entry, "https://zenodo.org", 7)

    assert ("https://zenodo.org/records/7/files/a.tif", "ab" * 16, 3) == (
        found.url, found.md5, found.size)


def test_zenodo_exhausted_rate_limit_is_waited_out(
        zenodo_limited: tuple[Http, Host, FakeClock]) -> None:
    http, host, clock = zenodo_limited
    for record in (3939050, 1000001):  # the second answer says X-RateLimit-Remaining: 0
        zenodo.list_files(http, host.url, record, None)

    http.get_json(zenodo.record_url(host.url, 3939050))

    assert ([200, 200, 200], [60.0]) == ([r.status for r in host.requests], clock.sleeps)


def test_zenodo_429_with_retry_after_is_waited_out(
        zenodo_limited: tuple[Http, Host, FakeClock]) -> None:
    http, host, clock = zenodo_limited
    for _ in range(2):  # another client spends the quota
        requests.get(f"{host.url}/api/records/1000001", timeout=5).close()

    zenodo.list_files(http, host.url, 3939050, None)

    assert ([429, 200], [60.0]) == ([r.status for r in host.requests[2:]], clock.sleeps)


def test_http_source_with_a_sha256_pin_downloads_and_verifies(http: Http, files: Host,
                                                              tmp_path: Path) -> None:
    url = f"{files.url}/random/5000/data.bin"
    data = requests.get(url, timeout=5).content
    pinned = web.remote_file(url, hashlib.sha256(data).hexdigest())

    local = fetch(http, pinned, tmp_path / pinned.name)

    assert (hashlib.sha256(data).hexdigest(), None) == (local.sha256, local.md5)


def test_http_probe_sees_no_drift_right_after_download(http: Http, files: Host,
                                                       tmp_path: Path) -> None:
    url = f"{files.url}/random/5000/data.bin"
    local = fetch(http, web.remote_file(url, None), tmp_path / "data.bin")

    assert False is web.drifted(local, web.probe(http, url))


def test_http_probe_sees_drift_when_the_etag_changes(http: Http, files: Host,
                                                     tmp_path: Path) -> None:
    local = fetch(http, web.remote_file(f"{files.url}/random/5000/data.bin", None),
                  tmp_path / "data.bin")

    now = web.probe(http, f"{files.url}/random/5000/data.bin?seed=9")

    assert True is web.drifted(local, now)


def ceda_list(http: Http, host: Host, patterns: list[str]) -> list[Any]:
    return ceda.list_files(http, host.url, GEBCO, patterns)


def test_gebco_zip_is_checked_for_zip_magic(http: Http, ceda_host: Host, tmp_path: Path) -> None:
    [gebco] = ceda_list(http, ceda_host, ["gebco_2024.zip"])

    local = fetch(http, gebco, tmp_path / gebco.name)

    assert True is zipfile.is_zipfile(local.path)
