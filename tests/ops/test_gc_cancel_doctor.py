"""``fetcher gc`` (orphans lose files, rows and live server tasks), ``fetcher cancel`` and
``fetcher doctor`` (one line per check, exit 1 on any failure)."""

from __future__ import annotations

import json

import pytest

from tests.ops.conftest import (
    CEDA_SPEC,
    MIXED,
    NUTS_SPEC,
    ZENODO_FILE,
    ZENODO_SPEC,
    fetcher,
    spec_text,
)
from tests.support.emulators import server_tasks
from tests.support.workspace import Workspace

WITHOUT_LC100 = spec_text(NUTS_SPEC, CEDA_SPEC)
WITHOUT_BUILTUP = spec_text(ZENODO_SPEC, CEDA_SPEC)


def _keys(ws: Workspace) -> set[str]:
    with ws.ledger() as ledger:
        return set(ledger.snapshot().items)


@pytest.fixture
def submitted(ws: Workspace) -> tuple[Workspace, str]:
    """The mixed specs synced with --no-wait: the CLMS task is queued on the server."""
    ws.write_spec(MIXED)
    ws.sync(wait=False)
    with ws.ledger() as ledger:
        task = next(iter(ledger.snapshot().tasks.values()))
    assert task.task_id is not None
    return ws, task.task_id


# --- gc -------------------------------------------------------------------------------


def test_gc_dry_run_says_what_would_go(synced: Workspace, inproc) -> None:
    synced.write_spec(WITHOUT_LC100)
    done = inproc(synced, "gc", "--dry-run", str(synced.specs))
    assert (0, "lc100: would remove 1 file(s)\n1 orphan(s)\n") == (done.code, done.out)


def test_gc_dry_run_removes_nothing(synced: Workspace, inproc) -> None:
    synced.write_spec(WITHOUT_LC100)
    before = _keys(synced)
    inproc(synced, "gc", "--dry-run", str(synced.specs))
    assert (True, before) == ((synced.data / ZENODO_FILE).is_file(), _keys(synced))


def test_gc_removes_the_orphans_files_and_their_folder(synced: Workspace, inproc) -> None:
    synced.write_spec(WITHOUT_LC100)
    done = inproc(synced, "gc", str(synced.specs))
    assert (0, "lc100: removed 1 file(s)\n1 orphan(s)\n", False) == (
        done.code, done.out, (synced.data / "lc100").exists())


def test_gc_forgets_the_orphans_ledger_rows(synced: Workspace, inproc) -> None:
    synced.write_spec(WITHOUT_LC100)
    with synced.ledger() as ledger:
        orphan = next(k for k, r in ledger.snapshot().items.items() if r.dataset == "lc100")
    inproc(synced, "gc", str(synced.specs))
    with synced.ledger() as ledger:
        snapshot = ledger.snapshot()
    assert (False, False) == (orphan in snapshot.items, orphan in snapshot.files)


def test_gc_keeps_the_wanted_items_intact(synced: Workspace, inproc) -> None:
    synced.write_spec(WITHOUT_LC100)
    inproc(synced, "gc", str(synced.specs))
    assert 0 == inproc(synced, "status", "--check", "--verify", str(synced.specs)).code


def test_gc_without_orphans_removes_nothing(synced: Workspace, inproc) -> None:
    done = inproc(synced, "gc", str(synced.specs))
    assert (0, "0 orphan(s)\n") == (done.code, done.out)


def test_gc_cancels_the_live_server_task_of_an_orphan(submitted: tuple[Workspace, str],
                                                      inproc) -> None:
    ws, task_id = submitted
    ws.write_spec(WITHOUT_BUILTUP)
    done = inproc(ws, "gc", str(ws.specs))
    assert (0, f"builtup/ITC11: removed 0 file(s), cancel task {task_id}", "Cancelled") == (
        done.code, done.out.splitlines()[0], server_tasks(ws.emu)[task_id]["Status"])


def test_gc_dry_run_leaves_the_server_task_alone(submitted: tuple[Workspace, str],
                                                 inproc) -> None:
    ws, task_id = submitted
    ws.write_spec(WITHOUT_BUILTUP)
    inproc(ws, "gc", "--dry-run", str(ws.specs))
    assert "Queued" == server_tasks(ws.emu)[task_id]["Status"]


