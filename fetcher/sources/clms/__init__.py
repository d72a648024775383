"""The ``clms`` source: the Copernicus Land Monitoring Service's download API.

An item is one dataset for one region. Its resolution is the catalogue entry
(``catalogue``); its request is checked with the server's own rules (``check``,
``rules``), posted as one data request whose task the ledger records before the
POST leaves (``datarequests``), polled with one task listing per round
(``tasks``), and its result zip fetched from the FME host. ``client`` is the only
part that talks to the API, ``auth`` turns the service key into bearer tokens.

This module stays light: the client, the key and the JWT library load on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fetcher.errors import FetcherError
from fetcher.sources.base import NotReady, Resolved, Source
from fetcher.types import Item, RemoteFile, SourceKind, Step, TaskRecord

if TYPE_CHECKING:
    from fetcher.context import StepContext

NOT_READY = frozenset({403, 404})
"""The FME host's answers for a while after a task ends."""
NOT_READY_WINDOW = 300.0
"""Seconds during which those answers mean "not yet" rather than "no"."""


class ClmsSource(Source):
    """CLMS datasets: catalogue entries, data requests, server tasks, result zips."""

    kind = SourceKind.CLMS
    looks_up = "catalogue entry"
    asynchronous = True

    def resolution_basis(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """The catalogue reference and the download item or file: every region shares it."""
        return {"ref": request["ref"], "download": request.get("download"),
                "file": request.get("file")}

    def check(self, item: Item, resolution: Mapping[str, Any]) -> None:
        """The server's rules for the request (clms-api.md §4.2), before it is sent."""
        from fetcher.sources.clms.catalogue import Resolution
        from fetcher.sources.clms.check import check

        check(item.request, Resolution.from_json(resolution))

    def is_input_error(self, exc: FetcherError) -> bool:
        """A missing dataset or a request the server's rules refuse."""
        from fetcher.sources.clms.datarequests import is_input_error

        return is_input_error(exc)

    def resolve(self, ctx: StepContext, item: Item,
                known: Mapping[str, Any] | None) -> Resolved:
        """Find the catalogue entry with one direct query, unless it is known."""
        from fetcher.sources.clms.catalogue import Resolution
        from fetcher.sources.clms.datarequests import clms_client

        if known is None:
            resolution = clms_client(ctx).resolve(item.request)
            ctx.count("catalogue")
            payload: Mapping[str, Any] = json.loads(resolution.to_json())
        else:
            resolution, payload = Resolution.from_json(known), known
        return Resolved(payload, f"resolved to {resolution.title!r}")

    def remote_files(self, item: Item, resolution: Mapping[str, Any] | None,
                     task: TaskRecord | None) -> list[RemoteFile]:
        """The result zip of the item's finished task."""
        if task is None or not task.download_url:
            raise FetcherError(f"task {task.task_id if task else None} has no download URL yet")
        return [RemoteFile(name=f"{task.task_id}.zip", url=task.download_url,
                           size=task.file_size, kind="zip")]

    def not_ready(self, task: TaskRecord | None, now: float) -> NotReady:
        """The FME host may deny a result for a few minutes after its task finished.

        The window is counted from the task's FinalizationDateTime (else from now):
        past it, a 404 means the result is gone.
        """
        finished = task.finalized_at if task is not None and task.finalized_at else now
        return NotReady(NOT_READY, finished + NOT_READY_WINDOW)

    def download_failed(self, ctx: StepContext, step: Step, task: TaskRecord | None,
                        exc: FetcherError) -> bool:
        """A result the download host denies (404) past its "not ready" window is gone.

        The server may drop results before the documented 72 h (older docs said 10 days,
        some clients assume 24 h). Marking the task gone makes the item requested again
        (in this run, once) instead of knocking at the same URL for ever.
        """
        if task is None or getattr(exc, "status", None) != 404:
            return False
        finished = task.finalized_at or task.updated_at or ctx.now()
        if ctx.now() - finished < NOT_READY_WINDOW:
            return False
        ctx.ledger.update_task(task.row, status="gone",
                               message="the download host no longer has the result (404)")
        ctx.note(step.key, f"the result of task {task.task_id} is gone (404): requesting "
                           "the item again")
        return True

    def submit(self, ctx: StepContext, steps: Sequence[Step]) -> None:
        """Adopt what the server already holds, then post one request per remaining item."""
        from fetcher.sources.clms.datarequests import submit_all

        submit_all(ctx, steps)

    def poll(self, ctx: StepContext, steps: Sequence[Step]) -> None:
        """One task listing for every waiting item."""
        from fetcher.sources.clms.datarequests import poll

        poll(ctx, steps)


SOURCE: Source = ClmsSource()
