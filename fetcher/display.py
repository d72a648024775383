"""What a sync shows while it runs: log lines, download bars, waiting tasks.

On a terminal, ``LiveDisplay`` draws a progress bar per download (bytes, rate,
ETA) and one live line per waiting task (server status, time waited), with log
lines scrolling above them. Elsewhere ``PlainDisplay`` prints log lines only, so
CI logs stay readable. The reconciler calls these methods from several threads.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO


class PlainDisplay:
    """Log lines to a stream; progress is not drawn."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def log(self, line: str) -> None:
        """One line of what happened."""
        print(line, file=self.stream, flush=True)

    def transfer(self, key: str, name: str, done: int, total: int | None) -> None:
        """A download's progress (not shown)."""

    def waiting(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """The tasks being waited for: (item, server status, seconds waited)."""

    def close(self) -> None:
        """Finish drawing."""


class LiveDisplay(PlainDisplay):
    """Rich progress bars and waiting lines on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console, Group
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = Console(file=self.stream)
        self.downloads = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=self.console)
        self.tasks = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                              console=self.console)
        self.bars: dict[str, Any] = {}
        self.waits: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.live = Live(Group(self.tasks, self.downloads), console=self.console,
                         refresh_per_second=8, transient=True)
        self.live.start()

    def log(self, line: str) -> None:
        """Print above the live lines."""
        self.console.print(line, markup=False, highlight=False)

    def transfer(self, key: str, name: str, done: int, total: int | None) -> None:
        """Create or advance the bar of one download."""
        with self.lock:
            bar = self.bars.get(key)
            if bar is None:
                bar = self.downloads.add_task(name[:40], total=total)
                self.bars[key] = bar
            self.downloads.update(bar, completed=done, total=total)
            if total is not None and done >= total:
                self.downloads.remove_task(bar)
                self.bars.pop(key, None)

    def waiting(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """One line per waiting task; tasks no longer waited for disappear."""
        with self.lock:
            current = {item for item, _, _ in rows}
            for item in list(self.waits):
                if item not in current:
                    self.tasks.remove_task(self.waits.pop(item))
            for item, status, waited in rows:
                text = f"{item}: {status}, waited {_duration(waited)}"
                if item in self.waits:
                    self.tasks.update(self.waits[item], description=text)
                else:
                    self.waits[item] = self.tasks.add_task(text, total=None)

    def close(self) -> None:
        """Stop drawing."""
        self.live.stop()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def for_terminal(quiet: bool) -> PlainDisplay | None:
    """The display a command should use: live on a terminal, plain otherwise, none if quiet."""
    if quiet:
        return None
    return LiveDisplay() if sys.stderr.isatty() else PlainDisplay()
