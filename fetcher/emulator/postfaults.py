"""Faults of ``@datarequest_post`` alone, before or after its tasks exist (§4.3, §13).

Modes (``POST_FAULT_MODES``):

- ``before_500`` / ``before_502`` / ``before_503``: an HTML 5xx, no task created (the
  same answer as the host-wide ``error_5xx`` faults).
- ``after_500`` / ``after_502`` / ``after_503``: the request is processed normally
  (valid packages become tasks with an FMETaskId that progress), then a plone-style
  5xx body ``{"message", "type"}`` replaces the answer.
- ``after_drop``: processed normally, then the connection is closed with no answer.
- ``orphan``: the FME hand-off fails with a connection error: the first package's task
  is committed and stays Queued without FMETaskId for ever, later packages and CDSE
  parents are not created, and the answer is a plone 500 ``ConnectionError`` body
  (not ``Error, all requests failed``). A request that is refused (400) or has no FME
  package (CDSE only, empty) is answered as usual.

A POST meets at most one mode: the next scripted one, else one drawn at the
configured rates from a generator seeded with the emulator's seed. Only a POST that
reaches the service meets one: an anonymous POST (401) or one struck by a host-wide
fault (``faults``) before processing leaves the script and the generator untouched. The request log
labels the POST ``post:<mode>``; ``stats["post_faults"]`` counts them.
"""

from __future__ import annotations

import random
import threading
from collections import deque

from fetcher.emulator.config import POST_FAULT_MODES
from fetcher.emulator.exchange import Response, html_response, json_response

BEFORE = ("before_500", "before_502", "before_503")
AFTER = ("after_500", "after_502", "after_503", "after_drop")
ORPHAN_BODY = {
    "message": "HTTPSConnectionPool(host='copernicus-fme.eea.europa.eu', port=443): Max "
               "retries exceeded with url: /fmerest/v3/transformations/submit/CLMS/"
               "clms_download.fmw (Caused by NewConnectionError('<urllib3.connection."
               "HTTPSConnection object>: Failed to establish a new connection: [Errno 111] "
               "Connection refused'))",
    "type": "ConnectionError",
}
_PLONE = {
    500: {"message": "(psycopg2.OperationalError) server closed the connection unexpectedly",
          "type": "OperationalError"},
    502: {"message": "Bad Gateway", "type": "BadGateway"},
    503: {"message": "Service Unavailable", "type": "ServiceUnavailable"},
}
_TITLES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class PostFaults:
    """Scripted and seeded faults of ``@datarequest_post``; ``met`` lists those applied."""

    def __init__(self, seed: int, rates: dict[str, float]) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:post_faults")
        self._rates: dict[str, float] = {}
        self._script: deque[str] = deque()
        self.met: list[str] = []
        self.set(**rates)

    def set(self, **rates: float) -> None:
        """Change the rate (0..1) of some modes; the total may not exceed 1.

        Raises:
            ValueError: an unknown mode or a bad rate.
        """
        _check(rates)
        with self._lock:
            merged = {**self._rates, **rates}
            if sum(merged.values()) > 1:
                raise ValueError("post fault rates add up to more than 1")
            self._rates = {k: float(v) for k, v in merged.items() if v}

    def script(self, *modes: str) -> None:
        """Make the next POSTs meet these modes, one each, in order.

        Raises:
            ValueError: an unknown mode.
        """
        _check(dict.fromkeys(modes, 0.0))
        with self._lock:
            self._script.extend(modes)

    def clear(self) -> None:
        """Forget every rate and scripted mode."""
        with self._lock:
            self._rates = {}
            self._script.clear()

    def draw(self) -> str | None:
        """The mode the POST being served meets, or None."""
        with self._lock:
            if self._script:
                mode: str | None = self._script.popleft()
            elif self._rates:
                roll = self._rng.random()
                mode = None
                for name in POST_FAULT_MODES:
                    roll -= self._rates.get(name, 0.0)
                    if roll < 0:
                        mode = name
                        break
            else:
                mode = None
            if mode is not None:
                self.met.append(mode)
            return mode


def before(mode: str) -> Response:
    """The answer of a ``before_*`` mode: the front proxy's HTML 5xx page."""
    code = int(mode.rsplit("_", 1)[1])
    answer = html_response(code, f"{code} {_TITLES[code]}")
    answer.fault = f"post:{mode}"
    return answer


def after(mode: str) -> Response:
    """The answer of an ``after_*`` mode once the request was processed."""
    if mode == "after_drop":
        return Response(0, drop=True, fault=f"post:{mode}")
    code = int(mode.rsplit("_", 1)[1])
    answer = json_response(code, _PLONE[code])
    answer.fault = f"post:{mode}"
    return answer


def orphaned() -> Response:
    """The answer after an orphaning FME hand-off: plone's 500 for the ConnectionError."""
    answer = json_response(500, ORPHAN_BODY)
    answer.fault = "post:orphan"
    return answer


def _check(rates: dict[str, float]) -> None:
    unknown = sorted(set(rates) - set(POST_FAULT_MODES))
    if unknown:
        raise ValueError(f"unknown post fault mode(s) {', '.join(unknown)}; expected one of "
                         f"{', '.join(POST_FAULT_MODES)}")
    for mode, rate in rates.items():
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ValueError(f"post fault {mode}: expected a rate from 0 to 1, got {rate!r}")
