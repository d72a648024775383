"""The POSTed entry, the server's rules applied before sending, and resolutions: pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fetcher.sources.clms import rules as clms_rules
from fetcher.sources.clms.catalogue import Resolution, ResolveError, resolution_for
from fetcher.sources.clms.check import RequestRejected, check, post_item

LANDCOVER = Resolution(
    uid="a8d945f0edd143a0a5240c28bafa23da",
    title="Land Cover 100m: collection 3: epoch 2019: Globe",
    info_id="f328dbcc-9069-4240-b8bb-6d5df918671a",
    download_name="RASTER", download_collection="100m",
    full_format="Geotiff", full_source="LANDCOVER", full_path="v3.0.1/2019",
    layers=("Discrete classification", "Cover Fraction: Built-up "),
    projections="EPSG:4326",
)
SERIES = replace(LANDCOVER, uid="b" * 32, full_source="VITO_geotiff",
                 mapviewer_istimeseries=True, download_limit_temporal_extent=30, layers=())


def request(**changes: Any) -> dict[str, Any]:
    """A canonical request for LANDCOVER over Turin, with ``changes`` applied."""
    base: dict[str, Any] = {
        "source": "clms", "ref": {"uid": LANDCOVER.uid}, "download": None, "layer": None,
        "format": "Geotiff", "crs": "EPSG:4326", "area": {"nuts": "ITC11"}, "time": None,
        "file": None,
    }
    base.update(changes)
    return base


def rejection(req: dict[str, Any], resolution: Resolution = LANDCOVER) -> str:
    with pytest.raises(RequestRejected) as caught:
        check(req, resolution)
    return caught.value.server_message


def test_a_bbox_is_sent_in_the_servers_west_north_east_south_order() -> None:
    entry = post_item(request(area={"bbox": [112.0, 21.5, 115.5, 24.0]}), LANDCOVER)

    expected = [112.0, 24.0, 115.5, 21.5]
    assert expected == entry["BoundingBox"]


def test_days_become_whole_utc_days_in_epoch_milliseconds() -> None:
    entry = post_item(request(time={"start": "2019-01-01", "end": "2019-12-31"}), SERIES)

    expected = {"StartDate": 1546300800000, "EndDate": 1577836799000}
    assert expected == entry["TemporalFilter"]


def test_a_nuts_request_carries_the_ids_format_and_crs() -> None:
    entry = post_item(request(format=None, crs=None), LANDCOVER)

    assert {"DatasetID": LANDCOVER.uid, "DatasetDownloadInformationID": LANDCOVER.info_id,
            "OutputFormat": "Geotiff", "OutputGCS": "EPSG:4326", "NUTS": "ITC11"} == entry


def test_a_file_request_carries_only_the_dataset_and_file_ids() -> None:
    prepackaged = replace(LANDCOVER, file_id="27e4e333", file_path="a", file_source="EEA")

    assert {"DatasetID": LANDCOVER.uid, "FileID": "27e4e333"} == post_item(request(),
                                                                            prepackaged)


def test_a_valid_request_passes() -> None:
    check(request(layer="Cover Fraction: Built-up "), LANDCOVER)


@pytest.mark.parametrize(("changes", "rule"), [
    ({"area": {"nuts": "it"}}, "NUTS_COUNTRY_ERROR"),
    ({"crs": "EPSG:32632"}, "UNDEFINED_GCS"),
    ({"format": "GPKG"}, "NOT_COMPATIBLE"),
    ({"format": "geotiff"}, "INVALID_OUTPUT"),
    ({"layer": "Cover Fraction: Built-up"}, "INVALID_LAYER"),
    ({"time": {"start": "2019-01-01", "end": "2019-01-05"}}, "TEMP_REST_NOT_ALLOWED"),
    ({"area": None}, "FULL_NOT_EEA"),
])
def test_the_servers_rule_is_applied_with_its_message(changes: dict[str, Any], rule: str
                                                      ) -> None:
    assert clms_rules.MESSAGES[rule] == rejection(request(**changes))


def test_an_oversized_bbox_quotes_the_area_limit() -> None:
    message = rejection(request(area={"bbox": [-10, 35, 30, 70]}))

    assert clms_rules.too_big_message() == message


def test_a_full_eea_dataset_must_be_requested_as_a_file() -> None:
    eea = replace(LANDCOVER, full_source="EEA", layers=())

    assert clms_rules.MESSAGES["FULL_EEA"] == rejection(request(area=None), eea)


def test_a_time_series_needs_a_time_range() -> None:
    assert clms_rules.MESSAGES["MISSING_TEMPORAL"] == rejection(request(), SERIES)


def test_a_time_range_needs_an_area_outside_eea() -> None:
    req = request(area=None, time={"start": "2019-01-01", "end": "2019-01-05"})

    assert clms_rules.MESSAGES["MUST_HAVE_AREA"] == rejection(req, SERIES)


def test_a_time_range_longer_than_the_limit_is_refused() -> None:
    req = request(time={"start": "2019-01-01", "end": "2019-03-01"})

    assert clms_rules.temporal_range_message(30) == rejection(req, SERIES)


def test_a_start_after_the_end_is_refused() -> None:
    req = request(time={"start": "2019-02-01", "end": "2019-01-01"})

    assert clms_rules.MESSAGES["INCORRECT_DATE_RANGE"] == rejection(req, SERIES)


def test_the_rejection_is_an_input_error() -> None:
    with pytest.raises(RequestRejected) as caught:
        check(request(crs="EPSG:32632"), LANDCOVER)

    expected = 2
    assert expected == caught.value.exit_code


def test_a_resolution_survives_a_json_round_trip() -> None:
    expected = LANDCOVER
    assert expected == Resolution.from_json(LANDCOVER.to_json())


DATASET = {
    "@id": "http://x/api/en/products/lc/lc-2019", "UID": LANDCOVER.uid, "title": "LC",
    "characteristics_projection": "EPSG:4326",
    "dataset_download_information": {"items": [
        {"@id": "i1", "name": "RASTER ", "collection": "100m",
         "full_format": {"title": "GeoTIFF", "token": "Geotiff"}, "full_path": "p",
         "full_source": "LANDCOVER", "layers": []},
        {"@id": "i2", "name": "VECTOR", "collection": "100m", "full_format": "GPKG",
         "full_path": "q", "full_source": "EEA"},
    ]},
}


def test_a_download_name_matches_despite_trailing_spaces() -> None:
    resolution = resolution_for(DATASET, request(download={"name": "RASTER",
                                                           "collection": "100m"}))

    expected = ("i1", "Geotiff")
    assert expected == (resolution.info_id, resolution.full_format)


def test_an_unknown_download_item_lists_what_the_dataset_offers() -> None:
    with pytest.raises(ResolveError) as caught:
        resolution_for(DATASET, request(download={"name": "RASTER", "collection": "10m"}))

    expected = f"'LC' ({LANDCOVER.uid}): no download item RASTER/10m; " \
               "the dataset offers: RASTER/100m, VECTOR/100m"
    assert expected == str(caught.value)


def test_several_download_items_need_a_choice() -> None:
    with pytest.raises(ResolveError) as caught:
        resolution_for(DATASET, request())

    assert "choose one with download" in str(caught.value)
