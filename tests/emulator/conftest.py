"""Fixtures for the emulator's own tests: a live emulator, a key, a token, helpers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests

from fetcher.emulator import Emulator, EmulatorConfig

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LC100 = "a8d945f0edd143a0a5240c28bafa23da"
LC100_INFO = "f328dbcc-9069-4240-b8bb-6d5df918671a"
CORINE = "0407d497d3c44bcd93ce8fd5bf78596a"
CORINE_FILE = "3d9e2413-46ca-4f6e-abf8-b6eb429a4e48"


def grant(key: dict[str, Any], now: float, **changes: Any) -> str:
    """An RS256 grant for ``key`` at ``now``; ``changes`` override or (None) drop claims."""
    claims: dict[str, Any] = {
        "iss": key["client_id"],
        "sub": key["user_id"],
        "aud": key["token_uri"],
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key["private_key"], algorithm="RS256")


def token_for(emu: Emulator, key: dict[str, Any]) -> str:
    """A fresh access token for ``key``."""
    with requests.post(
        key["token_uri"],
        data={"grant_type": GRANT, "assertion": grant(key, emu.clock.now())},
        timeout=5,
    ) as answer:
        assert answer.status_code == 200
        return str(answer.json()["access_token"])


class Client:
    """A tiny authenticated client over plain requests."""

    def __init__(self, emu: Emulator, token: str) -> None:
        self.emu = emu
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        """Call one CLMS endpoint and return the closed, read response."""
        with requests.request(
            method, f"{self.emu.urls.clms}/{endpoint}", headers=self.headers, timeout=5, **kwargs
        ) as answer:
            answer.content  # noqa: B018 - read before closing
            return answer

    def post(self, *datasets: dict[str, Any]) -> requests.Response:
        """``@datarequest_post`` with these items."""
        return self.call("POST", "@datarequest_post", json={"Datasets": list(datasets)})


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator with a fake clock."""
    started = time.perf_counter()
    with Emulator(EmulatorConfig(seed=0, fake_clock=True, catalogue_size=60)) as emulator:
        emulator.startup_seconds = time.perf_counter() - started  # type: ignore[attr-defined]
        yield emulator


@pytest.fixture(scope="session")
def shared() -> Iterator[Emulator]:
    """One emulator for read-only tests."""
    with Emulator(EmulatorConfig(seed=0, fake_clock=True, catalogue_size=60)) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    """One RSA key for the whole run: generating 2048-bit keys is slow."""
    with Emulator(EmulatorConfig(fake_clock=True, catalogue_size=0)) as emulator:
        return str(emulator.service_key()["private_key"])


@pytest.fixture
def key(emu: Emulator, rsa_pem: str) -> dict[str, Any]:
    """A registered service key."""
    return emu.service_key(user_id="n00015mf", private_key=rsa_pem)


@pytest.fixture
def client(emu: Emulator, key: dict[str, Any]) -> Client:
    """An authenticated client."""
    return Client(emu, token_for(emu, key))


def lc100(**extra: Any) -> dict[str, Any]:
    """A valid LC100 item for ITC11, with overrides (None drops a key)."""
    item: dict[str, Any] = {
        "DatasetID": LC100,
        "DatasetDownloadInformationID": LC100_INFO,
        "OutputFormat": "Geotiff",
        "OutputGCS": "EPSG:4326",
        "NUTS": "ITC11",
    }
    for name, value in extra.items():
        if value is None:
            item.pop(name, None)
        else:
            item[name] = value
    return item
