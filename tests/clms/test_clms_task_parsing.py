"""Task objects in every shape the server stores: pure parsing and expiry."""

from __future__ import annotations

from datetime import datetime, timezone

from fetcher.sources.clms.tasks import is_expired, parse_task

FINISHED = {
    "Datasets": [{"DatasetID": "a8d945f0edd143a0a5240c28bafa23da", "NUTSID": "ITC11"}],
    "DownloadURL": "https://copernicus-fme.eea.europa.eu/clmsdatadownload/results/4050.zip",
    "FMETaskId": 4050, "FileSize": 12874380,
    "FinalizationDateTime": "2022-09-29T13:11:39.986121",
    "Message": "Download process finished successfully",
    "RegistrationDateTime": "2022-09-29T13:10:17.080461+00:00",
    "Status": "Finished_ok", "UserID": "admin",
}
FINALIZED = datetime(2022, 9, 29, 13, 11, 39, 986121, tzinfo=timezone.utc)


def test_a_documented_task_is_read_field_by_field() -> None:
    task = parse_task("94519134409", FINISHED)

    expected = ("94519134409", "Finished_ok", 4050, 12874380, FINISHED["DownloadURL"],
                "Download process finished successfully", False)
    assert expected == (task.task_id, task.status, task.fme_task_id, task.file_size,
                        task.download_url, task.message, task.is_cdse_child)


def test_naive_and_offset_timestamps_are_both_utc() -> None:
    task = parse_task("1", FINISHED)

    expected = (FINALIZED, datetime(2022, 9, 29, 13, 10, 17, 80461, tzinfo=timezone.utc))
    assert expected == (task.finalized, task.registered)


def test_a_cdse_child_with_an_object_for_datasets_is_marked() -> None:
    child = {"cdse_task_role": "child", "Status": "IN PROGRESS",
             "Datasets": {"DatasetID": "x"}, "CDSEBatchID": "b"}

    task = parse_task("2", child)

    expected = (True, [{"DatasetID": "x"}], True, False)
    assert expected == (task.is_cdse_child, task.datasets, task.alive, task.known_status)


def test_an_unknown_status_is_kept_as_given() -> None:
    task = parse_task("3", {"Status": "In progress", "Datasets": []})

    expected = ("In progress", True, False)
    assert expected == (task.status, task.alive, task.known_status)


def test_a_result_is_expired_72_hours_after_finalisation() -> None:
    task = parse_task("1", FINISHED)
    deadline = FINALIZED.timestamp() + 72 * 3600

    expected = (False, True)
    assert expected == (is_expired(task, deadline - 1), is_expired(task, deadline))


def test_a_task_without_finalisation_never_expires() -> None:
    task = parse_task("1", {**FINISHED, "FinalizationDateTime": None})

    assert not is_expired(task, 4e9)
