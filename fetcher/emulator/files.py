"""The plain file host: ``/random/<size>/<name>?seed=N`` streams deterministic bytes.

The bytes come from a generator seeded per 64 KiB block, so any range of any size is
produced on demand without memory or disk, and is the same on every run.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

from fetcher.emulator.exchange import Content, Request, Response, html_response

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
    """Serves ``/random/<size>/<name>[?seed=N]`` for GET and HEAD."""

    def __call__(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method not in ("GET", "HEAD"):
            return html_response(405, "405 Method Not Allowed")
        if len(parts) != 3 or parts[0] != "random" or not parts[1].isdigit() or not parts[2]:
            return html_response(404, "404 Not Found")
        seed = request.param("seed") or "0"
        content = stream(f"files:{seed}:{parts[2]}", int(parts[1]))
        content.filename = parts[2]
        return Response(200, content)
