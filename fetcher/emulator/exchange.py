"""Plain data for one exchange: the request as parsed, the response to send.

A ``Content`` is a body the server may serve in ranges (file downloads): it knows
its size, strong ETag and modification time and yields any byte range on demand, so
arbitrarily large files never touch memory or disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs

CHUNK = 64 * 1024


def render(content: Any) -> bytes:
    """plone.restapi's renderer: indented, sorted, with its separators."""
    return json.dumps(content, indent=2, sort_keys=True, separators=(", ", ": ")).encode()


@dataclass
class Request:
    """One parsed HTTP request."""

    host: str
    method: str
    path: str
    raw_query: str
    headers: Message
    body: bytes
    base_url: str
    forced_expiry: bool = False
    download: bool = False

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters, repeated keys kept in order."""
        return parse_qs(self.raw_query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        """The first value of one query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def url(self) -> str:
        """The full request URL as the client sent it."""
        return f"{self.base_url}{self.path}" + (f"?{self.raw_query}" if self.raw_query else "")


@dataclass
class Content:
    """A rangeable body: ``read(start, end)`` yields bytes ``[start, end)``."""

    size: int
    etag: str
    last_modified: float
    read: Callable[[int, int], Iterator[bytes]]
    content_type: str = "application/octet-stream"
    filename: str | None = None

    @classmethod
    def of_bytes(cls, data: bytes, etag: str, last_modified: float,
                 content_type: str = "application/octet-stream",
                 filename: str | None = None) -> Content:
        """A rangeable body held in memory."""
        def read(start: int, end: int) -> Iterator[bytes]:
            for offset in range(start, end, CHUNK):
                yield data[offset:min(end, offset + CHUNK)]
        return cls(len(data), etag, last_modified, read, content_type, filename)


@dataclass
class Response:
    """What to answer: a status, headers, and bytes or a rangeable ``Content``.

    ``delay``: real seconds to wait before the status line. ``drop``: close the
    connection instead of answering; ``reset``: reset it (TCP RST). ``fault``: the
    label the request log records.
    """

    status: int
    body: bytes | Content = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0
    drop: bool = False
    reset: bool = False
    fault: str | None = None


def json_response(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer rendered as plone.restapi renders it."""
    return Response(status, render(content), dict(headers or {}), "application/json")


def error_msg(status: int, msg: str) -> Response:
    """A download-tool service error: ``{"msg": ..., "status": "error"}``."""
    return json_response(status, {"msg": msg, "status": "error"})


def html_response(status: int, title: str) -> Response:
    """A small HTML page, as front proxies and FME answer errors."""
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n"
    return Response(status, page.encode(), {}, "text/html; charset=utf-8")
