"""Posting one item, duplicates, adoption after a lost answer, task listing and cancel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fetcher.emulator import Emulator, EmulatorConfig
from fetcher.emulator.catalogue import CORINE_FILE, CORINE_UID, LC100_UID
from fetcher.errors import ApiError, RemoteError
from fetcher.sources.clms.auth import load_service_key
from fetcher.sources.clms.client import ClmsClient, DuplicateRequest, Resolution
from fetcher.transfer.http import Http

from .conftest import KeyWriter, clms_request

TURIN = clms_request({"uid": LC100_UID})
SOIL_MOISTURE_BBOX = clms_request({"dataset": "daily-surface-soil-moisture-v1.0"},
                                  area={"bbox": [7.5, 44.9, 7.8, 45.2]},
                                  time={"start": "2020-01-01", "end": "2020-01-31"})
CORINE_FILE_REQUEST = clms_request({"uid": CORINE_UID}, file=CORINE_FILE)
FINISHED_AFTER = 91  # the emulator's default 30 s queued + 60 s in progress


def prepared(client: ClmsClient, request: dict[str, Any]) -> tuple[dict[str, Any], Resolution]:
    resolution = client.resolve(request)
    return client.post_item(request, resolution), resolution


def test_one_post_carries_one_item_and_yields_one_task(emulator: Any,
                                                       client: ClmsClient) -> None:
    entry, _ = prepared(client, TURIN)

    task_id = client.submit(entry)

    expected = (1, 1)
    assert expected == (emulator.stats["posts"], len(client.tasks()[task_id].datasets))


def test_posting_a_live_item_again_is_a_duplicate(client: ClmsClient) -> None:
    entry, _ = prepared(client, TURIN)
    client.submit(entry)

    with pytest.raises(DuplicateRequest) as caught:
        client.submit(entry)

    assert caught.value.server_message.startswith("You have requested to download the same")


@pytest.mark.parametrize("request_", [TURIN, SOIL_MOISTURE_BBOX, CORINE_FILE_REQUEST])
def test_a_task_whose_answer_was_lost_is_found_again(client: ClmsClient,
                                                     request_: dict[str, Any]) -> None:
    entry, resolution = prepared(client, request_)
    task_id = client.submit(entry)  # pretend the process died before recording this

    found = client.find_task(entry, resolution, client.tasks())

    assert task_id == (found.task_id if found else None)


def test_another_items_task_is_not_adopted(client: ClmsClient) -> None:
    entry, _ = prepared(client, TURIN)
    client.submit(entry)
    other, resolution = prepared(client, clms_request({"uid": LC100_UID}, area={"nuts": "ES"}))

    assert client.find_task(other, resolution, client.tasks()) is None


def test_a_live_task_is_preferred_to_a_cancelled_one(client: ClmsClient) -> None:
    entry, resolution = prepared(client, TURIN)
    client.cancel(client.submit(entry))
    second = client.submit(entry)

    found = client.find_task(entry, resolution, client.tasks())

    assert second == (found.task_id if found else None)


def test_a_finished_task_expires_72_hours_after_finalisation(emulator: Any,
                                                             client: ClmsClient) -> None:
    entry, _ = prepared(client, TURIN)
    task_id = client.submit(entry)
    emulator.clock.advance(FINISHED_AFTER)
    ready = client.is_expired(client.status(task_id))
    emulator.clock.advance(72 * 3600)

    expected = (False, True)
    assert expected == (ready, client.is_expired(client.status(task_id)))


def test_a_finished_task_offers_its_zip_without_a_token(emulator: Any,
                                                        client: ClmsClient) -> None:
    entry, resolution = prepared(client, TURIN)
    task_id = client.submit(entry)
    emulator.clock.advance(FINISHED_AFTER)
    task = client.status(task_id)

    remote = client.download_remote(task, resolution)

    expected = (task.download_url, task.file_size, "zip", True)
    assert expected == (remote.url, remote.size, remote.kind,
                        remote.url.startswith(emulator.urls.fme))


def test_cancel_sets_the_task_cancelled(client: ClmsClient) -> None:
    entry, _ = prepared(client, TURIN)
    task_id = client.submit(entry)

    client.cancel(task_id)

    expected = "Cancelled"
    assert expected == client.tasks()[task_id].status


def test_cancelling_an_unknown_task_explains_the_403(client: ClmsClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.cancel("12345")

    expected = (403, "cannot cancel CLMS task 12345: the server has no task with this id "
                     "('Error, TaskID not registered')")
    assert expected == (caught.value.status, str(caught.value))


def test_cancelling_another_users_task_explains_the_404(emulator: Any, client: ClmsClient,
                                                        http: Http, write_key: KeyWriter
                                                        ) -> None:
    other_key = load_service_key(write_key(emulator.service_key(user_id="x9"), name="o.json"))
    other = ClmsClient(http, emulator.urls.clms, other_key, now=emulator.clock.now)
    entry, _ = prepared(other, TURIN)
    task_id = other.submit(entry)

    with pytest.raises(ApiError) as caught:
        client.cancel(task_id)

    expected = (404, True)
    assert expected == (caught.value.status, "belongs to another CLMS user" in str(caught.value))


def test_an_unknown_task_status_is_a_clear_error(client: ClmsClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.status("12345")

    expected = (404, "Error, the task does not exist")
    assert expected == (caught.value.status, caught.value.server_message)


@pytest.fixture
def failing_fme(write_key: KeyWriter) -> Iterator[ClmsClient]:
    """A client on an emulator whose FME refuses every task."""
    with Emulator(EmulatorConfig(seed=0, fake_clock=True, fme_fails=True)) as emu:
        key = load_service_key(write_key(emu.service_key()))
        yield ClmsClient(Http(sleep=lambda _: None), emu.urls.clms, key, now=emu.clock.now)


def test_all_requests_failed_is_a_remote_error(failing_fme: ClmsClient) -> None:
    entry, _ = prepared(failing_fme, TURIN)

    with pytest.raises(RemoteError) as caught:
        failing_fme.submit(entry)

    expected = (500, "the CLMS data request failed: HTTP 500 'Error, all requests failed'")
    assert expected == (caught.value.status, str(caught.value))


@pytest.fixture
def cdse_leaky(write_key: KeyWriter) -> Iterator[ClmsClient]:
    """A client on an emulator whose task list leaks CDSE child tasks."""
    with Emulator(EmulatorConfig(seed=0, fake_clock=True, cdse_children=True)) as emu:
        key = load_service_key(write_key(emu.service_key()))
        yield ClmsClient(Http(sleep=lambda _: None), emu.urls.clms, key, now=emu.clock.now)


def test_cdse_children_are_listed_and_marked(cdse_leaky: ClmsClient) -> None:
    entry, _ = prepared(cdse_leaky, TURIN)
    parent = cdse_leaky.submit(entry)

    tasks = cdse_leaky.tasks()

    children = sorted((t.status, t.alive, len(t.datasets)) for t in tasks.values()
                      if t.is_cdse_child)
    expected = ([("QUEUED", True, 1), ("QUEUED", True, 1)], False)
    assert expected == (children, tasks[parent].is_cdse_child)


def test_cdse_children_are_never_adopted(cdse_leaky: ClmsClient) -> None:
    entry, resolution = prepared(cdse_leaky, TURIN)
    parent = cdse_leaky.submit(entry)

    found = cdse_leaky.find_task(entry, resolution, cdse_leaky.tasks())

    assert parent == (found.task_id if found else None)
