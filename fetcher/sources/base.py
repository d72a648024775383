"""The one protocol every source follows, and what its answers look like.

A source (clms, ceda, zenodo, http) is a stateless object; what it needs for I/O
comes in a ``StepContext``. The planner reads its pure parts (what it resolves,
whether files wait for a server task, what a resolution depends on); the engine
calls the rest. Adding a source means one module with one ``SOURCE`` and a line
in the registry (``fetcher.sources``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from fetcher.errors import FetcherError
from fetcher.types import Item, RemoteFile, SourceKind, Step, TaskRecord

if TYPE_CHECKING:
    from fetcher.context import StepContext


@dataclass(frozen=True)
class Resolved:
    """What a source found for an item: the payload the ledger keeps, and a note."""

    payload: Mapping[str, Any]
    note: str


@dataclass(frozen=True)
class NotReady:
    """Answers of the download host that mean "not yet", and until when they do."""

    statuses: frozenset[int] = frozenset()
    until: float | None = None


class Source:
    """The base of every source: what the engine and the planner may ask of it.

    Subclasses set ``kind`` and ``looks_up``, and override what applies to them.
    """

    kind: ClassVar[SourceKind]
    looks_up: ClassVar[str | None] = None
    """What ``resolve`` finds ("catalogue entry", "file listing"); None: nothing."""
    asynchronous: ClassVar[bool] = False
    """Whether an item's files come from a server task that must be requested first."""

    # --- pure: what the planner and the spec layer ask ---------------------------

    def resolution_basis(self, request: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """What an item's resolution depends on (hashed into its key); None: no resolution."""
        return None

    def check(self, item: Item, resolution: Mapping[str, Any]) -> None:
        """Apply the server's own rules to an item whose resolution is known.

        Raises:
            RequestRejected: the server would refuse the request (a spec mistake).
        """

    def is_input_error(self, exc: FetcherError) -> bool:
        """Whether a refusal means the spec asks for what the server cannot give (exit 2)."""
        return exc.exit_code == 2

    # --- I/O: what the engine asks ---------------------------------------------------

    def resolve(self, ctx: StepContext, item: Item,
                known: Mapping[str, Any] | None) -> Resolved:
        """Look the item up (catalogue entry, file listing): what to remember of it.

        Args:
            ctx: The run's context.
            item: The item.
            known: The resolution already in the ledger (another item of the run
                shares it), or None.

        Returns:
            The resolution (``known`` itself when nothing new was learnt) and a note.
        """
        raise NotImplementedError(f"{self.kind.value} items need no resolution")

    def remote_files(self, item: Item, resolution: Mapping[str, Any] | None,
                     task: TaskRecord | None) -> list[RemoteFile]:
        """The files to download for an item, named as they land in its folder.

        Raises:
            FetcherError: the item has nothing to download yet.
        """
        raise NotImplementedError

    def not_ready(self, task: TaskRecord | None, now: float) -> NotReady:
        """Which download answers mean "not ready yet" for this item, and until when."""
        return NotReady()

    def download_failed(self, ctx: StepContext, step: Step, task: TaskRecord | None,
                        exc: FetcherError) -> bool:
        """Learn from a failed download (a result gone, a listing the server contradicts).

        Returns:
            True when what the ledger knows changed so that trying the item again
            (once, in this run) may succeed; False when the item fails.
        """
        return False

    def submit(self, ctx: StepContext, steps: Sequence[Step]) -> None:
        """Adopt or request the server tasks of items (asynchronous sources only)."""
        raise NotImplementedError(f"{self.kind.value} items need no server task")

    def poll(self, ctx: StepContext, steps: Sequence[Step]) -> None:
        """Read the server tasks of waiting items (asynchronous sources only)."""
        raise NotImplementedError(f"{self.kind.value} items need no server task")
