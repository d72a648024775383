"""``fetcher sync`` as a library function: load the specs, open the ledger, reconcile."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fetcher.config import Settings
from fetcher.context import StepContext
from fetcher.errors import UsageError
from fetcher.journal import Journal
from fetcher.reconcile.apply import Reconciler, SyncOptions
from fetcher.reconcile.report import Report
from fetcher.sources import resolution_key
from fetcher.transfer.http import Http
from fetcher.types import Item

if TYPE_CHECKING:
    from fetcher.ledger import Ledger
    from fetcher.spec import Specs

Log = Callable[[str], None]


class Display(Protocol):
    """Where a sync shows itself: log lines, downloads' progress, waiting tasks."""

    def log(self, line: str) -> None:
        """One line of the run's log."""

    def transfer(self, key: str, name: str, done: int, total: int | None) -> None:
        """A download's bytes so far."""

    def waiting(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """Items waiting for their server task: label, status, seconds since requested."""


def sync(paths: Sequence[str | Path] = ("specs",), settings: Settings | None = None,
         options: SyncOptions | None = None, *, http: Http | None = None,
         log: Log | None = None, display: Display | None = None) -> Report:
    """Load the specs and reconcile them; the library form of ``fetcher sync``.

    Raises:
        SpecError, LedgerError, AuthError: invalid input (exit 2).
        OfflineError: ``--offline`` and some item needs the network.
    """
    from fetcher.ledger.lock import ReconcilerLock
    from fetcher.ops.common import open_ledger
    from fetcher.spec import load_specs

    settings = settings or Settings.from_env()
    options = options or SyncOptions()
    options = replace(options, policy=replace(options.policy,
                                              stale_after=settings.clms_stale_after))
    specs = load_specs(list(paths))
    http = http or Http(offline=options.offline)
    wall = time.monotonic()
    if options.frozen and options.refresh_catalogue:
        raise UsageError("--frozen uses the catalogue entries of fetcher.lock; "
                         "--refresh-catalogue would look them up again",
                         hint="give one of the two")
    locked = _frozen_lock(specs) if options.frozen else None
    with open_ledger(settings, now=http.now) as ledger, \
            ReconcilerLock(ledger, now=time.time, sleep=time.sleep) as lock:
        if not ledger.shared:  # a shared ledger's workers split the items with leases
            lock.acquire(options.wait_lock)
        if locked is not None:
            _seed_from_lock(ledger, specs.items, locked)
        if options.refresh_catalogue:
            _forget_resolutions(ledger, specs.items)
        journal = Journal(specs.items, log=log or (display.log if display else None),
                          progress=display)
        ctx = StepContext(settings, ledger, http, journal,
                          expected=None if locked is None else {
                              key: {path: (size, sha) for path, size, sha in entry.files}
                              for key, entry in locked.items()})
        report = Reconciler(ctx, options, heartbeat=lock.heartbeat, display=display).run(
            specs.items)
        if locked is not None:
            _compare_with_lock(report, specs.items, ledger, locked)
    if http.sleep is time.sleep:
        report.seconds = time.monotonic() - wall
    return report


def _frozen_lock(specs: Specs) -> dict[str, Any]:
    """The lock file's items, after checking the specs ask for exactly them."""
    from fetcher.spec import lockfile

    locked = lockfile.read(specs.folder / lockfile.LOCK_NAME)
    differences = lockfile.spec_differences(specs.items, locked)
    if differences:
        raise lockfile.DriftError(
            f"--frozen: the specs differ from {lockfile.LOCK_NAME}: " + "; ".join(differences),
            hint="run `fetcher sync` and `fetcher lock` to accept the change")
    return locked


def _forget_resolutions(ledger: Ledger, items: Sequence[Item]) -> None:
    """``--refresh-catalogue``: every catalogue entry and listing is looked up again."""
    for key in sorted({k for item in items if (k := resolution_key(item)) is not None}):
        ledger.forget_resolution(key)


def _seed_from_lock(ledger: Ledger, items: Sequence[Item], locked: dict[str, Any]) -> None:
    """Use the locked catalogue ids and listings: a frozen sync searches nothing."""
    ledger.sync_items(items)
    for item in items:
        key = resolution_key(item)
        resolution = locked[item.key].resolution
        if key is not None and resolution is not None:
            ledger.save_resolution(key, item.source.value, resolution)


def _compare_with_lock(report: Report, items: Sequence[Item], ledger: Ledger,
                       locked: dict[str, Any]) -> None:
    from fetcher.spec import lockfile

    for problem in lockfile.file_differences(list(items), ledger.snapshot(), locked):
        label = problem.split(":", 1)[0]
        for outcome in report.outcomes:
            if outcome.item == label:
                outcome.outcome = "drifted"
                outcome.message = problem
