"""The ``ceda`` source: files of a CEDA archive folder, such as GEBCO's.

``<path>?json`` lists a folder: each file's name, size, md5 and download link.
A spec's ``files`` are names or shell-style globs matched against that listing;
when one matches nothing, the error lists what the folder holds. The listing's
size and md5 are what the download core then verifies.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

from fetcher.errors import RemoteError
from fetcher.sources.base import Source
from fetcher.sources.listing import ListedSource
from fetcher.transfer.http import Http
from fetcher.transfer.magic import kind_for_name
from fetcher.types import Item, RemoteFile, SourceKind

if TYPE_CHECKING:
    from fetcher.context import StepContext

_LIST_KEYS = ("items", "files", "entries", "contents", "children")
_DIR_TYPES = {"dir", "directory", "folder", "collection"}


def folder_url(base_url: str, path: str) -> str:
    """The folder's address: the archive base joined with the spec's path."""
    return f"{base_url.rstrip('/')}/{path.strip('/')}"


def list_files(http: Http, base_url: str, path: str,
               patterns: Sequence[str]) -> list[RemoteFile]:
    """The folder's files matching any of ``patterns``, with size, md5 and URL.

    Args:
        http: The network seam.
        base_url: Archive base, ``https://dap.ceda.ac.uk`` (``FETCHER_CEDA_URL``).
        path: Folder path in the archive, such as ``/bodc/gebco/global/...``.
        patterns: File names or globs (``gebco_2024*.zip``); each must match.

    Returns:
        Matching files in listing order, each once.

    Raises:
        RemoteError: the listing cannot be read, or a pattern matches nothing (the
            message lists what the folder holds).
    """
    url = folder_url(base_url, path)
    body = http.get_json(f"{url}?json", headers={"Accept": "application/json"})
    offered = [f for entry in _entries(body, url) if (f := _remote_file(entry, url)) is not None]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(f.name, p) for f in offered)]
    if unmatched:
        held = ", ".join(f.name for f in offered) or "no files"
        raise RemoteError(
            f"CEDA folder {path} has nothing matching {', '.join(map(repr, unmatched))}; "
            f"it holds: {held}", url=url, hint="fix the `files` list or `path` in the spec")
    return [f for f in offered if any(fnmatch.fnmatchcase(f.name, p) for p in patterns)]


def _entries(body: Any, url: str) -> list[Mapping[str, Any]]:
    """The entries of a listing, whichever container key the archive uses."""
    items: Any = body
    if isinstance(body, Mapping):
        items = next((body[k] for k in _LIST_KEYS if isinstance(body.get(k), list)), None)
    if not isinstance(items, list):
        raise RemoteError(f"{url}?json: not a folder listing", url=url,
                          hint="check the `path` in the spec; it must name a folder")
    return [entry for entry in items if isinstance(entry, Mapping)]


def _remote_file(entry: Mapping[str, Any], folder: str) -> RemoteFile | None:
    """A listing entry as a RemoteFile, or None for folders and nameless entries."""
    name = str(entry.get("name") or entry.get("filename") or "")
    name = name or str(entry.get("path") or "").rstrip("/").rpartition("/")[2]
    kind = str(entry.get("type") or "").lower()
    if not name or kind in _DIR_TYPES or name.endswith("/"):
        return None
    size = entry.get("size", entry.get("filesize"))
    return RemoteFile(
        name=name,
        url=_link(entry, folder, name),
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        md5=_md5(entry.get("md5") or entry.get("checksum")),
        kind=kind_for_name(name),
    )


def _md5(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    digest = value.rpartition(":")[2].lower()
    return digest if len(digest) == 32 else None


def _link(entry: Mapping[str, Any], folder: str, name: str) -> str:
    links = entry.get("links")
    candidates = [entry.get(k) for k in ("download", "download_url", "url", "href")]
    if isinstance(links, Mapping):
        candidates += [links.get(k) for k in ("download", "self")]
    link = next((c for c in candidates if isinstance(c, str) and c), None)
    # Relative links are resolved against the folder itself.
    return urljoin(folder + "/", link) if link else f"{folder}/{quote(name)}"


class CedaSource(ListedSource):
    """Files of a CEDA archive folder, matched by name or glob against its listing."""

    kind = SourceKind.CEDA

    def resolution_basis(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """The folder and the selection: the listing kept is the selection's."""
        return {"path": request["path"], "files": request.get("files")}

    def listing(self, ctx: StepContext, item: Item) -> list[RemoteFile]:
        """The folder's listing, narrowed to the item's files."""
        return list_files(ctx.http, ctx.settings.ceda_url, item.request["path"],
                          item.request["files"])


SOURCE: Source = CedaSource()
