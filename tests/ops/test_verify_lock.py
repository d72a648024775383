"""``fetcher verify`` (re-hash, report missing and changed), ``fetcher lock`` (deterministic,
sorted, diff-friendly text) and ``sync --frozen`` (locked ids, no search, fails on any
difference)."""

from __future__ import annotations

import json
import shutil

from tests.ops.conftest import (
    CEDA_SPEC,
    MIXED,
    NUTS_SPEC,
    ZENODO_FILE,
    ZENODO_SPEC,
    fetcher,
    spec_text,
)
from tests.support.consistency import sha256
from tests.support.workspace import Workspace

# --- verify -------------------------------------------------------------------------


def test_verify_of_intact_files_exits_0(synced: Workspace, inproc) -> None:
    done = inproc(synced, "verify", str(synced.specs))
    assert (0, "all recorded files intact\n") == (done.code, done.out)


def test_verify_reports_a_missing_file_and_exits_1(synced: Workspace, inproc) -> None:
    (synced.data / ZENODO_FILE).unlink()
    done = inproc(synced, "verify", str(synced.specs))
    assert (1, [f"lc100: {ZENODO_FILE}: missing", "1 problem(s)"]) == (
        done.code, done.out.splitlines())


def test_verify_reports_a_changed_file_and_exits_1(synced: Workspace, inproc) -> None:
    path = synced.data / ZENODO_FILE
    recorded = sha256(path)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    done = inproc(synced, "verify", str(synced.specs))
    assert (1, f"lc100: {ZENODO_FILE}: changed (sha256 {sha256(path)[:12]}…, "
               f"recorded {recorded[:12]}…)") == (done.code, done.out.splitlines()[0])


def test_verify_reports_every_problem_of_every_item(synced: Workspace, inproc) -> None:
    for path in synced.data.rglob("*"):
        if path.is_file():
            path.unlink()
    done = inproc(synced, "verify", str(synced.specs))
    assert (1, "6 problem(s)") == (done.code, done.out.splitlines()[-1])


def test_verify_without_paths_checks_the_whole_ledger(synced: Workspace, inproc) -> None:
    synced.write_spec(spec_text(NUTS_SPEC, CEDA_SPEC))  # lc100 is now an orphan
    (synced.data / ZENODO_FILE).unlink()
    assert (0, 1) == (inproc(synced, "verify", str(synced.specs)).code,
                      inproc(synced, "verify").code)


def test_verify_json_has_version_ok_and_problems(synced: Workspace, inproc) -> None:
    (synced.data / ZENODO_FILE).unlink()
    document = json.loads(inproc(synced, "verify", "--json", str(synced.specs)).out)
    assert {"version": 1, "ok": False, "problems": {"lc100": [f"{ZENODO_FILE}: missing"]}
            } == document


def test_verify_json_of_intact_files(synced: Workspace, runner) -> None:
    result = runner(synced, "verify", "--json", str(synced.specs))
    assert {"version": 1, "ok": True, "problems": {}} == json.loads(result.output)


def test_verify_exit_code_in_a_real_process(synced: Workspace) -> None:
    (synced.data / ZENODO_FILE).unlink()
    done = fetcher(synced, "verify", str(synced.specs))
    assert (1, f"lc100: {ZENODO_FILE}: missing\n1 problem(s)\n") == (done.code, done.out)


# --- lock ---------------------------------------------------------------------------


def test_lock_writes_fetcher_lock_beside_the_specs(synced: Workspace, runner) -> None:
    result = runner(synced, "lock", str(synced.specs))
    assert (f"wrote {synced.specs / 'fetcher.lock'}\n", True) == (
        result.output, (synced.specs / "fetcher.lock").is_file())


