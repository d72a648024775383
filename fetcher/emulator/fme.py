"""The FME download host: ``/clmsdatadownload/results/<FMETaskId>.zip`` (§5.6).

No token is needed. A result is served only for a Finished_ok task. How it is served
is decided per task from, in order of precedence: ``configure(task_id, ...)`` at
runtime, the ``results`` entry of the task's first DatasetID, and the global
``forbid_after_finish`` / ``result_ttl``. Every window is measured from the task's
FinalizationDateTime on the emulator clock; delays are real time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from fetcher.emulator.bodies import Body, Literal
from fetcher.emulator.config import Clock, EmulatorConfig, ResultBehaviour
from fetcher.emulator.exchange import Content, Request, Response, html_response
from fetcher.emulator.tasks import Task, TaskStore

_RESULT = re.compile(r"^/(?:clms|fme)datadownload/results/(\d+)\.zip$")
_RUNTIME = ("first_byte_delay", "chunk_delay", "not_ready_seconds", "not_ready_status", "ttl")


class FmeApp:
    """Serves result zips with Range support, per-task delays, windows and expiry."""

    def __init__(self, config: EmulatorConfig, clock: Clock, tasks: TaskStore) -> None:
        self.config = config
        self.clock = clock
        self.tasks = tasks
        self._lock = threading.Lock()
        self._overrides: dict[str, dict[str, Any]] = {}
        self._expired: set[str] = set()

    def configure(self, task_id: str, **settings: Any) -> None:
        """Change how one task's result is served, from now on.

        Keys: ``first_byte_delay``, ``chunk_delay``, ``not_ready_seconds``,
        ``not_ready_status``, ``ttl`` (the ``ResultBehaviour`` fields but ``size``).

        Raises:
            ValueError: an unknown key or a value out of range.
        """
        unknown = sorted(set(settings) - set(_RUNTIME))
        if unknown:
            raise ValueError(f"unknown result setting(s) {', '.join(unknown)}; expected "
                             f"{', '.join(_RUNTIME)}")
        with self._lock:
            merged = {**self._overrides.get(task_id, {}), **settings}
            dataclasses.replace(ResultBehaviour(), **merged)  # validates
            self._overrides[task_id] = merged

    def expire(self, task_id: str) -> None:
        """Make one task's result gone (404) from now on, whatever its TTL."""
        with self._lock:
            self._expired.add(task_id)

    def behaviour(self, task: Task) -> ResultBehaviour:
        """The effective behaviour of one task's result."""
        datasets = task.record.get("Datasets") or [{}]
        first = datasets[0] if isinstance(datasets, list) else datasets
        base = self.config.results.get(str(first.get("DatasetID", ""))) or ResultBehaviour()
        with self._lock:
            merged = dataclasses.replace(base, **self._overrides.get(task.task_id, {}))
        if merged.not_ready_seconds is None:
            merged = dataclasses.replace(merged, not_ready_seconds=self.config.forbid_after_finish)
        if merged.ttl is None:
            merged = dataclasses.replace(merged, ttl=self.config.result_ttl)
        return merged

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return html_response(405, "405 Method Not Allowed")
        match = _RESULT.match(request.path)
        task = self.tasks.by_fme_id(int(match.group(1))) if match else None
        if task is None or task.record.get("Status") != "Finished_ok" or task.finalized is None:
            return html_response(404, "404 Not Found")
        how = self.behaviour(task)
        answer = self._answer(task, how)
        answer.delay = how.first_byte_delay
        return answer

    def _answer(self, task: Task, how: ResultBehaviour) -> Response:
        assert task.finalized is not None and how.ttl is not None
        age = self.clock.now() - task.finalized
        with self._lock:
            expired = task.task_id in self._expired
        if age < (how.not_ready_seconds or 0.0):
            code = how.not_ready_status
            return html_response(code, f"{code} {'Forbidden' if code == 403 else 'Not Found'}")
        if expired or age >= how.ttl:
            return html_response(404, "404 Not Found")
        body = self.tasks.archive(task)
        name = f"{task.record['FMETaskId']}.zip"
        content = Content(body.size, _etag(task, body), int(task.finalized), body.read,
                          "application/zip", name)
        if how.chunk_delay:
            content.read = _paced(body, how.chunk_delay)
        return Response(200, content)


def _etag(task: Task, body: Body) -> str:
    if isinstance(body, Literal):
        return f'"{hashlib.sha256(body.data).hexdigest()[:32]}"'
    text = f"{task.task_id}:{body.size}:{body.crc32():08x}"
    return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def _paced(body: Body, delay: float) -> Any:
    """``body.read`` with ``delay`` real seconds before every chunk but the first."""
    def read(start: int, end: int) -> Iterator[bytes]:
        for index, piece in enumerate(body.read(start, end)):
            if index:
                time.sleep(delay)
            yield piece
    return read
