"""What the server throws at a sync: duplicates, expiry, 403s, expired tokens, odd tasks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from fetcher.emulator import Emulator
from fetcher.transfer.http import Http
from tests.e2e.conftest import LC100_UID, write_kinds
from tests.support.consistency import check
from tests.support.emulators import posts, server_tasks
from tests.support.workspace import Workspace, make_workspace

RESULT_TTL = 72 * 3600


def statuses_of(ws: Workspace) -> list[list[str]]:
    """Every task of the workspace's only item, each as its list of statuses."""
    with ws.ledger() as ledger:
        (key,) = ledger.snapshot().items
        return [[s for s, _, _ in ledger.history(t.row)] for t in ledger.tasks_of(key)]


class RacingHttp(Http):
    """An Http whose first data request is beaten to the server by an identical one.

    Another client (a second machine, a colleague) posts the same item between our
    task listing and our POST, so the server answers ours "same thing at least twice".
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.raced = False

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if method == "POST" and url.endswith("@datarequest_post") and not self.raced:
            self.raced = True
            super().request(method, url, **kwargs).close()
        return super().request(method, url, **kwargs)


def test_the_same_thing_twice_answer_adopts_the_existing_task(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    http = RacingHttp(sleep=ws.emu.clock.advance, now=ws.emu.clock.now)
    try:
        report = ws.sync(http=http)
    finally:
        http.close()
    (task_id,) = server_tasks(ws.emu)
    refused = [r.status for r in ws.emu.requests if r.path.endswith("@datarequest_post")]
    assert ([201, 400], "downloaded", task_id) == (
        refused, report.outcomes[0].outcome, report.outcomes[0].task_id)


def test_a_result_that_expired_before_download_is_requested_again(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    ws.emu.clock.advance(RESULT_TTL + 3600)
    report = ws.sync()
    assert (2, "downloaded", [["intent", "Queued", "Finished_ok"],
                              ["intent", "Queued", "In_progress", "Finished_ok"]]) == (
        posts(ws.emu), report.outcomes[0].outcome, statuses_of(ws))


def test_an_expired_result_is_not_downloaded(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    ws.emu.clock.advance(RESULT_TTL + 3600)
    ws.sync()
    fme = [r.status for r in ws.emu.requests if r.host == "fme"]
    assert [200] == fme


def test_403_from_the_download_host_after_finishing_is_waited_out(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(forbid_after_finish=120))
    write_kinds(ws, "nuts")
    report = ws.sync()
    fme = [r.status for r in ws.emu.requests if r.host == "fme"]
    assert ("downloaded", 403, 200, 1) == (report.outcomes[0].outcome, fme[0], fme[-1],
                                           posts(ws.emu))


def test_a_token_expiring_mid_poll_recovers(ws: Workspace) -> None:
    write_kinds(ws, "nuts")

    def log(line: str) -> None:
        if line.startswith("waiting"):
            ws.emu.faults.script("clms", "expire_token")

    report = ws.sync(log=log)
    unauthorized = [r.path for r in ws.emu.requests if r.status == 401]
    assert ("downloaded", 1, True) == (report.outcomes[0].outcome, posts(ws.emu),
                                       len(unauthorized) >= 1 and all(
                                           p.endswith("@datarequest_search") for p in unauthorized))


def test_a_token_that_lives_shorter_than_the_task_is_renewed(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(token_lifetime=60, in_progress_seconds=600))
    write_kinds(ws, "nuts")
    report = ws.sync()
    assert ("downloaded", 1, True) == (report.outcomes[0].outcome, posts(ws.emu),
                                       ws.emu.stats["token_grants"] > 1)


def test_cdse_child_tasks_in_the_task_list_are_tolerated(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(cdse_children=True))
    write_kinds(ws, "nuts", "bbox")
    report = ws.sync()
    children = [t for t in ws.emu.tasks.all() if t.child]
    assert (0, {"downloaded": 2}, 2, 4) == (report.exit_code, report.count(), posts(ws.emu),
                                            len(children))


def test_an_unknown_status_of_our_task_is_recorded_and_waited_on(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    (task,) = ws.emu.tasks.all()
    task.record["Status"] = "In progress"  # the spelling a CDSE parent gets (clms-api.md §5.1)
    task.settled = True
    report = ws.sync(timeout=600)
    assert ("waiting", "In progress", ["intent", "Queued", "In progress"]) == (
        report.outcomes[0].outcome, report.outcomes[0].server_status, statuses_of(ws)[0])


def test_timeout_stops_waiting_and_a_later_sync_picks_the_task_up(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(schedule={LC100_UID: (10**9, 60)}))
    write_kinds(ws, "nuts")
    start = ws.emu.clock.now()
    first = ws.sync(timeout=600)
    waited = ws.emu.clock.now() - start
    (task_id,) = server_tasks(ws.emu)
    ws.emu.tasks.force(task_id, "Finished_ok")
    second = ws.sync()
    assert ("waiting", True, "downloaded", 1) == (
        first.outcomes[0].outcome, waited <= 600, second.outcomes[0].outcome, posts(ws.emu))


def test_timeout_leaves_exit_code_1(tmp_path: Path,
                                    make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(schedule={LC100_UID: (10**9, 60)}))
    write_kinds(ws, "nuts")
    assert 1 == ws.sync(timeout=600).exit_code


def test_no_wait_submits_and_returns_at_once(ws: Workspace) -> None:
    write_kinds(ws, "nuts", "prepackaged")
    start = ws.emu.clock.now()
    report = ws.sync(wait=False)
    assert (0, {"waiting": 2}, 2, start) == (report.exit_code, report.count(), posts(ws.emu),
                                             ws.emu.clock.now())


def test_a_sync_after_no_wait_polls_once_at_start(ws: Workspace) -> None:
    write_kinds(ws, "nuts", "prepackaged")
    ws.sync(wait=False)
    ws.emu.clock.advance(600)
    ws.emu.reset_stats()
    start = ws.emu.clock.now()
    report = ws.sync()
    assert ({"downloaded": 2}, 0, 1, start) == (report.count(), posts(ws.emu),
                                                ws.emu.stats["polls"], ws.emu.clock.now())


def test_a_no_wait_sync_after_no_wait_polls_once(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    ws.emu.clock.advance(40)
    ws.emu.reset_stats()
    report = ws.sync(wait=False)
    assert ("waiting", "In_progress", 1) == (report.outcomes[0].outcome,
                                              report.outcomes[0].server_status,
                                              ws.emu.stats["polls"])


def test_a_task_gone_from_the_server_is_requested_again(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    ws.emu.tasks._tasks.clear()  # an admin cleanup view deleted it (clms-api.md §5.3)
    ws.emu.clock.advance(60)
    report = ws.sync()
    assert ("downloaded", 2) == (report.outcomes[0].outcome, posts(ws.emu))


def test_files_deleted_locally_are_fetched_again_from_the_live_result(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync()
    for path in ws.data.rglob("*.tif"):
        path.unlink()
    ws.emu.reset_stats()
    report = ws.sync()
    assert ("downloaded", 0, []) == (report.outcomes[0].outcome, posts(ws.emu),
                                     check(ws).problems)


def test_a_403_that_outlasts_the_retry_window_is_downloaded_by_the_next_sync(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(forbid_after_finish=900))
    write_kinds(ws, "nuts")
    first = ws.sync()
    ws.emu.clock.advance(900)
    second = ws.sync()
    assert ("failed", "downloaded", 1, []) == (
        first.outcomes[0].outcome, second.outcomes[0].outcome, posts(ws.emu), check(ws).problems)


def test_a_result_the_server_expired_early_is_requested_again(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    # The docs say 72 h; older docs said 10 days and xcube-clms assumes 24 h (§5.6).
    ws = make_workspace(tmp_path, make_emulator(result_ttl=24 * 3600))
    write_kinds(ws, "nuts")
    ws.sync(wait=False)
    ws.emu.clock.advance(30 * 3600)
    report = ws.sync()  # the 404 past the "not ready" window: requested again in this run
    ws.emu.clock.advance(3600)
    again = ws.sync()
    assert ("downloaded", "up-to-date", 2) == (
        report.outcomes[0].outcome, again.outcomes[0].outcome, posts(ws.emu))


def test_foreign_tasks_of_unknown_shape_in_the_task_list_are_tolerated(ws: Workspace) -> None:
    from fetcher.emulator.tasks import Task

    user = "n00015mf"
    for n, record in enumerate([
            {"Status": "Paused", "UserID": user},  # a status nobody documented
            {"Status": "In progress", "UserID": user, "Datasets": "not a list"},
            {"Status": "FINISHED_OK", "UserID": user, "Datasets": {"DatasetID": LC100_UID},
             "cdse_task_role": "child"}]):
        ws.emu.tasks._tasks[f"99{n}"] = Task(f"99{n}", record, 0.0, 0, 0, None, False,
                                             settled=True)
    write_kinds(ws, "nuts")
    report = ws.sync()
    assert ("downloaded", 1) == (report.outcomes[0].outcome, posts(ws.emu))


def test_adding_a_region_later_posts_for_it_alone_without_a_catalogue_search(
        ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync()
    ws.write_spec(ws.specs.joinpath("specs.yaml").read_text().replace("[ITC11]", "[ITC11, ES51]"))
    ws.emu.reset_stats()
    report = ws.sync()
    assert ({"up-to-date": 1, "downloaded": 1}, 1, 0) == (
        report.count(), posts(ws.emu), ws.emu.stats["searches"])
