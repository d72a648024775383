"""The download core every source uses: stream, resume, verify, place atomically.

A download streams into ``<target>.part`` while sha256 (and md5, when the source
offers one to check) is computed on the fly; a small sidecar ``<target>.part.json``
keeps the URL and validators (ETag, Last-Modified) so that a later process resumes
with ``Range`` and ``If-Range``. Nothing reaches ``target`` before the size and every checksum the
source offers match; a mismatch removes the partial file.

Before a byte is written the answer must be a 200 or a 206 from the expected
offset, must not be an HTML page, and must start with the magic bytes of the
file's kind, so an error page is never saved as data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING

from fetcher.errors import IntegrityError, RemoteError, UsageError
from fetcher.secrets import redact
from fetcher.transfer.files import (
    CHUNK,
    Hasher,
    discard,
    finalize,
    hash_file,
    part_path,
    sidecar_path,
)
from fetcher.transfer.http import Http, describe, parse_content_range
from fetcher.transfer.magic import HEAD_BYTES, magic_problem
from fetcher.transfer.urls import plain
from fetcher.types import LocalFile, RemoteFile

if TYPE_CHECKING:  # requests loads with the first download, not with the engine
    import requests

__all__ = ["fetch"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
Gate = Callable[[str], AbstractContextManager[None]]


def _no_gate(_url: str) -> AbstractContextManager[None]:
    return nullcontext()

class _Broken(Exception):
    """The transfer stopped early in a way a new attempt may cure."""


class _NotYet(Exception):
    """A status the caller said may clear up with time (CLMS's 403 after finishing)."""

    def __init__(self, answer: str, status: int) -> None:
        super().__init__(answer)
        self.status = status


class _Transfer:
    """The state of one download: the ``.part`` file, its hashes and validators."""

    def __init__(self, http: Http, remote: RemoteFile, target: Path,
                 progress: Progress | None) -> None:
        self.http = http
        self.remote = remote
        self.target = target
        self.part = part_path(target)
        self.sidecar = sidecar_path(target)
        self.progress = progress
        self.hasher = Hasher(md5=remote.md5 is not None)
        self.offset = 0
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.total: int | None = remote.size
        self.checked_head = False

    # --- the .part file across restarts ---------------------------------------

    def load(self) -> None:
        """Adopt a ``.part`` left by an earlier run, if its sidecar vouches for it."""
        saved = self._read_sidecar() or {}
        if saved.get("url") != _fingerprint(self.remote.url) or not self.part.is_file():
            self.restart()
            return
        self.etag, self.last_modified = saved.get("etag"), saved.get("last_modified")
        size = self.part.stat().st_size
        with open(self.part, "rb") as handle:
            head = handle.read(HEAD_BYTES)
        # A prefix too short to judge its magic bytes is not worth keeping.
        too_short = size < HEAD_BYTES and size != self.total
        if (not self._can_resume() or too_short or magic_problem(head, self.remote.kind)
                or (self.total is not None and size > self.total)):
            self.restart()
            return
        hash_file(self.part, self.hasher)  # the one re-read: the prefix, once
        self.offset = size
        self.checked_head = True
        log.info("resuming %s from byte %d", self.target.name, self.offset)

    def _validator(self) -> str | None:
        """What ``If-Range`` may carry: a strong ETag, else Last-Modified."""
        strong = self.etag if self.etag and not self.etag.startswith("W/") else None
        return strong or self.last_modified

    def _can_resume(self) -> bool:
        # Without a validator a resumed body might belong to another version of the
        # file; only a checksum to verify against makes that risk acceptable.
        return bool(self._validator() or self.remote.md5 or self.remote.sha256)

    def _read_sidecar(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_sidecar(self) -> None:
        data = {"url": _fingerprint(self.remote.url), "etag": self.etag,
                "last_modified": self.last_modified}
        self.sidecar.write_text(json.dumps(data), encoding="utf-8")

    def restart(self) -> None:
        """Forget every byte received so far."""
        discard(self.part, self.sidecar)
        self.hasher = Hasher(md5=self.remote.md5 is not None)
        self.offset = 0
        self.etag = self.last_modified = None
        self.checked_head = False

    # --- one attempt ------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        """Request headers: identity encoding, and a conditional range when resuming."""
        headers = {"Accept-Encoding": "identity"}
        if self.offset and not self._can_resume():
            self.restart()
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
            validator = self._validator()
            if validator:
                headers["If-Range"] = validator
        return headers

    def attempt(self, not_ready: frozenset[int]) -> None:
        """Send one GET and stream its body; return when the body is complete."""
        response = self.http.request("GET", self.remote.url, headers=self.headers(),
                                     stream=True, auth=credentials(self.remote))
        with response:
            status = response.status_code
            if status == 416:
                self._on_416(response)
                return
            if status in not_ready:
                raise _NotYet(describe(response), status)
            if status not in (200, 206):
                raise RemoteError(
                    f"GET {plain(self.remote.url)}: unexpected answer {describe(response)}",
                    url=self.remote.url, status=status,
                    hint="check the URL; the file may have moved or need other access")
            self._refuse_html_type(response)
            end = self._on_206(response) if status == 206 else self._on_200(response)
            self._stream(response, end)

    def _on_416(self, response: requests.Response) -> None:
        cr = parse_content_range(response.headers.get("Content-Range"))
        if self.offset and cr is not None and cr.total == self.offset:
            log.info("%s: the .part already holds all %d bytes", self.target.name, self.offset)
            self.total = cr.total
            return
        self.restart()
        raise _Broken(f"range refused ({describe(response)}); starting over")

    def _on_206(self, response: requests.Response) -> int | None:
        cr = parse_content_range(response.headers.get("Content-Range"))
        if cr is None or cr.start != self.offset:
            self.restart()
            raise _Broken(f"206 with Content-Range {response.headers.get('Content-Range')!r}, "
                          f"expected bytes {self.offset}-; starting over")
        log.info("%s: 206 from byte %d", self.target.name, self.offset)
        self._check_total(cr.total)
        return None if cr.end is None else cr.end + 1

    def _on_200(self, response: requests.Response) -> int | None:
        if self.offset:
            log.info("%s: the server sent the whole file (200); starting over",
                     self.target.name)
            self.restart()
        self.etag = response.headers.get("ETag")
        self.last_modified = response.headers.get("Last-Modified")
        self._write_sidecar()
        length = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        end = int(length) if length.isdigit() and not encoded else None
        self._check_total(end)
        return end

    def _check_total(self, total: int | None) -> None:
        expected = self.remote.size
        if expected is not None and total is not None and total != expected:
            self.restart()
            raise IntegrityError(
                f"{self.target.name}: the server offers {total} bytes, the listing says "
                f"{expected} (from {plain(self.remote.url)})",
                path=str(self.target), url=self.remote.url,
                hint="the file differs from what its source lists; fetcher looks the listing "
                     "up again once per run: if this persists, report it to the service")
        self.total = total if total is not None else self.total

    def _refuse_html_type(self, response: requests.Response) -> None:
        content_type = response.headers.get("Content-Type", "").lower()
        if content_type.startswith(("text/html", "application/xhtml")):
            raise RemoteError(
                f"GET {plain(self.remote.url)}: expected {self.remote.kind or 'a file'}, "
                f"got an HTML page (HTTP {response.status_code})",
                url=self.remote.url, status=response.status_code,
                hint="the service may be down or behind a login page")

    def _stream(self, response: requests.Response, end: int | None) -> None:
        import requests

        pending = b""
        with open(self.part, "ab") as out:
            try:
                for chunk in response.iter_content(CHUNK):
                    if not self.checked_head:
                        pending += chunk
                        if self.offset + len(pending) < HEAD_BYTES:
                            continue
                        chunk, pending = pending, b""
                        self._check_head(chunk, response)
                    self._write(out, chunk)
            except requests.exceptions.RequestException as exc:
                raise _Broken(f"the body broke off at byte {self.offset} "
                              f"({type(exc).__name__})") from exc
            if pending:
                self._check_head(pending, response)
                self._write(out, pending)
        if end is not None and self.offset < end:
            raise _Broken(f"short body: got {self.offset} of {end} bytes")

    def _check_head(self, head: bytes, response: requests.Response) -> None:
        problem = magic_problem(head, self.remote.kind)
        if problem is not None:
            self.restart()
            raise RemoteError(
                f"GET {plain(self.remote.url)}: the body is {problem}, "
                f"not the expected {self.remote.kind or 'data'}; nothing was saved",
                url=self.remote.url, status=response.status_code,
                hint="the service may be down or behind a login page")
        self.checked_head = True

    def _write(self, out: IO[bytes], chunk: bytes) -> None:
        if not chunk:
            return
        out.write(chunk)
        self.hasher.update(chunk)
        self.offset += len(chunk)
        if self.progress is not None:
            self.progress(self.offset, self.total)

    # --- verification and placement ---------------------------------------------

    def verify(self) -> None:
        """Compare size and checksums with the source's; remove the part on mismatch."""
        remote = self.remote
        checks = [("size", str(remote.size) if remote.size is not None else None,
                   str(self.hasher.size)),
                  ("md5", remote.md5, self.hasher.md5),
                  ("sha256", remote.sha256, self.hasher.sha256)]
        for what, expected, found in checks:
            if expected is not None and expected.lower() != (found or "").lower():
                self.restart()
                raise IntegrityError(
                    f"{what} of {self.target.name} downloaded from "
                    f"{plain(remote.url)} does not match: expected {expected}, "
                    f"found {found}; the partial file was removed",
                    path=str(self.target), url=remote.url,
                    hint="a listing is looked up again once per run before an item fails; "
                         "if this persists, the remote file or the checksum it is checked "
                         "against (the spec's, or the server's) is wrong")

    def place(self) -> LocalFile:
        """Rename the verified part into place and describe the result."""
        finalize(self.part, self.target)
        discard(self.sidecar)
        stat = self.target.stat()
        return LocalFile(path=str(self.target), size=self.hasher.size,
                         sha256=self.hasher.sha256, mtime_ns=stat.st_mtime_ns,
                         md5=self.hasher.md5, etag=self.etag,
                         last_modified=self.last_modified, url=redact(self.remote.url))


def _fingerprint(url: str) -> str:
    """What the sidecar keeps of the URL: enough to match it, nothing to read off."""
    return hashlib.sha256(url.encode()).hexdigest()


def credentials(remote: RemoteFile) -> tuple[str, str] | None:
    """(user, password) from the environment variable a spec named, or None.

    Raises:
        UsageError: the variable is unset or holds no ``user:password``.
    """
    if remote.auth_env is None:
        return None
    value = os.environ.get(remote.auth_env, "")
    user, colon, password = value.partition(":")
    if not colon or not user:
        raise UsageError(f"{remote.name}: the environment variable {remote.auth_env} "
                         f"{'holds no user:password' if value else 'is not set'}",
                         hint=f"export {remote.auth_env}=user:password (it is never stored)")
    return user, password


def fetch(
    http: Http,
    remote: RemoteFile,
    target: Path,
    *,
    progress: Progress | None = None,
    gate: Gate | None = None,
    not_ready: Iterable[int] = (),
    not_ready_until: float | None = None,
) -> LocalFile:
    """Download ``remote`` to ``target``, resuming, verifying and renaming atomically.

    Args:
        http: The network seam (its policy bounds the attempts, its sleep and
            clock time the back-off).
        remote: What to fetch and what it must hash to.
        target: Final path; ``target.part`` and ``target.part.json`` sit beside it
            until the file is verified. An existing ``target`` is replaced.
        progress: Called with (bytes so far, total or None) after every chunk.
        gate: Gives, for a URL, the context every attempt runs in (a per-host limit),
            left while waiting to retry.
        not_ready: Statuses that mean "not ready yet" (CLMS's download host answers
            403/404 for a while after a task ends), retried with back-off until
            ``not_ready_until``.
        not_ready_until: When, by ``http.now``, such answers stop being retried
            (default: at once).

    Returns:
        The placed file, with its size, hashes, validators and URL.

    Raises:
        RemoteError: a refused or broken answer, an HTML page, wrong magic bytes, or
            a transfer that kept breaking off without progress.
        IntegrityError: size or checksum mismatch; the partial file is removed.
        OfflineError: under ``--offline``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    transfer = _Transfer(http, remote, target, progress)
    transfer.load()
    _run(transfer, frozenset(not_ready), not_ready_until, gate or _no_gate)
    transfer.verify()
    return transfer.place()


def _run(transfer: _Transfer, not_ready: frozenset[int], until: float | None,
         gate: Gate) -> None:
    """Attempt until the body is whole; broken attempts resume, stalls are bounded."""
    http = transfer.http
    started = http.now()
    broken = http.retrying()
    waiting = http.retrying(deadline=started if until is None else until)
    while True:
        before = transfer.offset
        try:
            with gate(transfer.remote.url):
                transfer.attempt(not_ready)
            return
        except _Broken as exc:
            log.info("%s: %s", transfer.target.name, exc)
            if not broken.again(progressed=transfer.offset > before):
                raise RemoteError(
                    f"GET {plain(transfer.remote.url)} failed {broken.failures} times in a "
                    f"row without progress; last: {exc}", url=transfer.remote.url,
                    hint=f"run sync again; it resumes from byte {transfer.offset}") from exc
        except _NotYet as exc:
            if not waiting.again():
                raise RemoteError(
                    f"GET {plain(transfer.remote.url)}: still {exc} after "
                    f"{http.now() - started:.0f} s of retrying", url=transfer.remote.url,
                    status=exc.status, hint="the file is not ready; run sync again later"
                ) from exc
