"""Zenodo records in both shapes, files with md5, Range, and ``X-RateLimit-*`` headers.

``/api/records/3939050`` has the current (InvenioRDM) shape: ``files[]`` with ``key``,
``size``, ``checksum`` ``md5:<hex>`` and ``links.self``. ``/api/records/1000001`` has the
legacy shape: ``filename``, ``filesize``, a bare md5 ``checksum`` and ``links.download``.
Files are served at ``/records/<id>/files/<name>`` and ``/api/records/<id>/files/<name>/content``.
API calls count against ``zenodo_rate_limit`` per minute (real time); over it, 429.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from functools import cached_property
from typing import Any

from fetcher.emulator.catalogue import uuid_of
from fetcher.emulator.exchange import Content, Request, Response, json_response
from fetcher.emulator.geotiff import geotiff

LC100_RECORD = "3939050"
LEGACY_RECORD = "1000001"
LC100_FILE = "PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map_EPSG-4326.tif"
MTIME = 1_594_000_000.0


class ZenodoApp:
    """Records, files and the rate limiter."""

    def __init__(self, seed: int, size: int, limit: int) -> None:
        self.seed = seed
        self.size = size
        self.limit = limit
        self._window = (0.0, 0)
        self._lock = threading.Lock()

    @cached_property
    def files(self) -> dict[str, dict[str, bytes]]:
        """Record id -> file name -> bytes."""
        side = max(8, int(math.sqrt(self.size)))
        tif = geotiff(side, side, -180.0, 80.0, 180.0, -60.0, f"zenodo:{self.seed}")
        other = geotiff(16, 16, -180.0, 80.0, 180.0, -60.0, f"zenodo:{self.seed}:2")
        return {
            LC100_RECORD: {
                LC100_FILE: tif,
                "PROBAV_LC100_global_v3.0.1_2019-nrt_Tree-CoverFraction-layer_EPSG-4326.tif": other,
            },
            LEGACY_RECORD: {"gebco_subset.tif": other, "README.txt": b"Emulated record.\n"},
        }

    def __call__(self, request: Request) -> Response:
        headers = self._rate(request)
        if headers.get("X-RateLimit-Remaining") == "-1":
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = headers["X-RateLimit-Reset-After"]
            answer = json_response(429, {"message": "Too many requests.", "status": 429})
        else:
            answer = self._route(request)
        headers.pop("X-RateLimit-Reset-After", None)
        answer.headers.update(headers)
        return answer

    def _rate(self, request: Request) -> dict[str, str]:
        now = time.time()
        with self._lock:
            start, used = self._window
            if now - start >= 60:
                start, used = now, 0
            counted = request.path.startswith("/api/")
            used += 1 if counted else 0
            self._window = (start, used)
        reset = int(start + 60)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(-1, self.limit - used)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Reset-After": str(max(1, reset - int(now))),
        }

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method not in ("GET", "HEAD"):
            return json_response(405, {"message": "Method not allowed", "status": 405})
        if parts[:2] == ["api", "records"] and len(parts) == 3:
            return self._record(request, parts[2])
        if parts[:2] == ["api", "records"] and len(parts) == 6 and parts[5] == "content":
            return self._file(parts[2], parts[4])
        if parts[0] == "records" and len(parts) == 4 and parts[2] == "files":
            return self._file(parts[1], parts[3])
        return _missing()

    def _record(self, request: Request, record: str) -> Response:
        files = self.files.get(record)
        if files is None:
            return _missing()
        base = request.base_url
        entries = [self._entry(base, record, name, data) for name, data in files.items()]
        body: dict[str, Any] = {
            "id": int(record), "recid": record, "doi": f"10.5281/zenodo.{record}",
            "created": "2020-07-06T12:00:00+00:00", "modified": "2020-07-06T12:00:00+00:00",
            "links": {"self": f"{base}/api/records/{record}",
                      "html": f"{base}/records/{record}"},
            "metadata": {"title": f"Emulated record {record}", "version": "v3.0.1"},
            "files": entries,
        }
        return json_response(200, body)

    def _entry(self, base: str, record: str, name: str, data: bytes) -> dict[str, Any]:
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if record == LEGACY_RECORD:
            return {"id": uuid_of(f"{record}/{name}"), "filename": name, "filesize": len(data),
                    "checksum": md5,
                    "links": {"download": f"{base}/records/{record}/files/{name}?download=1",
                              "self": f"{base}/api/records/{record}/files/{name}"}}
        return {"id": uuid_of(f"{record}/{name}"), "key": name, "size": len(data),
                "checksum": f"md5:{md5}",
                "links": {"self": f"{base}/api/records/{record}/files/{name}/content"}}

    def _file(self, record: str, name: str) -> Response:
        data = self.files.get(record, {}).get(name)
        if data is None:
            return _missing()
        etag = f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
        kind = "image/tiff" if name.endswith(".tif") else "text/plain"
        return Response(200, Content.of_bytes(data, etag, MTIME, kind, name))


def _missing() -> Response:
    return json_response(404, {"message": "The persistent identifier does not exist.",
                               "status": 404})
