"""The FME download host: ``/clmsdatadownload/results/<FMETaskId>.zip`` (§5.6).

No token is needed. A result is served only for a Finished_ok task, answers 403 for
``forbid_after_finish`` seconds after it finished (the third-party observation), and
404 once ``result_ttl`` has passed since ``FinalizationDateTime``.
"""

from __future__ import annotations

import hashlib
import re

from fetcher.emulator.config import Clock, EmulatorConfig
from fetcher.emulator.exchange import Content, Request, Response, html_response
from fetcher.emulator.tasks import TaskStore

_RESULT = re.compile(r"^/(?:clms|fme)datadownload/results/(\d+)\.zip$")


class FmeApp:
    """Serves result zips with Range support."""

    def __init__(self, config: EmulatorConfig, clock: Clock, tasks: TaskStore) -> None:
        self.config = config
        self.clock = clock
        self.tasks = tasks

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return html_response(405, "405 Method Not Allowed")
        match = _RESULT.match(request.path)
        task = self.tasks.by_fme_id(int(match.group(1))) if match else None
        if task is None or task.record.get("Status") != "Finished_ok" or task.finalized is None:
            return html_response(404, "404 Not Found")
        age = self.clock.now() - task.finalized
        if age < self.config.forbid_after_finish:
            return html_response(403, "403 Forbidden")
        if age >= self.config.result_ttl:
            return html_response(404, "404 Not Found")
        data = self.tasks.archive(task)
        etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
        name = f"{task.record['FMETaskId']}.zip"
        return Response(200, Content.of_bytes(data, etag, int(task.finalized),
                                              "application/zip", name))
