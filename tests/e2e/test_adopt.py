"""A crash between intent, POST and record, for every kind of CLMS item, in-process.

``failpoints.hit`` is made to raise a BaseException where the real one SIGKILLs the
process: every ledger write is committed before it returns, so the ledger is left
exactly as a kill -9 leaves it (test_kill.py does the real kill for one kind).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fetcher import failpoints
from tests.e2e.conftest import KINDS, write_kinds
from tests.support.emulators import posts, server_tasks
from tests.support.workspace import Workspace


class Killed(BaseException):
    """Stands for SIGKILL: no handler of fetcher's catches it."""


def die_at(name: str) -> Callable[[str], None]:
    def hit(where: str) -> None:
        if where == name:
            raise Killed(where)
    return hit


def crash(ws: Workspace, monkeypatch: pytest.MonkeyPatch, failpoint: str) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(failpoints, "hit", die_at(failpoint))
        with pytest.raises(Killed):
            ws.sync()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_crash_after_the_post_is_repaired_by_adopting_the_task(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    write_kinds(ws, kind)
    crash(ws, monkeypatch, "after-post")
    report = ws.sync()
    (task_id,) = server_tasks(ws.emu)
    assert (1, "downloaded", task_id, True) == (
        posts(ws.emu), report.outcomes[0].outcome, report.outcomes[0].task_id,
        any(n.startswith(f"adopted task {task_id}") for n in report.outcomes[0].notes))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_crash_after_the_intent_is_repaired_by_posting_once(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    write_kinds(ws, kind)
    crash(ws, monkeypatch, "after-intent")
    report = ws.sync()
    assert (1, "downloaded") == (posts(ws.emu), report.outcomes[0].outcome)


def test_an_intent_that_never_reached_the_server_is_recorded_as_lost(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write_kinds(ws, "nuts")
    crash(ws, monkeypatch, "after-intent")
    ws.sync()
    with ws.ledger() as ledger:
        (key,) = ledger.snapshot().items
        first = ledger.tasks_of(key)[0]
    assert ("lost", None) == (first.status, first.task_id)


def test_a_crash_after_the_post_leaves_the_intent_without_a_task_id(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write_kinds(ws, "nuts")
    crash(ws, monkeypatch, "after-post")
    with ws.ledger() as ledger:
        (task,) = ledger.snapshot().tasks.values()
    assert ("intent", None, 1) == (task.status, task.task_id, posts(ws.emu))


def test_a_crash_after_the_post_while_the_task_finished_adopts_its_result(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write_kinds(ws, "nuts")
    crash(ws, monkeypatch, "after-post")
    ws.emu.clock.advance(3600)
    report = ws.sync()
    assert (1, "downloaded") == (posts(ws.emu), report.outcomes[0].outcome)
