"""Carrying out a plan: the only part of the reconciler with side effects.

Each round plans afresh from the ledger, then acts on every step: resolve
references, verify changed files, adopt or submit CLMS requests (the intent is
committed before the POST leaves), poll all open tasks with ONE task listing,
download and extract. Rounds repeat, sleeping a growing share of the time waited while
tasks are only waiting, until nothing is pending, the timeout passes, or
``--no-wait`` returns after submitting. Time and sleep are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fetcher.config import Settings
from fetcher.display import PlainDisplay
from fetcher.errors import AuthError, FetcherError, OfflineError
from fetcher.ledger import Ledger
from fetcher.net import Http
from fetcher.ops import stat_files
from fetcher.reconcile import clms_steps, steps
from fetcher.reconcile.leases import Leases
from fetcher.reconcile.plan import Plan, Policy, Step, plan
from fetcher.reconcile.report import Outcome, Report
from fetcher.types import Action, Item, Snapshot

NETWORK_ACTIONS = frozenset({Action.RESOLVE, Action.SUBMIT, Action.RESUBMIT, Action.ADOPT,
                             Action.WAIT, Action.DOWNLOAD})


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
    download_retry_window: float = 300.0
    wait_lock: float = 0.0
    frozen: bool = False
    policy: Policy = field(default_factory=Policy)


Log = Callable[[str], None]


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


class Reconciler:
    """One sync of a set of items against one ledger."""

    def __init__(self, settings: Settings, ledger: Ledger, http: Http, options: SyncOptions,
                 *, log: Log | None = None, heartbeat: Callable[[], None] | None = None,
                 display: PlainDisplay | None = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self.http = http
        self.options = options
        self.display = display
        self.log = log or (display.log if display else (lambda _line: None))
        self.services = steps.Services(settings, http, log=self.log)
        self.leases = Leases(ledger)
        self.heartbeat = heartbeat or (lambda: None)
        self.outcomes: dict[str, Outcome] = {}
        self.last: tuple[Plan, Snapshot] = (Plan(), Snapshot())
        self.failed: set[str] = set()
        self.submitted: set[str] = set()  # items whose request this run posted
        self.seen: set[str] = set()  # items whose task this run posted or read from the server
        self.started = http.now()

    def run(self, items: Sequence[Item]) -> Report:
        """Reconcile ``items``; return the report. Fatal errors (auth, ledger) propagate."""
        self.ledger.sync_items(items)
        if not self.ledger.shared:  # this process is the only one writing the folder
            from fetcher import store

            for folder in store.remove_stale_extractions(self.settings.data_dir):
                self.log(f"removed {folder}, left by an interrupted extraction")
        for item in items:
            self.outcomes[item.key] = Outcome(item.key, item.label, "incomplete")
        backoff = Backoff(self.settings.poll_interval, self.options.poll_max,
                          self.options.poll_fraction)
        waited_out = False
        polled = False
        while True:
            self.heartbeat()
            current = self._plan(items)
            work = [s for s in current.pending if s.key not in self.failed]
            if self.options.retry_failed:
                work += [s for s in current.steps if s.held and s.key not in self.failed]
            if self.options.offline:
                if self._offline_round(work):
                    continue
                break
            acting = [s for s in work if s.action is not Action.WAIT]
            waiting = [s for s in work if s.action is Action.WAIT]
            deferred: list[Step] = []
            if acting:
                claimed, deferred = self._claim(items, acting)
                if claimed:
                    try:
                        self._act(claimed, waiting)
                    finally:
                        self.leases.release()
                    continue
            if not waiting and not deferred:
                break
            interval = backoff.next(self.http.now())
            if deferred and not waiting:
                # Other workers hold these items: wait for them like for the server.
                if not self.options.wait or self._timed_out(interval):
                    waited_out = True
                    break
                self.log(f"{len(deferred)} item(s) being worked on by another worker")
                self.http.sleep(min(interval, self.leases.ttl / 3))
                continue
            if not polled:
                # A run that finds tasks already waiting asks the server once at once.
                polled = True
                if any(s.task_id and s.key not in self.seen for s in waiting):
                    self._poll(waiting)
                    continue
            if not self.options.wait:
                waited_out = True
                break
            if self._timed_out(interval):
                waited_out = self.options.timeout is not None
                self.log(f"stopped waiting after {self.options.timeout:.0f} s (--timeout); "
                         "a later sync picks the tasks up")
                break
            self.log(f"waiting {interval:.0f} s for {len(waiting)} task(s)")
            self._show_waiting(waiting)
            self.http.sleep(interval)
            polled = True
            self._poll(waiting)
        return self._report(items, waited_out and not self.options.wait)

    # --- one round --------------------------------------------------------

    def _plan(self, items: Sequence[Item]) -> Plan:
        snapshot = self.ledger.snapshot()
        recorded = (f for files in snapshot.files.values() for f in files)
        disk = stat_files(self.settings.data_dir, recorded)
        self.last = (plan(items, snapshot, disk, self.http.now(), self.options.policy), snapshot)
        return self.last[0]

    def _act(self, acting: list[Step], waiting: list[Step]) -> None:
        by_action: dict[Action, list[Step]] = {}
        for step in acting:
            by_action.setdefault(step.action, []).append(step)
        for action in (Action.RESOLVE, Action.VERIFY, Action.EXTRACT):
            for step in by_action.get(action, []):
                self._handle(step)
        submits = [s for a in (Action.ADOPT, Action.SUBMIT, Action.RESUBMIT)
                   for s in by_action.get(a, [])]
        if submits:
            self._guard_all(submits, lambda: clms_steps.submit_all(self, submits))
        fetches = by_action.get(Action.DOWNLOAD, [])
        if fetches:
            from fetcher.reconcile import downloads  # requests loads only when needed

            downloads.download_all(self, fetches)

    def _claim(self, items: Sequence[Item], acting: list[Step]) -> tuple[list[Step], list[Step]]:
        """Lease the items to act on, then keep only steps a fresh plan still agrees with.

        Another worker may have acted between this worker's plan and its claim.
        """
        claimed, deferred = self.leases.claim(acting)
        if not claimed or not self.ledger.shared:
            return claimed, deferred
        fresh = {s.key: s.action for s in self._plan(items).steps}
        agreed = [s for s in claimed if fresh.get(s.key) is s.action]
        return agreed, deferred + [s for s in claimed if fresh.get(s.key) is not s.action]

    def _poll(self, waiting: list[Step]) -> None:
        self._guard_all(waiting, lambda: clms_steps.poll(self, waiting))

    def _handle(self, step: Step) -> None:
        try:
            steps.HANDLERS[step.action](self, step)
        except AuthError:
            raise
        except FetcherError as exc:
            self.fail(step, exc)

    def _guard_all(self, group: list[Step], work: Callable[[], Any]) -> None:
        try:
            work()
        except AuthError:
            raise
        except FetcherError as exc:
            for step in group:
                self.fail(step, exc)

    def fail(self, step: Step, exc: FetcherError) -> None:
        """Record that an item cannot progress in this run."""
        self.failed.add(step.key)
        outcome = self.outcomes.get(step.key)
        if outcome is not None:
            outcome.outcome = "failed"
            outcome.message = exc.message
            outcome.input_error = exc.exit_code == 2
        self.ledger.event("error", exc.message, step.key)
        self.log(f"{step.label}: {exc.message}")

    def settle(self, key: str, message: str) -> None:
        """A request this run posted has failed: report it, retry only on a later sync."""
        self.failed.add(key)
        outcome = self.outcomes.get(key)
        if outcome is not None:
            outcome.outcome = "failed"
            outcome.message = f"{message}; requested again on the next sync"

    def note(self, key: str, text: str) -> None:
        """Add a line to an item's story in the report, and log it."""
        outcome = self.outcomes.get(key)
        if outcome is not None:
            outcome.notes.append(text)
            self.log(f"{outcome.item}: {text}")

    def _show_waiting(self, waiting: list[Step]) -> None:
        if self.display is None:
            return
        snapshot = self.ledger.snapshot()
        now = self.http.now()
        rows = []
        for step in waiting:
            task = snapshot.tasks.get(step.key)
            if task is not None:
                rows.append((step.label, task.status, now - task.created_at))
        self.display.waiting(rows)

    def transfer(self, key: str, name: str, done: int, total: int | None) -> None:
        """Show a download's progress."""
        if self.display is not None:
            self.display.transfer(key, name, done, total)

    def _timed_out(self, interval: float) -> bool:
        timeout = self.options.timeout
        return timeout is not None and self.http.now() + interval - self.started > timeout

    def _offline_round(self, work: list[Step]) -> bool:
        """Do what needs no network; True when something was done (plan again)."""
        local = [s for s in work if s.action not in NETWORK_ACTIONS]
        for step in local:
            self._handle(step)
        if local:
            return True
        needs = [s for s in work if s.action in NETWORK_ACTIONS]
        if needs:
            names = ", ".join(f"{s.label} ({s.action.value})" for s in needs[:10])
            more = f" and {len(needs) - 10} more" if len(needs) > 10 else ""
            raise OfflineError(f"--offline: {len(needs)} item(s) need the network: {names}{more}",
                               hint="run the sync without --offline")
        return False

    # --- the report -------------------------------------------------------

    def _report(self, items: Sequence[Item], waited_out: bool) -> Report:
        # Every way out of the loop leaves right after planning: that plan is final.
        final, snapshot = self.last
        downloaded_now = {k for k, o in self.outcomes.items() if o.bytes}
        for step in final.steps:
            outcome = self.outcomes.get(step.key)
            if outcome is None:
                self.outcomes[step.key] = Outcome(step.key, step.label, "orphan", step.reason)
                continue
            task = snapshot.tasks.get(step.key)
            if task is not None and task.task_id:
                outcome.task_id = task.task_id
                outcome.server_status = task.status
            files = snapshot.files.get(step.key, ())
            outcome.files = len(files)
            if step.key in self.failed:
                continue
            if step.action is Action.UP_TO_DATE:
                outcome.outcome = "downloaded" if step.key in downloaded_now else "up-to-date"
                outcome.message = step.reason
            elif step.action is Action.WAIT:
                outcome.outcome = "waiting"
                outcome.message = step.reason
            elif step.held:
                outcome.outcome = "failed"
                outcome.message = f"{step.reason}; {step.held}"
            else:
                outcome.outcome = "incomplete"
                outcome.message = f"next: {step.action.value} ({step.reason})"
        requests = dict(self.services.counts)
        requests["http"] = self.http.requests_made
        return Report(outcomes=list(self.outcomes.values()), requests=requests,
                      bytes_moved=sum(o.bytes for o in self.outcomes.values()),
                      seconds=self.http.now() - self.started, waited_out=waited_out)


