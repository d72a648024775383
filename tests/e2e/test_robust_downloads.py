"""Issue 17, the download side: results not ready or gone, one slow item among others,
listings and catalogue entries the server contradicts, ``--frozen`` against changed bytes,
and the emulator serving big files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from fetcher.emulator import Emulator, ResultBehaviour
from fetcher.ops.status import write_lock
from fetcher.transfer.http import Http
from tests.e2e.conftest import LC100_UID, PREPACKAGED_SPEC, write_kinds
from tests.support import emulators
from tests.support.consistency import check
from tests.support.emulators import posts, server_tasks
from tests.support.specs import GEBCO_SPEC, NUTS_SPEC, spec_text
from tests.support.watcher import Watcher
from tests.support.workspace import Workspace, make_workspace

CORINE_UID = "0407d497d3c44bcd93ce8fd5bf78596a"
ZENODO_NAME = "PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map_EPSG-4326.tif"
ZENODO_SPEC = f"""\
  lc100:
    source: zenodo
    record: 3939050
    files: [{ZENODO_NAME}]
"""
FINISHED_AT = 90  # the default schedule: 30 s queued, 60 s running
RESULT_TTL = 72 * 3600


def fme_gets(emu: Emulator) -> dict[str, list[int]]:
    """The statuses of the GETs of each result URL, in order."""
    gets: dict[str, list[int]] = {}
    for r in emu.requests:
        if r.host == "fme" and r.method == "GET":
            gets.setdefault(r.path, []).append(r.status)
    return gets


def data_files(ws: Workspace) -> list[str]:
    """Every file under the data folder, relative to it."""
    if not ws.data.exists():
        return []
    return sorted(p.relative_to(ws.data).as_posix() for p in ws.data.rglob("*") if p.is_file())


def recorded(ws: Workspace) -> dict[str, str]:
    """Every file the ledger records: path -> sha256."""
    with ws.ledger() as ledger:
        return {f.path: f.sha256 for files in ledger.snapshot().files.values() for f in files}


# --- 2. the "not ready" window, counted from FinalizationDateTime ----------------------


def test_a_result_gone_30_minutes_after_finishing_is_requested_again_after_one_404(
        ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    ws.emu.clock.advance(FINISHED_AT + 1800)
    (task_id,) = server_tasks(ws.emu)
    ws.emu.fme.expire(task_id)
    report = ws.sync()
    assert ("downloaded", 2, [[404], [200]]) == (
        report.outcomes[0].outcome, posts(ws.emu), list(fme_gets(ws.emu).values()))


def test_a_result_gone_twice_in_one_run_fails_after_one_new_request(ws: Workspace) -> None:
    write_kinds(ws, "nuts")

    class Expiring(Http):
        """The download host has dropped every result by the time it is asked."""

        def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
            if url.startswith(ws.emu.urls.fme):
                for task_id in server_tasks(ws.emu):
                    ws.emu.fme.expire(task_id)
            return super().request(method, url, **kwargs)

    ws.sync(wait=False)
    ws.emu.clock.advance(FINISHED_AT + 1800)
    http = Expiring(sleep=ws.emu.clock.advance, now=ws.emu.clock.now)
    try:
        report = ws.sync(http=http)
    finally:
        http.close()
    first, second = fme_gets(ws.emu).values()  # the new task's 404s are inside its window
    assert (1, "failed", 2, [404], {404}) == (
        report.exit_code, report.outcomes[0].outcome, posts(ws.emu), first, set(second))


def test_a_404_inside_the_window_after_finishing_is_waited_out(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(results={LC100_UID: ResultBehaviour(not_ready_seconds=120,
                                                             not_ready_status=404)})
    ws = make_workspace(tmp_path, emu)
    write_kinds(ws, "nuts")
    report = ws.sync()
    (statuses,) = fme_gets(emu).values()
    assert ("downloaded", 1, 404, 200) == (report.outcomes[0].outcome, posts(emu),
                                           statuses[0], statuses[-1])


# --- 3. one item's slow or denied result holds back no other ----------------------------


def _one_slow_one_later(make_emulator: Callable[..., Emulator], tmp_path: Path,
                        slow: ResultBehaviour) -> tuple[Workspace, Any]:
    """A CLI sync of a NUTS item whose result is ``slow`` and of corine, finishing later.

    The emulator's clock is real; corine's task finishes 1.6 s after its POST, while the
    NUTS item's result (its task finished at 0.3 s) is still being served or denied.
    """
    emu = make_emulator(**emulators.REAL_CLOCK, schedule={CORINE_UID: (0.1, 1.5)},
                        results={LC100_UID: slow})
    ws = make_workspace(tmp_path, emu)
    ws.write_spec(spec_text(NUTS_SPEC, PREPACKAGED_SPEC))
    run = ws.cli()
    return ws, run


def _corine_timeline(ws: Workspace) -> tuple[float, int]:
    """When corine's result was answered, and how many task listings came between its
    task finishing and that answer (emulator clock)."""
    (task,) = [t for t in ws.emu.tasks.all() if not t.child
               and t.record["Datasets"][0]["DatasetID"] == CORINE_UID]
    finished = task.finalized
    assert finished is not None
    result = f"/clmsdatadownload/results/{task.record['FMETaskId']}.zip"
    (got,) = [r.at for r in ws.emu.requests if r.path == result and r.status == 200]
    polls = [r for r in ws.emu.requests if r.path.endswith("@datarequest_search")
             and finished <= r.at <= got]
    return got, len(polls)


def _nuts_answers(ws: Workspace) -> list[tuple[int, float]]:
    return [(r.status, r.at) for r in ws.emu.requests
            if r.host == "fme" and r.method == "GET" and ws.emu.tasks.by_fme_id(
                int(r.path.rsplit("/", 1)[1].split(".")[0])).record["Datasets"][0][
                    "DatasetID"] == LC100_UID]


def test_a_slow_result_does_not_hold_back_another_item_finishing_later(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws, run = _one_slow_one_later(make_emulator, tmp_path,
                                  ResultBehaviour(first_byte_delay=3.0))
    got, polls = _corine_timeline(ws)
    ((status, slow_answered),) = _nuts_answers(ws)
    assert (0, 200, True, 1) == (run.code, status, got < slow_answered, polls)


def test_a_denied_result_does_not_hold_back_another_item_finishing_later(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws, run = _one_slow_one_later(make_emulator, tmp_path,
                                  ResultBehaviour(not_ready_seconds=3.0, not_ready_status=403))
    got, polls = _corine_timeline(ws)
    answers = _nuts_answers(ws)
    (allowed,) = [at for status, at in answers if status == 200]
    assert (0, 403, True, 1) == (run.code, answers[0][0], got < allowed, polls)


# --- 5. stale listings and catalogue entries -------------------------------------------


def test_a_ceda_file_changed_on_the_server_is_listed_again_and_fetched_in_the_same_run(
        ws: Workspace) -> None:
    ws.write_spec(spec_text(GEBCO_SPEC))
    ws.sync()
    ws.emu.ceda.bump("gebco_2024.zip")
    (ws.data / "gebco" / "gebco_2024.zip").unlink()
    ws.emu.reset_stats()
    report = ws.sync()
    listings = [r for r in ws.emu.requests if r.query == "json"]
    assert (0, "downloaded", 1, []) == (report.exit_code, report.outcomes[0].outcome,
                                        len(listings), check(ws).problems)


def test_a_ceda_file_whose_listing_lags_fails_after_one_new_listing_and_syncing_again_lists_it(
        ws: Workspace) -> None:
    ws.write_spec(spec_text(GEBCO_SPEC))
    ws.sync()
    ws.emu.ceda.bump("gebco_2024.zip", listing=False)
    (ws.data / "gebco" / "gebco_2024.zip").unlink()
    ws.emu.reset_stats()
    lagging = ws.sync()
    first = len([r for r in ws.emu.requests if r.query == "json"])
    placed = "gebco/gebco_2024.zip" in data_files(ws)
    ws.emu.ceda.publish("gebco_2024.zip")
    ws.emu.reset_stats()
    again = ws.sync()  # as the failure's hint says: the listing is looked up again
    second = len([r for r in ws.emu.requests if r.query == "json"])
    assert ((1, "failed", 1, False), (0, "downloaded", 1, [])) == (
        (lagging.exit_code, lagging.outcomes[0].outcome, first, placed),
        (again.exit_code, again.outcomes[0].outcome, second, check(ws).problems))


def test_a_zenodo_file_changed_on_the_server_is_listed_again_and_fetched_in_the_same_run(
        ws: Workspace) -> None:
    ws.write_spec(spec_text(ZENODO_SPEC))
    ws.sync()
    ws.emu.zenodo.bump("3939050", ZENODO_NAME)
    (ws.data / "lc100" / ZENODO_NAME).unlink()
    ws.emu.reset_stats()
    report = ws.sync()
    records = [r for r in ws.emu.requests if r.path.rstrip("/") == "/api/records/3939050"]
    assert (0, "downloaded", 1, []) == (report.exit_code, report.outcomes[0].outcome,
                                        len(records), check(ws).problems)


def _corine_needing_a_new_request(ws: Workspace) -> dict[str, str]:
    """Sync corine, then rotate its FileIDs and let its result expire with its files gone."""
    ws.write_spec(spec_text(PREPACKAGED_SPEC))
    assert 0 == ws.sync().exit_code
    rotated = ws.emu.clms.rotate_file_ids(CORINE_UID)
    ws.emu.clock.advance(RESULT_TTL + 3600)
    for path in ws.data.rglob("*"):
        if path.is_file():
            path.unlink()
    ws.emu.reset_stats()
    return rotated


def test_a_file_id_the_server_calls_invalid_is_looked_up_again_once_in_the_run(
        ws: Workspace) -> None:
    _corine_needing_a_new_request(ws)
    report = ws.sync()
    answers = [r.status for r in ws.emu.requests if r.path.endswith("@datarequest_post")]
    ws.emu.reset_stats()
    again = ws.sync()
    assert ("downloaded", [400, 201], "up-to-date", 0) == (
        report.outcomes[0].outcome, answers, again.outcomes[0].outcome, posts(ws.emu))


def test_a_file_id_still_invalid_after_one_new_look_up_fails_the_item_after_two_posts(
        ws: Workspace) -> None:
    _corine_needing_a_new_request(ws)

    class Rotating(Http):
        """Every data request finds the FileIDs it carries replaced on the server."""

        def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
            if url.endswith("@datarequest_post"):
                ws.emu.clms.rotate_file_ids(CORINE_UID)
            return super().request(method, url, **kwargs)

    http = Rotating(sleep=ws.emu.clock.advance, now=ws.emu.clock.now)
    try:
        report = ws.sync(http=http)
    finally:
        http.close()
    answers = [r.status for r in ws.emu.requests if r.path.endswith("@datarequest_post")]
    assert (1, "failed", [400, 400], True) == (
        report.exit_code, report.outcomes[0].outcome, answers,
        "the FileID is not valid" in report.outcomes[0].message)


def test_refresh_catalogue_looks_the_entry_up_before_posting(ws: Workspace) -> None:
    _corine_needing_a_new_request(ws)
    report = ws.sync(refresh_catalogue=True)
    answers = [r.status for r in ws.emu.requests if r.path.endswith("@datarequest_post")]
    assert ("downloaded", [201], 1) == (report.outcomes[0].outcome, answers,
                                        ws.emu.stats["searches"])


def test_refresh_catalogue_forgets_the_resolutions_of_up_to_date_items(ws: Workspace) -> None:
    ws.write_spec(spec_text(PREPACKAGED_SPEC, GEBCO_SPEC))
    ws.sync()
    report = ws.sync(refresh_catalogue=True)
    with ws.ledger() as ledger:
        resolutions = ledger.snapshot().resolutions
    assert (0, {"up-to-date": 2}, {}) == (report.exit_code, report.count(), dict(resolutions))


# --- 8. --frozen against changed bytes -----------------------------------------------


def _frozen_after_a_change(ws: Workspace, change: Callable[[], None],
                           removed: list[str]) -> tuple[Any, set[str]]:
    assert 0 == ws.sync().exit_code
    write_lock([ws.specs], ws.settings)
    change()
    for name in removed:
        (ws.data / name).unlink()
    ws.emu.reset_stats()
    with Watcher(ws.data, interval=0.001) as watcher:
        report = ws.sync(frozen=True)
    return report, {path for path, _, _ in watcher.seen}


def locked_sha256(ws: Workspace) -> dict[str, str]:
    """Every file ``fetcher.lock`` names: path -> sha256."""
    document = json.loads((ws.specs / "fetcher.lock").read_text(encoding="utf-8"))
    return {f["path"]: f["sha256"] for item in document["items"] for f in item["files"]}


HTTP_PATH = "/random/300000/landmask.bin"
CHANGED: dict[str, tuple[Callable[[Workspace], str], str, Callable[[Workspace], None]]] = {
    # source: (its spec, its file, how the server's bytes change)
    "ceda": (lambda ws: GEBCO_SPEC, "gebco/gebco_2024.zip",
             lambda ws: ws.emu.ceda.bump("gebco_2024.zip")),
    "zenodo": (lambda ws: ZENODO_SPEC, f"lc100/{ZENODO_NAME}",
               lambda ws: ws.emu.zenodo.bump("3939050", ZENODO_NAME)),
    "http": (lambda ws: f"  landmask:\n    source: http\n    url: {ws.emu.urls.files}{HTTP_PATH}\n",
             "landmask/landmask.bin", lambda ws: ws.emu.files.bump(HTTP_PATH)),
}


@pytest.mark.parametrize("source", sorted(CHANGED))
def test_frozen_sync_against_changed_bytes_places_and_records_nothing(
        ws: Workspace, source: str) -> None:
    spec, name, change = CHANGED[source]
    ws.write_spec(spec_text(spec(ws)))
    report, seen = _frozen_after_a_change(ws, lambda: change(ws), [name])
    assert (1, "failed", True, False, True) == (
        report.exit_code, report.outcomes[0].outcome,
        f"{name} differs from fetcher.lock" in report.outcomes[0].message, name in seen,
        recorded(ws)[name] == locked_sha256(ws)[name])


def test_frozen_cli_sync_against_changed_http_bytes_exits_1_naming_the_lock(
        ws: Workspace) -> None:
    spec, _, change = CHANGED["http"]
    ws.write_spec(spec_text(spec(ws)))
    assert 0 == ws.sync().exit_code
    write_lock([ws.specs], ws.settings)
    change(ws)
    (ws.data / "landmask" / "landmask.bin").unlink()
    run = ws.cli("--frozen")
    assert (1, True, False) == (
        run.code, "landmask/landmask.bin differs from fetcher.lock" in run.stdout + run.stderr,
        (ws.data / "landmask" / "landmask.bin").exists())

@pytest.mark.timeout(30)
def test_files_deleted_after_their_result_expired_are_requested_again_once_and_waited_on(
        ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync()
    ws.emu.clock.advance(RESULT_TTL + 3600)
    for path in ws.data.rglob("*.tif"):
        path.unlink()
    ws.emu.reset_stats()
    report = ws.sync()
    assert ("downloaded", 1, []) == (report.outcomes[0].outcome, posts(ws.emu),
                                     check(ws).problems)


# --- 12. the emulator serves big files, streamed ------------------------------------------

BIG_ZENODO = 300_000_000
BIG_CEDA = 5_000_000_000  # past 4 GiB: a ZIP64 archive
ZENODO_PATH = f"/records/3939050/files/{ZENODO_NAME}"
CEDA_PATH = "/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf/gebco_2024.zip"


@pytest.fixture
def big_emulator(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """``fetcher emulator --config`` in a child process, serving big files; its URLs."""
    config = tmp_path / "emulator.yaml"
    config.write_text(f"zenodo_file_size: {BIG_ZENODO}\nceda_file_size: {BIG_CEDA}\n",
                      encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "fetcher", "emulator", "--config",
                             str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    urls: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            name, _, value = line.strip().partition(": ")
            if value.startswith("http://"):
                urls[name] = value
            if line.startswith("ready"):
                break
        yield proc, urls
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def rss_bytes(pid: int) -> int:
    """The resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for RSS")
