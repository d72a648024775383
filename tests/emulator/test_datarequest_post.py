"""``@datarequest_post``: every message of clms-api.md §4.2 and the 201 answers of §4.3."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CORINE, CORINE_FILE, LC100, Client, lc100

from fetcher.emulator.catalogue import WATER_BODIES_UID, uid
from fetcher.sources.clms import rules

M = rules.MESSAGES
SSM = uid("/en/products/soil-moisture/daily-surface-soil-moisture-v1.0")
IMD = uid("/en/products/high-resolution-layer-imperviousness/imperviousness-density-2018")
DAY_MS = 86400000
JAN_1_2019 = 1546300800000


def info_id(client: Client, dataset_uid: str, index: int = 0) -> str:
    answer = client.call(
        "GET",
        "@search",
        params={"UID": dataset_uid, "metadata_fields": "dataset_download_information"},
    )
    return str(answer.json()["items"][0]["dataset_download_information"]["items"][index]["@id"])


def ssm(client: Client, **extra: Any) -> dict[str, Any]:
    item = {
        "DatasetID": SSM,
        "DatasetDownloadInformationID": info_id(client, SSM),
        "OutputFormat": "Netcdf",
        "OutputGCS": "EPSG:4326",
        "NUTS": "ES",
        "TemporalFilter": {"StartDate": JAN_1_2019, "EndDate": JAN_1_2019 + 10 * DAY_MS},
    }
    item.update(extra)
    return {k: v for k, v in item.items() if v is not None}


def refused(client: Client, *items: dict[str, Any]) -> tuple[int, Any]:
    answer = client.post(*items)
    return answer.status_code, answer.json()


def error(msg: str, status: int = 400) -> tuple[int, dict[str, str]]:
    return status, {"msg": msg, "status": "error"}


LC100_CASES = [
    ({"DatasetID": None}, M["UNDEFINED_DATASET_ID"]),
    ({"DatasetID": ""}, M["UNDEFINED_DATASET_ID"]),
    ({"DatasetID": "0" * 32}, M["INVALID_DATASET_ID"]),
    ({"NUTS": "it"}, M["NUTS_COUNTRY_ERROR"]),
    ({"NUTS": "ZZ1"}, M["NUTS_COUNTRY_ERROR"]),
    ({"BoundingBox": [5, 45, 15, 55]}, M["NUTS_ALSO_DEFINED"]),
    ({"NUTS": None, "BoundingBox": [5, 45, 15]}, M["INVALID_BOUNDINGBOX"]),
    ({"NUTS": None, "BoundingBox": [5, 45, "15", 55]}, M["INVALID_BOUNDINGBOX"]),
    ({"NUTS": None, "BoundingBox": [-10, 35, 30, 70]}, rules.too_big_message()),
    ({"TemporalFilter": {"StartDate": 0, "EndDate": 1}}, M["TEMP_REST_NOT_ALLOWED"]),
    ({"OutputGCS": "EPSG:32632"}, M["UNDEFINED_GCS"]),
    ({"OutputGCS": None}, M["MISSING_GCS"]),
    ({"DatasetDownloadInformationID": None}, M["UNDEFINED_INFO_ID"]),
    ({"DatasetDownloadInformationID": "nope"}, M["NOT_DOWNLOADABLE"]),
    ({"OutputFormat": None}, M["INVALID_OUTPUT"]),
    ({"OutputFormat": "geotiff"}, M["INVALID_OUTPUT"]),
    ({"OutputFormat": "Netcdf"}, M["NOT_COMPATIBLE"]),
    ({"Layer": "Cover Fraction: Built-up"}, M["INVALID_LAYER"]),
    ({"NUTS": None}, M["MUST_HAVE_AREA"].replace(M["MUST_HAVE_AREA"], M["FULL_NOT_EEA"])),
]


@pytest.mark.parametrize(("changes", "msg"), LC100_CASES)
def test_lc100_item_errors(client: Client, changes: dict[str, Any], msg: str) -> None:
    assert error(msg) == refused(client, lc100(**changes))


def test_first_failing_check_wins(client: Client) -> None:
    item = lc100(NUTS="it", OutputGCS=None, OutputFormat="x")
    assert error(M["NUTS_COUNTRY_ERROR"]) == refused(client, item)


def test_items_are_checked_in_array_order(client: Client) -> None:
    assert error(M["MISSING_GCS"]) == refused(client, lc100(OutputGCS=None), lc100(DatasetID=""))


def test_invalid_file_ids(client: Client) -> None:
    for file_id in ("unknown", "27e4e333-149c-49c4-a11e-96a1d0d1b6ff"):
        item = {"DatasetID": CORINE, "FileID": file_id}
        assert error(M["INVALID_FILE_ID"]) == refused(client, item)


def test_temporal_filter_checks(client: Client) -> None:
    assert error(M["TEMP_TOO_MANY"]) == refused(
        client, ssm(client, TemporalFilter={"StartDate": 0, "EndDate": 1, "Other": 2})
    )
    assert error(M["TEMP_MISSING_RANGE"]) == refused(
        client, ssm(client, TemporalFilter={"StartDate": 0})
    )
    assert error(M["INCORRECT_DATE"]) == refused(
        client, ssm(client, TemporalFilter={"StartDate": "2019-01-01", "EndDate": 1})
    )
    assert error(M["INCORRECT_DATE_RANGE"]) == refused(
        client, ssm(client, TemporalFilter={"StartDate": 2, "EndDate": 1})
    )


def test_time_series_rules(client: Client) -> None:
    assert error(M["MISSING_TEMPORAL"]) == refused(client, ssm(client, TemporalFilter=None))
    assert error(M["TEMP_MISSING_RANGE"]) == refused(client, ssm(client, TemporalFilter={}))
    too_long = {"StartDate": JAN_1_2019, "EndDate": JAN_1_2019 + 32 * DAY_MS}
    assert error(rules.temporal_range_message(31)) == refused(
        client, ssm(client, TemporalFilter=too_long)
    )
    assert error(M["MUST_HAVE_AREA"]) == refused(client, ssm(client, NUTS=None))


def test_eea_full_dataset_must_be_prepackaged(client: Client) -> None:
    item = {
        "DatasetID": CORINE,
        "DatasetDownloadInformationID": info_id(client, CORINE),
        "OutputFormat": "Geotiff",
        "OutputGCS": "EPSG:3035",
    }
    assert error(M["FULL_EEA"]) == refused(client, item)


def test_raster_with_trailing_space_name_and_object_format(client: Client) -> None:
    vector = {
        "DatasetID": CORINE,
        "DatasetDownloadInformationID": info_id(client, CORINE, 1),
        "OutputFormat": "Geotiff",
        "OutputGCS": "EPSG:3035",
        "NUTS": "DK",
    }
    assert error(M["NOT_COMPATIBLE"]) == refused(client, vector)
    assert client.post({**vector, "OutputFormat": "GML"}).status_code == 201
    imd = {
        "DatasetID": IMD,
        "DatasetDownloadInformationID": info_id(client, IMD),
        "OutputFormat": "Geotiff",
        "OutputGCS": "EPSG:3035",
        "BoundingBox": [5, 45, 6, 46],
    }
    assert client.post(imd).status_code == 201


def test_netcdf_refused_for_water_bodies_on_the_last_item(client: Client) -> None:
    item = {
        "DatasetID": WATER_BODIES_UID,
        "OutputFormat": "Netcdf",
        "OutputGCS": "EPSG:4326",
        "DatasetDownloadInformationID": info_id(client, WATER_BODIES_UID),
        "NUTS": "FR",
        "TemporalFilter": {"StartDate": JAN_1_2019, "EndDate": JAN_1_2019 + DAY_MS},
    }
    assert error(rules.netcdf_message([WATER_BODIES_UID])) == refused(client, item, lc100())


def test_more_than_five_regular_items(client: Client) -> None:
    items = [lc100(NUTS=code) for code in ("IT", "ES", "FR", "DE", "PT", "NL")]
    assert error(M["DOWNLOAD_LIMIT"]) == refused(client, *items)


def test_prepackaged_items_do_not_count_toward_the_five(client: Client) -> None:
    items = [lc100(NUTS=code) for code in ("IT", "ES", "FR", "DE", "PT")]
    assert client.post(*items, {"DatasetID": CORINE, "FileID": CORINE_FILE}).status_code == 201


def test_duplicates_within_a_request_and_against_active_tasks(client: Client) -> None:
    assert error(M["DUPLICATED"]) == refused(client, lc100(), lc100())
    assert client.post(lc100()).status_code == 201
    assert error(M["DUPLICATED"]) == refused(client, lc100())
    client.emu.clock.advance(1000)
    assert client.post(lc100()).status_code == 201


def test_success_makes_one_task_per_kind_prepackaged_first(client: Client) -> None:
    answer = client.post(lc100(), lc100(NUTS="ES"), {"DatasetID": CORINE, "FileID": CORINE_FILE})
    body = answer.json()
    assert (answer.status_code, body["ErrorTaskIds"], len(body["TaskIds"])) == (201, [], 2)
    first = client.call(
        "GET", "@datarequest_status_get", params={"TaskID": body["TaskIds"][0]["TaskID"]}
    ).json()
    assert [d["DatasetID"] for d in first["Datasets"]] == [CORINE]
    assert all(t["TaskID"].isdigit() and len(t["TaskID"]) <= 11 for t in body["TaskIds"])


def test_stored_items_are_normalised(client: Client) -> None:
    item = lc100(
        NUTS=None, BoundingBox=[5, 46, 6, 45], Layer="Cover Fraction: Built-up ", Extra="ignored"
    )
    task_id = client.post(item).json()["TaskIds"][0]["TaskID"]
    stored = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).json()
    assert stored["Datasets"][0] == {
        "BoundingBox": [5, 46, 6, 45],
        "DatasetFormat": "Geotiff",
        "DatasetID": LC100,
        "DatasetPath": "djMuMC4xLzIwMTk=",
        "DatasetSource": "LANDCOVER",
        "DatasetTitle": "Land Cover 100m: collection 3: epoch 2019: Globe",
        "FileStructure": "Tiled dataset",
        "Layer": "Cover Fraction: Built-up ",
        "Metadata": [
            "https://globalland.vito.be/geonetwork/srv/api/records/"
            "urn:cgls:global:lcc100_v3_100m/formatters/xml?approved=true"
        ],
        "OutputFormat": "Geotiff",
        "OutputGCS": "EPSG:4326",
        "WekeoChoices": "",
    }
    assert (stored["Status"], stored["UserID"]) == ("Queued", "n00015mf")
    assert stored["RegistrationDateTime"].endswith("+00:00")


def test_temporal_filter_is_stored_as_utc_strings(client: Client) -> None:
    task_id = client.post(ssm(client)).json()["TaskIds"][0]["TaskID"]
    stored = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).json()
    assert (stored["Datasets"][0]["TemporalFilter"]) == {
        "StartDate": "2019-01-01 00:00:00",
        "EndDate": "2019-01-11 00:00:00",
    }


def test_edge_cases_silently_skipped(client: Client) -> None:
    assert (lambda r: (r.status_code, r.json()))(
        client.post({"DatasetID": CORINE, "FileID": ""})
    ) == (201, {"ErrorTaskIds": [], "TaskIds": []})
    assert (lambda r: (r.status_code, r.json()))(client.post()) == (
        201,
        {"ErrorTaskIds": [], "TaskIds": []},
    )


def test_missing_datasets_or_bad_json_is_a_500(client: Client) -> None:
    assert client.call("POST", "@datarequest_post", json={}).status_code == 500
    assert client.call("POST", "@datarequest_post", data=b"not json").status_code == 500


def test_area_rule_accepts_the_docs_example_and_italy(client: Client) -> None:
    italy = lc100(NUTS=None, BoundingBox=[6.6, 35.5, 18.5, 47.1])
    assert client.post(italy).status_code == 201


def test_anonymous_post_is_401(client: Client) -> None:
    anonymous = Client(client.emu, "")
    anonymous.headers.pop("Authorization")
    assert (lambda r: (r.status_code, r.json()["type"]))(anonymous.post(lc100())) == (
        401,
        "Unauthorized",
    )
    assert client.emu.stats["posts"] == 0
