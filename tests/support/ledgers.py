"""Where a test's ledger lives: an SQLite file, or a PostgreSQL schema of its own.

A ledger is named by its *location*, the string fetcher takes as ``FETCHER_DB``,
``Settings(db=...)`` or ``Ledger.open``: a path for SQLite, a URL for PostgreSQL.
By default every new location is an SQLite file. With ``--ledger-on-postgres``
(``use_postgres``) it is a URL on the server ``FETCHER_TEST_PG`` whose search_path is a
schema made for it, and whose connections carry the schema's name as their
application_name, so that teardown can end them before dropping the schema.

The operations on an existing ledger (``copy``, ``forget``, ``contents``, ``files``)
follow the location itself, whichever pass made it. The SQL here names schemas and
tables by interpolation (``# noqa: S608``): the names are the ones these tests made or
the catalogue lists, never input.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, create_engine, text
from sqlalchemy.engine import URL, make_url

from tests.support.library import Ledger

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
LEDGER_NAME = "ledger.db"


def server() -> str:
    """The PostgreSQL server the tests use: ``FETCHER_TEST_PG``, or the local default."""
    return os.environ.get("FETCHER_TEST_PG") or DEFAULT_SERVER


def is_postgres(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL ledger."""
    return location.startswith(("postgresql:", "postgresql+"))


# --- SQLite --------------------------------------------------------------------------


class SqliteLedgers:
    """New ledgers as SQLite files, copied from one migrated template."""

    on_postgres = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._template: Path | None = None

    def new(self, folder: Path, *, migrated: bool = True, name: str = LEDGER_NAME) -> str:
        """The location of a ledger file in ``folder``: at the head schema, or absent."""
        path = folder / name
        if migrated:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.template(), path)
        return str(path)

    def template(self) -> Path:
        """One migrated ledger, made once: the migrations cost tenths of a second a run."""
        with self._lock:  # the kill scenarios make workspaces from several threads
            if self._template is None:
                folder = Path(tempfile.mkdtemp(prefix="fetcher-ledger-"))
                Ledger.open(str(folder / LEDGER_NAME)).close()
                self._template = folder / LEDGER_NAME
            return self._template

    def mark(self) -> int:
        return 0

    def drop_since(self, mark: int) -> None:
        """Nothing to do: the files go with the tests' temporary folders."""

    def close(self) -> None:
        """Remove the template."""
        if self._template is not None:
            shutil.rmtree(self._template.parent, ignore_errors=True)
            self._template = None


# --- PostgreSQL ----------------------------------------------------------------------


class PostgresLedgers:
    """New ledgers as schemas on one PostgreSQL server, dropped when their test ends."""

    on_postgres = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []
        self._lock = threading.Lock()

    @functools.cached_property
    def engine(self) -> Engine:
        return create_engine(_engine_url(self.url))

    def check(self) -> None:
        """Connect once, so that an unusable server fails the run at its start."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def new(self, folder: Path, *, migrated: bool = True, name: str = LEDGER_NAME) -> str:
        """The URL of a new schema: migrated to the head, or empty (no ledger yet)."""
        del folder, name  # the schema stands in for the file
        schema = f"fetcher_test_{uuid.uuid4().hex[:12]}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        with self._lock:
            self.made.append(schema)
        url = make_url(self.url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema})
        location = url.render_as_string(hide_password=False)
        if migrated:
            Ledger.open(location).close()
        return location

    def mark(self) -> int:
        """How many schemas have been made so far (see ``drop_since``)."""
        return len(self.made)

    def drop_since(self, mark: int) -> None:
        """Drop the schemas made after ``mark``."""
        with self._lock:
            schemas, self.made[mark:] = self.made[mark:], []
        drop(self.engine, schemas)

    def close(self) -> None:
        """Drop every schema still there."""
        self.drop_since(0)
        self.engine.dispose()


def _engine_url(location: str) -> URL:
    """The location's server with the psycopg 3 driver, outside the location's schema."""
    return make_url(location).set(drivername="postgresql+psycopg").difference_update_query(
        ["options", "application_name"])


def _schema(location: str) -> str:
    return str(make_url(location).query["application_name"])


def _admin(location: str) -> Engine:
    """An engine on the location's server, outside its schema."""
    return create_engine(_engine_url(location))


def drop(engine: Engine, schemas: list[str], *, recreate: bool = False) -> None:
    """End the schemas' connections (a killed child's may linger), then drop them."""
    with engine.begin() as conn:
        for schema in schemas:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = :schema AND pid <> pg_backend_pid()"),
                         {"schema": schema})
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if recreate:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))