def sync(paths: Sequence[str | Path] = ("specs",), settings: Settings | None = None,
         options: SyncOptions | None = None, *, http: Http | None = None,
         log: Log | None = None, display: PlainDisplay | None = None) -> Report:
    """Load the specs and reconcile them; the library form of ``fetcher sync``.

    Raises:
        SpecError, LedgerError, AuthError: invalid input (exit 2).
        OfflineError: ``--offline`` and some item needs the network.
    """
    from fetcher.spec import load_specs

    settings = settings or Settings.from_env()
    options = options or SyncOptions()
    specs = load_specs(list(paths))
    http = http or Http(offline=options.offline)
    wall = time.monotonic()
    from fetcher.ledger.lock import ReconcilerLock
    from fetcher.ops import open_ledger

    locked = _frozen_lock(specs) if options.frozen else None
    with open_ledger(settings, now=http.now) as ledger, \
            ReconcilerLock(ledger, now=time.time, sleep=time.sleep) as lock:
        if not ledger.shared:  # a shared ledger's workers split the items with leases
            lock.acquire(options.wait_lock)
        if locked is not None:
            _seed_from_lock(ledger, specs.items, locked)
        reconciler = Reconciler(settings, ledger, http, options, log=log,
                                heartbeat=lock.heartbeat, display=display)
        try:
            report = reconciler.run(specs.items)
        finally:
            reconciler.leases.close()
        if locked is not None:
            _compare_with_lock(report, specs.items, ledger, locked)
    if http.sleep is time.sleep:
        report.seconds = time.monotonic() - wall
    return report


