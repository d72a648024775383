"""CLMS authentication: service key -> RS256 grant -> bearer token, apart from transport.

The pieces, from pure to effectful:

- ``load_service_key`` reads and validates the JSON key file (no network).
- ``mint_grant(key, now)`` builds the signed JWT grant; a pure function.
- ``TokenCache`` decides when to mint and exchanges the grant at the key's own
  ``token_uri``, mapping every token-endpoint refusal to an ``AuthError`` that
  says what to do.
- ``Http.request(..., bearer=...)`` only sets the ``Authorization`` header from it.

Private keys, grants and access tokens never appear in a message, a log line or
a repr: errors name the key *file* and its ``client_id``, never its contents.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fetcher.errors import AuthError, RemoteError
from fetcher.transfer.http import Http, json_body

if TYPE_CHECKING:
    from fetcher.transfer.http import Response

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_LIFETIME = 3600
"""Seconds a grant is valid: the CLMS docs allow at most one hour."""
DEFAULT_TOKEN_LIFETIME = 3600
"""What ftw.tokenauth issues when the answer lacks ``expires_in``."""
REQUIRED_FIELDS = ("client_id", "user_id", "token_uri", "private_key")
NEW_KEY_HINT = (
    "create a new service key on the CLMS portal (profile > API Tokens) and point "
    "FETCHER_CLMS_KEY at the downloaded JSON file"
)

Clock = Callable[[], float]
Warn = Callable[[str], None]


@dataclass(frozen=True)
class ServiceKey:
    """A CLMS service key, as downloaded from the portal's "API Tokens" page.

    ``path`` is where it was read from (for messages). The private key is kept
    out of ``repr`` and out of equality-based debug output.
    """

    client_id: str
    user_id: str
    token_uri: str
    private_key: str = field(repr=False)
    key_id: str | None = None
    title: str | None = None
    path: str = ""

    def __repr__(self) -> str:
        return (
            f"ServiceKey(client_id={self.client_id!r}, user_id={self.user_id!r}, "
            f"token_uri={self.token_uri!r}, key_id={self.key_id!r}, path={self.path!r}, "
            "private_key=<hidden>)"
        )


def load_service_key(path: str | os.PathLike[str], *, warn: Warn | None = None) -> ServiceKey:
    """Read and validate a CLMS service-key JSON file.

    Args:
        path: The file FETCHER_CLMS_KEY names.
        warn: Called with a one-line warning when the file is readable by group
            or others (as ssh warns about private keys).

    Returns:
        The validated key.

    Raises:
        AuthError: the file is missing, unreadable, not JSON, lacks a field, or
            holds a private key that is not an RSA key in PEM form. The message
            names the file and what to do, never the key material.
    """
    name = str(path)
    text = _read_key_file(Path(path))
    try:
        data = json.loads(text)
    except ValueError:
        # ``from None``: a JSONDecodeError carries the whole document (the key) in .doc.
        raise AuthError(f"{name}: not a JSON service key file", hint=NEW_KEY_HINT) from None
    if not isinstance(data, dict):
        raise AuthError(f"{name}: not a JSON service key file (expected an object)",
                        hint=NEW_KEY_HINT)
    key = _key_from_fields(data, name)
    _check_private_key(key.private_key, name)
    if warn is not None:
        loose = _loose_permissions(Path(path))
        if loose:
            warn(loose)
    return key


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthError(
            f"{path}: CLMS service key file not found",
            hint=f"set FETCHER_CLMS_KEY to the key file's path; {NEW_KEY_HINT}",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthError(f"{path}: cannot read the CLMS service key file ({type(exc).__name__})",
                        hint="check the file's permissions and that it is the JSON key") from None


def _key_from_fields(data: dict[str, Any], name: str) -> ServiceKey:
    missing = [f for f in REQUIRED_FIELDS if not isinstance(data.get(f), str) or not data[f]]
    if missing:
        raise AuthError(
            f"{name}: the service key lacks {', '.join(missing)} "
            f"(expected {', '.join(REQUIRED_FIELDS)})",
            hint=NEW_KEY_HINT,
        )
    token_uri = data["token_uri"]
    if not token_uri.startswith(("https://", "http://")):
        raise AuthError(f"{name}: token_uri {token_uri!r} is not an http(s) URL",
                        hint=NEW_KEY_HINT)
    optional = {f: data.get(f) if isinstance(data.get(f), str) else None
                for f in ("key_id", "title")}
    return ServiceKey(client_id=data["client_id"], user_id=data["user_id"],
                      token_uri=token_uri, private_key=data["private_key"],
                      path=name, **optional)


def _check_private_key(pem: str, name: str) -> None:
    try:
        loaded = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # from None: the parse error must not drag the key text into a traceback.
        raise AuthError(f"{name}: private_key is not a readable PEM private key",
                        hint=NEW_KEY_HINT) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise AuthError(f"{name}: private_key is not an RSA key (CLMS grants are RS256)",
                        hint=NEW_KEY_HINT)


def _loose_permissions(path: Path) -> str | None:
    if os.name == "nt":  # POSIX modes mean nothing there
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077 == 0:
        return None
    return (f"{path}: the CLMS service key is readable by others (mode {mode:04o}); "
            f"run: chmod 600 {path}")


def mint_grant(key: ServiceKey, now: float) -> str:
    """The RS256 JWT grant CLMS exchanges for an access token; pure.

    Args:
        key: The service key.
        now: Epoch seconds.

    Returns:
        The compact JWT with claims iss, sub, aud, iat and exp (iat + 1 h).

    Raises:
        AuthError: the private key cannot sign (never includes the key).
    """
    issued = int(now)
    claims = {"iss": key.client_id, "sub": key.user_id, "aud": key.token_uri,
              "iat": issued, "exp": issued + GRANT_LIFETIME}
    try:
        return jwt.encode(claims, key.private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        raise AuthError(f"{key.path or 'service key'}: cannot sign a grant with private_key",
                        hint=NEW_KEY_HINT) from None


# error_description (prefix) -> (what happened, what to do). Order matters: first match wins.
_REFUSALS: tuple[tuple[str, str, str], ...] = (
    ("No associated key found",
     "the token endpoint does not know this key: it was revoked or deleted", NEW_KEY_HINT),
    ("JWT issue time is in the future",
     "the token endpoint says the grant was issued in the future: this machine's clock is ahead",
     "fix the system clock (enable NTP) and run again"),
    ("JWT was issued more than an hour in the past",
     "the token endpoint says the grant is over an hour old: this machine's clock is behind",
     "fix the system clock (enable NTP) and run again"),
    ("Signature has expired",
     "the token endpoint says the grant has expired: this machine's clock is behind",
     "fix the system clock (enable NTP) and run again"),
    ("Invalid audience",
     "the token endpoint refused the grant's audience: the key's token_uri does not match "
     "the server",
     "use a key issued by this server, or check FETCHER_CLMS_URL against the key's token_uri"),
    ("Signature verification failed",
     "the token endpoint could not verify the grant's signature: private_key does not "
     "belong to this key", NEW_KEY_HINT),
    ("JWT issuer doesn't match",
     "the token endpoint says client_id does not match the key: the file was edited",
     NEW_KEY_HINT),
    ("JWT subject doesn't match",
     "the token endpoint says user_id does not match the key: the file was edited",
     NEW_KEY_HINT),
)


def refusal_error(key: ServiceKey, status: int, body: Any) -> AuthError:
    """The AuthError for a token-endpoint refusal (RFC 6749 error body), secret-free.

    Args:
        key: The key whose grant was refused (named by file and client_id).
        status: The HTTP status of the answer.
        body: The parsed JSON body, or None.

    Returns:
        An AuthError saying what happened and what to do.
    """
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error") or "")
    description = str(body.get("error_description") or "")[:200]
    where = f"{key.path or 'service key'} (client_id {key.client_id})"
    for prefix, what, hint in _REFUSALS:
        if description.startswith(prefix):
            return AuthError(f"{where}: {what} ({description!r})", hint=hint)
    detail = f"{code}: {description}" if code or description else f"HTTP {status}"
    return AuthError(f"{where}: the token endpoint {key.token_uri} refused the grant "
                     f"(HTTP {status}, {detail})",
                     hint="check the key file and the server address; if it persists, "
                          "report it with this message")


class TokenCache:
    """Holds one access token and mints a new one when it is missing or due.

    A token is reused until ``expires_in`` minus a margin has passed, or until
    ``invalidate()`` (a 401 from the API). Thread-safe: one exchange at a time.
    """

    def __init__(self, key: ServiceKey, *, now: Clock, margin: float = 60.0) -> None:
        self.key = key
        self.now = now
        self.margin = margin
        self.grants_minted = 0
        self._token: str | None = None
        self._due = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        held = "held" if self._token else "empty"
        return f"TokenCache(client_id={self.key.client_id!r}, token=<{held}>)"

    def token(self, http: Http) -> str:
        """A valid access token, exchanging a fresh grant when needed.

        Args:
            http: The network seam.

        Returns:
            The opaque bearer token.

        Raises:
            AuthError: the token endpoint refused the grant.
            RemoteError: the token endpoint failed or answered nonsense.
        """
        with self._lock:
            if self._token is None or self.now() >= self._due:
                self._token, lifetime = self._exchange(http)
                self._due = self.now() + max(0.0, lifetime - min(self.margin, lifetime / 10))
            return self._token

    def invalidate(self) -> None:
        """Forget the token, so that the next ``token()`` mints a fresh one."""
        with self._lock:
            self._token = None

    def _exchange(self, http: Http) -> tuple[str, float]:
        grant = mint_grant(self.key, self.now())
        self.grants_minted += 1
        # No Authorization header here: the docs forbid it on the token endpoint.
        response = http.request(
            "POST", self.key.token_uri, idempotent=True,
            headers={"Accept": "application/json"},
            data={"grant_type": GRANT_TYPE, "assertion": grant},
        )
        if response.status_code != 200:
            raise refusal_error(self.key, response.status_code, _error_body(response))
        body = json_body(response, expect=(200,))
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RemoteError(f"{self.key.token_uri}: the token answer holds no access_token",
                              url=self.key.token_uri, status=200)
        lifetime = body.get("expires_in", DEFAULT_TOKEN_LIFETIME)
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, float(lifetime)


def _error_body(response: Response) -> Any:
    try:
        return json_body(response, expect=(response.status_code,))
    except RemoteError:
        return None

