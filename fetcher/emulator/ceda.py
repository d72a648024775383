"""A CEDA-style archive: folders with ``?json`` listings, files with Range support.

The listing of ``<folder>?json`` is ``{"path": ..., "items": [...]}``, each item with
``name``, ``path``, ``type`` (``file`` or ``dir``), and for files ``size``, ``md5``,
``last_modified`` (ISO, UTC) and ``download`` (the file URL with ``?download=1``).
GEBCO 2024 is there as zips holding a small netCDF file, deterministic per seed.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timezone
from functools import cached_property

from fetcher.emulator.exchange import Content, Request, Response, html_response, json_response
from fetcher.emulator.files import stream

GEBCO = "/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf"
MTIME = 1_712_000_000.0


class CedaArchive:
    """The files of the archive, built lazily and kept in memory (they are small)."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed = seed
        self.size = size

    @cached_property
    def files(self) -> dict[str, bytes]:
        """Every file path and its bytes."""
        files = {}
        for name in ("gebco_2024.zip", "gebco_2024_sub_ice_topo.zip"):
            netcdf_name = name.replace(".zip", ".nc")
            body = stream(f"ceda:{self.seed}:{name}", self.size, b"CDF\x01")
            data = b"".join(body.read(0, body.size))
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr(zipfile.ZipInfo(netcdf_name, (2024, 4, 1, 0, 0, 0)), data)
            files[f"{GEBCO}/{name}"] = buffer.getvalue()
        files[f"{GEBCO}/00README_catalogue_and_licence.txt"] = (
            b"GEBCO Compilation Group (2024) GEBCO 2024 Grid. Emulated copy.\n"
        )
        return files

    def folders(self) -> set[str]:
        """Every folder that holds something, down from the root."""
        found = {""}
        for path in self.files:
            parts = path.strip("/").split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                found.add("/" + "/".join(parts[:depth]))
        return found


class CedaApp:
    """Answers listings and downloads."""

    def __init__(self, archive: CedaArchive) -> None:
        self.archive = archive

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return html_response(405, "405 Method Not Allowed")
        path = request.path.rstrip("/") if request.path != "/" else ""
        if path in self.archive.files:
            data = self.archive.files[path]
            etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
            return Response(200, Content.of_bytes(data, etag, MTIME, _type(path),
                                                  path.rsplit("/", 1)[1]))
        if path in self.archive.folders():
            if "json" in request.query:
                return json_response(200, self._listing(request, path))
            return html_response(200, f"Index of {path or '/'}")
        return html_response(404, "404 Not Found")

    def _listing(self, request: Request, folder: str) -> dict[str, object]:
        items: list[dict[str, object]] = []
        children = {p for p in self.archive.folders() if p.rsplit("/", 1)[0] == folder and p}
        for child in sorted(children):
            items.append({"name": child.rsplit("/", 1)[1], "path": child, "type": "dir"})
        for path, data in sorted(self.archive.files.items()):
            if path.rsplit("/", 1)[0] == folder:
                items.append({
                    "name": path.rsplit("/", 1)[1], "path": path, "type": "file",
                    "size": len(data), "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                    "last_modified": datetime.fromtimestamp(MTIME, timezone.utc).isoformat(),
                    "download": f"{request.base_url}{path}?download=1",
                })
        return {"path": folder or "/", "items": items}


def _type(path: str) -> str:
    return "application/zip" if path.endswith(".zip") else "text/plain"
