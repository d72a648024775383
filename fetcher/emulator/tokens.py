"""Service keys, the ``@@oauth2-token`` endpoint and bearer-token lookup (§2).

Grants are verified as ``ftw.tokenauth`` does: RS256 only, the key found by ``iss``,
signature and audience by PyJWT (so its messages), then the library's own claim
rules, each with its exact ``error_description``. Time is the emulator's clock.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fetcher.emulator.config import Clock
from fetcher.emulator.exchange import Request, Response, json_response

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
UNAUTHORIZED = {
    "message": "You are not authorized to access this resource.",
    "type": "Unauthorized",
}


class GrantError(Exception):
    """A refused token request: the OAuth2 error and its description."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class ServiceKey:
    """A registered key: what the server keeps (the public half)."""

    client_id: str
    key_id: str
    user_id: str
    public_pem: bytes
    token_uri: str


@dataclass
class AccessToken:
    """An issued bearer token."""

    user_id: str
    client_id: str
    expires: float


class TokenAuthority:
    """Issues, stores, expires and revokes tokens, as the ftw.tokenauth plugin does."""

    def __init__(self, clock: Clock, lifetime: int) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self._keys: dict[str, ServiceKey] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def create_key(self, user_id: str, token_uri: str, title: str = "fetcher emulator",
                   private_pem: str | None = None) -> dict[str, Any]:
        """Make and register a service key; return the JSON keyfile (§2.1).

        ``private_pem`` reuses an existing RSA key (tests save the key generation).
        """
        if private_pem is None:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            loaded = serialization.load_pem_private_key(private_pem.encode(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError("service keys are RSA keys")
            private = loaded
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        client_id = os.urandom(16).hex()
        key_id = hashlib.sha1(public_pem, usedforsecurity=False).hexdigest()
        with self._lock:
            self._keys[client_id] = ServiceKey(client_id, key_id, user_id, public_pem, token_uri)
        issued = datetime.fromtimestamp(self.clock.now(), timezone.utc).replace(tzinfo=None)
        return {
            "client_id": client_id,
            "ip_range": None,
            "issued": issued.isoformat(),
            "key_id": key_id,
            "private_key": pem.decode(),
            "title": title,
            "token_uri": token_uri,
            "user_id": user_id,
        }

    def revoke(self, client_id: str) -> None:
        """Revoke a key and delete all of its tokens."""
        with self._lock:
            self._keys.pop(client_id, None)
            for token in [t for t, a in self._tokens.items() if a.client_id == client_id]:
                del self._tokens[token]

    def lookup(self, token: str) -> AccessToken | None:
        """The stored token, expired or not, or None when unknown."""
        with self._lock:
            return self._tokens.get(token)

    def is_expired(self, token: AccessToken) -> bool:
        """Whether a stored token's lifetime is over."""
        return token.expires <= self.clock.now()

    def endpoint(self, request: Request) -> Response:
        """Answer a request to ``@@oauth2-token``."""
        try:
            if request.method != "POST":
                raise GrantError("invalid_request", "POST only", 405)
            access = self._grant(request)
        except GrantError as exc:
            body = {"error": exc.error, "error_description": exc.description}
            return json_response(exc.status, body, _NO_STORE)
        return json_response(
            200, {"access_token": access, "expires_in": self.lifetime, "token_type": "Bearer"},
            _NO_STORE,
        )

    def _grant(self, request: Request) -> str:
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        grant_type = form.get("grant_type", [None])[0]
        if grant_type is None:
            raise GrantError("invalid_request", "Missing 'grant_type'")
        if grant_type != GRANT_TYPE:
            raise GrantError(
                "invalid_request", f"Only grant type '{GRANT_TYPE}' is supported"
            )
        assertion = form.get("assertion", [None])[0]
        if assertion is None:
            raise GrantError("invalid_request", "Missing 'assertion'")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            # Upstream parses the header outside its guarded block: an uncaught error.
            raise GrantError("server_error", "Internal Server Error", 500) from exc
        if header.get("alg") != "RS256":
            raise GrantError("invalid_request", "Only RS256 signature algorithm is supported")
        key, claims = self._verify(assertion)
        self._check_claims(claims, key)
        return self._issue(key)

    def _verify(self, assertion: str) -> tuple[ServiceKey, dict[str, Any]]:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        with self._lock:
            key = self._keys.get(str(unverified.get("iss")))
        if key is None:
            raise GrantError("invalid_grant", "No associated key found")
        lax: Any = {"verify_exp": False, "verify_iat": False, "verify_nbf": False,
               "verify_aud": False}
        strict: Any = {**lax, "verify_aud": True}
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion, key.public_pem, algorithms=["RS256"], options=lax,
            )
            exp = claims.get("exp")
            if isinstance(exp, int | float) and exp <= self.clock.now():
                raise GrantError("invalid_grant", "Signature has expired")
            jwt.decode(assertion, key.public_pem, algorithms=["RS256"],
                       audience=key.token_uri, options=strict)
        except jwt.InvalidAudienceError as exc:
            # The wording of the PyJWT the live server runs (§2.4); newer PyJWT differs.
            raise GrantError("invalid_grant", "Invalid audience") from exc
        except jwt.PyJWTError as exc:
            raise GrantError("invalid_grant", str(exc)) from exc
        return key, claims

    def _check_claims(self, claims: dict[str, Any], key: ServiceKey) -> None:
        now = self.clock.now()
        if claims.get("iss") != key.client_id:
            raise GrantError("invalid_grant", "JWT issuer doesn't match client_id of service key")
        if "exp" not in claims:
            raise GrantError("invalid_grant", "Missing 'exp' claim")
        if claims["exp"] > now + 86400:
            raise GrantError("invalid_grant", "JWT expiration is more than a day in the future")
        if "nbf" in claims:
            raise GrantError("invalid_grant", "The 'nbf' claim is not suppported")
        if "iat" not in claims:
            raise GrantError("invalid_grant", "Missing 'iat' claim")
        if claims["iat"] < now - 3600:
            raise GrantError("invalid_grant", "JWT was issued more than an hour in the past")
        if claims["iat"] > now + 60:
            raise GrantError("invalid_grant", "JWT issue time is in the future")
        if "scope" in claims:
            raise GrantError("invalid_grant", "Scopes are not supported yet")
        if claims.get("sub") != key.user_id:
            raise GrantError("invalid_grant", "JWT subject doesn't match user_id of service key.")

    def _issue(self, key: ServiceKey) -> str:
        token = base64.urlsafe_b64encode(os.urandom(64)).decode()
        now = self.clock.now()
        with self._lock:
            # Expired tokens are purged whenever a new one is issued, as upstream does.
            for old in [t for t, a in self._tokens.items() if a.expires <= now]:
                del self._tokens[old]
            self._tokens[token] = AccessToken(key.user_id, key.client_id, now + self.lifetime)
        return token


_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def bearer(request: Request) -> str | None:
    """The bearer token of a request ("Bearer " in any capitalisation), or None."""
    header = request.headers.get("Authorization") or ""
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
