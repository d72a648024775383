"""The planner: one pure decision per item, in the closed vocabulary of actions."""

from __future__ import annotations

import builtins
import copy
import os
import socket
import time
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetcher.reconcile.plan import RESULT_TTL, RETRY_BUDGET, Plan, plan
from fetcher.sources import resolution_key
from fetcher.types import Action, FileRecord, Item, ItemRecord, Snapshot, SourceKind, TaskRecord

NOW = 1_700_000_000.0
HOUR = 3600.0

CLMS = Item(key="c1", dataset="builtup", region="CN", source=SourceKind.CLMS,
            request={"source": "clms", "ref": {"uid": "a" * 32}, "download": None, "file": None,
                     "area": {"nuts": "CN"}})
ZENODO = Item(key="z1", dataset="lc100", region=None, source=SourceKind.ZENODO,
              request={"source": "zenodo", "record": 3939050, "files": None})
CEDA = Item(key="g1", dataset="gebco", region=None, source=SourceKind.CEDA,
            request={"source": "ceda", "path": "/bodc/gebco", "files": ["a.zip"]})
HTTP = Item(key="h1", dataset="raster", region=None, source=SourceKind.HTTP,
            request={"source": "http", "url": "https://example.org/r.tif", "sha256": None})

DATA = FileRecord(item_key="c1", path="builtup/CN/cover.tif", size=100, sha256="a" * 64,
                  mtime_ns=7)
ARCHIVE = FileRecord(item_key="c1", path="builtup/CN/result.zip", size=50, sha256="b" * 64,
                     mtime_ns=8, role="archive")


def resolved(*items: Item) -> dict[str, dict[str, Any]]:
    return {resolution_key(i) or "": {"resolved": True} for i in items}


def task(status: str, *, finalized_at: float | None = None, message: str = "") -> TaskRecord:
    return TaskRecord(row=1, item_key="c1", task_id=None if status == "intent" else "t-1",
                      status=status, created_at=NOW - 10 * HOUR, message=message,
                      finalized_at=finalized_at)


def record(item: Item, attempts: int = 0) -> ItemRecord:
    return ItemRecord(key=item.key, dataset=item.dataset, region=item.region,
                      source=item.source.value, request=item.request, attempts=attempts)


def clms_snapshot(task_record: TaskRecord | None = None, *, attempts: int = 0,
                  files: tuple[FileRecord, ...] = ()) -> Snapshot:
    return Snapshot(items={"c1": record(CLMS, attempts)}, resolutions=resolved(CLMS),
                    tasks={} if task_record is None else {"c1": task_record},
                    files={"c1": files} if files else {})


def on_disk(*files: FileRecord) -> dict[str, tuple[int, int]]:
    return {f.path: (f.size, f.mtime_ns) for f in files}


def action_of(item: Item, snapshot: Snapshot, disk: dict[str, tuple[int, int]] | None = None,
              now: float = NOW) -> Action:
    return plan([item], snapshot, disk or {}, now).steps[0].action


FINISHED_OK_UNEXPIRED = task("Finished_ok", finalized_at=NOW - 71 * HOUR)
FINISHED_OK_EXPIRED = task("Finished_ok", finalized_at=NOW - RESULT_TTL)


# --- CLMS items -------------------------------------------------------------------


def test_unresolved_clms_item_is_resolved() -> None:
    assert Action.RESOLVE == action_of(CLMS, Snapshot())


def test_resolved_clms_item_without_task_is_submitted() -> None:
    assert Action.SUBMIT == action_of(CLMS, clms_snapshot())


def test_intent_without_task_id_is_adopted() -> None:
    assert Action.ADOPT == action_of(CLMS, clms_snapshot(task("intent")))


@pytest.mark.parametrize("status", ["Queued", "In_progress", "IN PROGRESS"])
def test_live_or_unknown_status_is_waited_for(status: str) -> None:
    assert Action.WAIT == action_of(CLMS, clms_snapshot(task(status)))


def test_finished_unexpired_task_is_downloaded() -> None:
    assert Action.DOWNLOAD == action_of(CLMS, clms_snapshot(FINISHED_OK_UNEXPIRED))


