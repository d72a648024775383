"""Zenodo records in both shapes, files with md5, Range, and ``X-RateLimit-*`` headers.

``/api/records/3939050`` has the current (InvenioRDM) shape: ``files[]`` with ``key``,
``size``, ``checksum`` ``md5:<hex>`` and ``links.self``. ``/api/records/1000001`` has the
legacy shape: ``filename``, ``filesize``, a bare md5 ``checksum`` and ``links.download``.
With ``zenodo_many_files`` N > 0, ``/api/records/2000002`` (current shape) holds N files
``tile_000.tif`` ... with every tenth one ``notes_009.txt``, ``notes_019.txt``, ...
Files are served at ``/records/<id>/files/<name>`` and
``/api/records/<id>/files/<name>/content``, GeoTIFFs streamed at their exact size.
API calls count against ``zenodo_rate_limit`` per minute (real time); over it, 429.
``bump``/``publish`` change a file (``versions.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any

from fetcher.emulator.bodies import Body, Literal, check_size
from fetcher.emulator.catalogue import uuid_of
from fetcher.emulator.exchange import Request, Response, json_response
from fetcher.emulator.geotiff import HEADER_SIZE, MIN_SIZE, Box, geotiff_body
from fetcher.emulator.versions import Revision, Revisions

LC100_RECORD = "3939050"
LEGACY_RECORD = "1000001"
MANY_RECORD = "2000002"
LC100_FILE = "PROBAV_LC100_global_v3.0.1_2019-nrt_Discrete-Classification-map_EPSG-4326.tif"
TREE_FILE = "PROBAV_LC100_global_v3.0.1_2019-nrt_Tree-CoverFraction-layer_EPSG-4326.tif"
MTIME = 1_594_000_000.0
_CREATED = "2020-07-06T12:00:00+00:00"
_WORLD: Box = (-180.0, 80.0, 180.0, -60.0)
_SMALL = HEADER_SIZE + 16 * 16


@dataclass(frozen=True)
class ZenodoFile:
    """One file of a record: a GeoTIFF over ``box``, or text when ``box`` is None."""

    record: str
    name: str
    size: int
    box: Box | None = _WORLD


def many_names(count: int) -> list[str]:
    """The file names of the many-files record."""
    return [f"notes_{n:03d}.txt" if n % 10 == 9 else f"tile_{n:03d}.tif" for n in range(count)]


class ZenodoApp:
    """Records, files, their revisions, and the rate limiter."""

    def __init__(self, seed: int, size: int, limit: int, clock: Callable[[], float] | None = None,
                 many: int = 0, many_size: int = 2048) -> None:
        check_size("zenodo_file_size", size, MIN_SIZE)
        check_size("zenodo_many_file_size", many_size, MIN_SIZE)
        self.seed = seed
        self.limit = limit
        self.revisions = Revisions("zenodo", clock or (lambda: MTIME))
        self._window = (0.0, 0)
        self._lock = threading.Lock()
        files = [
            ZenodoFile(LC100_RECORD, LC100_FILE, size), ZenodoFile(LC100_RECORD, TREE_FILE, _SMALL),
            ZenodoFile(LEGACY_RECORD, "gebco_subset.tif", _SMALL),
            ZenodoFile(LEGACY_RECORD, "README.txt", len(_text(0)), None),
        ]
        for name in many_names(many):
            text = name.endswith(".txt")
            files.append(ZenodoFile(MANY_RECORD, name, len(_text(0)) if text else many_size,
                                    None if text else (-10.0, 70.0, 30.0, 35.0)))
        self.records: dict[str, dict[str, ZenodoFile]] = {}
        for file in files:
            self.records.setdefault(file.record, {})[file.name] = file

    def body(self, file: ZenodoFile, revision: Revision) -> Body:
        """The bytes of one revision of one file."""
        if file.box is None:
            text = _text(revision.version)
            return Literal((text * (revision.size // len(text) + 1))[:revision.size])
        seed = f"zenodo:{self.seed}:{file.record}/{file.name}:v{revision.version}"
        return geotiff_body(revision.size, file.box, seed)

    def _file_of(self, record: str, name: str) -> ZenodoFile:
        file = self.records.get(record, {}).get(name)
        if file is None:
            raise KeyError(f"no file {name!r} in Zenodo record {record!r}")
        return file

    def _default(self, file: ZenodoFile) -> Revision:
        return Revision(0, file.size, MTIME)

    def bump(self, record: str, name: str, size: int | None = None,
             listing: bool = True) -> int:
        """Serve a new version of a record's file (new bytes, ``size`` if given); its number.

        ``listing=False`` leaves the record's ``size`` and ``checksum`` on the old
        version until ``publish``.

        Raises:
            KeyError: no such record or file.
            ValueError: a size the file cannot take.
        """
        file = self._file_of(record, name)
        current = self.revisions.served(f"{record}/{name}", self._default(file))
        if size is not None:
            check_size("size", size, 0 if file.box is None else MIN_SIZE)
        elif file.box is None:
            size = len(_text(current.version + 1))
        new_size = size if size is not None else current.size
        return self.revisions.bump(f"{record}/{name}", self._default(file), new_size,
                                   listing).version

    def publish(self, record: str, name: str) -> None:
        """Bring the record's entry of a bumped file up to the served version."""
        self._file_of(record, name)
        self.revisions.publish(f"{record}/{name}")

    def __call__(self, request: Request) -> Response:
        headers = self._rate(request)
        if headers.get("X-RateLimit-Remaining") == "-1":
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = headers["X-RateLimit-Reset-After"]
            answer = json_response(429, {"message": "Too many requests.", "status": 429})
        else:
            answer = self.route(request)
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

    def route(self, request: Request) -> Response:
        """Answer a request without the rate limiter (the mirrors use it)."""
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
        files = self.records.get(record)
        if files is None:
            return _missing()
        base = request.base_url
        listed = {n: self.revisions.listed(f"{record}/{n}", self._default(f))
                  for n, f in files.items()}
        entries = [self._entry(base, files[n], rev) for n, rev in listed.items()]
        latest = max(rev.mtime for rev in listed.values())
        modified = _CREATED if latest == MTIME else _iso(latest)
        body: dict[str, Any] = {
            "id": int(record), "recid": record, "doi": f"10.5281/zenodo.{record}",
            "created": _CREATED, "modified": modified,
            "links": {"self": f"{base}/api/records/{record}",
                      "html": f"{base}/records/{record}"},
            "metadata": {"title": f"Emulated record {record}", "version": "v3.0.1"},
            "files": entries,
        }
        return json_response(200, body)

    def _entry(self, base: str, file: ZenodoFile, revision: Revision) -> dict[str, Any]:
        record, name = file.record, file.name
        md5 = self.revisions.md5(f"{record}/{name}", revision, partial(self.body, file, revision))
        if record == LEGACY_RECORD:
            return {"id": uuid_of(f"{record}/{name}"), "filename": name,
                    "filesize": revision.size, "checksum": md5,
                    "links": {"download": f"{base}/records/{record}/files/{name}?download=1",
                              "self": f"{base}/api/records/{record}/files/{name}"}}
        return {"id": uuid_of(f"{record}/{name}"), "key": name, "size": revision.size,
                "checksum": f"md5:{md5}",
                "links": {"self": f"{base}/api/records/{record}/files/{name}/content"}}

    def _file(self, record: str, name: str) -> Response:
        file = self.records.get(record, {}).get(name)
        if file is None:
            return _missing()
        key = f"{record}/{name}"
        revision = self.revisions.served(key, self._default(file))
        body = self.revisions.body(key, revision, partial(self.body, file, revision))
        kind = "text/plain" if file.box is None else "image/tiff"
        return Response(200, self.revisions.content(key, revision, body, kind, name,
                                                    str(self.seed)))


def _text(version: int) -> bytes:
    return b"Emulated record.\n" + (f"Version {version}.\n".encode() if version else b"")


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).isoformat()


def _missing() -> Response:
    return json_response(404, {"message": "The persistent identifier does not exist.",
                               "status": 404})
