"""A CEDA-style archive: folders with ``?json`` listings, files with Range support.

The listing of ``<folder>?json`` is ``{"path": ..., "items": [...]}``, each item with
``name``, ``path``, ``type`` (``file`` or ``dir``), and for files ``size``, ``md5``,
``last_modified`` (ISO, UTC) and ``download`` (the file URL with ``?download=1``).
GEBCO 2024 is there as zips of exactly ``ceda_file_size`` bytes, each holding one
netCDF member (``CDF\\x01`` then seeded bytes), streamed, deterministic per seed and
version. ``bump``/``publish`` change a file (``versions.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial

from fetcher.emulator.bodies import Body, Concat, Literal, Pattern, check_size
from fetcher.emulator.exchange import Request, Response, html_response, json_response
from fetcher.emulator.versions import Revision, Revisions
from fetcher.emulator.zipfiles import fitted_zip, overhead

GEBCO = "/bodc/gebco/global/gebco_2024/ice_surface_elevation/netcdf"
MTIME = 1_712_000_000.0
ZIPS = ("gebco_2024.zip", "gebco_2024_sub_ice_topo.zip")
README = "00README_catalogue_and_licence.txt"
_README_TEXT = "GEBCO Compilation Group (2024) GEBCO 2024 Grid. Emulated copy.\n"
MIN_SIZE = overhead([max(ZIPS, key=len).replace(".zip", ".nc")], False) + 4
"""The smallest ``ceda_file_size``: a zip's headers around a 4-byte netCDF magic."""


class CedaArchive:
    """The files of the archive: their default revisions and how to build any revision."""

    def __init__(self, seed: int, size: int, clock: Callable[[], float] | None = None) -> None:
        check_size("ceda_file_size", size, MIN_SIZE)
        self.seed = seed
        self.size = size
        self.revisions = Revisions("ceda", clock or (lambda: MTIME))
        self.defaults = {f"{GEBCO}/{name}": Revision(0, size, MTIME) for name in ZIPS}
        self.defaults[f"{GEBCO}/{README}"] = Revision(0, len(_text(0)), MTIME)

    @property
    def files(self) -> list[str]:
        """Every file path."""
        return list(self.defaults)

    def resolve(self, path_or_name: str) -> str:
        """A file's full path from its path or its unique name.

        Raises:
            KeyError: no such file.
        """
        for path in self.defaults:
            if path_or_name in (path, path.rsplit("/", 1)[1]):
                return path
        raise KeyError(f"no CEDA file {path_or_name!r}; expected one of {', '.join(self.files)}")

    def body(self, path: str, revision: Revision) -> Body:
        """The bytes of one revision of one file."""
        if not path.endswith(".zip"):
            return Literal(_fit(_text(revision.version), revision.size))
        name = path.rsplit("/", 1)[1]
        seed = f"ceda:{self.seed}:{name}:v{revision.version}"
        member = name.replace(".zip", ".nc")
        return fitted_zip([], member, lambda room: Concat(
            [Literal(b"CDF\x01"), Pattern(seed, room - 4)]), revision.size,
            (2024, 4, 1, 0, 0, 0))

    def bump(self, path_or_name: str, size: int | None = None, listing: bool = True) -> int:
        """Serve a new version of a file (new bytes, and ``size`` if given); its number.

        ``listing=False`` leaves the ``?json`` listing on the old size and md5 until
        ``publish``.

        Raises:
            KeyError: no such file.
            ValueError: a size the file cannot take.
        """
        path = self.resolve(path_or_name)
        current = self.revisions.served(path, self.defaults[path])
        if size is not None:
            check_size("size", size, MIN_SIZE if path.endswith(".zip") else 0)
        elif not path.endswith(".zip"):
            size = len(_text(current.version + 1))
        new_size = size if size is not None else current.size
        return self.revisions.bump(path, self.defaults[path], new_size, listing).version

    def publish(self, path_or_name: str) -> None:
        """Bring the listing of a bumped file up to the served version."""
        self.revisions.publish(self.resolve(path_or_name))

    def folders(self) -> set[str]:
        """Every folder that holds something, down from the root."""
        found = {""}
        for path in self.defaults:
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
        archive = self.archive
        if path in archive.defaults:
            revision = archive.revisions.served(path, archive.defaults[path])
            body = archive.revisions.body(path, revision, partial(archive.body, path, revision))
            return Response(200, archive.revisions.content(
                path, revision, body, _type(path), path.rsplit("/", 1)[1], str(archive.seed)))
        if path in archive.folders():
            if "json" in request.query:
                return json_response(200, self._listing(request, path))
            return html_response(200, f"Index of {path or '/'}")
        return html_response(404, "404 Not Found")

    def _listing(self, request: Request, folder: str) -> dict[str, object]:
        archive = self.archive
        items: list[dict[str, object]] = []
        children = {p for p in archive.folders() if p.rsplit("/", 1)[0] == folder and p}
        for child in sorted(children):
            items.append({"name": child.rsplit("/", 1)[1], "path": child, "type": "dir"})
        for path in sorted(archive.defaults):
            if path.rsplit("/", 1)[0] != folder:
                continue
            revision = archive.revisions.listed(path, archive.defaults[path])
            md5 = archive.revisions.md5(path, revision, partial(archive.body, path, revision))
            items.append({
                "name": path.rsplit("/", 1)[1], "path": path, "type": "file",
                "size": revision.size, "md5": md5,
                "last_modified": datetime.fromtimestamp(revision.mtime, timezone.utc).isoformat(),
                "download": f"{request.base_url}{path}?download=1",
            })
        return {"path": folder or "/", "items": items}


def _text(version: int) -> bytes:
    return (_README_TEXT + (f"Version {version}.\n" if version else "")).encode()


def _fit(data: bytes, size: int) -> bytes:
    """``data`` repeated or cut to exactly ``size`` bytes."""
    if not data:
        return b"\0" * size
    return (data * (size // len(data) + 1))[:size]


def _type(path: str) -> str:
    return "application/zip" if path.endswith(".zip") else "text/plain"
