"""A fresh sync asks for each CLMS item once; a second sync asks the servers nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import KINDS, write_kinds
from tests.support.consistency import check
from tests.support.emulators import posts
from tests.support.workspace import Workspace


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fresh_sync_posts_once_per_item_of_each_kind(ws: Workspace, kind: str) -> None:
    write_kinds(ws, kind)
    report = ws.sync()
    assert (0, ["downloaded"], 1) == (report.exit_code, [o.outcome for o in report.outcomes],
                                      posts(ws.emu))


def test_fresh_sync_of_every_kind_posts_one_request_per_item(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    report = ws.sync()
    assert (0, {"downloaded": 4}, 4) == (report.exit_code, report.count(), posts(ws.emu))


def test_fresh_sync_lists_tasks_once_per_round_not_per_item(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    ws.sync()
    searches = [r for r in ws.emu.requests if r.path.endswith("@datarequest_search")]
    polls_per_item = [r for r in ws.emu.requests if r.path.endswith("@datarequest_status_get")]
    assert (True, []) == (len(searches) < 4 * 4, polls_per_item)


def test_fresh_sync_leaves_exactly_the_recorded_files(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    ws.sync()
    assert [] == check(ws).problems


def test_every_item_gets_its_own_folder(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    ws.sync()
    folders = sorted({p.parent.relative_to(ws.data).parts[:2] for p in ws.data.rglob("*.tif")})
    assert [("builtup", "ITC11"), ("builtup-prd", "prd"), ("corine", "Results"),
            ("water", "ITC11")] == folders


def test_second_sync_sends_no_request_at_all(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    ws.sync()
    ws.emu.reset_stats()
    report = ws.sync()
    assert (0, {"up-to-date": 4}, []) == (report.exit_code, report.count(), ws.emu.requests)


def test_second_sync_makes_no_catalogue_search(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    ws.sync()
    ws.emu.reset_stats()
    ws.sync()
    assert (0, 0, 0) == (ws.emu.stats["searches"], posts(ws.emu), ws.emu.stats["token_grants"])


def test_fresh_sync_resolves_each_dataset_with_direct_queries(ws: Workspace) -> None:
    write_kinds(ws, *KINDS)
    ws.sync()
    assert 4 >= ws.emu.stats["searches"]


def test_every_task_status_is_recorded_with_time_and_message(ws: Workspace) -> None:
    write_kinds(ws, "nuts")
    ws.sync()
    with ws.ledger() as ledger:
        (key,) = ledger.snapshot().items
        (task,) = ledger.tasks_of(key)
        history = ledger.history(task.row)
    statuses = [(s, m) for s, m, _ in history]
    times = [t for _, _, t in history]
    assert ([("intent", ""), ("Queued", ""), ("In_progress", ""),
             ("Finished_ok", "Download process finished successfully")], times) == (
        statuses, sorted(times))
