"""CLMS tasks as plain data, and matching a posted entry to the task the server stored.

The server stores a *normalised* copy of each requested item (clms-api.md §4.4):
NUTS becomes NUTSID, the source path is base64-encoded into DatasetPath, epoch
milliseconds become "YYYY-MM-DD HH:MM:SS" strings, a Layer the item does not
list is dropped, and so on. ``match_form`` reduces both our entry and a stored
dataset to the same comparable dict, so that after a crash between POST and
record (or a "same thing at least twice" answer) the caller can adopt the task
the server already has rather than post again. Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fetcher.sources.clms import rules as clms_rules
from fetcher.sources.clms.catalogue import Resolution

ALIVE = frozenset({"QUEUED", "IN_PROGRESS"})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def status_key(status: str) -> str:
    """A status in one spelling: "In progress", "IN PROGRESS", "In_progress" -> IN_PROGRESS."""
    return "_".join(status.upper().split())


@dataclass(frozen=True)
class Task:
    """One server task, as ``@datarequest_search`` or ``@datarequest_status_get`` give it.

    ``status`` is the server's string, unknown values included (CDSE children
    use upper case). ``datasets`` is always a list: a CDSE child's single
    object is wrapped. Timestamps are aware UTC datetimes, or None.
    """

    task_id: str
    status: str
    message: str | None = None
    download_url: str | None = None
    file_size: int | None = None
    registered: datetime | None = None
    finalized: datetime | None = None
    fme_task_id: int | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    is_cdse_child: bool = False
    cdse_role: str | None = None
    user_id: str | None = None

    @property
    def reset(self) -> bool:
        """Listed as unfinished although it has a result (clms-api.md §13: a late FME
        callback can put a finished task back to Queued, keeping its DownloadURL)."""
        return (status_key(self.status) in ALIVE and self.download_url is not None
                and self.finalized is not None)

    @property
    def alive(self) -> bool:
        """Queued or in progress (in any spelling): the server is still working."""
        return status_key(self.status) in ALIVE and not self.reset

    @property
    def finished_ok(self) -> bool:
        """Finished_ok (in any spelling), or a finished task reset to Queued."""
        return status_key(self.status) == "FINISHED_OK" or self.reset

    @property
    def effective_status(self) -> str:
        """The status to record: the server's, except Finished_ok for a reset task."""
        return "Finished_ok" if self.reset else self.status

    def stale(self, now: float, stale_after: float) -> bool:
        """Still unfinished ``stale_after`` seconds after it was registered."""
        return (self.alive and self.registered is not None
                and now - self.registered.timestamp() >= stale_after)

    @property
    def known_status(self) -> bool:
        """Whether ``status`` is one of the server's documented STATUS_LIST values."""
        return self.status in clms_rules.STATUS_LIST


