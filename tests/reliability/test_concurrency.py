"""Concurrency: two and four syncs on one ledger at once.

The ledger promises one reconciler at a time: a second sync waits (``--wait-lock``)
or stops with a message naming the holder. Either way nothing is posted twice, the
ledger stays sound, and every process ends with a clear outcome.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.reliability.conftest import CLMS_ITEMS, every_source
from tests.reliability.figures import tally
from tests.support import consistency, ledgers
from tests.support.emulators import posts
from tests.support.workspace import Run, Workspace

LOCK_MESSAGE = "error: another sync holds this ledger"


def together(ws: Workspace, count: int, *args: str) -> list[Run]:
    """Start ``count`` syncs at once and wait for them all."""
    procs = [ws.start(*args) for _ in range(count)]
    runs = [ws.finish(proc, list(args)) for proc in procs]
    tally(trials=1)
    return runs


def clear(run: Run) -> bool:
    """Success, or the one-line lock refusal (exit 1); never a traceback."""
    return (run.code == 0 or (run.code == 1 and run.stderr.startswith(LOCK_MESSAGE))) \
        and "Traceback" not in run.stderr


def init_ledger(ws: Workspace) -> None:
    """Create the ledger first, so that the syncs race on the lock only."""
    assert 0 == ws.cli("upgrade", command="db").code


def integrity(ws: Workspace) -> str:
    with sqlite3.connect(ws.db_file) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    return str(result)


@pytest.mark.parametrize("count", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_syncs_started_together_on_a_ledger_in_use_each_end_clearly(
        ws: Workspace, count: int) -> None:
    ws.write_spec(every_source(ws.emu))
    assert 0 == ws.cli("--no-wait").code
    runs = together(ws, count)
    assert [True] * count == [clear(r) for r in runs], [r.stderr for r in runs]


def together_then_done(ws: Workspace, count: int) -> None:
    """``count`` syncs of every source started at once on a ledger, then one to the end."""
    ws.write_spec(every_source(ws.emu))
    init_ledger(ws)
    together(ws, count)
    ws.until_done()


@pytest.mark.parametrize("count", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_syncs_started_together_on_a_ledger_post_each_item_once(
        ws: Workspace, count: int) -> None:
    together_then_done(ws, count)
    tally(duplicate_posts=max(0, posts(ws.emu) - CLMS_ITEMS))
    assert (CLMS_ITEMS, []) == (posts(ws.emu), consistency.check(ws).problems)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("count", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_syncs_started_together_on_a_ledger_leave_a_sound_sqlite_file(
        ws: Workspace, count: int) -> None:
    together_then_done(ws, count)
    assert "ok" == integrity(ws)


@pytest.mark.parametrize("count", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_syncs_that_wait_for_the_lock_all_succeed(ws: Workspace, count: int) -> None:
    ws.write_spec(every_source(ws.emu))
    init_ledger(ws)
    runs = together(ws, count, "--wait-lock", "60")
    assert ([0] * count, CLMS_ITEMS) == ([r.code for r in runs], posts(ws.emu)), [
        r.stderr[-400:] for r in runs]


def test_processes_that_open_a_new_ledger_together_all_succeed(ws: Workspace) -> None:
    # The race is a matter of timing: try rounds of four until one shows it.
    failures: list[str] = []
    for round_ in range(10):
        ws.env_overrides["FETCHER_DB"] = ledgers.new(ws.root, migrated=False,
                                                     name=f"new-{round_}.db")
        procs = [ws.start("upgrade", command="db") for _ in range(4)]
        runs = [ws.finish(proc, ["db", "upgrade"]) for proc in procs]
        tally(trials=1)
        failures = [r.stderr.strip() for r in runs if r.code != 0]
        if failures:
            break
    assert [] == failures
