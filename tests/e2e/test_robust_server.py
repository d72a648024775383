"""A flaky or slow CLMS server costs time, never items (issue 17, the server's side).

POSTs answered 5xx or cut off, tasks that go stale, CDSE answers without a task id, two
items asking for the same file, and runs of expired tokens: each against the emulator
over real sockets, with the fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fetcher import failpoints
from fetcher.emulator import Emulator, FaultRates
from fetcher.emulator.catalogue import CDSE_UID, CORINE_FILE_ID
from fetcher.ops.status import plan_specs, status
from fetcher.ops.sync import sync
from fetcher.reconcile.apply import SyncOptions
from fetcher.reconcile.report import Report
from fetcher.transfer.http import Http
from tests.e2e.conftest import KINDS, LC100_UID, PREPACKAGED_SPEC, write_kinds
from tests.support.consistency import check
from tests.support.emulators import posts, server_tasks
from tests.support.specs import spec_text
from tests.support.workspace import Workspace, make_workspace

HOUR = 3600.0
DAY = 24 * HOUR
STUCK = (10**9, 60)  # a schedule that stays Queued for ever
CDSE_SPEC = f"""\
  trajectories:
    source: clms
    uid: {CDSE_UID}
    format: Geotiff
    crs: EPSG:3035
    regions: [DK]
    time: {{start: 2020-01-01, end: 2020-01-11}}
"""
TWIN_SPEC = """\
  corine-by-name:
    source: clms
    dataset: clc2018
    file: U2018_CLC2018_V2020_20u1.zip
