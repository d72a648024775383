"""Per-dataset and per-task behaviour of the FME download host."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from conftest import CORINE, CORINE_FILE, LC100, Client, lc100, token_for

from fetcher.emulator import Emulator, EmulatorConfig, ResultBehaviour


def code(url: str) -> int:
    with requests.get(url, timeout=10) as answer:
        return answer.status_code


def finished(client: Client, *items: dict[str, Any]) -> tuple[str, str]:
    """Submit, let the fake clock finish the task; its TaskID and DownloadURL."""
    task_id = str(client.post(*(items or (lc100(),))).json()["TaskIds"][0]["TaskID"])
    client.emu.clock.advance(90)
    task = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).json()
    return task_id, str(task["DownloadURL"])


def started(rsa_pem: str, **results: ResultBehaviour) -> tuple[Emulator, Client]:
    emu = Emulator(EmulatorConfig(fake_clock=True, catalogue_size=0, results=results)).start()
    return emu, Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))


def test_a_not_ready_window_per_dataset_from_finalization(rsa_pem: str) -> None:
    emu, client = started(rsa_pem, **{LC100: ResultBehaviour(not_ready_seconds=120,
                                                             not_ready_status=404)})
    try:
        _, url = finished(client)
        _, other = finished(client, {"DatasetID": CORINE, "FileID": CORINE_FILE})
        emu.clock.advance(29)
        codes = [code(url), code(other)]
        emu.clock.advance(1)
        codes.append(code(url))
    finally:
        emu.stop()
    assert [404, 200, 200] == codes


def test_runtime_window_expiry_and_ttl(rsa_pem: str) -> None:
    emu, client = started(rsa_pem, **{LC100: ResultBehaviour(ttl=600)})
    try:
        task_id, url = finished(client)
        emu.fme.configure(task_id, not_ready_seconds=60)
        codes = [code(url)]
        emu.clock.advance(60)
        codes.append(code(url))
        emu.clock.advance(540)
        codes.append(code(url))
        other_id, other = finished(client, lc100(NUTS="ES"))
        codes.append(code(other))
        emu.fme.expire(other_id)
        codes.append(code(other))
    finally:
        emu.stop()
    assert [403, 200, 404, 200, 404] == codes


def test_the_window_runs_on_a_real_clock_too(rsa_pem: str) -> None:
    config = EmulatorConfig(queued_seconds=0.05, in_progress_seconds=0.05, catalogue_size=0,
                            results={LC100: ResultBehaviour(not_ready_seconds=1.5)})
    with Emulator(config) as emu:
        client = Client(emu, token_for(emu, emu.service_key(private_key=rsa_pem)))
        task_id = client.post(lc100()).json()["TaskIds"][0]["TaskID"]
        time.sleep(0.15)
        task = client.call("GET", "@datarequest_status_get", params={"TaskID": task_id}).json()
        first = code(task["DownloadURL"])
        time.sleep(1.5)
        assert [403, 200] == [first, code(task["DownloadURL"])]


def test_delays_before_the_first_byte_and_between_chunks(rsa_pem: str) -> None:
    slow = ResultBehaviour(size=300_000, first_byte_delay=0.2, chunk_delay=0.05)
    emu, client = started(rsa_pem, **{LC100: slow})
    try:
        _, url = finished(client)
        started_at = time.perf_counter()
        with requests.get(url, stream=True, timeout=10) as answer:
            headers_at = time.perf_counter()
            body = answer.content
        done_at = time.perf_counter()
    finally:
        emu.stop()
    assert (300_000, True, True) == (len(body), headers_at - started_at >= 0.2,
                                     done_at - headers_at >= 4 * 0.05)


def test_configure_refuses_what_it_cannot_do(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="size"):
        emu.fme.configure("1", size=10**6)
    with pytest.raises(ValueError, match="not_ready_status"):
        emu.fme.configure("1", not_ready_status=500)