def test_download_step_names_the_task() -> None:
    step = plan([CLMS], clms_snapshot(FINISHED_OK_UNEXPIRED), {}, NOW).steps[0]
    assert "t-1" == step.task_id


def test_finished_task_expired_at_exactly_72_hours_is_resubmitted() -> None:
    assert Action.RESUBMIT == action_of(CLMS, clms_snapshot(FINISHED_OK_EXPIRED))


def test_finished_task_a_second_before_expiry_is_downloaded() -> None:
    fresh = task("Finished_ok", finalized_at=NOW - RESULT_TTL + 1)
    assert Action.DOWNLOAD == action_of(CLMS, clms_snapshot(fresh))


@pytest.mark.parametrize("status", ["Finished_nok", "Rejected", "Cancelled"])
def test_failed_task_within_budget_is_resubmitted(status: str) -> None:
    step = plan([CLMS], clms_snapshot(task(status), attempts=RETRY_BUDGET - 1), {}, NOW).steps[0]
    assert (Action.RESUBMIT, None) == (step.action, step.held)


@pytest.mark.parametrize("status", ["Finished_nok", "Rejected", "Cancelled"])
def test_failed_task_with_budget_spent_is_held(status: str) -> None:
    step = plan([CLMS], clms_snapshot(task(status), attempts=RETRY_BUDGET), {}, NOW).steps[0]
    assert (Action.RESUBMIT, f"retry budget spent ({RETRY_BUDGET}/{RETRY_BUDGET}); "
            "`fetcher sync --retry-failed` tries again") == (step.action, step.held)


def test_held_step_is_not_pending() -> None:
    result = plan([CLMS], clms_snapshot(task("Rejected"), attempts=RETRY_BUDGET), {}, NOW)
    assert [] == result.pending


def test_failed_task_reason_carries_the_server_message() -> None:
    failed = task("Finished_nok", message="Error in processing")
    step = plan([CLMS], clms_snapshot(failed), {}, NOW).steps[0]
    assert "task t-1 Finished_nok: Error in processing" == step.reason


def test_item_with_its_files_present_is_up_to_date() -> None:
    snapshot = clms_snapshot(FINISHED_OK_UNEXPIRED, files=(DATA,))
    assert Action.UP_TO_DATE == action_of(CLMS, snapshot, on_disk(DATA))


def test_item_with_files_present_is_up_to_date_after_its_task_expired() -> None:
    snapshot = clms_snapshot(FINISHED_OK_EXPIRED, files=(DATA,))
    assert Action.UP_TO_DATE == action_of(CLMS, snapshot, on_disk(DATA))


def test_file_of_another_size_is_verified() -> None:
    snapshot = clms_snapshot(FINISHED_OK_UNEXPIRED, files=(DATA,))
    assert Action.VERIFY == action_of(CLMS, snapshot, {DATA.path: (DATA.size + 1, DATA.mtime_ns)})


def test_file_of_another_mtime_is_verified() -> None:
    snapshot = clms_snapshot(FINISHED_OK_UNEXPIRED, files=(DATA,))
    assert Action.VERIFY == action_of(CLMS, snapshot, {DATA.path: (DATA.size, DATA.mtime_ns + 1)})


def test_only_the_archive_left_is_extracted() -> None:
    snapshot = clms_snapshot(FINISHED_OK_EXPIRED, files=(ARCHIVE, DATA))
    assert Action.EXTRACT == action_of(CLMS, snapshot, on_disk(ARCHIVE))


def test_missing_file_of_an_unexpired_task_is_downloaded_again() -> None:
    snapshot = clms_snapshot(FINISHED_OK_UNEXPIRED, files=(DATA,))
    assert Action.DOWNLOAD == action_of(CLMS, snapshot, {})


def test_missing_file_of_an_expired_task_is_resubmitted() -> None:
    snapshot = clms_snapshot(FINISHED_OK_EXPIRED, files=(DATA,))
    assert Action.RESUBMIT == action_of(CLMS, snapshot, {})


