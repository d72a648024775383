"""Emulators on loopback, with the defaults the suites use.

``FAKE_CLOCK``: time moves only when the client sleeps (in-process syncs), with the
emulator's default task schedule (30 s queued, 60 s running). ``REAL_CLOCK``: a
schedule of fractions of a second, for CLI children that really sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.library import Emulator, EmulatorConfig

FAKE_CLOCK: dict[str, Any] = {"seed": 0, "fake_clock": True, "catalogue_size": 10}
REAL_CLOCK: dict[str, Any] = {"seed": 0, "fake_clock": False, "queued_seconds": 0.1,
                              "in_progress_seconds": 0.2, "catalogue_size": 10}

EmulatorFactory = Callable[..., Emulator]


def config(defaults: dict[str, Any], **fields: Any) -> EmulatorConfig:
    """An emulator config: ``defaults``, with ``fields`` winning."""
    return EmulatorConfig(**{**defaults, **fields})


@contextmanager
def factory(defaults: dict[str, Any]) -> Iterator[EmulatorFactory]:
    """A function starting emulators from ``defaults`` and its arguments; all stopped at exit."""
    started: list[Emulator] = []

    def make(**fields: Any) -> Emulator:
        emu = Emulator(config(defaults, **fields)).start()
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in started:
            emu.stop()


@contextmanager
def running(defaults: dict[str, Any], **fields: Any) -> Iterator[Emulator]:
    """One emulator from ``defaults`` and ``fields``, for a ``with`` block."""
    with factory(defaults) as make:
        yield make(**fields)


def posts(emu: Emulator) -> int:
    """The data requests (CLMS ``@datarequest_post``) the emulator answered."""
    return emu.stats["posts"]


def server_tasks(emu: Emulator) -> dict[str, dict[str, Any]]:
    """The emulator's tasks (CDSE children excluded), by TaskID."""
    return {t.task_id: t.record for t in emu.tasks.all() if not t.child}
