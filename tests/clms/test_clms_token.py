"""Token exchange, caching and refusal messages, against the emulator's token endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from fetcher.errors import AuthError
from fetcher.sources.clms.auth import ServiceKey, TokenCache, load_service_key, mint_grant
from fetcher.sources.clms.client import ClmsClient
from fetcher.transfer.http import Http

from .conftest import KeyWriter


def secrets_in(error: Exception, *secrets: str) -> list[str]:
    """Which of ``secrets`` (or a 40-character slice of them) appear in the error's text."""
    text = f"{error} {getattr(error, 'hint', '')} {error!r}"
    return [s[:12] for s in secrets if s[20:60] in text or s in text]


def pem_body(key: ServiceKey) -> str:
    """The base64 body of the private key, without its BEGIN/END lines."""
    return "".join(key.private_key.splitlines()[1:-1])


def test_many_calls_share_one_grant(emulator: Any, client: ClmsClient) -> None:
    for _ in range(3):
        client.tasks()

    expected = (1, 3)
    assert expected == (emulator.stats["token_grants"], emulator.stats["polls"])


def test_the_exchange_yields_the_opaque_token(emulator: Any, key: ServiceKey,
                                             http: Http) -> None:
    token = TokenCache(key, now=emulator.clock.now).token(http)

    expected = 88
    assert expected == len(token)


def test_a_token_past_its_lifetime_is_replaced_before_use(emulator: Any,
                                                          client: ClmsClient) -> None:
    client.tasks()
    emulator.clock.advance(3601)

    client.tasks()

    expected = (2, [])
    assert expected == (emulator.stats["token_grants"],
                        [r.path for r in emulator.requests if r.status == 401])


def test_a_401_mid_run_mints_one_fresh_token_and_succeeds(emulator: Any, client: ClmsClient,
                                                          http: Http) -> None:
    client.tasks()
    emulator.faults.script("clms", "expire_token")

    tasks = client.tasks()

    # first call: grant + search; second: refused search, grant, search again
    expected = ({}, 2, 5)
    assert expected == (tasks, emulator.stats["token_grants"], http.requests_made)


def test_a_revoked_key_says_so_without_secrets(emulator: Any, client: ClmsClient,
                                               key: ServiceKey, http: Http) -> None:
    token = client.tokens.token(http) if client.tokens else ""
    grant = mint_grant(key, emulator.clock.now())
    emulator.revoke(key.client_id)

    with pytest.raises(AuthError) as caught:
        client.tasks()

    expected = (True, True, [])
    assert expected == ("revoked" in str(caught.value), "create a new" in str(caught.value.hint),
                        secrets_in(caught.value, token, grant, pem_body(key)))


def test_a_token_uri_the_server_does_not_own_is_a_wrong_audience(
        emulator: Any, key_doc: dict[str, Any], write_key: KeyWriter, http: Http) -> None:
    key_doc["token_uri"] = key_doc["token_uri"].replace("/api/@@", "/@@")
    key = load_service_key(write_key(key_doc))
    client = ClmsClient(http, emulator.urls.clms, key, now=emulator.clock.now)

    with pytest.raises(AuthError) as caught:
        client.tasks()

    expected = (True, [])
    assert expected == ("token_uri does not match the server" in str(caught.value),
                        secrets_in(caught.value, mint_grant(key, emulator.clock.now()),
                                   pem_body(key)))


@pytest.mark.parametrize("skew", [600, -7200])
def test_clock_skew_asks_to_fix_the_clock(emulator: Any, key: ServiceKey, http: Http,
                                          skew: float) -> None:
    def skewed() -> float:
        return float(emulator.clock.now()) + skew

    client = ClmsClient(http, emulator.urls.clms, key, now=skewed)

    with pytest.raises(AuthError) as caught:
        client.tasks()

    expected = ("fix the system clock (enable NTP) and run again", [])
    assert expected == (caught.value.hint,
                        secrets_in(caught.value, mint_grant(key, skewed()), pem_body(key)))


def test_a_client_without_a_key_says_how_to_provide_one(emulator: Any, http: Http) -> None:
    client = ClmsClient(http, emulator.urls.clms, None, now=emulator.clock.now)

    with pytest.raises(AuthError) as caught:
        client.tasks()

    assert "FETCHER_CLMS_KEY" in str(caught.value.hint)


def test_reprs_show_no_token(emulator: Any, client: ClmsClient, http: Http) -> None:
    token = client.tokens.token(http) if client.tokens else ""

    assert not [r for r in (repr(client), repr(client.tokens)) if token in r]