@pytest.mark.parametrize("status", ["Queued", "In_progress"])
def test_missing_file_of_an_item_requested_again_waits_for_the_new_task(status: str) -> None:
    snapshot = clms_snapshot(task(status), files=(DATA,))
    assert Action.WAIT == action_of(CLMS, snapshot, {})


def test_missing_file_of_an_item_whose_request_may_have_been_posted_is_adopted() -> None:
    snapshot = clms_snapshot(task("intent"), files=(DATA,))
    assert Action.ADOPT == action_of(CLMS, snapshot, {})


def test_missing_file_of_an_expired_task_with_a_forgotten_entry_is_resolved_first() -> None:
    snapshot = replace(clms_snapshot(FINISHED_OK_EXPIRED, files=(DATA,)), resolutions={})
    assert Action.RESOLVE == action_of(CLMS, snapshot, {})


def test_missing_file_of_an_unexpired_task_needs_no_catalogue_entry() -> None:
    snapshot = replace(clms_snapshot(FINISHED_OK_UNEXPIRED, files=(DATA,)), resolutions={})
    assert Action.DOWNLOAD == action_of(CLMS, snapshot, {})


def test_ledger_item_no_spec_names_is_an_orphan() -> None:
    snapshot = Snapshot(items={"c1": record(CLMS)})
    assert [("c1", "builtup/CN", Action.ORPHAN)] == [
        (s.key, s.label, s.action) for s in plan([], snapshot, {}, NOW).steps]


def test_orphans_come_after_wanted_items() -> None:
    snapshot = Snapshot(items={"c1": record(CLMS)})
    assert [Action.RESOLVE, Action.ORPHAN] == [
        s.action for s in plan([ZENODO], snapshot, {}, NOW).steps]


def test_steps_follow_spec_order() -> None:
    assert ["h1", "z1", "c1", "g1"] == [
        s.key for s in plan([HTTP, ZENODO, CLMS, CEDA], Snapshot(), {}, NOW).steps]


def test_plan_counts_its_actions() -> None:
    assert {"resolve": 3, "download": 1} == plan([HTTP, ZENODO, CLMS, CEDA], Snapshot(), {},
                                                 NOW).count()


def test_plan_json_lists_every_step() -> None:
    document = plan([ZENODO], Snapshot(), {}, NOW).to_json()
    assert {"steps": [{"key": "z1", "item": "lc100", "action": "resolve",
                       "reason": "file listing not yet known", "task_id": None, "held": None,
                       "source": "zenodo"}], "counts": {"resolve": 1}} == document


# --- non-CLMS items ---------------------------------------------------------------


@pytest.mark.parametrize("item", [ZENODO, CEDA], ids=["zenodo", "ceda"])
def test_unresolved_listing_is_resolved(item: Item) -> None:
    assert Action.RESOLVE == action_of(item, Snapshot())


@pytest.mark.parametrize("item", [ZENODO, CEDA], ids=["zenodo", "ceda"])
def test_resolved_listing_is_downloaded(item: Item) -> None:
    assert Action.DOWNLOAD == action_of(item, Snapshot(resolutions=resolved(item)))


def test_http_item_needs_no_resolution() -> None:
    assert Action.DOWNLOAD == action_of(HTTP, Snapshot())


def test_non_clms_item_with_files_present_is_up_to_date() -> None:
    tif = FileRecord(item_key="z1", path="lc100/map.tif", size=9, sha256="c" * 64, mtime_ns=3)
    snapshot = Snapshot(resolutions=resolved(ZENODO), files={"z1": (tif,)})
    assert Action.UP_TO_DATE == action_of(ZENODO, snapshot, on_disk(tif))


def test_non_clms_item_with_a_file_missing_is_downloaded() -> None:
    tif = FileRecord(item_key="z1", path="lc100/map.tif", size=9, sha256="c" * 64, mtime_ns=3)
    snapshot = Snapshot(resolutions=resolved(ZENODO), files={"z1": (tif,)})
    assert Action.DOWNLOAD == action_of(ZENODO, snapshot, {})


