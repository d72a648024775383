"""The ledger's schema on PostgreSQL: migrations, models, and refusing newer ledgers."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from fetcher.cli import run
from fetcher.errors import LedgerError
from fetcher.ledger import Ledger
from fetcher.ledger.db import HEAD, current_revision
from fetcher.ledger.models import Base


def test_the_migrations_bring_a_postgresql_ledger_to_the_head(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger:
        assert HEAD == current_revision(ledger.engine)


def test_models_and_migrations_agree_on_postgresql(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger, ledger.engine.connect() as conn:
        assert [] == compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_a_postgresql_ledger_of_a_newer_schema_is_refused(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(LedgerError) as refused:
        Ledger.open(pg_url).close()
    assert "newer than this fetcher knows" in refused.value.message


def test_db_upgrade_refuses_a_newer_postgresql_ledger_with_exit_2(
        pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Ledger.open(pg_url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    code = run(["db", "upgrade", "--db", pg_url])
    err = capsys.readouterr().err
    assert (2, True, False) == (code, err.startswith("error: "), "Traceback" in err)


def test_the_password_of_a_ledger_url_never_reaches_an_error(
        pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = pg_url.replace("postgres@", "postgres:hunter2-secret@", 1)
    with Ledger.open(pg_url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    run(["db", "upgrade", "--db", url])
    assert "hunter2-secret" not in capsys.readouterr().err