def parse_task(task_id: str, raw: Mapping[str, Any]) -> Task:
    """A ``Task`` from one stored task object; tolerant of every shape seen (§5, §8).

    Args:
        task_id: The TaskID (the search answer's key; status_get has none inside).
        raw: The task object.

    Returns:
        The task.
    """
    datasets_raw = raw.get("Datasets")
    if isinstance(datasets_raw, dict):
        datasets = [dict(datasets_raw)]
    elif isinstance(datasets_raw, list):
        datasets = [dict(d) for d in datasets_raw if isinstance(d, dict)]
    else:
        datasets = []
    role = raw.get("cdse_task_role")
    return Task(
        task_id=str(task_id),
        status=str(raw.get("Status") or ""),
        message=_text(raw.get("Message")),
        download_url=_text(raw.get("DownloadURL")),
        file_size=_integer(raw.get("FileSize")),
        registered=timestamp(raw.get("RegistrationDateTime")),
        finalized=timestamp(raw.get("FinalizationDateTime")),
        fme_task_id=_integer(raw.get("FMETaskId")),
        datasets=datasets,
        is_cdse_child=role == "child" or isinstance(datasets_raw, dict),
        cdse_role=str(role) if role else None,
        user_id=_text(raw.get("UserID")),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from either stored form (naive or with offset), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return clms_rules.parse_timestamp(value)
    except ValueError:
        return None


def is_expired(task: Task, now: float) -> bool:
    """Whether a Finished_ok task's result is past its 72 h (after finalisation).

    Args:
        task: The task.
        now: Epoch seconds.

    Returns:
        True only for a finished task whose FinalizationDateTime is over
        RESULT_TTL_SECONDS old. A task without that timestamp is not expired.
    """
    if not task.finished_ok or task.finalized is None:
        return False
    return now >= task.finalized.timestamp() + clms_rules.RESULT_TTL_SECONDS


def match_form(entry: Mapping[str, Any], resolution: Resolution) -> dict[str, Any]:
    """Our POSTed entry reduced to what the server stores and what decides the result."""
    if "FileID" in entry:
        return {"DatasetID": entry["DatasetID"], "FileID": entry["FileID"]}
    form: dict[str, Any] = {"DatasetID": entry["DatasetID"],
                            "OutputFormat": entry.get("OutputFormat")}
    if resolution.full_source != "CDSE":  # CDSE parents rewrite DatasetPath (§8.1)
        form["DatasetPath"] = resolution.full_path or ""
    if entry.get("OutputGCS"):
        form["OutputGCS"] = entry["OutputGCS"]
    if entry.get("NUTS"):
        form["NUTSID"] = entry["NUTS"]
    if entry.get("BoundingBox"):
        form["BoundingBox"] = [float(v) for v in entry["BoundingBox"]]
    span = entry.get("TemporalFilter")
    if span:
        form["TemporalFilter"] = [_ms_text(span["StartDate"]), _ms_text(span["EndDate"])]
    if resolution.layers and entry.get("Layer") is not None:
        form["Layer"] = entry["Layer"]
    return form


def stored_form(dataset: Mapping[str, Any], resolution: Resolution) -> dict[str, Any]:
    """A stored ``Datasets[]`` dict reduced like ``match_form`` reduces an entry."""
    if "FileID" in dataset:
        return {"DatasetID": dataset.get("DatasetID"), "FileID": dataset.get("FileID")}
    form: dict[str, Any] = {"DatasetID": dataset.get("DatasetID"),
                            "OutputFormat": dataset.get("OutputFormat")}
    if resolution.full_source != "CDSE":
        form["DatasetPath"] = _unbase64(dataset.get("DatasetPath"))
    for key in ("OutputGCS", "NUTSID", "Layer"):
        if dataset.get(key):
            form[key] = dataset[key]
    bbox = dataset.get("BoundingBox")
    if isinstance(bbox, list) and bbox:
        form["BoundingBox"] = [float(v) for v in bbox]
    span = dataset.get("TemporalFilter")
    if isinstance(span, dict) and span:
        form["TemporalFilter"] = [_stored_text(span.get("StartDate")),
                                  _stored_text(span.get("EndDate"))]
    return form


def _ms_text(ms: int) -> str:
    return datetime.fromtimestamp(int(ms) // 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _stored_text(value: Any) -> str | None:
    # CDSE_CSV items store ISO-8601 with Z; the rest "YYYY-MM-DD HH:MM:SS" (§4.4).
    moment = timestamp(value) if isinstance(value, str) else None
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _unbase64(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value


def find_task(entry: Mapping[str, Any], resolution: Resolution, tasks: Mapping[str, Task],
              now: float, stale_after: float = float("inf"),
              exclude: Collection[str] = ()) -> Task | None:
    """The stored task that carries exactly this entry and can still serve it, if any.

    Only tasks holding one dataset (one item per POST, as fetcher posts) and not
    CDSE children are candidates, and only usable ones: alive (Queued/In_progress)
    and not stale, or Finished_ok and not expired; alive first, the latest
    registered within each.

    Args:
        entry: What ``post_item`` built (and was, or may have been, POSTed).
        resolution: The entry's resolution.
        tasks: ``tasks()`` output.
        now: Epoch seconds, for expiry and staleness.
        stale_after: Seconds after registration when an unfinished task is stale.
        exclude: Task ids known to be of no use (a result gone early, say).

    Returns:
        The best match, or None.
    """
    matches = matching(entry, resolution, tasks, exclude)
    alive = [t for t in matches if t.alive and not t.stale(now, stale_after)]
    ready = [t for t in matches if t.finished_ok and not is_expired(t, now)]
    for chosen in (alive, ready):
        if chosen:
            return latest(chosen)
    return None


def stale_matches(entry: Mapping[str, Any], resolution: Resolution, tasks: Mapping[str, Task],
                  now: float, stale_after: float) -> list[Task]:
    """The stored tasks carrying exactly this entry that are still unfinished but stale.

    ``find_task`` never adopts them, and the server's duplicate rule refuses a new
    request while they are alive: they are to be cancelled before posting again.
    """
    return [t for t in matching(entry, resolution, tasks) if t.stale(now, stale_after)]


def matching(entry: Mapping[str, Any], resolution: Resolution, tasks: Mapping[str, Task],
             exclude: Collection[str] = ()) -> list[Task]:
    """The tasks holding this one entry alone (not CDSE children), usable or not."""
    wanted = match_form(entry, resolution)
    return [t for t in tasks.values() if not t.is_cdse_child and len(t.datasets) == 1
            and t.task_id not in exclude
            and stored_form(t.datasets[0], resolution) == wanted]


def latest(tasks: Iterable[Task]) -> Task:
    """The most recently registered task (ties broken by TaskID)."""
    return max(tasks, key=lambda t: (t.registered or _EPOCH, t.task_id))
