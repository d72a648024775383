"""A fresh PostgreSQL schema per test, on the server named by FETCHER_TEST_PG.

The tests here need a real PostgreSQL server (the machines this project runs on
have one on 127.0.0.1:5432). Where none answers they are skipped with the reason,
unless FETCHER_REQUIRE_PG=1 (as in CI), which makes that a failure. The schemas are
``tests.support.ledgers``' (made and dropped as on the ``--ledger-on-postgres`` pass).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from tests.support import ledgers


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this test alone."""
    server = ledgers.PostgresLedgers(ledgers.server())
    try:
        server.check()
    except (SQLAlchemyError, ImportError) as exc:
        if os.environ.get("FETCHER_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL at {server.url} is required but unusable: {exc}")
        pytest.skip(f"no PostgreSQL at {server.url} (set FETCHER_TEST_PG): {type(exc).__name__}")
    try:
        yield server.new(tmp_path, migrated=False)
    finally:
        server.close()
