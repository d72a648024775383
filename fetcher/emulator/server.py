"""Threaded HTTP plumbing: parsing, faults, Range and conditional requests, logging.

Each emulated host runs its own ``ThreadingHTTPServer`` on 127.0.0.1 and hands every
request to an ``App`` (a callable from ``Request`` to ``Response``). This module owns
everything that is the same on every host: HTTP/1.1 keep-alive with exact
``Content-Length``, HEAD, ``Range``/``If-Range``/206/416 for ``Content`` bodies, the
injected faults, and the request log.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fetcher.emulator.exchange import Content, Request, Response, html_response, json_response
from fetcher.emulator.faults import Draw, Faults, Recorder, RequestRecord

App = Callable[[Request], Response]
Control = Callable[[Request], Response | None]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class HostServer(ThreadingHTTPServer):
    """One emulated host: a name, its app, and the shared faults and recorder."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is ordinary traffic, not a server error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def __init__(self, name: str, app: App, faults: Faults, recorder: Recorder,
                 clock: Callable[[], float], host: str = "127.0.0.1", port: int = 0,
                 control: Control | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.name = name
        self.app = app
        self.faults = faults
        self.recorder = recorder
        self.clock = clock
        self.control = control
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of this server."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        self.thread = threading.Thread(target=self.serve_forever, name=f"emulator-{self.name}",
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate small writes; without TCP_NODELAY each
    # keep-alive answer would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: HostServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr log; the recorder keeps ours."""

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _request(self) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        return Request(self.server.name, self.command, path, query, self.headers, body,
                       self.server.base_url)

    def _serve(self) -> None:
        request = self._request()
        if self.server.control is not None and request.path.startswith("/_emulator/"):
            answer = self.server.control(request)
            if answer is not None:
                self._send(request, answer, None, record=False)
                return
        draw = self.server.faults.draw(self.server.name)
        if draw.slow:
            time.sleep(self.server.faults.rates(self.server.name).slow_seconds)
        if draw.kind is not None and draw.kind != "truncate":
            self._fault(request, draw)
            return
        request.forced_expiry = draw.expire_token
        answer = self.server.app(request)
        if answer.drop or answer.reset:
            self._drop(request, answer.fault or "drop", answer.reset)
            return
        if answer.delay:
            time.sleep(answer.delay)
        self._send(request, answer, draw.kind or answer.fault)

    def _fault(self, request: Request, draw: Draw) -> None:
        """Answer with the drawn fault, after processing the request when it is deferred."""
        label = str(draw.kind)
        if self.server.faults.deferred(self.server.name, request.method, request.path, label):
            self.server.app(request)
            label = f"{label}+processed"
        if draw.kind == "drop":
            self._drop(request, label)
        else:
            self._send(request, self._fault_response(draw), label)

    def _fault_response(self, draw: Draw) -> Response:
        if draw.kind == "throttle":
            rates = self.server.faults.rates(self.server.name)
            if rates.retry_after_http_date:
                when = self.server.clock() + rates.retry_after
                retry = email.utils.formatdate(when, usegmt=True)
            else:
                retry = str(rates.retry_after)
            answer = json_response(429, {"message": "Too Many Requests", "status": 429})
            answer.headers["Retry-After"] = retry
            return answer
        code = int(str(draw.kind).rsplit("_", 1)[1])
        titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return html_response(code, f"{code} {titles[code]}")

    def _drop(self, request: Request, label: str = "drop", reset: bool = False) -> None:
        self.close_connection = True
        self._record(request, 0, None, 0, label)
        with contextlib.suppress(OSError):
            if reset:
                # Linger 0: closing the socket sends RST instead of FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()  # really closed once rfile/wfile are, before any FIN
            else:
                self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, request: Request, answer: Response, fault: str | None,
              record: bool = True) -> None:
        status, headers, chunks, length = _prepare(request, answer)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 204 and not (100 <= status < 200) and status != 304:
            self.send_header("Content-Length", str(length))
        if fault == "truncate":
            self.send_header("Connection", "close")
            self.close_connection = True
        planned = 0 if request.method == "HEAD" else (
            length // 2 if fault == "truncate" else length)
        # Logged before the body goes out, so a client that has read the answer
        # always finds it in the log; corrected below if the client hung up early.
        entry = self._record(request, status, request.headers.get("Range"), planned, fault,
                             record)
        self.end_headers()
        if planned:
            sent = self._write(chunks, planned)
            if sent != planned and entry is not None:
                self.server.recorder.correct(entry, sent)

    def _write(self, chunks: Iterator[bytes], limit: int) -> int:
        sent = 0
        try:
            for chunk in chunks:
                piece = chunk[: max(0, limit - sent)]
                if piece:
                    self.wfile.write(piece)
                    sent += len(piece)
                if sent >= limit:
                    break
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return sent

    def _record(self, request: Request, status: int, range_header: str | None, sent: int,
                fault: str | None, record: bool = True) -> RequestRecord | None:
        if not record:
            return None
        entry = RequestRecord(request.host, request.method, request.path, request.raw_query,
                              status, range_header, sent, fault, self.server.clock())
        self.server.recorder.record(entry)
        downloaded = request.method == "GET" and status in (200, 206)
        if downloaded and request.download:
            self.server.recorder.count("downloads")
        return entry


def _prepare(request: Request,
             answer: Response) -> tuple[int, dict[str, str], Iterator[bytes], int]:
    headers = dict(answer.headers)
    if isinstance(answer.body, bytes):
        if answer.content_type and answer.status != 204:
            headers.setdefault("Content-Type", answer.content_type)
        return answer.status, headers, iter([answer.body]), len(answer.body)
    content = answer.body
    request.download = True
    headers.update({
        "Accept-Ranges": "bytes",
        "ETag": content.etag,
        "Last-Modified": email.utils.formatdate(content.last_modified, usegmt=True),
        "Content-Type": content.content_type,
    })
    if content.filename:
        headers["Content-Disposition"] = f'attachment; filename="{content.filename}"'
    if answer.status != 200:
        return answer.status, headers, content.read(0, content.size), content.size
    wanted = _wanted_range(request, content)
    if wanted is None:
        return 200, headers, content.read(0, content.size), content.size
    start, end = wanted
    if start >= content.size or start > end:
        headers = {"Content-Range": f"bytes */{content.size}", "Content-Type": "text/html"}
        body = b"<html><body><h1>416 Requested Range Not Satisfiable</h1></body></html>\n"
        return 416, headers, iter([body]), len(body)
    end = min(end, content.size - 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{content.size}"
    return 206, headers, content.read(start, end + 1), end + 1 - start


def _wanted_range(request: Request, content: Content) -> tuple[int, int] | None:
    """The byte range to serve, or None for the whole body (RFC 9110 semantics)."""
    header = request.headers.get("Range")
    if not header or request.method not in ("GET", "HEAD"):
        return None
    if_range = request.headers.get("If-Range")
    if if_range and not _if_range_holds(if_range.strip(), content):
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first and last and int(last) < int(first):
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0:
            return content.size, content.size
        return max(0, content.size - suffix), content.size - 1
    return int(first), int(last) if last else content.size - 1


def _if_range_holds(validator: str, content: Content) -> bool:
    if validator.startswith(('"', 'W/"')):
        return validator == content.etag and not validator.startswith("W/")
    try:
        parsed = email.utils.parsedate_to_datetime(validator)
    except (TypeError, ValueError):
        return False
    return int(parsed.timestamp()) == int(content.last_modified)