def _frozen_lock(specs: Any) -> dict[str, Any]:
    """The lock file's items, after checking the specs ask for exactly them."""
    from fetcher import lockfile

    locked = lockfile.read(specs.folder / lockfile.LOCK_NAME)
    differences = lockfile.spec_differences(specs.items, locked)
    if differences:
        raise lockfile.DriftError(
            f"--frozen: the specs differ from {lockfile.LOCK_NAME}: " + "; ".join(differences),
            hint="run `fetcher sync` and `fetcher lock` to accept the change")
    return locked


def _seed_from_lock(ledger: Ledger, items: Sequence[Item], locked: dict[str, Any]) -> None:
    """Use the locked catalogue ids and listings: a frozen sync searches nothing."""
    from fetcher.reconcile.plan import resolution_key

    ledger.sync_items(items)
    for item in items:
        key = resolution_key(item)
        resolution = locked[item.key].resolution
        if key is not None and resolution is not None:
            ledger.save_resolution(key, item.source.value, resolution)


def _compare_with_lock(report: Report, items: Sequence[Item], ledger: Ledger,
                       locked: dict[str, Any]) -> None:
    from fetcher import lockfile

    for problem in lockfile.file_differences(list(items), ledger.snapshot(), locked):
        label = problem.split(":", 1)[0]
        for outcome in report.outcomes:
            if outcome.item == label:
                outcome.outcome = "drifted"
                outcome.message = problem
