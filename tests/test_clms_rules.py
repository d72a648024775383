"""The CLMS server's rules: area arithmetic against pyproj, tables and parsers."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetcher.sources.clms import rules

pyproj = pytest.importorskip("pyproj")
PROJ_3587 = pyproj.Proj(3587)


def reference_area(bbox: list[float]) -> float:
    """The area as the server computes it, with pyproj."""
    x1, y1 = PROJ_3587(int(bbox[0]), int(bbox[1]))
    x2, y2 = PROJ_3587(int(bbox[2]), int(bbox[3]))
    return float(abs((x1 - x2) * (y1 - y2)))


@pytest.mark.parametrize(
    ("bbox", "figure", "accepted"),
    [
        ([5, 45, 15, 55], 8.2e11, True),
        ([6.6, 35.5, 18.5, 47.1], 1.24e12, True),
        ([-10, 35, 30, 70], 1.0e13, False),
        (
            [2.354736328128108, 46.852958688910306, 4.639892578127501, 45.88264619696234],
            1.46e10,
            True,
        ),
    ],
)
def test_bbox_area_matches_the_documented_figures(
    bbox: list[float], figure: float, accepted: bool
) -> None:
    area = rules.bbox_area(bbox)
    assert figure == pytest.approx(area, rel=0.01)
    assert accepted == (area <= rules.AREA_LIMIT)


def test_bbox_whose_corners_truncate_to_one_degree_has_no_area() -> None:
    assert rules.bbox_area([10.5, 45.2, 10.9, 45.6]) == 0.0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(min_value=-180, max_value=180), min_size=2, max_size=2),
    st.lists(st.floats(min_value=-89.9, max_value=90), min_size=2, max_size=2),
)
def test_bbox_area_matches_pyproj(lons: list[float], lats: list[float]) -> None:
    bbox = [lons[0], lats[0], lons[1], lats[1]]
    assert reference_area(bbox) == pytest.approx(rules.bbox_area(bbox), rel=1e-8, abs=1e-3)


def test_projection_matches_pyproj_at_the_poles_and_beyond() -> None:
    for lon, lat in [(0, 90), (0, -90), (0, 91), (200, 10)]:
        expected = PROJ_3587(lon, lat)
        actual = rules.project_3587(lon, lat)
        if math.isinf(expected[0]):
            assert math.isinf(actual[0])
        else:
            assert expected == pytest.approx(actual, rel=1e-9)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("IT", True),
        ("ITC11", True),
        ("FRK26", True),
        ("UK", True),
        ("EL30", True),
        ("AN", True),
        ("KS", True),
        ("XK", True),
        ("EC", True),
        ("it", False),
        ("ZZ1", False),
        ("IT-C11", False),
        ("", False),
        ("1IT", False),
    ],
)
def test_validate_nuts(code: str, valid: bool) -> None:
    assert valid == rules.validate_nuts(code)


def test_countries_are_iso_plus_the_legacy_codes() -> None:
    assert len(rules.COUNTRIES) == 254
    assert {"UK", "AN", "KS", "EL", "XK"} <= set(rules.COUNTRIES)


def test_format_conversion_table() -> None:
    table = rules.FORMAT_CONVERSION_TABLE
    assert set(rules.FORMATS) == set(table)
    assert [t for t, ok in table["Geotiff"].items() if ok] == ["Geotiff"]
    assert [t for t, ok in table["Netcdf"].items() if ok] == ["Geotiff", "Netcdf"]
    assert [t for t, ok in table["GML"].items() if ok] == ["GML"]
    assert table["WFS"]["WFS"] and not table["Shapefile"]["WFS"]
    assert table["Shapefile"]["GML"]


def test_allowed_gcs() -> None:
    assert list(rules.BASE_GCS) == rules.allowed_gcs("EPSG:3035")
    assert [*rules.BASE_GCS, "EPSG:32632"] == rules.allowed_gcs("EPSG:3035/32632/EPSG:9999")
    assert list(rules.BASE_GCS) == rules.allowed_gcs("")


def test_messages_are_the_servers() -> None:
    assert (
        rules.MESSAGES["TEMP_MISSING_RANGE"]
        == "Error, TemporalFilter does not have StartDate or EndDate"
    )
    assert (
        rules.too_big_message()
        == "Error, the requested BoundingBox is too big. The limit is 1600000000000."
    )
    assert "bigger than the allowed range of 31 days." in rules.temporal_range_message(31)


def test_parse_timestamp_accepts_both_forms() -> None:
    expected = datetime(2022, 9, 29, 13, 11, 39, 986121, tzinfo=timezone.utc)
    assert expected == rules.parse_timestamp("2022-09-29T13:11:39.986121")
    assert expected == rules.parse_timestamp("2022-09-29T13:11:39.986121+00:00")
    assert expected == rules.parse_timestamp("2022-09-29T15:11:39.986121+02:00")


def test_status_list_and_ttl() -> None:
    assert rules.STATUS_LIST == (
        "Rejected",
        "Queued",
        "In_progress",
        "Finished_ok",
        "Finished_nok",
        "Cancelled",
    )
    assert rules.RESULT_TTL_SECONDS == 259200