def test_gc_in_a_real_process(synced: Workspace) -> None:
    synced.write_spec(WITHOUT_LC100)
    done = fetcher(synced, "gc", str(synced.specs))
    assert (0, "1 orphan(s)") == (done.code, done.out.splitlines()[-1])


# --- cancel -----------------------------------------------------------------------------


def test_cancel_cancels_the_items_server_task(submitted: tuple[Workspace, str],
                                              inproc) -> None:
    ws, task_id = submitted
    done = inproc(ws, "cancel", "builtup/ITC11")
    assert (0, f"builtup/ITC11: cancelled task {task_id}\n", "Cancelled") == (
        done.code, done.out, server_tasks(ws.emu)[task_id]["Status"])


def test_cancel_is_recorded_in_the_ledger(submitted: tuple[Workspace, str], inproc) -> None:
    ws, _ = submitted
    inproc(ws, "cancel", "builtup/ITC11")
    status = json.loads(inproc(ws, "status", "--json", str(ws.specs)).out)
    assert "Cancelled" == status["items"][0]["server_status"]


def test_cancel_by_item_key(submitted: tuple[Workspace, str], inproc) -> None:
    ws, task_id = submitted
    key = json.loads(inproc(ws, "status", "--json", str(ws.specs)).out)["items"][0]["key"]
    assert f"{key}: cancelled task {task_id}\n" == inproc(ws, "cancel", key).out


def test_cancel_of_an_unknown_item_exits_2(synced: Workspace, inproc) -> None:
    done = inproc(synced, "cancel", "nope/XX")
    assert (2, "error: no item named 'nope/XX' in the ledger") == (
        done.code, done.err.splitlines()[0])


def test_cancel_of_an_item_without_a_task_exits_2(synced: Workspace, inproc) -> None:
    done = inproc(synced, "cancel", "lc100")
    assert (2, ["error: lc100 has no server task to cancel"]) == (
        done.code, done.err.splitlines())


def test_cancel_in_a_real_process(submitted: tuple[Workspace, str]) -> None:
    ws, task_id = submitted
    done = fetcher(ws, "cancel", "builtup/ITC11")
    assert (0, f"builtup/ITC11: cancelled task {task_id}\n") == (done.code, done.out)


# --- doctor -----------------------------------------------------------------------------

CHECKS = ["ledger", "clms key", "clms token", "clms api", "ceda", "zenodo"]


def _verdicts(out: str) -> list[tuple[str, str]]:
    return [(line[:4].strip(), line[5:].split(":")[0]) for line in out.splitlines()]


def test_doctor_passes_every_check_against_the_emulator(ws: Workspace, inproc) -> None:
    done = inproc(ws, "doctor")
    assert (0, [("ok", name) for name in CHECKS]) == (done.code, _verdicts(done.out))


def test_doctor_requests_no_data(ws: Workspace, inproc) -> None:
    inproc(ws, "doctor")
    assert (0, 0, 0) == (ws.emu.stats["posts"], ws.emu.stats["downloads"],
                         ws.emu.stats["searches"] - 1)


def test_doctor_reports_a_missing_key_file(ws: Workspace, inproc) -> None:
    done = inproc(ws, "doctor", FETCHER_CLMS_KEY=str(ws.root / "no-such-key.json"))
    assert (1, [("ok", "ledger"), ("FAIL", "clms key"), ("ok", "clms api"), ("ok", "ceda"),
                ("ok", "zenodo")]) == (done.code, _verdicts(done.out))


def test_doctor_reports_a_revoked_key_at_the_token_check(ws: Workspace, inproc) -> None:
    ws.emu.revoke(json.loads(ws.key.read_text())["client_id"])
    done = inproc(ws, "doctor")
    assert (1, ("FAIL", "clms token")) == (done.code, _verdicts(done.out)[2])


def test_doctor_reports_an_unreachable_service(ws: Workspace, inproc) -> None:
    done = inproc(ws, "doctor", FETCHER_CEDA_URL="http://127.0.0.1:9")
    assert (1, ("FAIL", "ceda")) == (done.code, _verdicts(done.out)[4])


def test_doctor_failure_in_a_real_process_has_no_traceback(ws: Workspace) -> None:
    done = fetcher(ws, "doctor", FETCHER_CEDA_URL="http://127.0.0.1:9")
    assert (1, "FAIL ceda: ", "") == (done.code, done.out.splitlines()[4][:11], done.err)