"""  # the same FileID as PREPACKAGED_SPEC, named another way: another item


class Killed(BaseException):
    """Stands for SIGKILL at a failpoint: nothing in fetcher catches it."""


def crash_after_post(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def hit(where: str) -> None:
        if where == "after-post":
            raise Killed(where)

    with monkeypatch.context() as patch:
        patch.setattr(failpoints, "hit", hit)
        with pytest.raises(Killed):
            ws.sync()


def sync_with(ws: Workspace, stale_after: float, log: Callable[[str], None] | None = None,
              **options: Any) -> Report:
    """An in-process sync with ``FETCHER_CLMS_STALE_AFTER`` set to ``stale_after`` seconds."""
    settings = replace(ws.settings, clms_stale_after=stale_after)
    http = Http(sleep=ws.emu.clock.advance, now=ws.emu.clock.now)
    try:
        return sync([ws.specs], settings, SyncOptions(**options), http=http, log=log)
    finally:
        http.close()


def tasks_per_item(emu: Emulator) -> list[int]:
    """How many server tasks hold each requested item."""
    return sorted(emu.tasks.count_by_item().values())


def post_statuses(emu: Emulator) -> list[int]:
    return [r.status for r in emu.requests if r.path.endswith("@datarequest_post")]


def deletes(emu: Emulator) -> int:
    return emu.stats["deletes"]


def notes(report: Report) -> list[str]:
    return [n for o in report.outcomes for n in o.notes]


def only_task(emu: Emulator) -> str:
    (task_id,) = server_tasks(emu)
    return task_id


def stuck_queued(emu: Emulator) -> str:
    """Hold the only server task Queued for ever (as the tasks "lost for six days")."""
    task_id = only_task(emu)
    emu.tasks.force(task_id, "Queued")
    return task_id


# --- 1. a POST answered 5xx or cut off ---------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_a_fresh_sync_under_20_percent_5xx_everywhere_makes_one_task_per_item(
        tmp_path: Path, make_emulator: Callable[..., Emulator], seed: int) -> None:
    emu = make_emulator(seed=seed, faults={
        "clms": FaultRates(error_503=0.2, post_fault_after_create=0.5),
        "fme": FaultRates(error_503=0.2)})
    ws = make_workspace(tmp_path, emu)
    write_kinds(ws, *sorted(KINDS))
    report = ws.sync()
    assert (0, {"downloaded": 4}, [1, 1, 1, 1], []) == (
        report.exit_code, report.count(), tasks_per_item(emu), check(ws).problems)


@pytest.mark.parametrize("mode", ["after_500", "after_503", "after_drop"])
def test_a_post_that_made_its_task_before_failing_adopts_that_task(
        ws: Workspace, mode: str) -> None:
    write_kinds(ws, "nuts")
    ws.emu.post_faults.script(mode)
    report = ws.sync()
    task_id = only_task(ws.emu)
    assert ("downloaded", task_id, 1, True) == (
        report.outcomes[0].outcome, report.outcomes[0].task_id, posts(ws.emu),
        any(f"made task {task_id}: adopted it" in n for n in notes(report)))


def test_a_post_answered_503_before_any_task_is_posted_again_in_the_same_run(
        ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.emu.post_faults.script("before_503", "before_503")
    report = ws.sync()
    assert (0, "downloaded", [503, 503, 201], [1]) == (
        report.exit_code, report.outcomes[0].outcome, post_statuses(ws.emu),
        tasks_per_item(ws.emu))


def test_posts_that_keep_failing_stop_at_the_bound_and_leave_no_task(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.emu.post_faults.set(before_503=1.0)
    start = ws.emu.clock.now()
    report = ws.sync()
    waited = ws.emu.clock.now() - start
    assert ("failed", [503] * 4, {}, True) == (
        report.outcomes[0].outcome, post_statuses(ws.emu), server_tasks(ws.emu),
        0 < waited < 600)


def test_a_post_failing_on_the_orphan_path_cancels_it_and_posts_again(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.emu.post_faults.script("orphan")
    report = ws.sync()
    statuses = sorted(t["Status"] for t in server_tasks(ws.emu).values())
    assert ("downloaded", ["Cancelled", "Finished_ok"], 1) == (
        report.outcomes[0].outcome, statuses, deletes(ws.emu))


# --- 4. stale tasks -----------------------------------------------------------------------

def test_status_and_plan_show_a_stale_task(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    stuck_queued(ws.emu)
    now = ws.emu.clock.now() + 25 * HOUR
    (row,) = status([ws.specs], ws.settings, now=now).items
    _, current = plan_specs([ws.specs], ws.settings, now=now)
    (step,) = current.steps
    assert ("stale", "resubmit", True) == (
        row.state, step.action.value, step.reason.startswith("stale: task"))


def test_the_cli_shows_a_stale_task_after_fetcher_clms_stale_after(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    import time

    ws = make_workspace(tmp_path, make_emulator(start_time=time.time() - 3 * HOUR,
                                                schedule={LC100_UID: STUCK}))
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    fresh = ws.fetcher("status", "--json", str(ws.specs))
    stale = ws.fetcher("status", "--json", str(ws.specs), FETCHER_CLMS_STALE_AFTER="2")
    planned = ws.fetcher("plan", "--json", str(ws.specs), FETCHER_CLMS_STALE_AFTER="2")
    assert ("waiting", "stale", "resubmit") == (
        json.loads(fresh.stdout)["items"][0]["state"],
        json.loads(stale.stdout)["items"][0]["state"],
        json.loads(planned.stdout)["steps"][0]["action"])


def test_sync_cancels_a_stale_task_and_requests_the_item_again(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    old = stuck_queued(ws.emu)
    ws.emu.clock.advance(25 * HOUR)
    report = ws.sync()
    tasks = server_tasks(ws.emu)
    (new,) = set(tasks) - {old}
    assert ("downloaded", new, "Cancelled", 1, 2, []) == (
        report.outcomes[0].outcome, report.outcomes[0].task_id, tasks[old]["Status"],
        deletes(ws.emu), posts(ws.emu), check(ws).problems)


def test_a_task_that_goes_stale_while_waited_on_is_cancelled_and_requested_again(
        ws: Workspace) -> None:
    write_kinds(ws, "nuts")

    def log(line: str) -> None:
        if line.startswith("waiting") and len(server_tasks(ws.emu)) == 1:
            ws.emu.tasks.force(only_task(ws.emu), "Queued")

    report = sync_with(ws, 2 * HOUR, log=log)
    statuses = sorted(t["Status"] for t in server_tasks(ws.emu).values())
    assert ("downloaded", ["Cancelled", "Finished_ok"], 1, 2) == (
        report.outcomes[0].outcome, statuses, deletes(ws.emu), posts(ws.emu))


def test_tasks_that_always_go_stale_are_requested_again_only_within_the_retry_budget(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(schedule={LC100_UID: STUCK}))
    write_kinds(ws, "nuts")
    report = sync_with(ws, 2 * HOUR, timeout=2 * DAY)
    alive = [t for t in server_tasks(ws.emu).values() if t["Status"] == "Queued"]
    with ws.ledger() as ledger:
        (record,) = ledger.snapshot().items.values()
    assert ("failed", 3, 3, [], 3) == (
        report.outcomes[0].outcome, posts(ws.emu), deletes(ws.emu), alive, record.attempts)


def test_adoption_never_takes_a_stale_task_it_cancels_it_and_posts_again(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write_kinds(ws, "nuts")
    crash_after_post(ws, monkeypatch)
    old = stuck_queued(ws.emu)
    ws.emu.clock.advance(25 * HOUR)
    report = ws.sync()
    tasks = server_tasks(ws.emu)
    with ws.ledger() as ledger:
        (key,) = ledger.snapshot().items
        events = [message for _, _, _, message in ledger.events(key)]
        first = ledger.tasks_of(key)[0]
    assert ("downloaded", "Cancelled", 1, 2, False, True) == (
        report.outcomes[0].outcome, tasks[old]["Status"], deletes(ws.emu), posts(ws.emu),
        "never reached the server" in first.message,
        any(old in e and "stale" in e for e in events))


def test_adoption_never_takes_a_finished_task_whose_result_expired(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write_kinds(ws, "nuts")
    crash_after_post(ws, monkeypatch)
    old = only_task(ws.emu)
    ws.emu.clock.advance(80 * HOUR)
    report = ws.sync()
    fme = [r.status for r in ws.emu.requests if r.host == "fme"]
    assert ("downloaded", 2, True, [200]) == (
        report.outcomes[0].outcome, posts(ws.emu), report.outcomes[0].task_id != old, fme)


# --- 6. CDSE-only answers -----------------------------------------------------------------

def test_a_cdse_post_answered_without_a_task_id_adopts_the_task_listed_later(
        ws: Workspace) -> None:
    ws.write_spec(spec_text(CDSE_SPEC))
    report = ws.sync()
    (parent,) = server_tasks(ws.emu)
    assert (0, "downloaded", parent, 1, []) == (
        report.exit_code, report.outcomes[0].outcome, report.outcomes[0].task_id,
        posts(ws.emu), check(ws).problems)


def test_a_sync_after_a_no_wait_cdse_post_looks_for_its_task_at_once(ws: Workspace) -> None:
    ws.write_spec(spec_text(CDSE_SPEC))
    ws.sync(wait=False)
    ws.emu.clock.advance(600)
    ws.emu.reset_stats()
    start = ws.emu.clock.now()
    report = ws.sync()
    assert ("downloaded", 0, 1, start) == (
        report.outcomes[0].outcome, posts(ws.emu), ws.emu.stats["polls"], ws.emu.clock.now())


# --- 7. two items, one FileID --------------------------------------------------------------

def test_two_items_with_the_same_file_id_share_one_server_task(ws: Workspace) -> None:
    ws.write_spec(spec_text(PREPACKAGED_SPEC, TWIN_SPEC))
    report = ws.sync()
    (task_id,) = server_tasks(ws.emu)
    assert ({"downloaded": 2}, 1, [task_id, task_id], [1], []) == (
        report.count(), posts(ws.emu), [o.task_id for o in report.outcomes],
        tasks_per_item(ws.emu), check(ws).problems)


def test_an_item_added_later_with_the_same_file_id_adopts_the_finished_task(
        ws: Workspace) -> None:
    ws.write_spec(spec_text(PREPACKAGED_SPEC))
    ws.sync()
    ws.write_spec(spec_text(PREPACKAGED_SPEC, TWIN_SPEC))
    report = ws.sync()
    assert ({"up-to-date": 1, "downloaded": 1}, 1, [1]) == (
        report.count(), posts(ws.emu), tasks_per_item(ws.emu))


def test_twins_with_the_same_file_id_and_another_item_leave_no_duplicate_blocking(
        ws: Workspace) -> None:
    ws.write_spec(spec_text(PREPACKAGED_SPEC, TWIN_SPEC, KINDS["nuts"]))
    report = ws.sync()
    counted = ws.emu.tasks.count_by_item()
    corine = [n for k, n in counted.items() if CORINE_FILE_ID in k]
    assert ({"downloaded": 3}, 2, [1]) == (report.count(), posts(ws.emu), corine)


# --- 11. tokens ---------------------------------------------------------------------------

class ExpiringHttp(Http):
    """An Http whose first data request meets expired-token answers twice in a row.

    A scripted fault strikes the next request of the host, the token exchange
    included (where it does nothing): three give the POST two 401s in a row.
    """

    def __init__(self, emu: Emulator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.emu = emu
        self.struck = False

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        if url.endswith("@datarequest_post") and not self.struck:
            self.struck = True
            self.emu.faults.script("clms", "expire_token", "expire_token", "expire_token")
        return super().request(method, url, **kwargs)


def test_two_expired_token_answers_to_a_post_mint_again_and_carry_on(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    http = ExpiringHttp(ws.emu, sleep=ws.emu.clock.advance, now=ws.emu.clock.now)
    try:
        report = ws.sync(http=http)
    finally:
        http.close()
    assert (0, "downloaded", [401, 401, 201], [1]) == (
        report.exit_code, report.outcomes[0].outcome, post_statuses(ws.emu),
        tasks_per_item(ws.emu))


def test_expired_token_answers_while_polling_mint_again_and_carry_on(ws: Workspace) -> None:
    write_kinds(ws, "nuts")

    def log(line: str) -> None:
        if line.startswith("waiting"):
            ws.emu.faults.script("clms", "expire_token", "expire_token", "expire_token")

    report = ws.sync(log=log)
    assert (0, "downloaded", True) == (
        report.exit_code, report.outcomes[0].outcome, ws.emu.stats["token_grants"] >= 4)


def test_tokens_refused_past_the_bound_end_the_sync_with_exit_2_and_a_json_error(
        live_ws: Workspace) -> None:
    write_kinds(live_ws, "nuts")
    live_ws.emu.faults.set("clms", expire_token=1.0)
    run = live_ws.cli("--json")
    document = json.loads(run.stdout)
    assert (2, 2, True, True) == (
        run.code, document["exit_code"], "freshly issued tokens" in document["error"]["message"],
        "error:" in run.stderr)

