"""Fault injection, and the counters and request log tests assert on.

Faults are drawn per host from a generator seeded with the emulator's seed, so the
same run with the same seed meets the same faults. A script of faults (``script``)
forces the next requests of a host to fail in a given way, whatever the rates.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass, field

from fetcher.emulator.config import FAULT_KINDS, HOSTS, FaultRates

_EXCLUSIVE = ("error_500", "error_502", "error_503", "throttle", "drop", "truncate")
_DEFERRABLE = ("error_500", "error_502", "error_503", "drop")
DEFERRABLE_ROUTE = ("clms", "POST", "/api/@datarequest_post")
"""The one request a fault may strike after processing (``post_fault_after_create``)."""


@dataclass(frozen=True)
class Draw:
    """The faults one request meets: at most one exclusive kind, plus slow and expiry."""

    kind: str | None = None
    slow: bool = False
    expire_token: bool = False


class Faults:
    """Per-host fault rates, switchable at runtime, drawn deterministically."""

    def __init__(self, seed: int, rates: dict[str, FaultRates]) -> None:
        self._lock = threading.Lock()
        self._rates: dict[str, FaultRates] = {h: FaultRates() for h in HOSTS}
        self._rngs = {h: random.Random(f"{seed}:{h}") for h in HOSTS}
        self._scripts: dict[str, deque[str]] = {h: deque() for h in HOSTS}
        # Its own generator, so that a share of 0 leaves every other draw unchanged.
        self._after = random.Random(f"{seed}:post-after")
        for host, host_rates in rates.items():
            self._apply(host, asdict(host_rates))

    def set(self, host: str = "*", **rates: float | int | bool) -> None:
        """Change some fault settings of one host, or of every host with ``"*"``.

        Keys are the fields of ``FaultRates`` (``error_503=0.2``, ``throttle=1``,
        ``retry_after=5``, ``retry_after_http_date=True``, ...).

        Raises:
            ValueError: an unknown host or setting.
        """
        with self._lock:
            self._apply(host, dict(rates))

    def _apply(self, host: str, rates: dict[str, object]) -> None:
        hosts = HOSTS if host == "*" else (host,)
        for name in hosts:
            if name not in self._rates:
                raise ValueError(f"unknown host {name!r}; expected one of {', '.join(HOSTS)}")
            current = asdict(self._rates[name])
            unknown = set(rates) - set(current)
            if unknown:
                raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
            current.update(rates)
            self._rates[name] = FaultRates(**current)

    def script(self, host: str, *kinds: str) -> None:
        """Make the next requests of ``host`` meet these faults, one each, in order."""
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self._scripts[host].extend(kinds)

    def clear(self) -> None:
        """Switch every fault off and forget scripted ones."""
        with self._lock:
            self._rates = {h: FaultRates() for h in HOSTS}
            for queue in self._scripts.values():
                queue.clear()

    def rates(self, host: str) -> FaultRates:
        """The current settings of one host."""
        with self._lock:
            return self._rates[host]

    def deferred(self, host: str, method: str, path: str, kind: str) -> bool:
        """Whether a drawn fault strikes only after the request was processed."""
        if (host, method, path) != DEFERRABLE_ROUTE or kind not in _DEFERRABLE:
            return False
        with self._lock:
            share = self._rates[host].post_fault_after_create
            return share > 0 and self._after.random() < share

    def draw(self, host: str) -> Draw:
        """Decide the faults of the next request to ``host``."""
        with self._lock:
            if self._scripts[host]:
                kind = self._scripts[host].popleft()
                if kind == "slow":
                    return Draw(slow=True)
                if kind == "expire_token":
                    return Draw(expire_token=True)
                return Draw(kind=kind)
            rates = self._rates[host]
            rng = self._rngs[host]
            roll = rng.random()
            drawn: str | None = None
            for name in _EXCLUSIVE:
                roll -= float(getattr(rates, name))
                if roll < 0:
                    drawn = name
                    break
            slow = rng.random() < rates.slow
            expire = rng.random() < rates.expire_token
            return Draw(drawn, slow, expire)


@dataclass
class RequestRecord:
    """One served request, as the log keeps it (never a header value that is a secret).

    ``at`` is the emulator clock's time when the answer's headers went out.
    """

    host: str
    method: str
    path: str
    query: str
    status: int
    range: str | None
    bytes: int
    fault: str | None = None
    at: float = 0.0


STAT_NAMES = (
    "token_grants", "searches", "posts", "polls", "deletes", "downloads", "bytes", "requests",
    "post_faults",
)


@dataclass
class Recorder:
    """Counters and the request log, shared by every host."""

    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAT_NAMES, 0))
    log: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str, amount: int = 1) -> None:
        """Add to one counter."""
        with self.lock:
            self.counters[name] += amount

    def record(self, entry: RequestRecord) -> None:
        """Log one request and count it and its body bytes."""
        with self.lock:
            self.log.append(entry)
            self.counters["requests"] += 1
            self.counters["bytes"] += entry.bytes

    def correct(self, entry: RequestRecord, sent: int) -> None:
        """Fix a logged entry's byte count once the body was cut short."""
        with self.lock:
            self.counters["bytes"] += sent - entry.bytes
            entry.bytes = sent

    def reset(self) -> None:
        """Zero the counters and empty the log."""
        with self.lock:
            self.counters = dict.fromkeys(STAT_NAMES, 0)
            self.log = []