def test_non_clms_item_with_a_file_missing_and_its_listing_forgotten_is_listed_again() -> None:
    tif = FileRecord(item_key="z1", path="lc100/map.tif", size=9, sha256="c" * 64, mtime_ns=3)
    snapshot = Snapshot(files={"z1": (tif,)})
    assert Action.RESOLVE == action_of(ZENODO, snapshot, {})


# --- purity -------------------------------------------------------------------------

STATUSES = ["intent", "Queued", "In_progress", "IN PROGRESS", "Finished_ok", "Finished_nok",
            "Rejected", "Cancelled", "superseded"]
ITEMS = [CLMS, ZENODO, CEDA, HTTP]


@st.composite
def situations(draw: st.DrawFn) -> tuple[list[Item], Snapshot, dict[str, tuple[int, int]], float]:
    """Some wanted items, a ledger snapshot about them (and orphans), files on disk, a time."""
    items = draw(st.lists(st.sampled_from(ITEMS), unique_by=lambda i: i.key))
    known = draw(st.lists(st.sampled_from(ITEMS), unique_by=lambda i: i.key))
    now = draw(st.floats(NOW - 100 * HOUR, NOW + 100 * HOUR))
    tasks = {}
    files: dict[str, tuple[FileRecord, ...]] = {}
    disk: dict[str, tuple[int, int]] = {}
    for item in known:
        if draw(st.booleans()):
            tasks[item.key] = TaskRecord(
                row=1, item_key=item.key, task_id="t-" + item.key,
                status=draw(st.sampled_from(STATUSES)), created_at=NOW,
                finalized_at=draw(st.none() | st.floats(NOW - 200 * HOUR, NOW)))
        records = tuple(FileRecord(item_key=item.key, path=f"{item.folder}/{name}", size=10,
                                   sha256="a" * 64, mtime_ns=1, role=role)
                        for name, role in draw(st.lists(
                            st.tuples(st.sampled_from(["a.tif", "b.tif", "r.zip"]),
                                      st.sampled_from(["data", "archive"])),
                            unique_by=lambda pair: pair[0], max_size=3)))
        if records:
            files[item.key] = records
        for f in records:
            state = draw(st.sampled_from(["same", "changed", "absent"]))
            if state != "absent":
                disk[f.path] = (f.size, f.mtime_ns + (state == "changed"))
    snapshot = Snapshot(
        items={i.key: record(i, draw(st.integers(0, RETRY_BUDGET + 1))) for i in known},
        resolutions=resolved(*draw(st.lists(st.sampled_from(ITEMS[:3])))),
        tasks=tasks, files=files)
    return items, snapshot, disk, now


def forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the planner must not do I/O or read the clock")


def plan_without_io(items: list[Item], snapshot: Snapshot, disk: dict[str, tuple[int, int]],
                    now: float) -> Plan:
    with pytest.MonkeyPatch.context() as patch:
        for target, name in [(socket, "socket"), (socket, "create_connection"),
                             (builtins, "open"), (os, "stat"), (os, "listdir"),
                             (time, "time"), (time, "monotonic")]:
            patch.setattr(target, name, forbidden)
        return plan(items, snapshot, disk, now)


@settings(max_examples=150, deadline=None)
@given(situations())
def test_planner_gives_the_same_plan_for_the_same_inputs(
        situation: tuple[list[Item], Snapshot, dict[str, tuple[int, int]], float]) -> None:
    assert plan_without_io(*situation) == plan_without_io(*copy.deepcopy(situation))


@settings(max_examples=150, deadline=None)
@given(situations())
def test_planner_leaves_its_inputs_unchanged(
        situation: tuple[list[Item], Snapshot, dict[str, tuple[int, int]], float]) -> None:
    before = copy.deepcopy(situation)
    plan_without_io(*situation)
    assert before == situation


@settings(max_examples=150, deadline=None)
@given(situations())
def test_planner_gives_one_step_per_item_then_one_per_orphan(
        situation: tuple[list[Item], Snapshot, dict[str, tuple[int, int]], float]) -> None:
    items, snapshot, _, _ = situation
    orphans = [key for key in snapshot.items if key not in {i.key for i in items}]
    assert [i.key for i in items] + orphans == [s.key for s in plan_without_io(*situation).steps]