def test_the_emulator_process_streams_a_300_mb_zenodo_file_in_little_memory(
        big_emulator: tuple[subprocess.Popen[str], dict[str, str]]) -> None:
    proc, urls = big_emulator
    url = urls["zenodo"] + ZENODO_PATH
    before = rss_bytes(proc.pid)
    record = requests.get(urls["zenodo"] + "/api/records/3939050", timeout=30).json()
    listed = {f["key"]: f["size"] for f in record["files"]}[ZENODO_NAME]
    peak = rss_bytes(proc.pid)  # the listed md5 was computed over every byte
    head = requests.head(url, timeout=10)
    received = b""
    with requests.get(url, stream=True, timeout=10) as answer:
        status = answer.status_code
        for chunk in answer.iter_content(1 << 20):
            received += chunk
            peak = max(peak, rss_bytes(proc.pid))
            if len(received) >= 8 << 20:
                break
    part = requests.get(url, headers={"Range": "bytes=5000000-5000099"}, timeout=10)
    tail = requests.get(url, headers={"Range": f"bytes={BIG_ZENODO - 10}-"}, timeout=10)
    beyond = requests.get(url, headers={"Range": f"bytes={BIG_ZENODO}-"}, timeout=10)
    assert (BIG_ZENODO, 200, str(BIG_ZENODO), 200, b"II*\0", True) == (
        listed, head.status_code, head.headers["Content-Length"], status, received[:4],
        peak - before < 64 << 20)
    assert ((206, f"bytes 5000000-5000099/{BIG_ZENODO}", received[5_000_000:5_000_100]),
            (206, f"bytes {BIG_ZENODO - 10}-{BIG_ZENODO - 1}/{BIG_ZENODO}", 10),
            (416, f"bytes */{BIG_ZENODO}")) == (
        (part.status_code, part.headers["Content-Range"], part.content),
        (tail.status_code, tail.headers["Content-Range"], len(tail.content)),
        (beyond.status_code, beyond.headers["Content-Range"]))


def test_the_emulator_process_serves_a_5_gb_ceda_zip_with_its_zip64_end(
        big_emulator: tuple[subprocess.Popen[str], dict[str, str]]) -> None:
    _, urls = big_emulator
    url = urls["ceda"] + CEDA_PATH
    head = requests.head(url, timeout=10)
    first = requests.get(url, headers={"Range": "bytes=0-3"}, timeout=10)
    end = requests.get(url, headers={"Range": "bytes=-200"}, timeout=10)
    assert (200, str(BIG_CEDA), b"PK\x03\x04", 206, True, True) == (
        head.status_code, head.headers["Content-Length"], first.content, end.status_code,
        b"PK\x06\x06" in end.content, end.content[-22:].startswith(b"PK\x05\x06"))
