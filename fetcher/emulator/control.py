"""The control endpoints under ``/_emulator/`` on the CLMS port, for subprocess tests.

``GET /_emulator/stats``, ``GET /_emulator/requests``, ``GET /_emulator/tasks``,
``POST /_emulator/clock/advance?seconds=N``, ``POST /_emulator/faults`` (JSON: a
``host`` plus ``FaultRates`` fields, or ``{"clear": true}``, or
``{"script": {"host": ..., "kinds": [...]}}``), ``POST /_emulator/service-key[?user_id=]``,
``POST /_emulator/reset-stats``, ``GET /_emulator/tasks/by-item[?status=..&user_id=]``
(``count_by_item``), ``GET /_emulator/requests/by-path[?host=]``, and
``POST /_emulator/call/<handle>/<method>`` with a JSON object of keyword arguments
(positional ones under ``"args"``) for the runtime controls in ``CALLABLE``; it answers
``{"result": ...}``, or 400 ``{"error": ...}``. They are neither faulted nor logged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fetcher.emulator.exchange import Request, Response, json_response

if TYPE_CHECKING:
    from fetcher.emulator import Emulator

CALLABLE = {
    "post_faults": ("set", "script", "clear"),
    "fme": ("configure", "expire"),
    "clms": ("rotate_file_ids", "set_modified"),
    "ceda": ("bump", "publish"),
    "zenodo": ("bump", "publish"),
    "files": ("bump",),
}


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
    if route == ("GET", "/_emulator/tasks/by-item"):
        statuses = request.query.get("status")
        return json_response(200, emulator.tasks.count_by_item(statuses,
                                                               request.param("user_id")))
    if route == ("GET", "/_emulator/requests/by-path"):
        return json_response(200, emulator.requests_by_path(request.param("host")))
    if request.method == "POST" and request.path.startswith("/_emulator/call/"):
        return _call(emulator, request)
    return None


def _call(emulator: Emulator, request: Request) -> Response:
    handle, _, method = request.path.removeprefix("/_emulator/call/").partition("/")
    if method not in CALLABLE.get(handle, ()):
        allowed = "; ".join(f"{h}: {', '.join(m)}" for h, m in CALLABLE.items())
        return json_response(404, {"error": f"no control {handle}/{method}; try {allowed}"})
    try:
        body: dict[str, Any] = json.loads(request.body or b"{}")
        args = body.pop("args", [])
        result = getattr(getattr(emulator, handle), method)(*args, **body)
    except (ValueError, KeyError, TypeError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(200, {"result": result})


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
