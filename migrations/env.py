"""Alembic environment for fetcher's ledger.

fetcher runs migrations itself (``fetcher db upgrade``, and on every open), passing
an open connection in ``config.attributes["connection"]``. Running ``alembic`` by
hand also works, with ``-x url=sqlite:///path/to/ledger.db``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from fetcher.ledger.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = create_engine(url or "sqlite:///.fetcher/ledger.db")
    with engine.begin() as conn:
        _migrate(conn)


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
