"""Fixtures for the CLMS client: service keys on disk, and a client on the emulator."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fetcher.sources.clms.auth import ServiceKey, load_service_key
from fetcher.sources.clms.client import ClmsClient
from fetcher.transfer.http import Http
from tests.support import keys

KeyWriter = Callable[..., Path]


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    """A 2048-bit RSA private key in the TraditionalOpenSSL PEM CLMS issues (the run's one)."""
    return keys.pem()


@pytest.fixture
def key_dict(rsa_pem: str) -> dict[str, Any]:
    """A well-formed service key document (not registered anywhere)."""
    return {
        "client_id": "36cf0c684995c843b580f3110eb29765",
        "ip_range": None,
        "issued": "2022-01-24T14:32:24.148197",
        "key_id": "edbb14448a3349ba51b83333c4ef51275ac11ced",
        "private_key": rsa_pem,
        "title": "test key",
        "token_uri": "http://127.0.0.1:9/@@oauth2-token",
        "user_id": "n00015mf",
    }


@pytest.fixture
def write_key(tmp_path: Path) -> KeyWriter:
    """Write a key document (dict or raw text) to a file with the given mode."""

    def write(data: dict[str, Any] | str, mode: int = 0o600, name: str = "key.json") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        os.chmod(path, mode)
        return path

    return write


@pytest.fixture
def key_doc(emulator: Any) -> dict[str, Any]:
    """A service key document registered with the emulator."""
    doc: dict[str, Any] = emulator.service_key()
    return doc


@pytest.fixture
def key(key_doc: dict[str, Any], write_key: KeyWriter) -> ServiceKey:
    """The registered key, loaded from a mode-600 file as users keep it."""
    return load_service_key(write_key(key_doc))


@pytest.fixture
def http(emulator: Any) -> Http:
    """The network seam, with the emulator's clock and no real sleeping."""
    return Http(sleep=lambda _: None, now=emulator.clock.now)


@pytest.fixture
def client(emulator: Any, http: Http, key: ServiceKey) -> ClmsClient:
    """A CLMS client on the emulator; counters start at zero."""
    made = ClmsClient(http, emulator.urls.clms, key, now=emulator.clock.now)
    emulator.reset_stats()
    return made


def clms_request(ref: dict[str, str], **changes: Any) -> dict[str, Any]:
    """A canonical CLMS request (as fetcher.spec makes them) with ``changes`` applied."""
    base: dict[str, Any] = {
        "source": "clms", "ref": ref, "download": None, "layer": None, "format": None,
        "crs": "EPSG:4326", "area": {"nuts": "ITC11"}, "time": None, "file": None,
    }
    base.update(changes)
    return base
