"""One retry policy for every call: a bounded number of attempts or a deadline,
exponential back-off with full jitter, and the server's own ``Retry-After``.

``Http.request`` retries one call with it; a download retries broken transfers
and "not ready yet" answers with it. Time and sleep are injected.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable
from dataclasses import dataclass

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one call."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 60.0
    max_retry_after: float = 900.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number ``attempt`` (1-based)."""
        return rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


@dataclass
class Retrying:
    """The retries of one operation: counts failures, sleeps before each new attempt.

    The budget is ``policy.attempts`` failures in a row, or, with a ``deadline``,
    failures until the clock passes it.
    """

    policy: RetryPolicy
    sleep: Sleep
    now: Clock
    rng: random.Random
    deadline: float | None = None
    failures: int = 0

    def again(self, wait: float | None = None, *, progressed: bool = False) -> bool:
        """Count a failed attempt; sleep and return True when another one is allowed.

        Args:
            wait: Seconds the server asked for (``Retry-After``); else back-off.
            progressed: The attempt moved forward (a resumed download got bytes): the
                count of failures in a row starts again.
        """
        self.failures = 0 if progressed else self.failures + 1
        if self.deadline is None:
            if self.failures >= self.policy.attempts:
                return False
        elif self.now() >= self.deadline:
            return False
        self.sleep(wait if wait is not None
                   else self.policy.backoff(max(self.failures, 1), self.rng))
        return True


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def rate_limit_reset(value: str | None, now: float) -> float | None:
    """When a rate-limit window reopens: Zenodo sends epoch seconds, others a delta."""
    if not value or not value.strip().isdigit():
        return None
    number = float(value.strip())
    # Anything before 2001 cannot be an epoch time from a live server; read it as a delta.
    return number if number > 1e9 else now + number
