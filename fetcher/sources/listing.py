"""What the sources whose files come from a listing (CEDA folders, Zenodo records) share.

The listing is the item's resolution: each file's name, size, checksum and
download link, kept in the ledger so that a later run downloads without asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fetcher.errors import FetcherError, IntegrityError, RemoteError
from fetcher.sources.base import Resolved, Source
from fetcher.types import Item, RemoteFile, Step, TaskRecord

if TYPE_CHECKING:
    from fetcher.context import StepContext


class ListedSource(Source):
    """A source whose item is a selection of the files a listing names."""

    looks_up = "file listing"

    def listing(self, ctx: StepContext, item: Item) -> list[RemoteFile]:
        """The files the listing offers for the item (one request, or a cached one)."""
        raise NotImplementedError

    def resolve(self, ctx: StepContext, item: Item,
                known: Mapping[str, Any] | None) -> Resolved:
        """List the item's files, unless another item of the run already did."""
        if known is not None:
            return Resolved(known, "")
        files = self.listing(ctx, item)
        ctx.count("listings")
        return Resolved({"files": [asdict(f) for f in files]}, f"listed {len(files)} file(s)")

    def download_failed(self, ctx: StepContext, step: Step, task: TaskRecord | None,
                        exc: FetcherError) -> bool:
        """A listed file that is gone or has other bytes: list the files again, once."""
        from fetcher.sources import resolution_key

        gone = isinstance(exc, RemoteError) and exc.status in (404, 410)
        if not (gone or isinstance(exc, IntegrityError)):
            return False
        what = "is gone" if gone else "has other bytes than listed"
        return ctx.refresh(step, resolution_key(step.wanted), f"a listed file {what}")

    def remote_files(self, item: Item, resolution: Mapping[str, Any] | None,
                     task: TaskRecord | None) -> list[RemoteFile]:
        """The listed files."""
        if resolution is None:
            raise FetcherError("no file listing recorded")
        return [RemoteFile(**f) for f in resolution["files"]]
