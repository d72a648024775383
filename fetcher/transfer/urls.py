"""Which URLs fetcher may call, and URLs made fit for messages.

Plain ``http://`` is allowed for loopback addresses only (DESIGN.md); every other
address must be ``https://``. A URL's query may hold signed tokens, so messages
show ``plain(url)``, never the URL itself.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from fetcher.errors import UsageError
from fetcher.secrets import plain, redact

__all__ = ["check_url", "host_of", "is_loopback", "origin", "plain", "redact"]


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback ranges (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Refuse URLs fetcher must not call: other schemes, and plain http off loopback.

    Raises:
        UsageError: naming the refused URL (without its query).
    """
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return
    raise UsageError(
        f"refusing to call {plain(url)}: only https, or plain http to a loopback address, "
        "is allowed",
        hint="use the service's https:// address",
    )


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL (no userinfo)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{host_of(url)}"


def host_of(url: str) -> str:
    """The ``host[:port]`` a URL connects to, lower case, without userinfo."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()
