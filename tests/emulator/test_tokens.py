"""The token endpoint: RS256 grants and every error of clms-api.md §2.4, and §2.5."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests
from conftest import GRANT, Client, grant, token_for

from fetcher.emulator import Emulator


def ask(emu: Emulator, data: dict[str, str] | None, method: str = "POST") -> tuple[int, Any]:
    with requests.request(method, emu.urls.token_uri, data=data, timeout=5) as answer:
        return answer.status_code, answer.json()


def test_a_valid_grant_gets_an_opaque_bearer_token(emu: Emulator, key: dict[str, Any]) -> None:
    with requests.post(
        key["token_uri"],
        data={"grant_type": GRANT, "assertion": grant(key, emu.clock.now())},
        timeout=5,
    ) as answer:
        body = answer.json()
        assert (answer.status_code, answer.headers["Cache-Control"], answer.headers["Pragma"]) == (
            200,
            "no-store",
            "no-cache",
        )
    assert {"access_token", "expires_in", "token_type"} == set(body)
    assert (len(body["access_token"]), body["expires_in"], body["token_type"]) == (
        88,
        3600,
        "Bearer",
    )
    assert emu.stats["token_grants"] == 1


def test_the_root_token_endpoint_also_works(emu: Emulator, key: dict[str, Any]) -> None:
    root = emu.urls.clms.removesuffix("/api") + "/@@oauth2-token"
    data = {"grant_type": GRANT, "assertion": grant(key, emu.clock.now())}
    with requests.post(root, data=data, timeout=5) as answer:
        assert answer.status_code == 200


def test_the_service_key_is_shaped_as_the_docs(key: dict[str, Any], emu: Emulator) -> None:
    assert {
        "client_id",
        "ip_range",
        "issued",
        "key_id",
        "private_key",
        "title",
        "token_uri",
        "user_id",
    } == set(key)
    assert (32, 40, emu.urls.token_uri) == (
        len(key["client_id"]),
        len(key["key_id"]),
        key["token_uri"],
    )
    assert key["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")


def description(emu: Emulator, key: dict[str, Any], **changes: Any) -> tuple[int, str, str]:
    status, body = ask(
        emu, {"grant_type": GRANT, "assertion": grant(key, emu.clock.now(), **changes)}
    )
    return status, body["error"], body["error_description"]


def test_non_post_is_405(emu: Emulator) -> None:
    assert ask(emu, None, "GET") == (
        405,
        {"error": "invalid_request", "error_description": "POST only"},
    )


def test_missing_grant_type(emu: Emulator) -> None:
    assert (ask(emu, {"assertion": "x"})) == (
        400,
        {"error": "invalid_request", "error_description": "Missing 'grant_type'"},
    )


def test_wrong_grant_type(emu: Emulator) -> None:
    expected = "Only grant type 'urn:ietf:params:oauth:grant-type:jwt-bearer' is supported"
    assert (400, expected) == (lambda r: (r[0], r[1]["error_description"]))(
        ask(emu, {"grant_type": "password", "assertion": "x"})
    )


def test_missing_assertion(emu: Emulator) -> None:
    assert (ask(emu, {"grant_type": GRANT})) == (
        400,
        {"error": "invalid_request", "error_description": "Missing 'assertion'"},
    )


def test_only_rs256(emu: Emulator, key: dict[str, Any]) -> None:
    assertion = jwt.encode(
        {"iss": key["client_id"]}, "secret-secret-secret-secret-32b!", algorithm="HS256"
    )
    expected = (
        400,
        {
            "error": "invalid_request",
            "error_description": "Only RS256 signature algorithm is supported",
        },
    )
    assert expected == ask(emu, {"grant_type": GRANT, "assertion": assertion})


def test_unknown_and_revoked_keys(emu: Emulator, key: dict[str, Any]) -> None:
    assert description(emu, key, iss="0" * 32) == (400, "invalid_grant", "No associated key found")
    emu.revoke(key["client_id"])
    assert description(emu, key) == (400, "invalid_grant", "No associated key found")


def test_bad_signature(emu: Emulator, key: dict[str, Any]) -> None:
    other = emu.service_key()
    forged = {**other, "client_id": key["client_id"], "user_id": key["user_id"]}
    status, body = ask(emu, {"grant_type": GRANT, "assertion": grant(forged, emu.clock.now())})
    assert (status, body["error_description"]) == (400, "Signature verification failed")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": "https://land.copernicus.eu/@@oauth2-token"}, "Invalid audience"),
        ({"exp": 1}, "Signature has expired"),
        ({"exp": None}, "Missing 'exp' claim"),
        ({"exp": "+2d"}, "JWT expiration is more than a day in the future"),
        ({"nbf": "+0"}, "The 'nbf' claim is not suppported"),
        ({"iat": None}, "Missing 'iat' claim"),
        ({"iat": "-2h"}, "JWT was issued more than an hour in the past"),
        ({"iat": "+2m"}, "JWT issue time is in the future"),
        ({"scope": "all"}, "Scopes are not supported yet"),
        ({"sub": "someone-else"}, "JWT subject doesn't match user_id of service key."),
    ],
)
def test_claim_errors(
    emu: Emulator, key: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    now = int(emu.clock.now())
    offsets = {"+2d": now + 2 * 86400, "+0": now, "-2h": now - 7200, "+2m": now + 120}
    resolved = {k: offsets.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    assert (400, "invalid_grant", message) == description(emu, key, **resolved)


def test_expired_token_gets_the_invalid_token_401_even_on_public_endpoints(
    emu: Emulator, client: Client
) -> None:
    emu.clock.advance(3601)
    expected = {"error": "invalid_token", "error_description": "Access token expired"}
    for endpoint in ("@datarequest_search", "@search"):
        answer = client.call("GET", endpoint)
        assert (401, expected) == (answer.status_code, answer.json())


def test_unknown_token_is_anonymous(emu: Emulator) -> None:
    anonymous = Client(emu, "x" * 88)
    protected = anonymous.call("GET", "@datarequest_search")
    public = anonymous.call("GET", "@search")
    assert (protected.status_code, protected.json()["message"], public.status_code) == (
        401,
        "You are not authorized to access this resource.",
        200,
    )


def test_expired_tokens_are_purged_when_a_new_one_is_issued(
    emu: Emulator, key: dict[str, Any], client: Client
) -> None:
    emu.clock.advance(3601)
    token_for(emu, key)
    answer = client.call("GET", "@datarequest_search")
    assert (answer.status_code, answer.json()["type"]) == (401, "Unauthorized")


def test_revoking_a_key_deletes_its_tokens(
    emu: Emulator, key: dict[str, Any], client: Client
) -> None:
    emu.revoke(key["client_id"])
    assert client.call("GET", "@datarequest_search").status_code == 401


def test_configured_token_lifetime(key: dict[str, Any]) -> None:
    from fetcher.emulator import EmulatorConfig

    with Emulator(EmulatorConfig(fake_clock=True, token_lifetime=7200)) as emu:
        other = emu.service_key()
        status, body = ask(emu, {"grant_type": GRANT, "assertion": grant(other, emu.clock.now())})
        assert (status, body["expires_in"]) == (200, 7200)
