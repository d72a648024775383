"""What each action does: resolving, verifying and extracting, and what the others share.

Called by ``apply.Reconciler`` only; the CLMS request steps are in ``clms_steps``,
downloads in ``downloads``.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fetcher import store
from fetcher.config import Settings
from fetcher.errors import FetcherError
from fetcher.net import Http
from fetcher.reconcile.plan import Step, resolution_key
from fetcher.types import Action, FileRecord, Item, LocalFile, Snapshot, Source

if TYPE_CHECKING:
    from fetcher.reconcile.apply import Reconciler
    from fetcher.sources.clms import ClmsClient, Resolution


class Services:
    """The remote services, built on first use (no key is read for a sync without CLMS)."""

    def __init__(self, settings: Settings, http: Http, *, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.http = http
        self.log = log
        self.counts: Counter[str] = Counter()
        self._clms: ClmsClient | None = None
        self._lock = threading.Lock()

    @property
    def clms(self) -> ClmsClient:
        """The CLMS client, with the service key loaded."""
        with self._lock:
            if self._clms is None:
                from fetcher.auth import load_service_key
                from fetcher.sources.clms import ClmsClient

                key = load_service_key(self.settings.clms_key, warn=self.log)
                self._clms = ClmsClient(self.http, self.settings.clms_url, key,
                                        now=self.http.now, warn=self.log)
            return self._clms


# --- resolve, verify, extract ------------------------------------------------


def resolve(rec: Reconciler, step: Step) -> None:
    """Find the item's catalogue entry or file listing and remember it."""
    item = item_of(step)
    request = item.request
    payload: dict[str, Any]
    known = rec.ledger.resolution(res_key(item))
    if item.source is Source.CLMS:
        from fetcher.sources.clms import Resolution

        client = rec.services.clms
        if known is None:  # another item of this round may have resolved the same reference
            resolution = client.resolve(request)
            rec.services.counts["catalogue"] += 1
            rec.ledger.save_resolution(res_key(item), item.source.value,
                                       json.loads(resolution.to_json()))
        else:
            resolution = Resolution.from_json(known)
        client.check(request, resolution)
        rec.note(item.key, f"resolved to {resolution.title!r}")
        return
    if known is not None:
        return
    if item.source is Source.CEDA:
        from fetcher.sources import ceda

        files = ceda.list_files(rec.http, rec.settings.ceda_url, request["path"], request["files"])
    else:
        from fetcher.sources import zenodo

        files = zenodo.list_files(rec.http, rec.settings.zenodo_url, request["record"],
                                  request.get("files"))
    rec.services.counts["listings"] += 1
    payload = {"files": [asdict(f) for f in files]}
    rec.ledger.save_resolution(res_key(item), item.source.value, payload)
    rec.note(item.key, f"listed {len(files)} file(s)")


def verify(rec: Reconciler, step: Step) -> None:
    """Re-hash files whose size or time changed: keep the same bytes, remove changed ones.

    A removed file stays recorded, so the next round sees it missing and fetches it.
    """
    records: list[FileRecord] = []
    for record in rec.ledger.snapshot().files.get(step.key, ()):
        path = rec.settings.data_dir / record.path
        try:
            size, sha256, _ = store.hash_file(path)
        except FileNotFoundError:
            records.append(record)
            continue
        if (size, sha256) == (record.size, record.sha256):
            records.append(restamp(record, path))
        else:
            path.unlink()
            records.append(record)
            rec.note(step.key, f"{record.path} changed on disk; removed, it will be fetched "
                               "again")
    rec.ledger.record_files(step.key, records)


def extract(rec: Reconciler, step: Step) -> None:
    """Extract a kept archive whose extracted files are missing."""
    item = item_of(step)
    archives = [f for f in rec.ledger.snapshot().files.get(step.key, ()) if f.role == "archive"]
    records = list(archives)
    for archive in archives:
        records += extract_archive(rec, item, rec.settings.data_dir / archive.path, keep=True)
    rec.ledger.record_files(step.key, records)


HANDLERS: dict[Action, Callable[[Reconciler, Step], None]] = {
    Action.RESOLVE: resolve, Action.VERIFY: verify, Action.EXTRACT: extract,
}


# --- shared by the steps ------------------------------------------------------


def item_of(step: Step) -> Item:
    assert step.item is not None, "orphans have no work"
    return step.item


def res_key(item: Item) -> str:
    key = resolution_key(item)
    assert key is not None
    return key


def resolution_of(snapshot: Snapshot, item: Item) -> Resolution:
    from fetcher.sources.clms import Resolution

    payload = snapshot.resolutions.get(res_key(item))
    if payload is None:
        raise FetcherError(f"{item.label}: no catalogue resolution recorded")
    return Resolution.from_json(payload)


def extract_archive(rec: Reconciler, item: Item, archive: Path, *, keep: bool) -> list[FileRecord]:
    folder = rec.settings.data_dir / item.folder
    extracted = store.extract(archive, folder)
    if not keep:
        archive.unlink(missing_ok=True)
    records = []
    for path in extracted:
        size, sha256, md5 = store.hash_file(path)
        records.append(FileRecord(item_key=item.key, path=relative(rec, path), size=size,
                                  sha256=sha256, mtime_ns=path.stat().st_mtime_ns, md5=md5,
                                  role="data"))
    return records


def file_record(rec: Reconciler, key: str, local: LocalFile, *, role: str) -> FileRecord:
    return FileRecord(item_key=key, path=relative(rec, Path(local.path)), size=local.size,
                      sha256=local.sha256, mtime_ns=local.mtime_ns, role=role, md5=local.md5,
                      url=local.url, etag=local.etag, last_modified=local.last_modified)


def restamp(record: FileRecord, path: Path) -> FileRecord:
    return FileRecord(**{**asdict(record), "mtime_ns": path.stat().st_mtime_ns})


def relative(rec: Reconciler, path: Path) -> str:
    return Path(os.path.relpath(path, rec.settings.data_dir)).as_posix()
