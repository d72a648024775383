"""``@search`` with Plone batching (§3.2), its filters, object GETs, ``@datasets_by_uid``."""

from __future__ import annotations

from typing import Any

import requests
from conftest import CORINE, LC100

from fetcher.emulator import Emulator


def search(emu: Emulator, query: str) -> tuple[int, Any]:
    with requests.get(f"{emu.urls.clms}/@search?{query}", timeout=5) as answer:
        return answer.status_code, answer.json()


def test_batching_links_follow_plone(shared: Emulator) -> None:
    base = f"{shared.urls.clms}/@search"
    status, page = search(shared, "portal_type=DataSet&metadata_fields=UID&b_start=25")
    total = page["items_total"]
    last = ((total - 1) // 25) * 25
    assert (status, len(page["items"])) == (200, 25)
    assert f"{base}?portal_type=DataSet&metadata_fields=UID" == page["@id"]
    assert {
        "@id": f"{base}?portal_type=DataSet&metadata_fields=UID&b_start=25",
        "first": f"{base}?b_start=0&portal_type=DataSet&metadata_fields=UID",
        "last": f"{base}?b_start={last}&portal_type=DataSet&metadata_fields=UID",
        "next": f"{base}?b_start=50&portal_type=DataSet&metadata_fields=UID",
        "prev": f"{base}?b_start=0&portal_type=DataSet&metadata_fields=UID",
    } == page["batching"]


def test_following_next_visits_every_dataset_once(shared: Emulator) -> None:
    url: str | None = f"{shared.urls.clms}/@search?portal_type=DataSet&b_size=30"
    seen: list[str] = []
    while url:
        with requests.get(url, timeout=5) as answer:
            page = answer.json()
        seen += [item["@id"] for item in page["items"]]
        url = page.get("batching", {}).get("next")
    # 9 core datasets (the CDSE-routed one included) and 60 fillers.
    assert (len(seen), len(set(seen))) == (69, 69)


def test_no_batching_when_everything_fits(shared: Emulator) -> None:
    _, page = search(shared, "portal_type=DataSet&b_size=500")
    assert "batching" not in page and page["items_total"] == len(page["items"])


def test_bad_b_size(shared: Emulator) -> None:
    assert (search(shared, "b_size=many")) == (
        400,
        {"message": "Invalid b_size: Not an integer", "type": "BadRequest"},
    )


def test_uid_search_with_metadata_fields(shared: Emulator) -> None:
    _, page = search(
        shared,
        f"portal_type=DataSet&UID={LC100}&metadata_fields=UID"
        "&metadata_fields=dataset_download_information",
    )
    item = page["items"][0]
    assert {
        "@id",
        "@type",
        "description",
        "review_state",
        "title",
        "type_title",
        "UID",
        "dataset_download_information",
    } == set(item)
    info = item["dataset_download_information"]["items"][0]
    assert (
        info["@id"],
        info["collection"],
        info["full_format"],
        info["full_path"],
        info["full_source"],
        info["name"],
    ) == (
        "f328dbcc-9069-4240-b8bb-6d5df918671a",
        "100m",
        "Geotiff",
        "v3.0.1/2019",
        "LANDCOVER",
        "RASTER",
    )
    assert "Cover Fraction: Built-up " in info["layers"]


def test_several_uids(shared: Emulator) -> None:
    _, page = search(shared, f"UID={LC100}&UID={CORINE}")
    assert {LC100, CORINE} == {
        i["@id"].rsplit("/", 1)[1] and i["title"] and _uid(shared, i["@id"]) for i in page["items"]
    }


def _uid(emu: Emulator, url: str) -> str:
    with requests.get(url, timeout=5) as answer:
        return str(answer.json()["UID"])


def test_searchable_text_ands_prefixes(shared: Emulator) -> None:
    _, page = search(shared, "portal_type=DataSet&SearchableText=land+cov+2019+glob")
    assert [i["title"] for i in page["items"]] == [
        "Land Cover 100m: collection 3: epoch 2019: Globe"
    ]
    assert search(shared, "SearchableText=*")[1]["items"] == []


def test_short_id_and_path(shared: Emulator) -> None:
    _, by_id = search(shared, "getId=clc2018")
    _, by_path = search(shared, "portal_type=DataSet&path=/en/products/corine-land-cover")
    assert [_uid(shared, i["@id"]) for i in by_id["items"]] == [CORINE]
    assert [_uid(shared, i["@id"]) for i in by_path["items"]] == [CORINE]


def test_fullobjects_and_object_get(shared: Emulator) -> None:
    _, page = search(shared, f"UID={CORINE}&fullobjects=1")
    item = page["items"][0]
    files = item["downloadable_files"]["items"]
    assert "U2018_CLC2018_V2020_20u1.zip" in [f["file"] for f in files]
    assert item == _get(item["@id"])


def _get(url: str) -> Any:
    with requests.get(url, timeout=5) as answer:
        return answer.json()


def test_rendering_is_plone_s(shared: Emulator) -> None:
    with requests.get(f"{shared.urls.clms}/@search?UID={LC100}", timeout=5) as answer:
        assert answer.text.startswith('{\n  "@id": ')
        assert ", \n" in answer.text


def test_datasets_by_uid(shared: Emulator) -> None:
    with requests.get(
        f"{shared.urls.clms}/@datasets_by_uid?UID={LC100},{CORINE}", timeout=5
    ) as answer:
        page = answer.json()
    assert (
        2,
        {
            "title",
            "UID",
            "dataset_download_information",
            "downloadable_files",
            "original_projection",
            "download_show_auxiliary_calendar",
        },
    ) == (page["items_total"], set(page["items"][0]))


def test_catalogue_edge_cases_exist(shared: Emulator) -> None:
    _, page = search(
        shared, "portal_type=DataSet&b_size=500&metadata_fields=dataset_download_information"
    )
    infos = [i for d in page["items"] for i in d["dataset_download_information"]["items"]]
    assert any(isinstance(i["full_format"], dict) for i in infos)
    assert any(i["name"] == "RASTER " for i in infos)
    assert any(i["name"] == "VECTOR" for i in infos)
    assert any(not d["dataset_download_information"]["items"] for d in page["items"])
