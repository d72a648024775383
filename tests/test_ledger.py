"""The ledger: built by its migrations, agreeing with its models, refusing newer schemas.

Every ledger here is a real SQLite file (a PostgreSQL schema on the
``--ledger-on-postgres`` pass) created by ``Ledger.open``, which runs the Alembic
migrations in ``migrations/``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, text

from fetcher.cli import run
from fetcher.errors import LedgerError
from fetcher.ledger import Ledger
from fetcher.ledger.db import HEAD, current_revision
from fetcher.ledger.models import Base
from fetcher.types import FileRecord, Item, ItemRecord, SourceKind
from tests.support import ledgers

MIGRATIONS = Path(__file__).parent.parent / "migrations"
NOW = 1_700_000_000.0


def clock() -> float:
    return NOW


@pytest.fixture
def path(tmp_path: Path) -> str:
    """Where a new ledger goes: the file ``l.db``, or an empty PostgreSQL schema."""
    return ledgers.new(tmp_path, migrated=False, name="l.db")


@pytest.fixture
def ledger(path: str) -> Iterator[Ledger]:
    with Ledger.open(path, now=clock) as opened:
        yield opened


def make_item(key: str = "k1", dataset: str = "builtup", region: str | None = "CN") -> Item:
    return Item(key=key, dataset=dataset, region=region, source=SourceKind.CLMS,
                request={"source": "clms", "ref": {"uid": "a" * 32}, "area": {"nuts": region}})


def set_revision(path: str, revision: str) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


# --- schema -----------------------------------------------------------------------


def test_head_is_the_newest_migration() -> None:
    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == HEAD


def test_opening_a_new_path_migrates_it_to_head(ledger: Ledger) -> None:
    assert HEAD == current_revision(ledger.engine)


def test_models_and_migrations_agree(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert [] == compare_metadata(context, Base.metadata)


@pytest.mark.sqlite_only
def test_sqlite_ledger_is_in_wal_mode(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        assert "wal" == conn.execute(text("PRAGMA journal_mode")).scalar()


@pytest.mark.sqlite_only
def test_wal_mode_is_recorded_in_the_file(path: str) -> None:
    with Ledger.open(path):
        pass
    with closing(sqlite3.connect(path)) as conn:
        assert ("wal",) == conn.execute("PRAGMA journal_mode").fetchone()


def test_foreign_keys_are_enforced(ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        ledger.add_intent("no-such-item", {})


@pytest.mark.sqlite_only
def test_reopening_a_current_ledger_reads_one_row_and_migrates_nothing(path: str) -> None:
    with Ledger.open(path):
        pass
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with Ledger.open(path):
            pass
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert ["SELECT version_num FROM alembic_version"] == [
        s for s in statements if not s.startswith("PRAGMA")]


@pytest.mark.sqlite_only
def test_ledger_of_a_newer_schema_is_refused(path: str) -> None:
    with Ledger.open(path):
        pass
    set_revision(path, "9999")
    with pytest.raises(LedgerError, match="schema revision 9999, newer than this fetcher"):
        Ledger.open(path)


@pytest.mark.sqlite_only
def test_db_upgrade_refuses_a_newer_ledger_with_exit_2(path: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with Ledger.open(path):
        pass
    set_revision(path, "9999")
    assert 2 == run(["db", "upgrade", "--db", path])


@pytest.mark.sqlite_only
def test_db_upgrade_says_why_it_refuses_in_one_error_line(
        path: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Ledger.open(path):
        pass
    set_revision(path, "9999")
    run(["db", "upgrade", "--db", path])
    err = capsys.readouterr().err
    assert [f"error: the ledger at sqlite:///{path} has schema revision 9999, newer than this "
            f"fetcher knows (head {HEAD})"] == [
        line for line in err.splitlines() if line.startswith("error:")]


@pytest.mark.sqlite_only
def test_db_upgrade_refusal_has_no_traceback(path: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with Ledger.open(path):
        pass
    set_revision(path, "9999")
    run(["db", "upgrade", "--db", path])
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_db_upgrade_creates_a_ledger_at_head(path: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == run(["db", "upgrade", "--db", path])
    assert f"ledger sqlite:///{path} at schema {HEAD}\n" == capsys.readouterr().out


@pytest.mark.sqlite_only
def test_fetcher_db_environment_names_the_ledger(path: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FETCHER_DB", path)
    run(["db", "upgrade"])
    assert Path(path).exists()


# --- what it records ----------------------------------------------------------------


def test_snapshot_of_a_new_ledger_is_empty(ledger: Ledger) -> None:
    snapshot = ledger.snapshot()
    assert ({}, {}, {}, {}) == (snapshot.items, snapshot.resolutions, snapshot.tasks,
                                snapshot.files)


def test_snapshot_returns_the_items_synced(ledger: Ledger) -> None:
    item = make_item()
    ledger.sync_items([item])
    assert {"k1": ItemRecord(key="k1", dataset="builtup", region="CN", source="clms",
                             request=dict(item.request), attempts=0,
                             created_at=NOW)} == ledger.snapshot().items


def test_sync_items_renames_a_known_item(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    ledger.sync_items([make_item(dataset="builtup-renamed")])
    assert "builtup-renamed" == ledger.snapshot().items["k1"].dataset


def test_snapshot_returns_resolutions(ledger: Ledger) -> None:
    ledger.save_resolution("r1", "clms", {"uid": "a" * 32, "ids": [1, 2]})
    assert {"r1": {"uid": "a" * 32, "ids": [1, 2]}} == ledger.snapshot().resolutions


def test_saving_a_resolution_again_replaces_it(ledger: Ledger) -> None:
    ledger.save_resolution("r1", "clms", {"uid": "old"})
    ledger.save_resolution("r1", "clms", {"uid": "new"})
    assert {"r1": {"uid": "new"}} == ledger.snapshot().resolutions


def test_snapshot_returns_an_intent(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    row = ledger.add_intent("k1", {"DatasetID": "x"})
    task = ledger.snapshot().tasks["k1"]
    assert (row, None, "intent", {"DatasetID": "x"}) == (task.row, task.task_id, task.status,
                                                         dict(task.entry))


def test_snapshot_returns_the_latest_task_of_each_item(ledger: Ledger) -> None:
    ledger.sync_items([make_item("k1"), make_item("k2", region="FR")])
    first = ledger.add_intent("k1", {})
    ledger.update_task(first, task_id="t-1", status="Cancelled")
    second = ledger.add_intent("k1", {})
    ledger.update_task(second, task_id="t-2", status="Queued")
    ledger.add_intent("k2", {})
    assert {"k1": ("t-2", "Queued"), "k2": (None, "intent")} == {
        key: (t.task_id, t.status) for key, t in ledger.snapshot().tasks.items()}


def test_update_task_records_server_fields(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    row = ledger.add_intent("k1", {})
    ledger.update_task(row, task_id="t-1", status="Finished_ok", download_url="https://d/x.zip",
                       file_size=1234, registered_at=NOW - 60, finalized_at=NOW - 30)
    task = ledger.snapshot().tasks["k1"]
    assert ("https://d/x.zip", 1234, NOW - 60, NOW - 30) == (
        task.download_url, task.file_size, task.registered_at, task.finalized_at)


def test_every_status_a_task_went_through_is_kept(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    row = ledger.add_intent("k1", {})
    ledger.update_task(row, task_id="t-1", status="Queued")
    ledger.update_task(row, status="In_progress")
    ledger.update_task(row, status="In_progress")
    ledger.update_task(row, status="Finished_nok", message="Error in processing")
    assert [("intent", "", NOW), ("Queued", "", NOW), ("In_progress", "", NOW),
            ("Finished_nok", "Error in processing", NOW)] == ledger.history(row)


def test_tasks_of_lists_every_task_oldest_first(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    ledger.update_task(ledger.add_intent("k1", {}), task_id="t-1", status="Rejected")
    ledger.update_task(ledger.add_intent("k1", {}), task_id="t-2", status="Queued")
    assert ["t-1", "t-2"] == [t.task_id for t in ledger.tasks_of("k1")]


def test_snapshot_returns_recorded_files(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    files = [FileRecord(item_key="k1", path="builtup/CN/b.tif", size=10, sha256="b" * 64,
                        mtime_ns=5, md5="c" * 32, url="https://d/x.zip"),
             FileRecord(item_key="k1", path="builtup/CN/a.zip", size=20, sha256="a" * 64,
                        mtime_ns=6, role="archive", etag='"e"', last_modified="yesterday")]
    ledger.record_files("k1", files)
    assert {"k1": (files[1], files[0])} == ledger.snapshot().files


def test_recording_files_again_replaces_them(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    old = FileRecord(item_key="k1", path="builtup/CN/old.tif", size=1, sha256="a" * 64,
                     mtime_ns=1)
    new = FileRecord(item_key="k1", path="builtup/CN/new.tif", size=2, sha256="b" * 64,
                     mtime_ns=2)
    ledger.record_files("k1", [old])
    ledger.record_files("k1", [new])
    assert {"k1": (new,)} == ledger.snapshot().files


def test_failed_attempts_are_counted(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    ledger.bump_attempts("k1")
    ledger.bump_attempts("k1")
    assert 2 == ledger.snapshot().items["k1"].attempts


def test_reset_clears_the_attempts(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    ledger.bump_attempts("k1")
    ledger.reset_attempts("k1")
    assert 0 == ledger.snapshot().items["k1"].attempts


def test_forgetting_an_item_removes_its_rows(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    ledger.update_task(ledger.add_intent("k1", {}), task_id="t-1", status="Queued")
    ledger.record_files("k1", [FileRecord(item_key="k1", path="p", size=1, sha256="a" * 64,
                                          mtime_ns=1)])
    ledger.forget_item("k1")
    snapshot = ledger.snapshot()
    assert ({}, {}, {}) == (snapshot.items, snapshot.tasks, snapshot.files)


def test_transitions_are_logged_as_events(ledger: Ledger) -> None:
    ledger.sync_items([make_item()])
    row = ledger.add_intent("k1", {})
    ledger.update_task(row, task_id="t-1", status="Queued")
    assert [("intent", "request about to be posted"), ("status", "task t-1: intent -> Queued")
            ] == [(kind, message) for _, _, kind, message in ledger.events("k1")]


def test_intent_is_committed_before_add_intent_returns(path: str) -> None:
    with Ledger.open(path, now=clock) as writer:
        writer.sync_items([make_item()])
        writer.add_intent("k1", {"DatasetID": "x"})
        with Ledger.open(path) as reader:
            assert "intent" == reader.snapshot().tasks["k1"].status


def test_ledger_contents_survive_reopening(path: str) -> None:
    with Ledger.open(path, now=clock) as first:
        first.sync_items([make_item()])
    with Ledger.open(path) as second:
        assert ["k1"] == list(second.snapshot().items)
