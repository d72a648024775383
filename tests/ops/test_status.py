"""``fetcher status``: the table, ``--check`` (size+mtime fast path, ``--verify``
re-hash, fetcher.lock), ``--json``, and a table that fits the terminal."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.conftest import (
    CEDA_SPEC,
    LABELS,
    MIXED,
    NUTS_SPEC,
    ZENODO_FILE,
    fetcher,
    shared_workspace,
    spec_text,
)
from tests.support.workspace import Workspace, make_workspace

HEADERS = ["ITEM", "STATE", "TASK", "SERVER", "AGE", "FILES", "SIZE", "DETAIL"]


def _rows(out: str) -> list[list[str]]:
    """The table's body as cells, cut at the header's column starts."""
    lines = out.split("\n\n")[0].splitlines()
    starts = [lines[0].index(h) for h in HEADERS]
    ends = [*starts[1:], None]
    return [[line[a:b].strip() for a, b in zip(starts, ends, strict=True)] for line in lines[1:]]


def _same_size_edit(path: Path, *, keep_mtime: bool) -> None:
    """Flip the last byte of a file; optionally put its mtime back."""
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# --- the table (CliRunner) ---------------------------------------------------------


def test_status_table_has_the_documented_columns(synced: Workspace, runner) -> None:
    result = runner(synced, "status", str(synced.specs))
    assert HEADERS == result.output.splitlines()[0].split()


def test_status_table_has_one_row_per_item_in_spec_order(synced: Workspace, runner) -> None:
    result = runner(synced, "status", str(synced.specs))
    assert LABELS == [row[0] for row in _rows(result.output)]


def test_status_shows_every_synced_item_complete(synced: Workspace, runner) -> None:
    result = runner(synced, "status", str(synced.specs))
    assert ["complete"] * 3 == [row[1] for row in _rows(result.output)]


def test_status_shows_the_clms_task_and_its_server_status(synced: Workspace, runner) -> None:
    with synced.ledger() as ledger:
        task = next(iter(ledger.snapshot().tasks.values()))
    row = _rows(runner(synced, "status", str(synced.specs)).output)[0]
    assert [task.task_id, "Finished_ok"] == row[2:4]


def test_status_shows_file_counts_and_sizes(synced: Workspace, runner) -> None:
    rows = _rows(runner(synced, "status", str(synced.specs)).output)
    assert [["1", "1.3 KiB"], ["1", "195.3 KiB"], ["4", "1.1 MiB"]] == [
        row[5:7] for row in rows]


def test_status_ends_with_the_count_of_complete_items(synced: Workspace, runner) -> None:
    result = runner(synced, "status", str(synced.specs))
    assert "3/3 complete" == result.output.splitlines()[-1]


def test_status_of_unsynced_specs_says_missing(ws: Workspace, runner) -> None:
    ws.write_spec(MIXED)
    result = runner(ws, "status", str(ws.specs))
    assert (["missing"] * 3, "0/3 complete") == (
        [row[1] for row in _rows(result.output)], result.output.splitlines()[-1])


def test_status_exits_0_without_check_even_when_incomplete(ws: Workspace, inproc) -> None:
    ws.write_spec(MIXED)
    assert 0 == inproc(ws, "status", str(ws.specs)).code


def test_status_shows_a_deleted_file_as_not_complete(synced: Workspace, runner) -> None:
    (synced.data / ZENODO_FILE).unlink()
    rows = _rows(runner(synced, "status", str(synced.specs)).output)
    assert ("ready", "2/3 complete") == (
        rows[1][1], runner(synced, "status", str(synced.specs)).output.splitlines()[-1])


def test_status_shows_an_orphan_row_for_an_item_dropped_from_the_specs(
        synced: Workspace, runner) -> None:
    synced.write_spec(spec_text(NUTS_SPEC, CEDA_SPEC))
    rows = _rows(runner(synced, "status", str(synced.specs)).output)
    assert ("lc100", "orphan") == (rows[-1][0], rows[-1][1])


# --- --check ------------------------------------------------------------------------


def test_check_exits_0_when_every_item_is_complete(synced: Workspace, inproc) -> None:
    assert 0 == inproc(synced, "status", "--check", str(synced.specs)).code


def test_check_exits_1_before_the_first_sync(ws: Workspace, inproc) -> None:
    ws.write_spec(MIXED)
    assert 1 == inproc(ws, "status", "--check", str(ws.specs)).code


def test_check_exits_1_when_a_recorded_file_is_missing(synced: Workspace, inproc) -> None:
    (synced.data / ZENODO_FILE).unlink()
    assert 1 == inproc(synced, "status", "--check", str(synced.specs)).code


def test_check_exits_1_when_a_file_changed_with_its_mtime(synced: Workspace, inproc) -> None:
    _same_size_edit(synced.data / ZENODO_FILE, keep_mtime=False)
    done = inproc(synced, "status", "--check", str(synced.specs))
    assert (1, "changed") == (done.code, _rows(done.out)[1][1])


def test_check_trusts_size_and_mtime_without_verify(synced: Workspace, inproc) -> None:
    _same_size_edit(synced.data / ZENODO_FILE, keep_mtime=True)
    assert 0 == inproc(synced, "status", "--check", str(synced.specs)).code


def test_check_verify_rehashes_and_catches_a_same_size_same_mtime_change(
        synced: Workspace, inproc) -> None:
    _same_size_edit(synced.data / ZENODO_FILE, keep_mtime=True)
    assert 1 == inproc(synced, "status", "--check", "--verify", str(synced.specs)).code


def test_verify_flag_names_the_changed_file_in_the_detail(synced: Workspace, inproc) -> None:
    _same_size_edit(synced.data / ZENODO_FILE, keep_mtime=True)
    done = inproc(synced, "status", "--verify", "--json", str(synced.specs))
    problems = {i["item"]: i["problems"] for i in json.loads(done.out)["items"]}
    assert [f"{ZENODO_FILE}: changed"] == [p.split(" (")[0] for p in problems["lc100"]]


def test_check_ignores_orphans(synced: Workspace, inproc) -> None:
    synced.write_spec(spec_text(NUTS_SPEC, CEDA_SPEC))
    assert 0 == inproc(synced, "status", "--check", str(synced.specs)).code


def test_check_passes_against_a_matching_lock(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    done = inproc(synced, "status", "--check", str(synced.specs))
    assert (0, "3/3 complete; fetcher.lock checked") == (done.code, done.out.splitlines()[-1])


def test_check_exits_1_when_the_ledger_differs_from_the_lock(synced: Workspace,
                                                            inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    lock = synced.specs / "fetcher.lock"
    document = json.loads(lock.read_text())
    zenodo = next(i for i in document["items"] if i["item"] == "lc100")
    zenodo["files"][0]["sha256"] = "0" * 64
    lock.write_text(json.dumps(document))
    done = inproc(synced, "status", "--check", str(synced.specs))
    lines = [line for line in done.out.splitlines() if line.startswith("lock:")]
    assert (1, [f"lock: lc100: files differ from fetcher.lock ({ZENODO_FILE}: sha256 "]) == (
        done.code, [line.split("…")[0][:-12] for line in lines])


def test_check_exits_1_when_the_specs_gained_an_item_since_the_lock(
        synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    synced.write_spec(MIXED.replace("regions: [ITC11]", "regions: [ITC11, ITC12]"))
    done = inproc(synced, "status", "--check", str(synced.specs))
    assert (1, ["lock: builtup/ITC12: not in fetcher.lock (new, or its parameters changed)"]
            ) == (done.code, [line for line in done.out.splitlines() if line.startswith("lock:")])


def test_check_exit_code_in_a_real_process(synced: Workspace) -> None:
    (synced.data / ZENODO_FILE).unlink()
    assert 1 == fetcher(synced, "status", "--check", str(synced.specs)).code


# --- --json -------------------------------------------------------------------------


def test_status_json_document_has_the_schema_fields(synced: Workspace, inproc) -> None:
    document = json.loads(inproc(synced, "status", "--json", str(synced.specs)).out)
    assert {"version": int, "items": list, "complete": bool, "lock_checked": bool,
            "lock_problems": list} == {k: type(v) for k, v in document.items()}


def test_status_json_item_has_the_schema_fields(synced: Workspace, inproc) -> None:
    item = json.loads(inproc(synced, "status", "--json", str(synced.specs)).out)["items"][0]
    assert {"key": str, "item": str, "source": str, "state": str, "reason": str,
            "task_id": str, "server_status": str, "age": float, "files": int, "size": int,
            "problems": list} == {k: type(v) for k, v in item.items()}


def test_status_json_of_a_non_clms_item_has_null_task_fields(synced: Workspace,
                                                             inproc) -> None:
    item = json.loads(inproc(synced, "status", "--json", str(synced.specs)).out)["items"][1]
    assert ("lc100", None, None, None) == (item["item"], item["task_id"],
                                           item["server_status"], item["age"])


def test_status_json_version_is_1_and_complete_is_true(synced: Workspace, inproc) -> None:
    document = json.loads(inproc(synced, "status", "--json", str(synced.specs)).out)
    assert (1, True) == (document["version"], document["complete"])


# --- terminal width (subprocess) ----------------------------------------------------


@pytest.fixture(scope="module")
def widths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, str]]:
    """``fetcher status`` of a synced workspace at 60 and 200 columns (subprocesses)."""
    with shared_workspace(tmp_path_factory, fake_clock=True) as ws:
        ws.sync()
        yield {cols: fetcher(ws, "status", str(ws.specs), COLUMNS=str(cols)).out
               for cols in (60, 200)}


@pytest.fixture
def narrow(widths: dict[int, str]) -> str:
    return widths[60]


@pytest.fixture
def wide(widths: dict[int, str]) -> str:
    return widths[200]


def test_status_lines_fit_a_60_column_terminal(narrow: str) -> None:
    assert [] == [line for line in narrow.splitlines() if len(line) > 60]


def test_status_cuts_the_last_column_with_an_ellipsis_at_60_columns(narrow: str) -> None:
    assert ["…"] * 3 == [row[-1][-1] for row in _rows(narrow)]


def test_status_lines_fit_a_200_column_terminal(wide: str) -> None:
    assert [] == [line for line in wide.splitlines() if len(line) > 200]


def test_status_shows_the_whole_detail_at_200_columns(wide: str) -> None:
    assert ["1 file, 1.3 KiB verified", "1 file, 195.3 KiB verified",
            "4 files, 1.1 MiB verified"] == [row[-1] for row in _rows(wide)]


@pytest.mark.parametrize("command", ["plan", "status", "verify"])
def test_read_commands_on_a_new_ledger_location_create_nothing(tmp_path: Path, emu,
                                                               inproc, command: str) -> None:
    fresh = make_workspace(tmp_path, emu, migrated=False)
    fresh.write_spec(MIXED)
    done = inproc(fresh, command, str(fresh.specs))
    assert (0, {}) == (done.code, fresh.ledger_contents())


@pytest.mark.parametrize("command", ["plan", "status", "verify"])
def test_a_bad_spec_stops_a_read_command_before_the_ledger_is_opened(tmp_path: Path, emu,
                                                                    inproc, command: str) -> None:
    fresh = make_workspace(tmp_path, emu, migrated=False)
    fresh.write_spec("  bad:\n    source: nowhere\n")
    done = inproc(fresh, command, str(fresh.specs))
    assert (2, {}) == (done.code, fresh.ledger_contents())
