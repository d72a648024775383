"""The run report (``sync --json`` schema, the human table, partial success exits 1),
``plan --json``, and one reconciler per SQLite ledger (stop naming the holder, or wait
with ``--wait-lock``; a row left by a dead pid is recovered)."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from fetcher.ledger.lock import ReconcilerLock
from tests.ops.conftest import MIXED, Done, fetcher, shared_workspace
from tests.support.workspace import Workspace

BROKEN_ZENODO = """\
  lc100-missing:
    source: zenodo
    record: 99999
    files: [no-such-file.tif]
"""
TREE_FILE = "PROBAV_LC100_global_v3.0.1_2019-nrt_Tree-CoverFraction-layer_EPSG-4326.tif"
SAME_RECORD = """\
  tree:
    source: zenodo
    record: 3939050
    files: [%s]
"""
SUMMARY = re.compile(r"^3 item\(s\): 3 downloaded; requests: [a-z0-9_, ]+; "
                     r"[0-9.]+ [KMG]?i?B moved in [0-9]+\.[0-9] s$")

# --- sync --json ------------------------------------------------------------------


@pytest.fixture
def first_json(live_ws: Workspace, inproc) -> tuple[int, dict]:
    """``sync --json`` of the mixed specs into an empty workspace (real-clock emulator)."""
    live_ws.write_spec(MIXED)
    done = inproc(live_ws, "sync", "--json", str(live_ws.specs))
    return done.code, json.loads(done.out)


def test_sync_json_has_the_report_schema(first_json: tuple[int, dict]) -> None:
    _, report = first_json
    assert {"version": int, "items": list, "counts": dict, "requests": dict, "bytes": int,
            "seconds": float, "exit_code": int} == {k: type(v) for k, v in report.items()}


def test_sync_json_item_has_the_outcome_schema(first_json: tuple[int, dict]) -> None:
    _, report = first_json
    assert {"key": str, "item": str, "outcome": str, "message": str, "task_id": str,
            "server_status": str, "files": int, "bytes": int, "notes": list, "hint": str} == {
        k: type(v) for k, v in report["items"][0].items()}


def test_first_sync_downloads_every_item(first_json: tuple[int, dict]) -> None:
    code, report = first_json
    assert (0, 0, {"downloaded": 3}, ["downloaded"] * 3) == (
        code, report["exit_code"], report["counts"], [i["outcome"] for i in report["items"]])


def test_sync_json_bytes_is_the_sum_over_items(first_json: tuple[int, dict]) -> None:
    _, report = first_json
    assert (True, sum(i["bytes"] for i in report["items"])) == (report["bytes"] > 0,
                                                                report["bytes"])


def test_sync_json_counts_one_post_for_the_one_clms_item(first_json: tuple[int, dict]) -> None:
    _, report = first_json
    assert (1, 1, 4) == (report["requests"]["posts"], report["requests"]["catalogue"],
                         report["requests"]["downloads"])


def test_second_sync_json_is_up_to_date_with_no_request(live_ws: Workspace,
                                                        first_json: tuple[int, dict],
                                                        inproc) -> None:
    report = json.loads(inproc(live_ws, "sync", "--json", str(live_ws.specs)).out)
    assert ({"up-to-date": 3}, {"http": 0}, 0) == (report["counts"], report["requests"],
                                                   report["bytes"])


def test_plan_json_has_the_plan_schema(synced: Workspace, inproc) -> None:
    document = json.loads(inproc(synced, "plan", "--json", str(synced.specs)).out)
    assert ({"version": int, "steps": list, "counts": dict},
            {"key": str, "item": str, "action": str, "reason": str, "task_id": str,
             "held": type(None), "source": str}, {"up-to-date": 3}) == (
        {k: type(v) for k, v in document.items()},
        {k: type(v) for k, v in document["steps"][0].items()}, document["counts"])


# --- the human report --------------------------------------------------------------


@pytest.fixture(scope="module")
def first_human(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Done]:
    """``fetcher sync`` of the mixed specs into an empty workspace, as a subprocess."""
    with shared_workspace(tmp_path_factory, queued_seconds=0.1,
                          in_progress_seconds=0.2) as ws:
        yield fetcher(ws, "sync", str(ws.specs))


def test_sync_report_table_has_the_documented_columns(first_human) -> None:
    assert ["ITEM", "OUTCOME", "TASK", "MOVED", "DETAIL"] == first_human.out.splitlines()[0].split()


def test_sync_report_has_one_row_per_item(first_human) -> None:
    rows = first_human.out.split("\n\n")[0].splitlines()[1:]
    assert [("builtup/ITC11", "downloaded"), ("lc100", "downloaded"), ("gebco", "downloaded")
            ] == [tuple(row.split()[:2]) for row in rows]


def test_sync_report_ends_with_a_summary_line(first_human) -> None:
    summary = first_human.out.splitlines()[-1]
    assert (0, summary) == (first_human.code, SUMMARY.match(summary) and summary)


def test_sync_logs_progress_on_stderr_not_stdout(first_human) -> None:
    assert (True, False) == ("builtup/ITC11: submitted task" in first_human.err,
                             "submitted task" in first_human.out)


def test_quiet_sync_prints_only_the_summary(live_ws: Workspace, inproc) -> None:
    live_ws.write_spec(MIXED)
    done = inproc(live_ws, "sync", "-q", str(live_ws.specs))
    assert (1, "", True) == (len(done.out.splitlines()), done.err,
                             bool(SUMMARY.match(done.out.strip())))


# --- partial success -----------------------------------------------------------------


def test_partial_success_exits_1(live_ws: Workspace, inproc) -> None:
    live_ws.write_spec(MIXED + BROKEN_ZENODO)
    done = inproc(live_ws, "sync", "--json", str(live_ws.specs))
    report = json.loads(done.out)
    assert (1, 1, {"downloaded": 3, "failed": 1}) == (done.code, report["exit_code"],
                                                      report["counts"])


def test_partial_success_names_the_failed_item_and_why(live_ws: Workspace, inproc) -> None:
    live_ws.write_spec(MIXED + BROKEN_ZENODO)
    report = json.loads(inproc(live_ws, "sync", "--json", str(live_ws.specs)).out)
    failed = [(i["item"], "99999" in i["message"]) for i in report["items"]
              if i["outcome"] == "failed"]
    assert [("lc100-missing", True)] == failed


def test_partial_success_exits_1_in_a_real_process(live_ws: Workspace) -> None:
    live_ws.write_spec(MIXED + BROKEN_ZENODO)
    done = fetcher(live_ws, "sync", str(live_ws.specs))
    assert (1, "4 item(s): 3 downloaded, 1 failed;") == (
        done.code, done.out.splitlines()[-1].split(" requests")[0])


def test_two_datasets_of_one_zenodo_record_each_get_their_own_file(ws: Workspace,
                                                                  inproc) -> None:
    from tests.ops.conftest import ZENODO_SPEC, spec_text

    ws.write_spec(spec_text(ZENODO_SPEC, SAME_RECORD % TREE_FILE))
    inproc(ws, "sync", "-q", str(ws.specs))
    assert [TREE_FILE] == sorted(p.name for p in (ws.data / "tree").iterdir())


def test_a_file_the_record_lacks_fails_even_after_the_record_was_listed(ws: Workspace,
                                                                       inproc) -> None:
    from tests.ops.conftest import ZENODO_SPEC, spec_text

    ws.write_spec(spec_text(ZENODO_SPEC, SAME_RECORD % "no-such-file.tif"))
    done = inproc(ws, "sync", "--json", str(ws.specs))
    assert (1, {"downloaded": 1, "failed": 1}) == (done.code, json.loads(done.out)["counts"])


# --- one reconciler per ledger -------------------------------------------------------

# A PostgreSQL ledger is shared: its workers split the items with leases and take no
# sync lock (tests/postgres/test_shared_ledger.py), so these hold for SQLite only.
SQLITE_LOCK = pytest.mark.sqlite_only(
    reason="one sync at a time is the rule of an SQLite ledger; a PostgreSQL one is shared")


@contextmanager
def holding(ws: Workspace) -> Iterator[None]:
    """This test process holds the ledger's sync lock."""
    with ws.ledger() as ledger:
        lock = ReconcilerLock(ledger, now=time.time, sleep=time.sleep)
        lock.acquire()
        try:
            yield
        finally:
            lock.release()


