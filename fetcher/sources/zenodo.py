"""The ``zenodo`` source: files of a Zenodo record, with their sizes and md5 sums.

``/api/records/<id>`` is read once per record and run (a sync naming several files
of one record asks once). Both record shapes occur in the wild: the current one
(``key``, ``size``, ``checksum: "md5:<hex>"``, ``links.self``) and the legacy one
(``filename``, ``filesize``, a bare hex checksum, ``links.download`` pointing at
``/record/<id>/...``); legacy ``/record/`` links are rewritten to ``/records/``.
Rate limiting (``X-RateLimit-*`` and 429) is honoured by the network seam.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from fetcher.errors import RemoteError
from fetcher.sources.base import Source
from fetcher.sources.listing import ListedSource
from fetcher.transfer.http import Http
from fetcher.transfer.magic import kind_for_name
from fetcher.types import Item, RemoteFile, SourceKind

if TYPE_CHECKING:
    from fetcher.context import StepContext

_records: weakref.WeakKeyDictionary[Http, dict[str, Any]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def record_url(base_url: str, record: int) -> str:
    """The API address of one record."""
    return f"{base_url.rstrip('/')}/api/records/{int(record)}"


def get_record(http: Http, base_url: str, record: int) -> Any:
    """The record's JSON, fetched at most once per ``Http`` (one run).

    Raises:
        RemoteError: the record does not exist or the answer is not JSON.
    """
    url = record_url(base_url, record)
    with _lock:
        cached = _records.setdefault(http, {}).get(url)
    if cached is None:
        cached = http.get_json(url, headers={"Accept": "application/json"})
        with _lock:
            _records[http][url] = cached
    return cached


def list_files(http: Http, base_url: str, record: int,
               names: Sequence[str] | None) -> list[RemoteFile]:
    """The files of a record, or the named ones, with size, md5 and download URL.

    Args:
        http: The network seam.
        base_url: Zenodo's base, ``https://zenodo.org`` (``FETCHER_ZENODO_URL``).
        record: The record id.
        names: File names wanted; None for every file of the record.

    Returns:
        One RemoteFile per wanted file, in the order asked (record order for None).

    Raises:
        RemoteError: the record cannot be read, or lacks a named file (the message
            lists what it holds).
    """
    body = get_record(http, base_url, record)
    entries = body.get("files") if isinstance(body, Mapping) else None
    if not isinstance(entries, list):
        raise RemoteError(f"{record_url(base_url, record)}: the record lists no files",
                          url=record_url(base_url, record),
                          hint="check the record id; restricted records hide their files")
    offered = [_remote_file(entry, base_url, record) for entry in entries
               if isinstance(entry, Mapping)]
    if names is None:
        return offered
    by_name = {f.name: f for f in offered}
    missing = [n for n in names if n not in by_name]
    if missing:
        held = ", ".join(sorted(by_name)) or "nothing"
        raise RemoteError(
            f"Zenodo record {record} has no file {', '.join(map(repr, missing))}; "
            f"it holds: {held}",
            url=record_url(base_url, record), hint="fix the `files` list in the spec")
    return [by_name[n] for n in names]


def _remote_file(entry: Mapping[str, Any], base_url: str, record: int) -> RemoteFile:
    name = str(entry.get("key") or entry.get("filename") or "")
    size = entry.get("size", entry.get("filesize"))
    return RemoteFile(
        name=name,
        url=_download_url(entry, base_url, record, name),
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        md5=_md5(entry.get("checksum")),
        kind=kind_for_name(name),
    )


def _md5(checksum: object) -> str | None:
    """``md5:<hex>`` or bare hex to hex; other algorithms are not checked here."""
    if not isinstance(checksum, str) or not checksum:
        return None
    algorithm, _, digest = checksum.rpartition(":")
    if algorithm and algorithm.lower() != "md5":
        return None
    return digest.lower() if len(digest) == 32 else None


def _download_url(entry: Mapping[str, Any], base_url: str, record: int, name: str) -> str:
    links = entry.get("links")
    links = links if isinstance(links, Mapping) else {}
    for key in ("content", "download", "self"):
        link = links.get(key)
        if isinstance(link, str) and link:
            return _normalise(link)
    return f"{record_url(base_url, record)}/files/{quote(name)}/content"


def _normalise(link: str) -> str:
    """Rewrite legacy ``/record/<id>/...`` links to ``/records/<id>/...``."""
    parts = urlsplit(link)
    path = parts.path
    if path.startswith("/record/"):
        path = "/records/" + path[len("/record/"):]
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


class ZenodoSource(ListedSource):
    """Files of a Zenodo record, all of them or the named ones."""

    kind = SourceKind.ZENODO

    def resolution_basis(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record and the selection: the listing kept is the selection's."""
        return {"record": request["record"], "files": request.get("files")}

    def listing(self, ctx: StepContext, item: Item) -> list[RemoteFile]:
        """The record's files, narrowed to the item's selection."""
        return list_files(ctx.http, ctx.settings.zenodo_url, item.request["record"],
                          item.request.get("files"))


SOURCE: Source = ZenodoSource()
