"""Three bad mirrors (``mirrors: true``), each its own host, for a client's fallbacks.

- **mirror_404** answers 404 to everything.
- **mirror_reset** resets every connection (TCP RST) without an answer.
- **mirror_other** serves every path the files, CEDA or Zenodo host serves, with the
  same size, type and first 16 bytes (so the magic is right) but other bytes after
  them and another ETag: only a checksum tells the copy is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from fetcher.emulator.bodies import Pattern
from fetcher.emulator.exchange import Content, Request, Response, html_response
from fetcher.emulator.server import App

KEPT = 16
MIRRORS = ("mirror_404", "mirror_reset", "mirror_other")


def not_found(request: Request) -> Response:
    """mirror_404: nothing is here."""
    return html_response(404, "404 Not Found")


def reset(request: Request) -> Response:
    """mirror_reset: the connection is reset."""
    return Response(0, reset=True, fault="reset")


class OtherBytes:
    """mirror_other: the originals' shape with other bytes."""

    def __init__(self, originals: Sequence[App]) -> None:
        self.originals = originals

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return html_response(405, "405 Method Not Allowed")
        for app in self.originals:
            answer = app(request)
            if answer.status == 200 and isinstance(answer.body, Content):
                return Response(200, _other(request.path, answer.body))
            if answer.status != 404:
                return answer
        return html_response(404, "404 Not Found")


def _other(path: str, original: Content) -> Content:
    head = b"".join(original.read(0, min(KEPT, original.size)))
    tail = Pattern(f"mirror:{path}", max(0, original.size - len(head)))

    def read(start: int, end: int) -> Iterator[bytes]:
        if start < len(head):
            yield head[start:min(end, len(head))]
        if end > len(head):
            yield from tail.read(max(0, start - len(head)), end - len(head))

    etag = f'"{hashlib.sha256(f"mirror:{original.etag}".encode()).hexdigest()[:32]}"'
    return Content(original.size, etag, original.last_modified, read, original.content_type,
                   original.filename)