def _lock_rows(ws: Workspace) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(ws.db_file)) as db:
        return db.execute("SELECT pid, host FROM locks").fetchall()


def _insert_holder(ws: Workspace, pid: int, host: str, heartbeat: float) -> None:
    with closing(sqlite3.connect(ws.db_file)) as db, db:
        db.execute("INSERT INTO locks (name, holder, pid, host, since, heartbeat) "
                   "VALUES ('sync', ?, ?, ?, ?, ?)", (f"{pid}@{host}", pid, host,
                                                      heartbeat, heartbeat))


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


@SQLITE_LOCK
def test_a_second_sync_stops_at_once_naming_the_holder(synced: Workspace) -> None:
    with holding(synced):
        started = time.monotonic()
        done = fetcher(synced, "sync", str(synced.specs))
        took = time.monotonic() - started
    assert (1, f"error: another sync holds this ledger: pid {os.getpid()} on "
               f"{socket.gethostname()}, since", True) == (
        done.code, done.err.splitlines()[0].rsplit(" ", 3)[0], took < 10)


@SQLITE_LOCK
def test_a_stopped_second_sync_sends_no_request(synced: Workspace) -> None:
    synced.write_spec(MIXED.replace("regions: [ITC11]", "regions: [ITC11, ITC12]"))
    synced.emu.reset_stats()
    with holding(synced):
        fetcher(synced, "sync", str(synced.specs))
    assert [] == synced.emu.requests


