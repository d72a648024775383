"""CDSE task records (§8.1): parents created after the POST, children that leak.

A POST's CDSE items get no TaskID; the async job creates their parent task
``cdse_parent_delay`` seconds later (emulator clock), unless it fails, as it does for
an item without TemporalFilter (a KeyError upstream): then no task ever appears.
The parent then runs the ordinary schedule, and gets its FMETaskId when it leaves
Queued (upstream: when the children are done and it is handed to FME).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any


@dataclass
class PendingParent:
    """A parent task the async job will create at ``due``."""

    due: float
    user_id: str
    datasets: list[dict[str, Any]]


def job_fails(datasets: list[dict[str, Any]]) -> bool:
    """Whether ``create_cdse_batches`` raises for these items (no TemporalFilter)."""
    return any("TemporalFilter" not in item for item in datasets)


def group_id(rng: random.Random) -> str:
    """A ``cdse_task_group_id``: four random groups of four digits."""
    return "-".join(f"{rng.randrange(10000):04d}" for _ in range(4))


def batch_id(task_id: str, n: int) -> str:
    """The CDSEBatchID of the ``n``-th batch of a task."""
    return hashlib.md5(f"{task_id}:{n}".encode(), usedforsecurity=False).hexdigest()


def parent_record(task_id: str, group: str, user_id: str, datasets: list[dict[str, Any]],
                  registered: str, batches: int = 2) -> dict[str, Any]:
    """A parent task as the async job stores it: Queued, no FMETaskId yet."""
    ids = [batch_id(task_id, n) for n in range(batches)]
    return {
        "cdse_task_role": "parent", "cdse_task_group_id": group, "CDSEBatchIDs": ids,
        "GpkgFileNames": [f"{i}.gpkg" for i in ids], "Status": "Queued",
        "Datasets": datasets, "UserID": user_id, "RegistrationDateTime": registered,
    }


def child_record(parent: dict[str, Any], group: str, batch: str) -> dict[str, Any]:
    """A child task: upper-case status and one dataset object, not a list."""
    return {
        "cdse_task_role": "child", "cdse_task_group_id": group,
        "CDSEBatchID": batch, "GpkgFileName": f"{batch}.gpkg", "Status": "QUEUED",
        "Datasets": parent["Datasets"][0], "UserID": parent["UserID"],
        "RegistrationDateTime": parent["RegistrationDateTime"],
    }
