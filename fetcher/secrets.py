"""What must never be shown or stored: credentials in URLs.

A URL may carry a user and password (``https://reader:PASSWORD@host/file``) or a
secret in its query (``?token=…``, ``?X-Amz-Signature=…``). ``redact`` masks both,
for every message, report, event and ledger row; ``plain`` keeps only
``scheme://host/path``. This module imports nothing of fetcher's.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
_USERINFO = re.compile(r"//[^/?#]*@")
_SECRET_PARAM = re.compile(
    r"(token|key|signature|sig|secret|password|passwd|pwd|credential|auth|session)",
    re.IGNORECASE)


def _host(netloc: str) -> tuple[str, bool]:
    """The netloc without userinfo, and whether it had any."""
    _userinfo, at, host = netloc.rpartition("@")
    return (host, True) if at else (netloc, False)


def plain(url: str) -> str:
    """``scheme://host[:port]/path``: no userinfo, no query (which may hold signed tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{_host(parts.netloc)[0]}{parts.path}"


def redact(url: str) -> str:
    """The URL with its userinfo and secret-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL urllib can split (a bad IPv6 literal): mask by its shape
        base, query, _ = _USERINFO.sub(f"//{MASK}@", url, count=1).partition("?")
        return f"{base}?{MASK}" if query else base
    host, had_user = _host(parts.netloc)
    netloc = f"{MASK}@{host}" if had_user else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(name) for name, _ in pairs):
            query = urlencode([(name, MASK if _SECRET_PARAM.search(name) else value)
                               for name, value in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_secrets(url: str) -> bool:
    """Whether the URL carries userinfo or a secret-looking query parameter."""
    return redact(url) != url


def userinfo(url: str) -> tuple[str, str] | None:
    """The (user, password) a URL carries, percent-decoded (``p%40ss`` is ``p@ss``), or None."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def without_userinfo(url: str) -> str:
    """The URL to send: its userinfo goes into an Authorization header instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _host(parts.netloc)[0], parts.path, parts.query,
                       parts.fragment))
