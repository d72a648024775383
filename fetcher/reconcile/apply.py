"""Carrying out a plan: the only part of the reconciler with side effects.

Each round plans afresh from the ledger, then acts on every step: resolve
references, verify changed files, adopt or submit server requests (the source
commits the intent before the POST leaves), poll all open tasks with one task
listing per source, and start downloads, which run in workers beside the rounds
(``downloads.Downloads``): a finished download is recorded at the next round, and
a round that has nothing else to do waits for the first download to finish or the
next poll to fall due, whichever comes first. Rounds repeat until nothing is
pending, the timeout passes, or ``--no-wait`` returns after submitting. Time and
sleep are injected (through the network seam's clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Protocol

from fetcher.context import StepContext
from fetcher.errors import AuthError, FetcherError, OfflineError
from fetcher.journal import Journal
from fetcher.reconcile import local
from fetcher.reconcile.downloads import Downloads
from fetcher.reconcile.leases import Leases
from fetcher.reconcile.plan import Plan, Policy, plan
from fetcher.reconcile.report import Report, build_report
from fetcher.sources import Source, source_for
from fetcher.transfer.archives import remove_stale_extractions
from fetcher.transfer.files import stat_files
from fetcher.types import Action, Item, Snapshot, Step

NETWORK_ACTIONS = frozenset({Action.RESOLVE, Action.SUBMIT, Action.RESUBMIT, Action.ADOPT,
                             Action.WAIT, Action.DOWNLOAD})
REQUEST_ACTIONS = (Action.ADOPT, Action.SUBMIT, Action.RESUBMIT)
LOCAL_STEPS: dict[Action, Callable[[StepContext, Step], None]] = {
    Action.RESOLVE: local.resolve, Action.VERIFY: local.verify, Action.EXTRACT: local.extract,
}


@dataclass(frozen=True)
class SyncOptions:
    """How a sync behaves beyond what the specs say."""

    wait: bool = True
    timeout: float | None = None
    jobs: int = 4
    per_host: int = 2
    offline: bool = False
    retry_failed: bool = False
    poll_max: float = 300.0
    poll_fraction: float = 0.15
    wait_lock: float = 0.0
    frozen: bool = False
    refresh_catalogue: bool = False
    policy: Policy = field(default_factory=Policy)


@dataclass
class Backoff:
    """How long to wait before the next poll: a share of the time waited so far.

    From ``first`` seconds, each wait is ``fraction`` of the time spent waiting,
    up to ``most``: a task is noticed at most that share of its processing time
    late, and a task of hours is asked about every few minutes.
    """

    first: float
    most: float
    fraction: float
    since: float | None = None

    def next(self, now: float) -> float:
        """The next wait, counting from the first call."""
        if self.since is None:
            self.since = now
        return max(self.first, min(self.most, self.fraction * (now - self.since)))


class Waiting(Protocol):
    """What the engine shows while it waits (a terminal display)."""

    def waiting(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """Items waiting for their server task: label, status, seconds since requested."""


class Reconciler:
    """One sync of a set of items against one ledger."""

    def __init__(self, ctx: StepContext, options: SyncOptions, *,
                 heartbeat: Callable[[], None] | None = None,
                 display: Waiting | None = None) -> None:
        self.ctx = ctx
        self.options = options
        self.display = display
        self.leases = Leases(ctx.ledger, ttl=ctx.settings.lease_seconds)
        self.heartbeat = heartbeat or (lambda: None)
        self.last: tuple[Plan, Snapshot] = (Plan(), Snapshot())
        self.started = ctx.now()
        self.downloads = Downloads(ctx, jobs=options.jobs, per_host=options.per_host)

    @property
    def journal(self) -> Journal:
        """Where the steps report."""
        return self.ctx.journal

    def run(self, items: Sequence[Item]) -> Report:
        """Reconcile ``items``; return the report. Fatal errors (auth, ledger) propagate."""
        ledger = self.ctx.ledger
        ledger.sync_items(items)
        if not ledger.shared:  # this process is the only one writing the folder
            for folder in remove_stale_extractions(self.ctx.settings.data_dir):
                self.journal.log(f"removed {folder}, left by an interrupted extraction")
        try:
            waited_out = self._rounds(items)
        finally:
            try:
                self.downloads.close()
            finally:
                self.leases.close()
        final, snapshot = self.last
        return build_report(self.journal, final, snapshot, seconds=self.ctx.now() - self.started,
                            http_requests=self.ctx.http.requests_made,
                            waited_out=waited_out and not self.options.wait)

    def _rounds(self, items: Sequence[Item]) -> bool:
        """Plan and act until nothing is left to do now; True when it stopped waiting."""
        backoff = Backoff(self.ctx.settings.poll_interval, self.options.poll_max,
                          self.options.poll_fraction)
        polled = False
        downloads = self.downloads
        while True:
            self.heartbeat()
            downloads.collect(0)
            work = self._work(self._plan(items))
            if self.options.offline:
                if self._offline_round(work):
                    continue
                return False
            busy = downloads.busy
            acting = [s for s in work if s.action is not Action.WAIT and s.key not in busy]
            waiting = [s for s in work if s.action is Action.WAIT]
            deferred: list[Step] = []
            if acting:
                claimed, deferred = self._claim(items, acting)
                if claimed:
                    try:
                        self._act(claimed)
                    finally:
                        self.leases.release(keep=downloads.busy)
                    continue
            if not waiting and not deferred:
                if not downloads.collect(None):
                    return False
                continue
            interval = backoff.next(self.ctx.now())
            if deferred and not waiting:
                # Other workers hold these items: wait for them like for the server.
                if not self.options.wait or self._timed_out(interval):
                    if downloads.collect(None):
                        continue
                    return True
                self.journal.log(f"{len(deferred)} item(s) being worked on by another worker")
                self._pause(min(interval, self.leases.ttl / 3))
                continue
            if not polled:
                # A run that finds requests already waiting (a task, or a CDSE request
                # whose task the server names later) asks the server once at once.
                polled = True
                journal = self.journal
                if any(s.key not in journal.seen and s.key not in journal.submitted
                       for s in waiting):
                    self._poll(waiting)
                    continue
            if not self.options.wait or self._timed_out(interval):
                if downloads.collect(None):  # downloads under way finish first
                    continue
                if not self.options.wait:
                    return True
                self.journal.log(f"stopped waiting after {self.options.timeout:.0f} s "
                                 "(--timeout); a later sync picks the tasks up")
                return self.options.timeout is not None
            self.journal.log(f"waiting {interval:.0f} s for {len(waiting)} task(s)")
            self._show_waiting(waiting)
            if self._pause(interval):
                polled = True
                self._poll(waiting)

    def _pause(self, interval: float) -> bool:
        """Wait ``interval`` for the next poll; False when a download finished first.

        With downloads under way the wait is real (the first to finish ends it); a
        fake clock (tests) is then moved by what the real wait did not cover.
        """
        if not self.downloads.busy:
            self.ctx.http.sleep(interval)
            return True
        began = time.monotonic()
        if self.downloads.collect(interval):
            return False
        self.ctx.http.sleep(max(0.0, interval - (time.monotonic() - began)))
        return True

    # --- one round --------------------------------------------------------

    def _plan(self, items: Sequence[Item]) -> Plan:
        snapshot = self.ctx.ledger.snapshot()
        disk = stat_files(self.ctx.settings.data_dir,
                          (f.path for files in snapshot.files.values() for f in files))
        self.last = (plan(items, snapshot, disk, self.ctx.now(), self.options.policy), snapshot)
        return self.last[0]

    def _work(self, current: Plan) -> list[Step]:
        """The steps to act on this round: pending ones, held ones too with --retry-failed."""
        failed = self.journal.failed
        work = [s for s in current.pending if s.key not in failed]
        if self.options.retry_failed:
            work += [s for s in current.steps if s.held and s.key not in failed]
        return work

    def _act(self, acting: list[Step]) -> None:
        by_action: dict[Action, list[Step]] = {}
        for step in acting:
            by_action.setdefault(step.action, []).append(step)
        for action in (Action.RESOLVE, Action.VERIFY, Action.EXTRACT):
            for step in by_action.get(action, []):
                self._handle(step)
        requests = [s for a in REQUEST_ACTIONS for s in by_action.get(a, [])]
        for source, group in _by_source(requests):
            self._guard_all(group, source.submit)
        fetches = by_action.get(Action.DOWNLOAD, [])
        if fetches:
            self.downloads.start(fetches)

    def _claim(self, items: Sequence[Item], acting: list[Step]) -> tuple[list[Step], list[Step]]:
        """Lease the items to act on, then keep only steps a fresh plan still agrees with.

        Another worker may have acted between this worker's plan and its claim.
        """
        claimed, deferred = self.leases.claim(acting)
        if not claimed or not self.ctx.ledger.shared:
            return claimed, deferred
        fresh = {s.key: s.action for s in self._plan(items).steps}
        agreed = [s for s in claimed if fresh.get(s.key) is s.action]
        return agreed, deferred + [s for s in claimed if fresh.get(s.key) is not s.action]

    def _poll(self, waiting: list[Step]) -> None:
        for source, group in _by_source(waiting):
            self._guard_all(group, source.poll)

    def _handle(self, step: Step) -> None:
        try:
            LOCAL_STEPS[step.action](self.ctx, step)
        except AuthError:
            raise
        except FetcherError as exc:
            self.ctx.fail(step, exc)

    def _guard_all(self, group: list[Step],
                   work: Callable[[StepContext, Sequence[Step]], None]) -> None:
        try:
            work(self.ctx, group)
        except AuthError:
            raise
        except FetcherError as exc:
            for step in group:
                self.ctx.fail(step, exc)

    def _show_waiting(self, waiting: list[Step]) -> None:
        if self.display is None:
            return
        snapshot = self.ctx.ledger.snapshot()
        now = self.ctx.now()
        rows = []
        for step in waiting:
            task = snapshot.tasks.get(step.key)
            if task is not None:
                rows.append((step.label, task.status, now - task.created_at))
        self.display.waiting(rows)

    def _timed_out(self, interval: float) -> bool:
        timeout = self.options.timeout
        return timeout is not None and self.ctx.now() + interval - self.started > timeout

    def _offline_round(self, work: list[Step]) -> bool:
        """Do what needs no network; True when something was done (plan again)."""
        local_work = [s for s in work if s.action not in NETWORK_ACTIONS]
        for step in local_work:
            self._handle(step)
        if local_work:
            return True
        needs = [s for s in work if s.action in NETWORK_ACTIONS]
        if needs:
            names = ", ".join(f"{s.label} ({s.action.value})" for s in needs[:10])
            more = f" and {len(needs) - 10} more" if len(needs) > 10 else ""
            raise OfflineError(f"--offline: {len(needs)} item(s) need the network: {names}{more}",
                               hint="run the sync without --offline")
        return False


def _by_source(steps: list[Step]) -> list[tuple[Source, list[Step]]]:
    """Steps grouped by their item's source, in first-seen order."""
    ordered = sorted(steps, key=lambda s: s.wanted.source.value)
    return [(source_for(kind), list(group))
            for kind, group in groupby(ordered, key=lambda s: s.wanted.source)]
