"""The ``http`` source: any URL, optionally pinned by sha256.

The ETag and Last-Modified a download returns are recorded in its LocalFile;
``probe`` reads them again (HEAD) so that the reconciler can tell when the
remote file has changed since it was fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from fetcher.errors import RemoteError
from fetcher.sources.base import Source
from fetcher.transfer.http import Http, describe
from fetcher.transfer.magic import kind_for_name
from fetcher.transfer.urls import check_url
from fetcher.types import Item, LocalFile, RemoteFile, SourceKind, TaskRecord


def remote_file(url: str, sha256: str | None) -> RemoteFile:
    """Describe a plain URL as a RemoteFile.

    Args:
        url: https (or loopback http) address of the file.
        sha256: Optional pin, hex.

    Returns:
        A RemoteFile named after the URL's last path segment, whose kind follows
        the name's extension.

    Raises:
        UsageError: the URL is not https (nor loopback http).
    """
    check_url(url)
    name = unquote(PurePosixPath(urlsplit(url).path).name) or "download"
    return RemoteFile(name=name, url=url, sha256=sha256.lower() if sha256 else None,
                      kind=kind_for_name(name))


@dataclass(frozen=True)
class RemoteState:
    """What the server says about a file now, for drift detection."""

    etag: str | None
    last_modified: str | None
    size: int | None


def probe(http: Http, url: str) -> RemoteState:
    """HEAD a URL and return its validators.

    Raises:
        RemoteError: the server does not answer 200.
    """
    response = http.request("HEAD", url, headers={"Accept-Encoding": "identity"})
    with response:
        if response.status_code != 200:
            raise RemoteError(f"HEAD {urlsplit(url).path}: unexpected answer "
                              f"{describe(response)}", url=url, status=response.status_code)
        length = response.headers.get("Content-Length", "")
        return RemoteState(response.headers.get("ETag"), response.headers.get("Last-Modified"),
                           int(length) if length.isdigit() else None)


def drifted(local: LocalFile, now: RemoteState) -> bool:
    """True when the remote no longer matches what was downloaded.

    A strong ETag decides when both sides have one; else Last-Modified; else size.
    With nothing to compare, the file is taken as unchanged.
    """
    if local.etag and now.etag:
        return local.etag != now.etag
    if local.last_modified and now.last_modified:
        return local.last_modified != now.last_modified
    return now.size is not None and now.size != local.size


class HttpSource(Source):
    """One file at a URL, named by the URL's last segment or the spec's ``filename``."""

    kind = SourceKind.HTTP

    def remote_files(self, item: Item, resolution: Mapping[str, Any] | None,
                     task: TaskRecord | None) -> list[RemoteFile]:
        """The URL's file, under the name it lands as, with where its credentials are."""
        url = item.options.get("url") or item.request["url"]  # the one with credentials
        remote = remote_file(url, item.request.get("sha256"))
        name = item.options.get("filename") or remote.name
        return [replace(remote, name=name, auth_env=item.options.get("auth_env"))]


SOURCE: Source = HttpSource()