def test_lock_is_the_same_text_when_written_twice(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    first = (synced.specs / "fetcher.lock").read_bytes()
    inproc(synced, "lock", str(synced.specs))
    assert first == (synced.specs / "fetcher.lock").read_bytes()


def test_lock_does_not_depend_on_the_order_of_datasets(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    first = (synced.specs / "fetcher.lock").read_text()
    synced.write_spec(spec_text(CEDA_SPEC, ZENODO_SPEC, NUTS_SPEC))
    inproc(synced, "lock", str(synced.specs))
    assert first == (synced.specs / "fetcher.lock").read_text()


def test_lock_lists_items_sorted_by_label(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    document = json.loads((synced.specs / "fetcher.lock").read_text())
    assert ["builtup/ITC11", "gebco", "lc100"] == [i["item"] for i in document["items"]]


def test_lock_text_has_sorted_keys_and_one_value_per_line(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    text = (synced.specs / "fetcher.lock").read_text()
    assert json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n" == (
        text)


def test_lock_records_each_file_with_size_and_sha256(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    document = json.loads((synced.specs / "fetcher.lock").read_text())
    path = synced.data / ZENODO_FILE
    assert [{"path": ZENODO_FILE, "size": path.stat().st_size, "sha256": sha256(path)}] == (
        next(i for i in document["items"] if i["item"] == "lc100")["files"])


def test_lock_records_the_clms_catalogue_ids(synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    document = json.loads((synced.specs / "fetcher.lock").read_text())
    resolution = document["items"][0]["resolution"]
    assert ("a8d945f0edd143a0a5240c28bafa23da", True) == (
        resolution.get("uid") or resolution.get("dataset_uid"), bool(resolution["info_id"]))


def test_lock_before_a_complete_sync_exits_2_naming_the_items(ws: Workspace, inproc) -> None:
    ws.write_spec(MIXED)
    done = inproc(ws, "lock", str(ws.specs))
    assert (2, "error: cannot lock: 3 item(s) have no files yet: builtup/ITC11, lc100, gebco",
            False) == (done.code, done.err.splitlines()[0],
                       (ws.specs / "fetcher.lock").exists())


# --- sync --frozen ------------------------------------------------------------------


def _fresh_machine(ws: Workspace) -> None:
    """Keep the specs and the lock; lose the data and the ledger (a new CI runner)."""
    shutil.rmtree(ws.data)
    ws.forget_ledger()
    ws.emu.reset_stats()


def test_frozen_sync_on_a_fresh_machine_exits_0(live_synced: Workspace, inproc) -> None:
    inproc(live_synced, "lock", str(live_synced.specs))
    _fresh_machine(live_synced)
    assert 0 == inproc(live_synced, "sync", "--frozen", "-q", str(live_synced.specs)).code


def test_frozen_sync_makes_no_catalogue_search_or_listing(live_synced: Workspace,
                                                          inproc) -> None:
    inproc(live_synced, "lock", str(live_synced.specs))
    _fresh_machine(live_synced)
    inproc(live_synced, "sync", "--frozen", "-q", str(live_synced.specs))
    lookups = [r.path for r in live_synced.emu.requests
               if r.path.endswith("@search") or "json" in r.query
               or r.path.rstrip("/").endswith("/api/records/3939050")]
    assert [] == lookups


def test_frozen_sync_fails_when_the_specs_differ_from_the_lock(synced: Workspace,
                                                               inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    synced.write_spec(MIXED.replace("regions: [ITC11]", "regions: [ITC11, ITC12]"))
    synced.emu.reset_stats()
    done = inproc(synced, "sync", "--frozen", str(synced.specs))
    assert (1, "error: --frozen: the specs differ from fetcher.lock: builtup/ITC12: not in "
               "fetcher.lock (new, or its parameters changed)", []) == (
        done.code, done.err.splitlines()[0], synced.emu.requests)


def test_frozen_sync_without_a_lock_exits_2(synced: Workspace, inproc) -> None:
    done = inproc(synced, "sync", "--frozen", str(synced.specs))
    assert (2, f"error: no fetcher.lock at {synced.specs / 'fetcher.lock'}") == (
        done.code, done.err.splitlines()[0])


def test_frozen_sync_reports_bytes_that_differ_from_the_lock_as_drifted(
        synced: Workspace, inproc) -> None:
    inproc(synced, "lock", str(synced.specs))
    lock = synced.specs / "fetcher.lock"
    document = json.loads(lock.read_text())
    document["items"][2]["files"][0]["sha256"] = "0" * 64  # lc100, sorted last
    lock.write_text(json.dumps(document))
    (synced.data / ZENODO_FILE).unlink()
    done = inproc(synced, "sync", "--frozen", "--json", str(synced.specs))
    report = json.loads(done.out)
    assert (1, "drifted", 1) == (done.code, report["items"][1]["outcome"],
                                 report["exit_code"])


def test_frozen_sync_of_locked_complete_data_exits_0_in_a_real_process(
        synced: Workspace) -> None:
    fetcher(synced, "lock", str(synced.specs))
    synced.emu.reset_stats()
    done = fetcher(synced, "sync", "--frozen", str(synced.specs))
    assert (0, []) == (done.code, synced.emu.requests)
