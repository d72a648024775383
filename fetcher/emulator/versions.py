"""Mutable files: the revision a host serves and the revision its listing shows.

Every file of the CEDA, Zenodo and files hosts starts at version 0. ``bump`` makes a
new version: new bytes (seeded by the version), optionally a new size, a new ETag and
a Last-Modified of the bump's moment on the emulator clock. Normally the listing
(CEDA ``?json``, Zenodo record) follows at once; with ``listing=False`` it keeps
showing the old size and md5 until ``publish`` (a stale listing). MD5s are computed
on first use and kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from fetcher.emulator.bodies import Body, md5_of
from fetcher.emulator.exchange import Content

_KEPT_BODIES = 256


@dataclass(frozen=True)
class Revision:
    """One version of one file: its number, size and modification time."""

    version: int
    size: int
    mtime: float


class Revisions:
    """Served and listed revisions per file key; files never bumped are at their default."""

    def __init__(self, host: str, clock: Callable[[], float]) -> None:
        self.host = host
        self.clock = clock
        self._lock = threading.Lock()
        self._served: dict[str, Revision] = {}
        self._listed: dict[str, Revision] = {}
        self._md5: dict[tuple[str, Revision], str] = {}
        self._bodies: dict[tuple[str, Revision], Body] = {}

    def served(self, key: str, default: Revision) -> Revision:
        """The revision a download of ``key`` gets."""
        with self._lock:
            return self._served.get(key, default)

    def listed(self, key: str, default: Revision) -> Revision:
        """The revision the listing or record shows for ``key``."""
        with self._lock:
            return self._listed.get(key, self._served.get(key, default))

    def bump(self, key: str, default: Revision, size: int, listing: bool) -> Revision:
        """Make and serve the next version of ``key`` with ``size`` bytes."""
        with self._lock:
            current = self._served.get(key, default)
            self._listed.setdefault(key, current)
            mtime = max(float(int(self.clock())), current.mtime + 1)
            new = Revision(current.version + 1, size, mtime)
            self._served[key] = new
            if listing:
                self._listed[key] = new
            return new

    def publish(self, key: str) -> Revision | None:
        """Let the listing of ``key`` show the served revision; None if never bumped."""
        with self._lock:
            if key not in self._served:
                return None
            self._listed[key] = self._served[key]
            return self._listed[key]

    def body(self, key: str, revision: Revision, build: Callable[[], Body]) -> Body:
        """One revision's body, built once (its CRCs are worth keeping) and remembered."""
        with self._lock:
            known = self._bodies.get((key, revision))
        if known is None:
            known = build()
            with self._lock:
                if len(self._bodies) >= _KEPT_BODIES:
                    self._bodies.clear()
                self._bodies[(key, revision)] = known
        return known

    def md5(self, key: str, revision: Revision, build: Callable[[], Body]) -> str:
        """The MD5 of one revision (read once, then remembered)."""
        with self._lock:
            known = self._md5.get((key, revision))
        if known is None:
            known = md5_of(self.body(key, revision, build))
            with self._lock:
                self._md5[(key, revision)] = known
        return known

    def etag(self, key: str, revision: Revision, salt: str = "") -> str:
        """A strong ETag naming the file, its version and size."""
        text = f"{self.host}:{key}:{revision.version}:{revision.size}:{salt}"
        return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'

    def content(self, key: str, revision: Revision, body: Body, content_type: str,
                filename: str | None, salt: str = "") -> Content:
        """A rangeable ``Content`` for one revision's body."""
        return Content(body.size, self.etag(key, revision, salt), revision.mtime, body.read,
                       content_type, filename)
