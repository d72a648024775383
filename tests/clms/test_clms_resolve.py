"""Catalogue resolution against the emulator: direct queries, never a page walk."""

from __future__ import annotations

from typing import Any

import pytest

from fetcher.emulator.catalogue import (
    CORINE_FILE,
    CORINE_FILE_ID,
    CORINE_UID,
    LC100_INFO_ID,
    LC100_UID,
)
from fetcher.sources.clms.client import ClmsClient, ResolveError
from fetcher.transfer.http import Http

from .conftest import clms_request

LC100_TITLE = "Land Cover 100m: collection 3: epoch 2019: Globe"
LC100_PATH = ("/en/products/global-dynamic-land-cover/"
              "copernicus-global-land-service-land-cover-100m-collection-3-epoch-2019-globe")
RASTER_100M = {"name": "RASTER", "collection": "100m"}


@pytest.mark.parametrize("ref", [
    {"uid": LC100_UID},
    {"dataset": LC100_PATH.rsplit("/", 1)[1]},
    {"dataset": LC100_PATH},
    {"title": LC100_TITLE},
])
def test_one_direct_request_resolves_a_dataset(http: Http, client: ClmsClient,
                                               ref: dict[str, str]) -> None:
    before = http.requests_made

    resolution = client.resolve(clms_request(ref))

    expected = (LC100_UID, LC100_INFO_ID, 1)
    assert expected == (resolution.uid, resolution.info_id, http.requests_made - before)


def test_resolution_needs_no_key(emulator: Any, http: Http) -> None:
    anonymous = ClmsClient(http, emulator.urls.clms, None, now=emulator.clock.now)

    resolution = anonymous.resolve(clms_request({"uid": LC100_UID}))

    expected = LC100_INFO_ID
    assert expected == resolution.info_id


def test_the_resolution_carries_what_checks_need(client: ClmsClient) -> None:
    resolution = client.resolve(clms_request({"uid": LC100_UID}))

    expected = ("Geotiff", "LANDCOVER", "v3.0.1/2019", "EPSG:4326", 15, False)
    assert expected == (resolution.full_format, resolution.full_source, resolution.full_path,
                        resolution.projections, len(resolution.layers),
                        resolution.mapviewer_istimeseries)


def test_a_download_item_is_picked_by_name_and_collection(client: ClmsClient) -> None:
    resolution = client.resolve(clms_request({"uid": CORINE_UID},
                                             download={"name": "VECTOR", "collection": ""}))

    expected = ("VECTOR", "GPKG")  # full_format came as {"title": "GPKG", "token": "GPKG"}
    assert expected == (resolution.download_name, resolution.full_format)


def test_a_trailing_space_in_the_catalogues_name_is_tolerated(client: ClmsClient) -> None:
    resolution = client.resolve(clms_request(
        {"dataset": "imperviousness-density-2018"},
        download={"name": "RASTER", "collection": "20m"}))

    expected = "RASTER"
    assert expected == resolution.download_name


def test_an_unknown_download_item_lists_the_offers(client: ClmsClient) -> None:
    with pytest.raises(ResolveError) as caught:
        client.resolve(clms_request({"uid": CORINE_UID},
                                    download={"name": "RASTER", "collection": "10m"}))

    assert str(caught.value).endswith("no download item RASTER/10m; "
                                      "the dataset offers: RASTER/100m, VECTOR/")


def test_a_prepackaged_file_resolves_to_its_file_id(client: ClmsClient) -> None:
    resolution = client.resolve(clms_request({"uid": CORINE_UID}, file=CORINE_FILE))

    expected = (CORINE_FILE_ID, CORINE_FILE, "EEA")
    assert expected == (resolution.file_id, resolution.file_name, resolution.file_source)


def test_an_unknown_uid_is_reported(client: ClmsClient) -> None:
    with pytest.raises(ResolveError) as caught:
        client.resolve(clms_request({"uid": "0" * 32}))

    assert f"no dataset with UID {'0' * 32}" in str(caught.value)


def test_an_unknown_title_falls_back_to_a_scan_and_says_so(emulator: Any, http: Http
                                                           ) -> None:
    warnings: list[str] = []
    client = ClmsClient(http, emulator.urls.clms, None, now=emulator.clock.now,
                        warn=warnings.append)

    with pytest.raises(ResolveError):
        client.resolve(clms_request({"title": "No Such Dataset"}))

    expected = (1, True)
    assert expected == (len(warnings), "scanning the whole catalogue" in warnings[0])
