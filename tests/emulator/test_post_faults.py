"""``@datarequest_post`` faults before and after its tasks exist, and counting tasks per item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import CORINE, CORINE_FILE, GRANT, LC100, Client, grant, lc100, token_for

from fetcher.emulator import Emulator, EmulatorConfig, FaultRates
from fetcher.emulator.postfaults import ORPHAN_BODY
from fetcher.sources.clms import rules

M = rules.MESSAGES


def tasks_of(client: Client) -> dict[str, Any]:
    return dict(client.call("GET", "@datarequest_search").json())


def only_task(client: Client) -> dict[str, Any]:
    (task,) = tasks_of(client).values()
    return dict(task)


def test_host_faults_strike_before_any_task(client: Client) -> None:
    client.emu.faults.script("clms", "error_503")
    answer = client.post(lc100())
    assert (503, {}, 0) == (answer.status_code, tasks_of(client), client.emu.stats["tasks"])


@pytest.mark.parametrize("mode", ["before_500", "before_502", "before_503"])
def test_before_modes_answer_5xx_without_a_task(client: Client, mode: str) -> None:
    client.emu.post_faults.script(mode)
    answer = client.post(lc100())
    assert (int(mode[-3:]), "text/html", {}) == (
        answer.status_code, answer.headers["Content-Type"].split(";")[0], tasks_of(client))


@pytest.mark.parametrize("mode", ["after_500", "after_502", "after_503"])
def test_after_modes_create_a_live_task_then_answer_5xx(client: Client, mode: str) -> None:
    client.emu.post_faults.script(mode)
    answer = client.post(lc100())
    assert (int(mode[-3:]), {"message", "type"}) == (answer.status_code, set(answer.json()))
    assert "FMETaskId" in only_task(client)
    client.emu.clock.advance(100)
    assert "Finished_ok" == only_task(client)["Status"]


def test_after_drop_creates_the_task_and_closes_the_connection(client: Client) -> None:
    client.emu.post_faults.script("after_drop")
    with pytest.raises(requests.ConnectionError):
        client.post(lc100())
    assert ("Queued", 1) == (only_task(client)["Status"], client.emu.stats["tasks"])
    assert "post:after_drop" == client.emu.requests[-2].fault


def test_an_orphan_stays_queued_without_fme_id_and_blocks_duplicates(client: Client) -> None:
    client.emu.post_faults.script("orphan")
    answer = client.post(lc100())
    assert (500, ORPHAN_BODY) == (answer.status_code, answer.json())
    assert answer.json() != {"msg": M["ALL_FAILED"], "status": "error"}
    client.emu.clock.advance(3000)
    (task,) = [t.record for t in client.emu.tasks.all()]
    assert ("Queued", False) == (task["Status"], "FMETaskId" in task)
    assert (400, M["DUPLICATED"]) == (client.post(lc100()).status_code,
                                      client.post(lc100()).json()["msg"])


def test_an_orphan_takes_only_the_first_package(client: Client) -> None:
    client.emu.post_faults.script("orphan")
    client.post(lc100(), {"DatasetID": CORINE, "FileID": CORINE_FILE})
    assert [CORINE] == [d["DatasetID"] for d in only_task(client)["Datasets"]]


def test_a_refused_post_meets_no_orphan(client: Client) -> None:
    client.emu.post_faults.script("orphan")
    assert (400, {}) == (client.post(lc100(NUTS="it")).status_code, tasks_of(client))


def test_seeded_rates_are_deterministic_and_counted(rsa_pem: str) -> None:
    def run() -> tuple[list[int], int, list[str]]:
        config = EmulatorConfig(seed=3, fake_clock=True, catalogue_size=0,
                                post_faults={"after_503": 0.3, "before_503": 0.2})
        with Emulator(config) as emu:
            client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
            codes = [client.post(lc100(NUTS=code)).status_code
                     for code in ("IT", "ES", "FR", "DE", "PT", "NL", "BE", "DK", "CN", "EC")]
            assert emu.stats["post_faults"] == len(emu.post_faults.met)
            return codes, emu.stats["tasks"], emu.post_faults.met

    first = run()
    codes, tasks, met = first
    assert first == run()
    assert {201, 503} == set(codes)
    assert tasks == codes.count(201) + met.count("after_503")


@pytest.fixture
def after_create(rsa_pem: str) -> Iterator[Client]:
    faults = {"clms": FaultRates(error_503=1.0, post_fault_after_create=1.0)}
    with Emulator(EmulatorConfig(fake_clock=True, catalogue_size=0, faults=faults)) as emu:
        key = emu.service_key(private_key=rsa_pem)
        emu.faults.clear()
        client = Client(emu, token_for(emu, key))
        emu.faults.set("clms", error_503=1.0, post_fault_after_create=1.0)
        yield client


def test_post_fault_after_create_processes_the_post_first(after_create: Client) -> None:
    emu = after_create.emu
    assert 503 == after_create.post(lc100()).status_code
    assert 503 == after_create.call("GET", "@datarequest_search").status_code
    emu.faults.clear()
    assert (1, "error_503+processed") == (emu.stats["tasks"], emu.requests[-2].fault)


def test_post_fault_after_create_share_zero_is_todays_behaviour(after_create: Client) -> None:
    after_create.emu.faults.set("clms", post_fault_after_create=0.0)
    assert 503 == after_create.post(lc100()).status_code
    assert 0 == after_create.emu.stats["tasks"]


def test_host_rates_reach_every_clms_route(emu: Emulator, key: dict[str, Any]) -> None:
    client = Client(emu, token_for(emu, key))
    emu.faults.set("clms", error_503=0.2)
    calls = {
        "token": lambda: requests.post(key["token_uri"], timeout=5, data={
            "grant_type": GRANT, "assertion": grant(key, emu.clock.now())}).status_code,
        "search": lambda: client.call("GET", "@search").status_code,
        "tasks": lambda: client.call("GET", "@datarequest_search").status_code,
        "status": lambda: client.call("GET", "@datarequest_status_get",
                                      params={"TaskID": "1"}).status_code,
        "delete": lambda: client.call("DELETE", "@datarequest_delete",
                                      json={"TaskID": "1"}).status_code,
        "post": lambda: client.post().status_code,
    }
    seen = {name: {call() for _ in range(30)} for name, call in calls.items()}
    assert all(503 in codes and len(codes) > 1 for codes in seen.values()), seen


def test_count_by_item_counts_tasks_per_normalised_item(client: Client) -> None:
    first = client.post(lc100()).json()["TaskIds"][0]["TaskID"]
    client.post(lc100(NUTS="ES"))
    assert [1, 1] == sorted(client.emu.tasks.count_by_item().values())
    client.call("DELETE", "@datarequest_delete", json={"TaskID": first})
    client.post(lc100())
    counts = client.emu.tasks.count_by_item()
    assert [1, 2] == sorted(counts.values())
    assert [1, 1] == sorted(client.emu.tasks.count_by_item(statuses=["Queued"]).values())
    assert all(LC100 in key for key in counts)
