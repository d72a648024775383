"""Failed, rejected and cancelled tasks: recorded with the server's message, reported,
requested again on a later sync within the retry budget (3), then held."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fetcher.emulator import Emulator, Outcome
from tests.e2e.conftest import LC100_UID, write_kinds
from tests.support.emulators import posts
from tests.support.workspace import Workspace, make_workspace

NOK = "FME workspace failed: raster too large"
REJECTED = "Rejected: the area is outside the product's coverage"


@pytest.fixture
def failing(tmp_path, make_emulator: Callable[..., Emulator]) -> Workspace:
    """A workspace whose LC100 tasks all end Finished_nok with the message NOK."""
    emu = make_emulator(outcomes={LC100_UID: Outcome("Finished_nok", NOK)})
    ws = make_workspace(tmp_path, emu)
    write_kinds(ws, "nuts")
    return ws


@pytest.fixture
def rejecting(tmp_path, make_emulator: Callable[..., Emulator]) -> Workspace:
    emu = make_emulator(outcomes={LC100_UID: Outcome("Rejected", REJECTED)})
    ws = make_workspace(tmp_path, emu)
    write_kinds(ws, "nuts")
    return ws


def test_finished_nok_is_recorded_with_the_server_message(failing: Workspace) -> None:
    failing.sync()
    with failing.ledger() as ledger:
        (key,) = ledger.snapshot().items
        first = ledger.tasks_of(key)[0]
        history = [(s, m) for s, m, _ in ledger.history(first.row)]
    assert ("Finished_nok", NOK) == history[-1]


def test_finished_nok_is_shown_in_the_report(failing: Workspace) -> None:
    report = failing.sync()
    (outcome,) = report.outcomes
    assert ("failed", True, "Finished_nok", 1) == (
        outcome.outcome, NOK in outcome.message, outcome.server_status, report.exit_code)


def test_a_failed_task_is_not_requested_again_in_the_same_sync(failing: Workspace) -> None:
    failing.sync()
    assert 1 == posts(failing.emu)


def later_syncs(ws: Workspace, count: int) -> None:
    """``count`` syncs with --no-wait, a task's lifetime apart (each sync posts at most once)."""
    for _ in range(count):
        ws.sync(wait=False)
        ws.emu.clock.advance(3600)


def test_a_failed_task_is_requested_again_on_a_later_sync(failing: Workspace) -> None:
    later_syncs(failing, 2)
    assert 2 == posts(failing.emu)


def test_a_failed_item_is_held_once_its_retry_budget_is_spent(failing: Workspace) -> None:
    later_syncs(failing, 4)
    failing.emu.reset_stats()
    report = failing.sync()
    (outcome,) = report.outcomes
    assert (0, "failed", True, 1) == (posts(failing.emu), outcome.outcome,
                                      "retry budget spent (3/3)" in outcome.message,
                                      report.exit_code)


def test_the_retry_budget_is_three_requests(failing: Workspace) -> None:
    later_syncs(failing, 6)
    assert 3 == len(failing.emu.tasks.all())


def test_retry_failed_requests_a_held_item_again(failing: Workspace) -> None:
    later_syncs(failing, 4)
    failing.emu.reset_stats()
    failing.sync(retry_failed=True, wait=False)
    assert 1 == posts(failing.emu)


def test_retry_failed_requests_a_held_item_once_per_sync(failing: Workspace) -> None:
    later_syncs(failing, 4)
    failing.emu.reset_stats()
    failing.sync(retry_failed=True, timeout=3600)  # the timeout bounds a regression
    assert 1 == posts(failing.emu)


def test_rejected_is_recorded_with_the_server_message_and_reported(rejecting: Workspace) -> None:
    report = rejecting.sync()
    (outcome,) = report.outcomes
    with rejecting.ledger() as ledger:
        (key,) = ledger.snapshot().items
        statuses = [(t.status, t.message) for t in ledger.tasks_of(key)]
    assert (("Rejected", REJECTED), "failed", True) == (
        statuses[0], outcome.outcome, REJECTED in outcome.message)


def test_a_rejected_task_is_requested_again_on_a_later_sync(rejecting: Workspace) -> None:
    later_syncs(rejecting, 2)
    assert 2 == posts(rejecting.emu)


def test_a_task_cancelled_on_the_server_is_recorded_and_requested_again(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    (task_id,) = ws.emu.tasks._tasks
    ws.emu.tasks.cancel(ws.emu.tasks.get(task_id))
    ws.emu.clock.advance(60)
    report = ws.sync()
    with ws.ledger() as ledger:
        (key,) = ledger.snapshot().items
        tasks = ledger.tasks_of(key)
        first = [s for s, _, _ in ledger.history(tasks[0].row)]
    assert (["intent", "Queued", "Cancelled"], 2, "downloaded") == (
        first, len(tasks), report.outcomes[0].outcome)


def test_fme_refusing_the_task_is_reported_and_the_orphan_cancelled(
        tmp_path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(fme_fails=True))
    write_kinds(ws, "nuts")
    report = ws.sync()
    (task,) = ws.emu.tasks.all()
    assert ("failed", True, 1, "Cancelled") == (
        report.outcomes[0].outcome, "all requests failed" in report.outcomes[0].message,
        ws.emu.stats["deletes"], task.record["Status"])


def test_after_fme_recovers_a_later_sync_requests_the_item_again(
        tmp_path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(fme_fails=True))
    write_kinds(ws, "nuts")
    ws.sync()
    ws.emu.config.fme_fails = False
    report = ws.sync()
    assert ("downloaded", 2) == (report.outcomes[0].outcome, posts(ws.emu))


def test_an_adopted_task_that_fails_is_not_requested_again_in_the_same_sync(
        failing: Workspace) -> None:
    from tests.e2e.test_recovery import RacingHttp

    http = RacingHttp(sleep=failing.emu.clock.advance, now=failing.emu.clock.now)
    try:
        failing.sync(http=http)
    finally:
        http.close()
    assert 1 == len(failing.emu.tasks.all())
