"""Plain data shared by every layer: sources, items, the plan's vocabulary and steps.

This module imports nothing of fetcher's.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class SourceKind(str, enum.Enum):
    """Where an item's bytes come from: the name of a source."""

    CLMS = "clms"
    CEDA = "ceda"
    ZENODO = "zenodo"
    HTTP = "http"


class Action(str, enum.Enum):
    """The closed vocabulary of what a sync does for an item (DESIGN.md)."""

    RESOLVE = "resolve"
    SUBMIT = "submit"
    ADOPT = "adopt"
    WAIT = "wait"
    DOWNLOAD = "download"
    EXTRACT = "extract"
    VERIFY = "verify"
    RESUBMIT = "resubmit"
    UP_TO_DATE = "up-to-date"
    ORPHAN = "orphan"

    @property
    def verb(self) -> str:
        """The word a log line uses for this action."""
        return _VERBS[self]


_VERBS = {
    Action.RESOLVE: "resolving",
    Action.SUBMIT: "submitting",
    Action.ADOPT: "adopting",
    Action.WAIT: "waiting",
    Action.DOWNLOAD: "downloading",
    Action.EXTRACT: "extracting",
    Action.VERIFY: "verifying",
    Action.RESUBMIT: "resubmitting",
    Action.UP_TO_DATE: "up to date",
    Action.ORPHAN: "orphaned",
}


@dataclass(frozen=True)
class Item:
    """One dataset for one region: the unit the ledger tracks, requests and downloads.

    ``request`` is the canonical request (JSON-able, normalised); ``key`` is its hash.
    ``options`` holds what changes where and how files land but not what the
    server returns (extract, keep_archive); it is not part of the key.
    """

    key: str
    dataset: str
    region: str | None
    source: SourceKind
    request: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""
    resolution: str | None = None  # the key of its catalogue/listing resolution, if any

    @property
    def label(self) -> str:
        """``dataset`` or ``dataset/region``: how people name an item."""
        return f"{self.dataset}/{self.region}" if self.region else self.dataset

    @property
    def folder(self) -> str:
        """Where the item's files land, relative to the data dir."""
        return f"{self.dataset}/{self.region}" if self.region else self.dataset


@dataclass(frozen=True)
class RemoteFile:
    """A file a source offers: where it is and what it must hash to.

    ``size``, ``md5`` and ``sha256`` are None when the source does not say.
    ``kind`` names the magic bytes the body must start with ("zip", "tiff",
    "netcdf", or None for anything that is not an HTML error page).
    ``auth_env`` names the environment variable holding ``user:password`` for the
    host (never the credentials themselves).
    """

    name: str
    url: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    kind: str | None = None
    auth_env: str | None = None


@dataclass(frozen=True)
class LocalFile:
    """A file fetcher has written, verified and renamed into place."""

    path: str
    size: int
    sha256: str
    mtime_ns: int
    md5: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class TaskRecord:
    """The ledger's latest knowledge of one server task (or of an intent to create one)."""

    row: int
    item_key: str
    task_id: str | None
    status: str
    created_at: float
    message: str = ""
    download_url: str | None = None
    file_size: int | None = None
    registered_at: float | None = None
    finalized_at: float | None = None
    updated_at: float | None = None
    entry: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileRecord:
    """A file the ledger vouches for: where it is and what it hashes to."""

    item_key: str
    path: str
    size: int
    sha256: str
    mtime_ns: int
    role: str = "data"
    md5: str | None = None
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class ItemRecord:
    """An item as the ledger knows it."""

    key: str
    dataset: str
    region: str | None
    source: str
    request: Mapping[str, Any]
    attempts: int = 0
    created_at: float = 0.0

    @property
    def label(self) -> str:
        """``dataset`` or ``dataset/region``, as ``Item.label``."""
        return f"{self.dataset}/{self.region}" if self.region else self.dataset


Disk = Mapping[str, tuple[int, int]]
"""Recorded paths (relative to the data dir) that exist on disk, with (size, mtime_ns)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the planner may read of the ledger, as plain data."""

    items: Mapping[str, ItemRecord] = field(default_factory=dict)
    resolutions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tasks: Mapping[str, TaskRecord] = field(default_factory=dict)
    files: Mapping[str, tuple[FileRecord, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """What happens to one item next, and why: one line of a plan."""

    key: str
    label: str
    action: Action
    reason: str
    item: Item | None = None
    task_id: str | None = None
    held: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A plain-data view for ``--json``."""
        return {"key": self.key, "item": self.label, "action": self.action.value,
                "reason": self.reason, "task_id": self.task_id, "held": self.held,
                "source": None if self.item is None else self.item.source.value}

    @property
    def wanted(self) -> Item:
        """The item this step works on (orphans have none, and no work)."""
        assert self.item is not None, "orphans have no work"
        return self.item
