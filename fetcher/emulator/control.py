"""The control endpoints under ``/_emulator/`` on the CLMS port, for subprocess tests.

``GET /_emulator/stats``, ``GET /_emulator/requests``, ``GET /_emulator/tasks``,
``POST /_emulator/clock/advance?seconds=N``, ``POST /_emulator/faults`` (JSON: a
``host`` plus ``FaultRates`` fields, or ``{"clear": true}``, or
``{"script": {"host": ..., "kinds": [...]}}``), ``POST /_emulator/service-key[?user_id=]``.
They are neither faulted nor logged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fetcher.emulator.exchange import Request, Response, json_response

if TYPE_CHECKING:
    from fetcher.emulator import Emulator


def control(emulator: Emulator, request: Request) -> Response | None:
    """Answer one control request, or None when the path is not a control endpoint."""
    route = (request.method, request.path)
    if route == ("GET", "/_emulator/stats"):
        return json_response(200, emulator.stats)
    if route == ("GET", "/_emulator/requests"):
        return json_response(200, [asdict(r) for r in emulator.requests])
    if route == ("GET", "/_emulator/tasks"):
        return json_response(200, {t.task_id: t.record for t in emulator.tasks.all()})
    if route == ("POST", "/_emulator/clock/advance"):
        seconds = float(request.param("seconds") or 0)
        return json_response(200, {"now": emulator.clock.advance(seconds)})
    if route == ("POST", "/_emulator/faults"):
        return _faults(emulator, request)
    if route == ("POST", "/_emulator/service-key"):
        return json_response(201, emulator.service_key(request.param("user_id") or "n00015mf"))
    if route == ("POST", "/_emulator/reset-stats"):
        emulator.reset_stats()
        return json_response(200, emulator.stats)
    return None


def _faults(emulator: Emulator, request: Request) -> Response:
    try:
        body: dict[str, Any] = json.loads(request.body or b"{}")
        if body.pop("clear", False):
            emulator.faults.clear()
        script = body.pop("script", None)
        if script:
            emulator.faults.script(script["host"], *script["kinds"])
        host = body.pop("host", "*")
        if body:
            emulator.faults.set(host, **body)
    except (ValueError, KeyError, TypeError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(200, {"ok": True})
