"""Opening a ledger: the URL, the engine, and its schema brought up to date.

``FETCHER_DB`` is a path (SQLite, in WAL mode) or any SQLAlchemy URL. Opening
upgrades an older schema with the Alembic migrations, and refuses a ledger
written by a newer fetcher instead of guessing at tables it does not know.
The fast path compares the stored revision with the head without importing
Alembic, so opening a current ledger costs a single query.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError

from fetcher.errors import LedgerError

HEAD = "0003"  # the newest migration's revision; a test checks it matches migrations/


def database_url(value: str) -> str:
    """An SQLAlchemy URL from ``FETCHER_DB``: a URL as it is, a path as SQLite."""
    if "://" in value:
        try:
            make_url(value)
        except ArgumentError as exc:
            raise LedgerError(f"FETCHER_DB is not a usable database URL: {value!r}",
                              hint="give a path, or a URL such as postgresql://host/db") from exc
        return value
    return f"sqlite:///{Path(value).expanduser()}"


def _psycopg(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable url>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        url = _psycopg(url)
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise LedgerError(f"cannot use the ledger at {redact(url)}: {exc}",
                          hint="for PostgreSQL: pip install 'fetcher[postgres]'") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across a crash of the process in WAL mode: enough for
    # "the intent is on disk before the request goes out".
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def current_revision(engine: Engine) -> str | None:
    """The ledger's schema revision, or None for an empty database."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            # Another process opening the same new ledger created it meanwhile.
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def revision_or_none(engine: Engine, url: str) -> str | None:
    """``current_revision``, with a failure to connect as a LedgerError."""
    try:
        return current_revision(engine)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or type(exc).__name__
        raise LedgerError(f"cannot open the ledger at {redact(url)}: {reason}",
                          hint="check FETCHER_DB and that the database is reachable") from exc


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed package, or at the top of a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if (packaged / "env.py").exists():
        return packaged
    checkout = Path(__file__).resolve().parent.parent.parent / "migrations"
    if (checkout / "env.py").exists():
        return checkout
    raise LedgerError("fetcher's migrations are missing from this installation",
                      hint="reinstall fetcher")


@cache
def known_revisions() -> frozenset[str]:
    """Every revision the migrations in this fetcher know."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations_dir()))
    return frozenset(rev.revision for rev in script.walk_revisions())


def upgrade(engine: Engine, url: str) -> str | None:
    """Bring the schema to the head; return the revision it had before.

    Raises:
        LedgerError: when the ledger is newer than this fetcher, or unreadable.
    """
    try:
        before = current_revision(engine)
        if before == HEAD:
            return before
        if before is not None and before not in known_revisions():
            raise LedgerError(
                f"the ledger at {redact(url)} has schema revision {before}, newer than this "
                f"fetcher knows (head {HEAD})",
                hint="upgrade fetcher (pip install -U fetcher) or point FETCHER_DB elsewhere",
            )
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(migrations_dir()))
        with _migration_lock(engine, url), engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Workers opening a new shared ledger at once migrate it one at a time.
                conn.execute(text("SELECT pg_advisory_xact_lock(7340181)"))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return before
    except OperationalError as exc:
        raise LedgerError(f"cannot open the ledger at {redact(url)}: {exc.orig}",
                          hint="check FETCHER_DB and the file's permissions") from exc
    except SQLAlchemyError as exc:
        raise LedgerError(f"cannot migrate the ledger at {redact(url)}: {type(exc).__name__}",
                          hint="run `fetcher db upgrade` and read its message") from exc


@contextlib.contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    """On SQLite, a lock file beside the database so that concurrent first opens queue."""
    database = make_url(url).database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_db() -> str:
    """``FETCHER_DB``, or ``.fetcher/ledger.db``."""
    return os.environ.get("FETCHER_DB") or ".fetcher/ledger.db"
