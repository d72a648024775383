"""The one network seam: every HTTP call fetcher makes goes through ``Http``.

``Http`` owns the ``requests`` sessions (one per thread), the timeouts, the
User-Agent, the retry policy (``retry``: back-off with full jitter on connection
errors, 5xx and 429, honouring ``Retry-After`` in seconds or as an HTTP date, and
``X-RateLimit-*`` windows), the loopback-only rule for plain ``http://`` (also for
every redirect, which is followed here, hop by hop, and never retried as a fault),
credentials (a URL's userinfo or ``~/.netrc``, sent as Basic auth, never to another
host after a redirect), and ``--offline``, enforced before any socket is opened.

Time is injected (``sleep``, ``now``) so retries run in microseconds in tests.
Nothing here logs headers or bodies: they may carry tokens.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from fetcher._version import __version__
from fetcher.errors import OfflineError, RemoteError
from fetcher.secrets import userinfo, without_userinfo
from fetcher.transfer.retry import (
    Clock,
    Retrying,
    RetryPolicy,
    Sleep,
    rate_limit_reset,
    retry_after,
)
from fetcher.transfer.urls import check_url, host_of, is_loopback, origin, plain

if TYPE_CHECKING:  # requests loads on the first call: a sync with nothing to fetch skips it
    import requests
    from requests import Response

__all__ = ["Http", "Response", "RetryPolicy", "describe", "json_body", "parse_content_range"]

USER_AGENT = f"fetcher/{__version__} (+https://pypi.org/project/fetcher/)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_JSON_BYTES = 256 * 1024 * 1024
Auth = tuple[str, str]


class RedirectError(RemoteError):
    """A redirect fetcher will not follow: a loop, too many hops, or a refused address."""


class Http:
    """Timeouts, retries and rules for every call; one instance per run."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        now: Clock = time.time,
        rng: random.Random | None = None,
        offline: bool = False,
        user_agent: str = USER_AGENT,
        pool_size: int = 8,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.now = now
        self.rng = rng or random.Random()
        self.offline = offline
        self.user_agent = user_agent
        self.pool_size = pool_size
        self.requests_made = 0
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self._not_before: dict[str, float] = {}  # per host, from X-RateLimit-* headers
        self._netrc: dict[str, Auth | None] = {}

    @property
    def session(self) -> requests.Session:
        """This thread's session, built on first use."""
        import requests

        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.user_agent
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=self.pool_size, pool_maxsize=self.pool_size, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False
            self._local.session = session
        return session

    def close(self) -> None:
        """Close this thread's session."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def retrying(self, *, deadline: float | None = None) -> Retrying:
        """A fresh retry budget under this client's policy, clock and sleep."""
        return Retrying(self.policy, self.sleep, self.now, self.rng, deadline)

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        retry_statuses: Iterable[int] = RETRY_STATUSES,
        headers: Mapping[str, str] | None = None,
        bearer: Callable[[], str] | None = None,
        auth: Auth | None = None,
        **kwargs: Any,
    ) -> Response:
        """Send one request, retrying what is safe to retry; return the final answer.

        Args:
            method: HTTP method.
            url: Absolute URL (https, or http on loopback).
            idempotent: Whether a retry after a possibly-processed failure is safe.
                Defaults to True for GET, HEAD, PUT and DELETE. A non-idempotent call
                is retried only on 429 and on failure to connect.
            retry_statuses: Status codes worth retrying.
            headers: Extra headers.
            bearer: Gives the bearer token to send, asked again before every attempt.
            auth: (user, password) for Basic auth; else the URL's userinfo, else the
                host's entry in ``~/.netrc``, if any.
            **kwargs: Passed to ``requests.Session.request`` (params, data, json,
                stream, ...).

        Returns:
            The response, whatever its status, once it is not a retryable one
            (or retrying is unsafe). Callers decide what a 4xx means.

        Raises:
            OfflineError: under ``offline``, before any socket is opened.
            RedirectError: a redirect loop, too many hops, or one to a refused address.
            RemoteError: when every attempt failed; names the URL and the last answer.
        """
        import requests

        if self.offline:
            raise OfflineError(
                f"--offline: refusing to call {origin(url)}",
                hint="run without --offline to let fetcher use the network",
            )
        check_url(url)
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
        retry_on = frozenset(retry_statuses)
        kwargs.setdefault("timeout", (self.policy.connect_timeout, self.policy.read_timeout))
        if bearer is None:
            auth = auth or userinfo(url) or self._netrc_auth(url)
        url = without_userinfo(url)
        last = "no answer"
        last_status: int | None = None
        host = host_of(url)
        retrying = self.retrying()
        while True:
            self._wait_for_quota(host)
            wait: float | None = None
            try:
                with self._count_lock:
                    self.requests_made += 1
                sent = dict(headers or {})
                if bearer is not None:
                    sent["Authorization"] = f"Bearer {bearer()}"
                response = self._follow(method, url, sent, auth, kwargs)
            except requests.exceptions.RequestException as exc:
                last = _describe_exception(exc)
                if not (idempotent or _failed_to_connect(exc)):
                    raise RemoteError(
                        f"{method} {plain(url)} failed: {last}",
                        url=url,
                        hint="the request may have reached the server; the next sync checks",
                    ) from exc
            else:
                self._note_quota(host, response)
                if response.status_code not in retry_on:
                    return response
                if response.status_code != 429 and not idempotent:
                    return response
                last = describe(response)
                last_status = response.status_code
                response.close()
                wait = self._server_wait(method, url, response)
            if not retrying.again(wait):
                break
        raise RemoteError(
            f"{method} {plain(url)} failed after {retrying.failures} attempts; "
            f"last answer: {last}",
            url=url,
            status=last_status,
            hint="the service may be down; try again later",
        )

    def _follow(self, method: str, url: str, headers: dict[str, str], auth: Auth | None,
                kwargs: dict[str, Any]) -> Response:
        """Send, following redirects hop by hop under the same rules as the first URL."""
        chain = [url]
        first_host = host_of(url)
        while True:
            response = self.session.request(method, url, headers=headers, auth=auth,
                                            allow_redirects=False, **kwargs)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or not location:
                return response
            response.close()
            url = urljoin(url, location)
            _check_hop(chain, url)
            chain.append(url)
            kwargs = {k: v for k, v in kwargs.items() if k != "params"}  # now in the URL
            if host_of(url) != first_host:  # credentials stay with the host they are for
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                auth = None
            if response.status_code == 303 or (response.status_code in (301, 302)
                                               and method.upper() == "POST"):
                method = "GET"
                kwargs = {k: v for k, v in kwargs.items() if k not in ("data", "json")}

    def _netrc_auth(self, url: str) -> Auth | None:
        """The host's login in ``~/.netrc`` (or ``$NETRC``), read once per host."""
        import requests

        host = host_of(url)
        if host not in self._netrc:
            found = requests.utils.get_netrc_auth(url)
            self._netrc[host] = (str(found[0]), str(found[1])) if found else None
        return self._netrc[host]

    def _server_wait(self, method: str, url: str, response: Response) -> float | None:
        """How long the server asks to wait before the next attempt (None: back off)."""
        wait = retry_after(response.headers.get("Retry-After"), self.now())
        if wait is None and response.status_code == 429:
            wait = self._quota_wait(host_of(url))
        if wait is not None and wait > self.policy.max_retry_after:
            raise RemoteError(
                f"{method} {plain(url)}: server asks to wait {wait:.0f} s (Retry-After), "
                f"more than fetcher's limit of {self.policy.max_retry_after:.0f} s",
                url=url,
                status=response.status_code,
                hint="try again later",
            )
        return wait

    def _note_quota(self, host: str, response: Response) -> None:
        """Remember when an exhausted rate-limit window (``X-RateLimit-*``) reopens."""
        remaining = response.headers.get("X-RateLimit-Remaining", "").strip()
        reset = rate_limit_reset(response.headers.get("X-RateLimit-Reset"), self.now())
        if remaining.isdigit() and int(remaining) == 0 and reset is not None:
            with self._count_lock:
                self._not_before[host] = reset

    def _quota_wait(self, host: str) -> float | None:
        with self._count_lock:
            until = self._not_before.get(host)
        return None if until is None else max(0.0, until - self.now())

    def _wait_for_quota(self, host: str) -> None:
        """Sleep until the host's rate-limit window reopens, if it is known to be closed."""
        wait = self._quota_wait(host)
        if wait:
            self.sleep(min(wait, self.policy.max_retry_after))
        with self._count_lock:
            self._not_before.pop(host, None)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET a JSON document; a non-200 answer or a non-JSON body is a RemoteError."""
        kwargs.setdefault("stream", True)
        response = self.request("GET", url, **kwargs)
        return json_body(response, expect=(200,))


# --- reading answers ----------------------------------------------------------------


def describe(response: Response) -> str:
    """A short, secret-free account of an answer for error messages."""
    head = _peek(response, 4096)
    text = head.decode("utf-8", "replace")
    try:
        body = json.loads(head)
        if isinstance(body, dict):
            text = str(body.get("msg") or body.get("message") or body.get("error_description")
                       or body.get("error") or text)
    except ValueError:
        if "<html" in text.lower():
            text = "(an HTML page)"
    text = " ".join(text.split())[:160]
    return f"HTTP {response.status_code} {text}".strip()


def _peek(response: Response, size: int) -> bytes:
    """Up to ``size`` bytes of the body, without reading an endless stream to its end."""
    import requests

    try:
        if getattr(response, "_content", False) is False:
            return next(response.iter_content(size), b"")
        return bytes(response.content[:size])
    except (requests.exceptions.RequestException, StopIteration):
        return b""


def json_body(response: Response, *, expect: Iterable[int] = (200,)) -> Any:
    """Parse a response as JSON, refusing wrong statuses, HTML pages and broken JSON.

    Raises:
        RemoteError: another status, another content type, a body over
            ``MAX_JSON_BYTES``, a broken-off body or malformed JSON.
    """
    import requests

    url = plain(response.url)
    if response.status_code not in set(expect):
        raise RemoteError(
            f"{response.request.method} {url}: unexpected answer {describe(response)}",
            url=response.url,
            status=response.status_code,
        )
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type:
        raise RemoteError(
            f"{url}: expected JSON, got {content_type or 'no content type'} "
            f"(HTTP {response.status_code})",
            url=response.url,
            status=response.status_code,
            hint="the service may be down or behind a login page",
        )
    body = bytearray()
    try:
        for chunk in response.iter_content(1 << 16):
            body += chunk
            if len(body) > MAX_JSON_BYTES:
                raise RemoteError(
                    f"{url}: the JSON answer is larger than {MAX_JSON_BYTES >> 20} MiB; "
                    "refusing to read on",
                    url=response.url,
                    status=response.status_code,
                )
    except requests.exceptions.RequestException as exc:
        raise RemoteError(f"{url}: the answer broke off ({_describe_exception(exc)})",
                          url=response.url, status=response.status_code) from exc
    finally:
        response.close()
    try:
        return json.loads(bytes(body))
    except ValueError as exc:
        raise RemoteError(
            f"{url}: malformed JSON in the answer (HTTP {response.status_code})",
            url=response.url,
            status=response.status_code,
        ) from exc


@dataclass(frozen=True)
class ContentRange:
    """A parsed ``Content-Range``: ``bytes start-end/total``, or ``bytes */total``."""

    start: int | None
    end: int | None
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    """Parse a ``Content-Range`` header; None when absent or malformed."""
    if not value:
        return None
    unit, _, spec = value.strip().partition(" ")
    span, _, total_text = spec.partition("/")
    if unit.lower() != "bytes" or not total_text:
        return None
    total = int(total_text) if total_text.isdigit() else None
    if total_text != "*" and total is None:
        return None
    if span == "*":
        return ContentRange(None, None, total)
    first, _, last = span.partition("-")
    if not (first.isdigit() and last.isdigit()) or int(last) < int(first):
        return None
    return ContentRange(int(first), int(last), total)


def _check_hop(chain: list[str], url: str) -> None:
    """Refuse a redirect to a URL already visited, past the hop limit, or off the rules."""
    shown = " -> ".join(plain(u) for u in [*chain, url])
    parts = urlsplit(url)
    problem = None
    if url in chain:
        problem = "redirects in a loop"
    elif len(chain) > MAX_REDIRECTS:
        problem = f"redirects more than {MAX_REDIRECTS} times"
    elif parts.scheme not in ("https", "http"):
        problem = f"redirects to a {parts.scheme or 'relative'}: URL"
    elif parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        problem = "redirects to plain http:// off loopback"
    if problem is not None:
        raise RedirectError(f"{plain(chain[0])} {problem}: {shown}", url=chain[0],
                            hint="fix the URL in the spec, or tell the site's owner")


def _failed_to_connect(exc: requests.exceptions.RequestException) -> bool:
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return isinstance(exc, requests.exceptions.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text
    )


def _describe_exception(exc: requests.exceptions.RequestException) -> str:
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return type(exc).__name__

