"""Service-key loading and grant minting: pure, no network."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fetcher.errors import AuthError
from fetcher.sources.clms.auth import ServiceKey, load_service_key, mint_grant

from .conftest import KeyWriter

NOW = 1_700_000_000.7


def _load_error(path: Any) -> AuthError:
    with pytest.raises(AuthError) as caught:
        load_service_key(path)
    return caught.value


def test_a_valid_key_file_loads_its_fields(write_key: KeyWriter, key_dict: dict[str, Any]
                                           ) -> None:
    key = load_service_key(write_key(key_dict))

    assert (key_dict["client_id"], key_dict["user_id"], key_dict["token_uri"],
            key_dict["key_id"]) == (key.client_id, key.user_id, key.token_uri, key.key_id)


def test_repr_hides_the_private_key(write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    key = load_service_key(write_key(key_dict))

    assert "PRIVATE" not in repr(key)


def test_a_missing_file_names_the_file_and_the_variable(tmp_path: Any) -> None:
    error = _load_error(tmp_path / "absent.json")

    expected = (True, True)
    assert expected == ("absent.json" in str(error), "FETCHER_CLMS_KEY" in str(error.hint))


def test_a_file_that_is_not_json_is_refused_without_echoing_it(
        write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    text = json.dumps(key_dict)[:-1]  # broken JSON that still holds the key

    error = _load_error(write_key(text))

    expected = (True, False)
    assert expected == ("not a JSON service key" in str(error),
                             key_dict["private_key"][40:80] in str(error))


def test_missing_fields_are_named(write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    del key_dict["user_id"], key_dict["token_uri"]

    error = _load_error(write_key(key_dict))

    assert "lacks user_id, token_uri" in str(error)


def test_an_unparseable_pem_is_refused_without_echoing_it(
        write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    key_dict["private_key"] = key_dict["private_key"].replace("MII", "xyz", 1)

    error = _load_error(write_key(key_dict))

    expected = (True, False)
    assert expected == ("not a readable PEM private key" in str(error),
                             key_dict["private_key"][40:80] in str(error))


def test_a_non_rsa_key_is_refused(write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key_dict["private_key"] = pem

    error = _load_error(write_key(key_dict))

    assert "not an RSA key" in str(error)


def test_a_world_readable_key_file_warns(write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    path = write_key(key_dict, mode=0o644)
    warnings: list[str] = []

    load_service_key(path, warn=warnings.append)

    assert [f"{path}: the CLMS service key is readable by others (mode 0644); "
            f"run: chmod 600 {path}"] == warnings


def test_a_private_key_file_does_not_warn(write_key: KeyWriter, key_dict: dict[str, Any]
                                          ) -> None:
    warnings: list[str] = []

    load_service_key(write_key(key_dict), warn=warnings.append)

    assert not warnings


def _claims(key: ServiceKey, grant: str) -> dict[str, Any]:
    public = serialization.load_pem_private_key(key.private_key.encode(), None).public_key()
    decoded: dict[str, Any] = jwt.decode(grant, public, algorithms=["RS256"],  # type: ignore[arg-type]
                                         audience=key.token_uri, options={"verify_exp": False})
    return decoded


def test_the_grant_carries_the_documented_claims(write_key: KeyWriter,
                                                 key_dict: dict[str, Any]) -> None:
    key = load_service_key(write_key(key_dict))

    claims = _claims(key, mint_grant(key, NOW))

    assert {"iss": key.client_id, "sub": key.user_id, "aud": key.token_uri,
            "iat": 1_700_000_000, "exp": 1_700_003_600} == claims


def test_the_grant_is_signed_rs256(write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    key = load_service_key(write_key(key_dict))

    expected = "RS256"
    assert expected == jwt.get_unverified_header(mint_grant(key, NOW))["alg"]


def test_minting_is_pure(write_key: KeyWriter, key_dict: dict[str, Any]) -> None:
    key = load_service_key(write_key(key_dict))

    assert mint_grant(key, NOW) == mint_grant(key, NOW)
