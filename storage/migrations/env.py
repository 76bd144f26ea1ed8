"""Alembic environment: the target is ``SQLModel.metadata`` (``storage.models``).

``storage.db.init_db`` hands its own connection in ``config.attributes["connection"]``; the ``alembic``
command line instead reads ``sqlalchemy.url`` or ``$GKWATCH_DATABASE_URL``. ``render_as_batch`` lets
later revisions alter columns on SQLite (which has almost no ALTER TABLE). On PostgreSQL a transaction-level
advisory lock serializes concurrent upgrades (a crawl and the service starting together).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)

MIGRATION_LOCK = 74_210_031  # pg_advisory_xact_lock key: any constant unique to gkwatch

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("GKWATCH_DATABASE_URL")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or $GKWATCH_DATABASE_URL")
    return url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from storage.db import make_engine

    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
