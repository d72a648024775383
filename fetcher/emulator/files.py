"""The plain file host: ``/random/<size>/<name>?seed=N`` streams deterministic bytes.

The bytes come from a generator seeded per 64 KiB block, so any range of any size is
produced on demand without memory or disk, and is the same on every run. ``bump``
gives a path new bytes (and optionally another size than its URL says). The host
also answers the redirect and Basic-auth paths of ``redirects.py``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator

from fetcher.emulator.bodies import MAX_SIZE, check_size
from fetcher.emulator.exchange import Content, Request, Response, html_response
from fetcher.emulator.redirects import Redirects
from fetcher.emulator.versions import Revision, Revisions

BLOCK = 64 * 1024
FILES_MTIME = 1_700_000_000.0


def block(seed: str, index: int) -> bytes:
    """Block ``index`` of the stream named by ``seed``."""
    return random.Random(f"{seed}/{index}").randbytes(BLOCK)


def stream(seed: str, size: int, prefix: bytes = b"") -> Content:
    """A rangeable body of ``size`` deterministic bytes, optionally starting with ``prefix``."""

    def read(start: int, end: int) -> Iterator[bytes]:
        position = start
        while position < end:
            if position < len(prefix):
                piece = prefix[position:min(end, len(prefix))]
            else:
                index, offset = divmod(position, BLOCK)
                piece = block(seed, index)[offset:offset + min(BLOCK - offset, end - position)]
            if not piece:
                break
            yield piece
            position += len(piece)

    digest = hashlib.sha256(f"{seed}:{size}".encode() + prefix).hexdigest()[:32]
    return Content(size, f'"{digest}"', FILES_MTIME, read)


class FilesApp:
    """Serves ``/random/<size>/<name>[?seed=N]``, redirects and ``/private/`` for GET and HEAD."""

    def __init__(self, clock: Callable[[], float] | None = None,
                 password: str = "reader-password") -> None:  # noqa: S107 - test password
        self.revisions = Revisions("files", clock or (lambda: FILES_MTIME))
        self.redirects = Redirects(password)

    def bump(self, path: str, size: int | None = None) -> int:
        """Serve new bytes at ``/random/<size>/<name>`` (for every seed); the new version.

        ``size`` makes the file that long whatever its URL says.

        Raises:
            ValueError: not a ``/random/`` path, or a size the host cannot serve.
        """
        default = _default(path)
        if default is None:
            raise ValueError(f"{path!r}: expected a path /random/<size>/<name>")
        current = self.revisions.served(path, default)
        if size is not None:
            check_size("size", size, 0)
        new_size = size if size is not None else current.size
        return self.revisions.bump(path, default, new_size, listing=True).version

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return html_response(405, "405 Method Not Allowed")
        answer = self.redirects.answer(request)
        if isinstance(answer, Response):
            return answer
        return self._random(answer or request.path, request.param("seed") or "0")

    def _random(self, path: str, seed: str) -> Response:
        default = _default(path)
        if default is None:
            return html_response(404, "404 Not Found")
        name = path.rsplit("/", 1)[1]
        revision = self.revisions.served(path, default)
        if revision.version == 0:
            content = stream(f"files:{seed}:{name}", revision.size)
        else:
            content = stream(f"files:{seed}:{name}:v{revision.version}", revision.size)
            content.etag = self.revisions.etag(path, revision, seed)
            content.last_modified = revision.mtime
        content.filename = name
        return Response(200, content)


def _default(path: str) -> Revision | None:
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "random" or not parts[1].isdigit() or not parts[2]:
        return None
    size = int(parts[1])
    return Revision(0, size, FILES_MTIME) if size <= MAX_SIZE else None
