"""Service keys: one RSA key for the whole run, registered with each emulator.

Generating a 2048-bit key costs a few tenths of a second; one per run keeps the
suites fast without faking the key or the JWT grant signed with it.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path

from tests.support.library import Emulator

_LOCK = threading.Lock()


@functools.cache
def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def pem() -> str:
    """The run's RSA private key, in the TraditionalOpenSSL PEM that CLMS issues."""
    with _LOCK:  # the kill scenarios make workspaces from several threads
        return _pem()


def write_service_key(path: Path, emu: Emulator) -> Path:
    """A service key registered with ``emu``, written to ``path`` with mode 600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(emu.service_key(private_key=pem()), handle)
    return path
