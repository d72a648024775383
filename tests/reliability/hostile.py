"""A hostile server: answers what a test tells it to, where the emulator cannot lie.

The emulator follows the real services; these tests need a service that does not
(HTML where JSON belongs, broken JSON, an endless body, file names that climb out
of the data folder), so a tiny loopback server plays it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """What one path answers: status, content type, and a body (bytes or endless chunks)."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes | Callable[[], Iterator[bytes]] = b""


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Answer] = {}
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        answer = self.server.routes.get(self.path.partition("?")[0], Answer(404, "text/plain",
                                                                           b"no"))
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if isinstance(answer.body, bytes):
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            return
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            for chunk in answer.body():
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_HEAD = do_GET