@SQLITE_LOCK
def test_wait_lock_gives_up_after_the_given_seconds(synced: Workspace) -> None:
    with holding(synced):
        started = time.monotonic()
        done = fetcher(synced, "sync", "--wait-lock", "1", str(synced.specs))
        took = time.monotonic() - started
    assert (1, True) == (done.code, took >= 1.0)


@SQLITE_LOCK
def test_wait_lock_proceeds_when_the_holder_lets_go(synced: Workspace) -> None:
    with holding(synced):
        second = subprocess.Popen([sys.executable, "-m", "fetcher", "sync", "--wait-lock", "20",
                                   "-q", str(synced.specs)], env=synced.env(), cwd=synced.root,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        still_waiting = second.poll() is None
    out, _ = second.communicate(timeout=30)
    assert (True, 0, "3 item(s): 3 up-to-date") == (still_waiting, second.returncode,
                                                    out.split(";")[0])


@SQLITE_LOCK
def test_two_real_syncs_the_second_names_the_first(make_emulator, tmp_path) -> None:
    from tests.support.workspace import make_workspace

    emu = make_emulator(fake_clock=False, queued_seconds=2.0, in_progress_seconds=0.2)
    ws = make_workspace(tmp_path, emu)
    ws.write_spec(MIXED)
    first = subprocess.Popen([sys.executable, "-m", "fetcher", "sync", "-q", str(ws.specs)],
                             env=ws.env(), cwd=ws.root, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not _lock_rows(ws) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = fetcher(ws, "sync", str(ws.specs))
    first.communicate(timeout=30)
    assert (1, f"pid {first.pid} on {socket.gethostname()}", 0) == (
        second.code, second.err.splitlines()[0].split("ledger: ")[1].split(",")[0],
        first.returncode)


@SQLITE_LOCK
def test_the_lock_is_released_after_a_sync(synced: Workspace) -> None:
    assert [] == _lock_rows(synced)


@SQLITE_LOCK
def test_a_lock_row_left_by_a_dead_pid_is_recovered(synced: Workspace) -> None:
    _insert_holder(synced, _dead_pid(), socket.gethostname(), time.time())
    done = fetcher(synced, "sync", "-q", str(synced.specs))
    assert (0, []) == (done.code, _lock_rows(synced))


@SQLITE_LOCK
def test_a_stale_holder_on_another_host_is_recovered(synced: Workspace) -> None:
    _insert_holder(synced, 4242, "elsewhere.example", time.time() - 600)
    assert 0 == fetcher(synced, "sync", "-q", str(synced.specs)).code


@SQLITE_LOCK
def test_a_fresh_holder_on_another_host_blocks(synced: Workspace) -> None:
    _insert_holder(synced, 4242, "elsewhere.example", time.time())
    done = fetcher(synced, "sync", str(synced.specs))
    assert (1, "error: another sync holds this ledger: pid 4242 on elsewhere.example") == (
        done.code, done.err.splitlines()[0].split(",")[0])


def test_a_failed_item_says_what_to_do_once_and_names_itself_once(ws: Workspace, inproc) -> None:
    ws.write_spec("version: 1\ndatasets:\n  mask:\n    source: http\n"
                  f"    url: {ws.emu.urls.files}/random/100/x.bin\n"
                  f"    sha256: \"{'0' * 64}\"\n")
    done = inproc(ws, "sync", str(ws.specs))
    detail = next(line for line in done.out.splitlines() if line.startswith("mask "))
    hints = [line for line in done.out.splitlines() if line.startswith("hint: mask: ")]
    assert (1, 1, 1) == (done.code, detail.count("mask"), len(hints)), done.out
