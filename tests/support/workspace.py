"""A temporary project: specs, data folder, ledger, service key, against one emulator.

A workspace syncs in-process (``sync``: the emulator's fake clock is both clock and
sleep, so nothing really sleeps) or through the CLI as a child process (``cli``,
``start`` / ``finish``, ``kill_after``, ``until_done``), which can be killed with
SIGKILL. Both read the same settings: the ledger at ``db`` (an SQLite file, or a
PostgreSQL schema on the ``--ledger-on-postgres`` pass), the data under ``data``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import ledgers
from tests.support.keys import write_service_key
from tests.support.library import (
    Emulator,
    Http,
    Ledger,
    Report,
    Settings,
    SyncOptions,
    open_ledger,
    sync,
)

POLL_INTERVAL = "0.05"  # seconds between a CLI child's polls of the emulator


@dataclass
class Run:
    """One finished CLI run."""

    args: list[str]
    code: int
    stdout: str
    stderr: str


@dataclass
class Workspace:
    """A temporary project against one emulator, and every output its CLI runs produced."""

    root: Path
    emu: Emulator
    db: str  # the ledger's location: an SQLite path or a PostgreSQL URL
    runs: list[Run] = field(default_factory=list)
    env_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def specs(self) -> Path:
        return self.root / "specs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def key(self) -> Path:
        return self.root / "clms-service-key.json"

    # --- writing specs -----------------------------------------------------------------

    def write_spec(self, text: str, name: str = "specs.yaml") -> Path:
        """Write one spec file (dedented) into the specs folder."""
        path = self.specs / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    # --- in-process ----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings of an in-process sync or command on this workspace."""
        return Settings.from_env(
            {}, db=self.db, data_dir=self.data, clms_key=self.key,
            clms_url=self.emu.urls.clms, ceda_url=self.emu.urls.ceda,
            zenodo_url=self.emu.urls.zenodo)

    def sync(self, log: Callable[[str], None] | None = None, *,
             sleep: Callable[[float], None] | None = None, http: Http | None = None,
             **options: Any) -> Report:
        """Run ``sync`` in-process with these ``SyncOptions``.

        The emulator's fake clock is the clock; ``sleep`` (default: advancing that clock)
        is the sleep. An ``http`` given is used as it is, and left open.
        """
        client = http or Http(sleep=sleep or self.emu.clock.advance, now=self.emu.clock.now)
        try:
            return sync([self.specs], self.settings, SyncOptions(**options), http=client,
                        log=log)
        finally:
            if http is None:
                client.close()

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        """The workspace's ledger, opened as fetcher opens it for this data folder."""
        with open_ledger(self.settings) as ledger:
            yield ledger

    # --- the ledger itself ---------------------------------------------------------------

    @property
    def db_file(self) -> Path:
        """The SQLite file of the ledger (for the tests marked ``sqlite_only``)."""
        if ledgers.is_postgres(self.db):
            raise AssertionError("this ledger is on PostgreSQL: mark the test sqlite_only")
        return Path(self.db)

    def ledger_files(self) -> list[Path]:
        """The files that hold the ledger (none when it is on PostgreSQL)."""
        return ledgers.files(self.db)

    def ledger_contents(self) -> dict[str, bytes]:
        """Everything the ledger holds: its files' bytes, or its tables' rows."""
        return ledgers.contents(self.db)

    def forget_ledger(self) -> None:
        """Lose the ledger, as on a new machine (the next command starts a new one)."""
        ledgers.forget(self.db)

    def copy(self, root: Path) -> Workspace:
        """A copy at ``root`` (specs, data with its mtimes, ledger, key), on the same emulator."""
        shutil.copytree(self.root, root)
        copied = Workspace(root, self.emu, self.db)
        shared = ledgers.is_postgres(self.db)
        sites = (self.settings.site(shared), copied.settings.site(shared))
        copied.db = ledgers.copy(self.db, self.root, root, sites)
        return copied

    # --- the CLI as a child process ----------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a ``fetcher`` child pointed at this workspace.

        Every ``FETCHER_*`` variable of the test run's own environment is left out, so that
        a developer's settings cannot reach the child.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("FETCHER_")}
        env.update({
            "FETCHER_DB": self.db, "FETCHER_DATA_DIR": str(self.data),
            "FETCHER_CLMS_KEY": str(self.key), "FETCHER_CLMS_URL": self.emu.urls.clms,
            "FETCHER_CEDA_URL": self.emu.urls.ceda, "FETCHER_ZENODO_URL": self.emu.urls.zenodo,
            "FETCHER_POLL_INTERVAL": POLL_INTERVAL, "PYTHONWARNINGS": "error",
        })
        env.update(self.env_overrides)
        env.update(extra)
        return env

    def argv(self, *args: str, command: str = "sync") -> list[str]:
        """``python -m fetcher COMMAND ARGS`` (a sync of this workspace's specs folder)."""
        if command == "sync":
            return [sys.executable, "-m", "fetcher", "sync", str(self.specs), *args]
        return [sys.executable, "-m", "fetcher", command, *args]

    def start(self, *args: str, failpoint: str | None = None, command: str = "sync",
              preexec: Callable[[], None] | None = None,
              argv: list[str] | None = None, **env: str) -> subprocess.Popen[str]:
        """Start a CLI child (optionally with a failpoint); the caller finishes or kills it."""
        extra = {"FETCHER_FAILPOINT": failpoint} if failpoint else {}
        return subprocess.Popen(argv or self.argv(*args, command=command),
                                env=self.env(**extra, **env), cwd=self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=preexec)

    def finish(self, proc: subprocess.Popen[str], args: list[str],
               timeout: float = 60) -> Run:
        """Wait for a child (killing it after ``timeout`` s), keep its output, return it."""
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        run = Run(args, proc.returncode, out, err)
        self.runs.append(run)
        return run

    def cli(self, *args: str, failpoint: str | None = None, command: str = "sync",
            timeout: float = 60, preexec: Callable[[], None] | None = None) -> Run:
        """Run ``fetcher COMMAND`` (by default a sync of the specs) to its end."""
        proc = self.start(*args, failpoint=failpoint, command=command, preexec=preexec)
        return self.finish(proc, list(args), timeout)

    def fetcher(self, *args: str, timeout: float = 60, **env: str) -> Run:
        """``python -m fetcher ARGS`` exactly as given, with ``env`` added, to its end."""
        proc = self.start(argv=[sys.executable, "-m", "fetcher", *args], **env)
        return self.finish(proc, list(args), timeout)

    def kill_after(self, delay: float, *args: str) -> Run:
        """Start a sync and SIGKILL it after ``delay`` seconds (if still running)."""
        proc = self.start(*args)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
        return self.finish(proc, list(args))

    def until_done(self, *args: str, tries: int = 5) -> Run:
        """Rerun sync until it exits 0 (a crash may leave a task to wait for)."""
        run = self.cli(*args)
        for _ in range(tries - 1):
            if run.code == 0:
                break
            time.sleep(0.2)
            run = self.cli(*args)
        return run


def make_workspace(root: Path, emu: Emulator, *, migrated: bool = True) -> Workspace:
    """A workspace in ``root``: an empty specs folder, a mode-600 service key, a ledger.

    The ledger is at the head schema, or with ``migrated=False`` absent until the first
    command creates it.
    """
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root, emu, ledgers.new(root, migrated=migrated))
    ws.specs.mkdir()
    write_service_key(ws.key, emu)
    return ws
