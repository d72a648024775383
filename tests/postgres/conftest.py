"""A fresh PostgreSQL schema per test, on the server named by FETCHER_TEST_PG.

The tests here need a real PostgreSQL server (the machines this project runs on
have one on 127.0.0.1:5432). Where none answers they are skipped with the reason,
unless FETCHER_REQUIRE_PG=1 (as in CI), which makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

SERVER = os.environ.get("FETCHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _engine_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this test alone."""
    try:
        engine = create_engine(_engine_url(SERVER))
        with engine.begin() as conn:
            schema = f"fetcher_{uuid.uuid4().hex[:12]}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (SQLAlchemyError, ImportError) as exc:
        if os.environ.get("FETCHER_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL at {SERVER} is required but unusable: {exc}")
        pytest.skip(f"no PostgreSQL at {SERVER} (set FETCHER_TEST_PG): {type(exc).__name__}")
    url = make_url(SERVER).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
