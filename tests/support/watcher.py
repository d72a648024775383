"""A thread that samples the data folder while syncs run, to catch a partial file in view.

Every few milliseconds it lists the data folder and fingerprints each visible file
(anything but ``.part`` files, their sidecars and extraction work folders). A file in
view must be whole: at the end it is either recorded in the ledger with the same
bytes, or a transient archive (a CLMS result zip before extraction) that is a
complete, readable zip.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from pathlib import Path

from tests.support.consistency import is_leftover


class Watcher:
    """Samples ``data`` until stopped; ``seen`` maps (path, size, sha256) to whole-ness."""

    def __init__(self, data: Path, interval: float = 0.01) -> None:
        self.data = data
        self.interval = interval
        self.seen: dict[tuple[str, int, str], bool] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)
        self._known: dict[tuple[str, int, int], tuple[str, int, str]] = {}

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        """Fingerprint every visible file once per (path, size, mtime)."""
        self.samples += 1
        if not self.data.exists():
            return
        for path in _walk(self.data):
            rel = path.relative_to(self.data).as_posix()
            if is_leftover(rel):
                continue
            try:
                stat = path.stat()
                if not path.is_file():
                    continue
                stamp = (rel, stat.st_size, stat.st_mtime_ns)
                if stamp in self._known:
                    continue
                body = path.read_bytes()
            except OSError:
                continue  # gone or replaced between listing and reading
            key = (rel, len(body), hashlib.sha256(body).hexdigest())
            self._known[stamp] = key
            self.seen[key] = _whole_zip(body) if rel.endswith(".zip") else False

    def partial(self, recorded: dict[str, tuple[int, str]]) -> list[str]:
        """Files seen that were neither recorded with those bytes nor a whole zip."""
        return sorted(f"{rel} ({size} bytes)" for (rel, size, sha), whole in self.seen.items()
                      if recorded.get(rel) != (size, sha) and not whole)


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, tolerating folders that vanish while listed."""
    found = []
    for folder, _, names in os.walk(root, onerror=lambda _exc: None):
        found += [Path(folder, name) for name in names]
    return found


def _whole_zip(body: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, EOFError, ValueError):
        return False
