"""CDSE-routed items (§8.1): no TaskID, a parent task later, then the normal schedule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import Client, lc100, token_for

from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.emulator.catalogue import CDSE_BYOC, CDSE_INFO_ID, CDSE_UID
from fetcher.sources.clms import rules

M = rules.MESSAGES
JAN_2020 = 1577836800000


def cdse(**extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "DatasetID": CDSE_UID, "DatasetDownloadInformationID": CDSE_INFO_ID,
        "OutputFormat": "Geotiff", "OutputGCS": "EPSG:3035", "NUTS": "DK",
        "TemporalFilter": {"StartDate": JAN_2020, "EndDate": JAN_2020 + 10 * 86400000},
    }
    item.update(extra)
    return {k: v for k, v in item.items() if v is not None}


def tasks(client: Client) -> list[dict[str, Any]]:
    return list(client.call("GET", "@datarequest_search").json().values())


def parents(client: Client) -> list[dict[str, Any]]:
    return [t for t in tasks(client) if t.get("cdse_task_role") == "parent"]


@pytest.fixture
def cdse_client(rsa_pem: str, request: pytest.FixtureRequest) -> Iterator[Client]:
    options = getattr(request, "param", {})
    config = EmulatorConfig(fake_clock=True, catalogue_size=0, **options)
    with Emulator(config) as emu:
        yield Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))


def test_a_cdse_only_post_gives_no_task_ids(cdse_client: Client) -> None:
    answer = cdse_client.post(cdse())
    assert (201, {"ErrorTaskIds": [], "TaskIds": []}, []) == (
        answer.status_code, answer.json(), tasks(cdse_client))


def test_the_parent_appears_later_and_runs_the_schedule(cdse_client: Client) -> None:
    emu = cdse_client.emu
    cdse_client.post(cdse())
    emu.clock.advance(4.9)
    assert [] == parents(cdse_client)
    emu.clock.advance(0.1)
    (parent,) = parents(cdse_client)
    item = parent["Datasets"][0]
    assert ("Queued", False, "", "CDSE", CDSE_BYOC, 10) == (
        parent["Status"], "FMETaskId" in parent, item["DatasetPath"], item["DatasetSource"],
        item["ByocCollection"], item["SpatialResolution"])
    emu.clock.advance(30)
    assert ("In_progress", True) == (lambda p: (p["Status"], "FMETaskId" in p))(
        parents(cdse_client)[0])
    emu.clock.advance(60)
    (done,) = parents(cdse_client)
    assert done["Status"] == "Finished_ok"
    assert done["DownloadURL"].startswith(emu.urls.fme)
    with requests.get(done["DownloadURL"], timeout=5) as answer:
        assert (200, b"PK") == (answer.status_code, answer.content[:2])


@pytest.mark.parametrize("cdse_client", [{"cdse_parent_delay": 0}], indirect=True)
def test_a_zero_delay_makes_the_parent_at_once(cdse_client: Client) -> None:
    cdse_client.post(cdse())
    assert 1 == len(parents(cdse_client))


def test_no_parent_ever_without_a_temporal_filter(cdse_client: Client) -> None:
    assert 201 == cdse_client.post(cdse(TemporalFilter=None)).status_code
    cdse_client.emu.clock.advance(1000)
    assert [] == tasks(cdse_client)


def test_mixed_posts_give_the_regular_task_id_only(cdse_client: Client) -> None:
    body = cdse_client.post(lc100(), cdse()).json()
    cdse_client.emu.clock.advance(5)
    assert (1, 1, 2) == (len(body["TaskIds"]), len(parents(cdse_client)),
                         len(tasks(cdse_client)))


@pytest.mark.parametrize("cdse_client", [{"cdse_children": True}], indirect=True)
def test_children_of_a_parent_share_its_group(cdse_client: Client) -> None:
    cdse_client.post(cdse())
    cdse_client.emu.clock.advance(5)
    found = tasks(cdse_client)
    (parent,) = [t for t in found if t.get("cdse_task_role") == "parent"]
    children = [t for t in found if t.get("cdse_task_role") == "child"]
    assert (2, {parent["cdse_task_group_id"]}) == (
        len(children), {c["cdse_task_group_id"] for c in children})
    assert sorted(parent["CDSEBatchIDs"]) == sorted(c["CDSEBatchID"] for c in children)


def test_the_validation_rules_still_apply(cdse_client: Client) -> None:
    def refused(*items: dict[str, Any]) -> tuple[int, str]:
        answer = cdse_client.post(*items)
        return answer.status_code, answer.json().get("msg", "")

    assert (400, M["MUST_HAVE_AREA"]) == refused(cdse(NUTS=None))
    assert (400, M["FULL_NOT_EEA"]) == refused(cdse(NUTS=None, TemporalFilter=None))
    regular = [lc100(NUTS=c) for c in ("IT", "ES", "FR", "DE", "PT")]
    assert (400, M["DOWNLOAD_LIMIT"]) == refused(*regular, cdse())


def test_duplicates_count_once_the_parent_exists(cdse_client: Client) -> None:
    cdse_client.post(cdse())
    assert 201 == cdse_client.post(cdse()).status_code
    cdse_client.emu.clock.advance(5)
    assert (400, 2) == (cdse_client.post(cdse()).status_code, len(parents(cdse_client)))
