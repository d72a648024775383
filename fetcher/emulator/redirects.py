"""Redirects and HTTP Basic auth on the files host, for a client's link-following rules.

Paths (the query string is kept on every hop; ``<rest>`` is any path of the host):

- ``/redirect/<code>/<rest>`` (301, 302, 303, 307, 308): one redirect to ``/<rest>``.
- ``/redirect/chain/<n>/<rest>``: ``n`` redirects (302) ending at ``/<rest>``.
- ``/redirect/loop``: a 302 to itself, for ever.
- ``/redirect/passwd``: a 302 to ``file:///etc/passwd``.
- ``/redirect/external``: a 302 to ``http://example.org/x`` (never to be followed).
- ``/redirect/localhost/<rest>``: a 302 to ``/<rest>`` on ``localhost`` (same port): a
  different host name for the client, so credentials must not follow.
- ``/private/<rest>``: ``/<rest>`` behind Basic auth, user ``reader`` and the
  configured ``files_password``; otherwise 401 with ``WWW-Authenticate``.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from fetcher.emulator.exchange import Request, Response, html_response

USER = "reader"
EXTERNAL = "http://example.org/x"
LOCAL_FILE = "file:///etc/passwd"
CODES = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
         308: "Permanent Redirect"}
_MAX_HOPS = 1000


class Redirects:
    """Decides redirect and auth answers; says which inner path to serve otherwise."""

    def __init__(self, password: str) -> None:
        self.password = password

    def answer(self, request: Request) -> Response | str | None:
        """A redirect or 401, the inner path to serve (``/private/x`` gives ``/x``), or None."""
        path = request.path
        if path.startswith("/private/"):
            if not self._authorized(request):
                return _unauthorized()
            path = path[len("/private"):]
        parts = path.strip("/").split("/")
        if parts[0] != "redirect":
            return path if path != request.path else None
        return self._redirect(request, parts[1:]) or html_response(404, "404 Not Found")

    def _redirect(self, request: Request, parts: list[str]) -> Response | None:
        query = f"?{request.raw_query}" if request.raw_query else ""
        base = request.base_url
        head, rest = (parts[0] if parts else ""), "/".join(parts[1:])
        if head == "loop" and not rest:
            return _redirect(302, request.url)
        if head == "passwd" and not rest:
            return _redirect(302, LOCAL_FILE)
        if head == "external" and not rest:
            return _redirect(302, EXTERNAL)
        if head == "localhost" and rest:
            port = base.rsplit(":", 1)[1]
            return _redirect(302, f"http://localhost:{port}/{rest}{query}")
        if head == "chain" and len(parts) > 2 and parts[1].isdigit():
            hops, target = int(parts[1]), "/".join(parts[2:])
            if not 1 <= hops <= _MAX_HOPS:
                return None
            following = f"/redirect/chain/{hops - 1}/{target}" if hops > 1 else f"/{target}"
            return _redirect(302, f"{base}{following}{query}")
        if head.isdigit() and int(head) in CODES and rest:
            return _redirect(int(head), f"{base}/{rest}{query}")
        return None

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or ""
        if header[:6].lower() != "basic ":
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).partition(b":")
        except binascii.Error:
            return False
        return user == USER.encode() and hmac.compare_digest(password, self.password.encode())


def _redirect(code: int, location: str) -> Response:
    answer = html_response(code, f"{code} {CODES[code]}")
    answer.headers["Location"] = location
    return answer


def _unauthorized() -> Response:
    answer = html_response(401, "401 Unauthorized")
    answer.headers["WWW-Authenticate"] = 'Basic realm="emulator private files", charset="UTF-8"'
    return answer