# --- which pass this is ----------------------------------------------------------------

_current: list[SqliteLedgers | PostgresLedgers] = [SqliteLedgers()]


def current() -> SqliteLedgers | PostgresLedgers:
    """The maker of new ledgers for this run."""
    return _current[0]


def use_postgres(url: str) -> PostgresLedgers:
    """From now on, make every new ledger a schema on the server at ``url``."""
    made = PostgresLedgers(url)
    _current[0] = made
    return made


def new(folder: Path, *, migrated: bool = True, name: str = LEDGER_NAME) -> str:
    """A new ledger's location (for SQLite, the file ``folder/name``)."""
    return current().new(folder, migrated=migrated, name=name)


# --- what can be done with a ledger, wherever it is ---------------------------------------


def copy(location: str, source: Path, target: Path, sites: tuple[str, str]) -> str:
    """A copy of the ledger for a copy of the project ``source`` at ``target``.

    An SQLite file inside ``source`` is expected to have been copied with the folder.
    A PostgreSQL ledger is copied row for row into a new schema, its files moved from the
    site ``sites[0]`` to ``sites[1]`` (a shared ledger records files per data folder).
    """
    if not is_postgres(location):
        path = Path(location)
        if path.is_relative_to(source):
            return str(target / path.relative_to(source))
        return shutil.copy2(path, target / path.name)
    maker = current()
    if not isinstance(maker, PostgresLedgers):
        raise TypeError(f"a PostgreSQL ledger is copied on the PostgreSQL pass only: {location}")
    copied = maker.new(target)
    _copy_rows(location, copied, sites)
    return copied


def _copy_rows(source: str, target: str, sites: tuple[str, str]) -> None:
    old, new = _schema(source), _schema(target)
    engine = _admin(source)
    try:
        tables = MetaData()
        tables.reflect(engine, schema=old)
        with engine.begin() as conn:
            for table in reversed(tables.sorted_tables):  # the migrated schema's own rows
                conn.execute(text(f'DELETE FROM "{new}"."{table.name}"'))  # noqa: S608
            for table in tables.sorted_tables:
                conn.execute(text(f'INSERT INTO "{new}"."{table.name}" '  # noqa: S608
                                  f'SELECT * FROM "{old}"."{table.name}"'))
                for column in table.columns:
                    _follow_sequence(conn, f'"{new}"."{table.name}"', column.name)
            moves = {"files": ("location", *sites),
                     "leases": ("scope", *(f"files:{site}" for site in sites))}
            for table_name, (column, before, after) in moves.items():
                conn.execute(text(f'UPDATE "{new}".{table_name} SET {column} = :after '  # noqa: S608
                                  f"WHERE {column} = :before"), {"before": before, "after": after})
    finally:
        engine.dispose()


def _follow_sequence(conn: Connection, table: str, column: str) -> None:
    """Move a serial column's sequence past the rows copied in."""
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:table, :column)"),
                            {"table": table, "column": column}).scalar()
    if sequence:
        conn.execute(text(f'SELECT setval(:sequence, coalesce(max("{column}"), 0) + 1, false) '  # noqa: S608
                          f"FROM {table}"), {"sequence": sequence})


def forget(location: str) -> None:
    """Lose the ledger, as on a new machine: the file deleted, or the schema emptied."""
    if not is_postgres(location):
        Path(location).unlink()
        return
    engine = _admin(location)
    try:
        drop(engine, [_schema(location)], recreate=True)
    finally:
        engine.dispose()


def files(location: str) -> list[Path]:
    """The files that hold the ledger: the SQLite file and its companions (-wal, -shm...)."""
    if is_postgres(location):
        return []
    path = Path(location)
    return sorted(path.parent.glob(path.name + "*"))


def contents(location: str) -> dict[str, bytes]:
    """Everything the ledger holds, by where it is: each file's bytes, or each table's rows."""
    if not is_postgres(location):
        return {str(path): path.read_bytes() for path in files(location) if path.is_file()}
    schema, engine = _schema(location), _admin(location)
    try:
        tables = MetaData()
        tables.reflect(engine, schema=schema)
        with engine.connect() as conn:
            return {f"table {schema}.{name}": "\n".join(
                str(row) for row in conn.execute(
                    text(f'SELECT t::text FROM "{schema}"."{name}" AS t')  # noqa: S608
                ).scalars()).encode()
                for name in sorted(t.name for t in tables.sorted_tables)}
    finally:
        engine.dispose()

