"""Task lifecycle on the fake clock, search/status/delete answers, and the FME host."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import requests
from conftest import CORINE, CORINE_FILE, LC100, Client, lc100, token_for

from fetcher.emulator import Emulator, EmulatorConfig, Outcome
from fetcher.sources.clms import rules

M = rules.MESSAGES


def submit(client: Client, *items: dict[str, Any]) -> str:
    return str(client.post(*(items or (lc100(),))).json()["TaskIds"][0]["TaskID"])


def status_of(client: Client, task_id: str) -> dict[str, Any]:
    answer = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id})
    assert answer.status_code == 200
    return dict(answer.json())


def get(url: str, **headers: str) -> requests.Response:
    with requests.get(url, headers=headers, timeout=5) as answer:
        answer.content  # noqa: B018 - read before closing
        return answer


def test_queued_in_progress_finished_ok(client: Client) -> None:
    task_id = submit(client)
    seen = [status_of(client, task_id)["Status"]]
    for seconds in (30, 60):
        client.emu.clock.advance(seconds)
        seen.append(status_of(client, task_id)["Status"])
    assert seen == ["Queued", "In_progress", "Finished_ok"]
    task = status_of(client, task_id)
    assert task["Message"] == "Download process finished successfully"
    assert task["DownloadURL"] == (
        f"{client.emu.urls.fme}/clmsdatadownload/results/{task['FMETaskId']}.zip"
    )
    assert rules.parse_timestamp(task["FinalizationDateTime"]).timestamp() == (
        rules.parse_timestamp(task["RegistrationDateTime"]).timestamp() + 90
    )
    archive = get(task["DownloadURL"])
    assert (200, task["FileSize"]) == (archive.status_code, len(archive.content))
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert len(names) == 1 and names[0].endswith(".tif")
    data = zipfile.ZipFile(io.BytesIO(archive.content)).read(names[0])
    assert data[:4] == b"II*\x00"


def test_prepackaged_result_nests_a_zip_under_results(client: Client) -> None:
    task_id = submit(client, {"DatasetID": CORINE, "FileID": CORINE_FILE})
    client.emu.clock.advance(100)
    outer = zipfile.ZipFile(io.BytesIO(get(status_of(client, task_id)["DownloadURL"]).content))
    assert outer.namelist() == ["Results/U2018_CLC2018_V2020_20u1.zip"]
    inner = zipfile.ZipFile(io.BytesIO(outer.read("Results/U2018_CLC2018_V2020_20u1.zip")))
    assert [n for n in inner.namelist() if n.endswith(".tif")]


def test_results_are_deterministic_per_request(emu: Emulator, key: dict[str, Any]) -> None:
    client = Client(emu, token_for(emu, key))
    first = submit(client)
    emu.clock.advance(100)
    second = submit(client)
    emu.clock.advance(100)
    urls = [status_of(client, t)["DownloadURL"] for t in (first, second)]
    assert get(urls[0]).content == get(urls[1]).content


def run_with(config: EmulatorConfig, rsa_pem: str, advance: float) -> dict[str, Any]:
    with Emulator(config) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        task_id = submit(client)
        emu.clock.advance(advance)
        return status_of(client, task_id)


def test_finished_nok_by_dataset(rsa_pem: str) -> None:
    config = EmulatorConfig(fake_clock=True, outcomes={LC100: Outcome("Finished_nok", "boom")})
    task = run_with(config, rsa_pem, 100)
    assert (task["Status"], task["Message"]) == ("Finished_nok", "boom")
    assert "DownloadURL" not in task and "FinalizationDateTime" in task


def test_rejected_straight_from_queued(rsa_pem: str) -> None:
    config = EmulatorConfig(fake_clock=True, outcomes={LC100: Outcome("Rejected", "no")})
    assert run_with(config, rsa_pem, 10)["Status"] == "Queued"
    assert (lambda t: (t["Status"], t["Message"]))(run_with(config, rsa_pem, 31)) == (
        "Rejected",
        "no",
    )


def test_naive_timestamps(rsa_pem: str) -> None:
    task = run_with(EmulatorConfig(fake_clock=True, timestamp_style="naive"), rsa_pem, 0)
    assert "+" not in task["RegistrationDateTime"]


def test_result_expiry_and_forbid_window(rsa_pem: str) -> None:
    config = EmulatorConfig(fake_clock=True, forbid_after_finish=120, result_ttl=1800)
    with Emulator(config) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        task_id = submit(client)
        emu.clock.advance(90)
        url = status_of(client, task_id)["DownloadURL"]
        codes = [get(url).status_code]
        for seconds in (120, 1800):
            emu.clock.advance(seconds)
            codes.append(get(url).status_code)
        assert codes == [403, 200, 404]
        assert status_of(client, task_id)["Status"] == "Finished_ok"


def test_search_filters_by_exact_status(client: Client) -> None:
    task_id = submit(client)
    assert [task_id] == list(
        client.call("GET", "@datarequest_search", params={"status": "Queued"}).json()
    )
    assert client.call("GET", "@datarequest_search", params={"status": "Rejected"}).json() == {}
    for bad in ("All", "queued"):
        answer = client.call("GET", "@datarequest_search", params={"status": bad})
        assert (400, {"msg": M["STATUS_NOT_RECOGNIZED"], "status": "error"}) == (
            answer.status_code,
            answer.json(),
        )
    assert [task_id] == list(
        client.call("GET", "@datarequest_search", params={"TaskID": "1"}).json()
    )


def test_other_users_do_not_see_tasks_but_can_read_status(
    emu: Emulator, client: Client, rsa_pem: str
) -> None:
    task_id = submit(client)
    other = Client(emu, token_for(emu, emu.service_key("someone", private_key=rsa_pem)))
    assert other.call("GET", "@datarequest_search").json() == {}
    assert (
        other.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).status_code == 200
    )


def test_status_get_errors(client: Client) -> None:
    assert (400, M["TASKID_NOT_DEFINED"]) == (lambda r: (r.status_code, r.json()["msg"]))(
        client.call("GET", "@datarequest_status_get")
    )
    assert (404, M["TASK_DOES_NOT_EXIST"]) == (lambda r: (r.status_code, r.json()["msg"]))(
        client.call("GET", "@datarequest_status_get", params={"TaskID": "1"})
    )


def test_delete_codes(emu: Emulator, client: Client, rsa_pem: str) -> None:
    task_id = submit(client)
    other = Client(emu, token_for(emu, emu.service_key("intruder", private_key=rsa_pem)))

    def delete(who: Client, body: Any) -> tuple[int, Any]:
        answer = who.call("DELETE", "@datarequest_delete", json=body)
        return answer.status_code, answer.json() if answer.content else None

    assert (400, {"msg": M["TASKID_NOT_DEFINED"], "status": "error"}) == delete(client, {})
    assert (403, {"msg": M["TASKID_NOT_REGISTERED"], "status": "error"}) == delete(
        client, {"TaskID": 1}
    )
    assert (404, {"msg": M["PERMISSION_DENIED"], "status": "error"}) == delete(
        other, {"TaskID": task_id}
    )
    assert delete(client, {"TaskID": int(task_id)}) == (204, None)
    task = status_of(client, task_id)
    assert task["Status"] == "Cancelled" and "FinalizationDateTime" in task
    emu.clock.advance(1000)
    assert status_of(client, task_id)["Status"] == "Cancelled"
    assert emu.stats["deletes"] == 4


def test_finished_tasks_can_be_cancelled_too(client: Client) -> None:
    task_id = submit(client)
    client.emu.clock.advance(100)
    assert client.call("DELETE", "@datarequest_delete", json={"TaskID": task_id}).status_code == 204
    assert status_of(client, task_id)["Status"] == "Cancelled"


def test_cdse_children_leak_into_unfiltered_search(rsa_pem: str) -> None:
    with Emulator(EmulatorConfig(fake_clock=True, cdse_children=True)) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        submit(client)
        tasks = client.call("GET", "@datarequest_search").json().values()
        children = [t for t in tasks if t.get("cdse_task_role") == "child"]
        assert (2, "QUEUED", dict) == (
            len(children),
            children[0]["Status"],
            type(children[0]["Datasets"]),
        )
        assert (
            len(client.call("GET", "@datarequest_search", params={"status": "Queued"}).json()) == 1
        )


def test_fme_failure_gives_500_all_failed(rsa_pem: str) -> None:
    with Emulator(EmulatorConfig(fake_clock=True, fme_fails=True)) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        answer = client.post(lc100())
        assert (500, {"msg": M["ALL_FAILED"], "status": "error"}) == (
            answer.status_code,
            answer.json(),
        )
        assert (
            next(iter(client.call("GET", "@datarequest_search").json().values()))["Status"]
            == "Queued"
        )


def test_helper_endpoints(client: Client) -> None:
    assert client.call("GET", "@format_conversion_table").json() == rules.FORMAT_CONVERSION_TABLE
    assert list(rules.BASE_GCS) == client.call("GET", "@projections").json()
    assert client.call("GET", "@projections", params={"uid": "0"}).json() == []


def test_counters(client: Client) -> None:
    client.emu.reset_stats()
    submit(client)
    client.call("GET", "@datarequest_search")
    assert {k: client.emu.stats[k] for k in ("posts", "polls", "downloads")} == {
        "posts": 1,
        "polls": 1,
        "downloads": 0,
    }
