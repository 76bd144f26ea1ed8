"""Engine and sessions: SQLite by default (WAL, foreign keys, a busy timeout), PostgreSQL by URL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL_REVISION = "0001"  # the schema ``create_all`` made before migrations existed
MIGRATION_LOCK = 74_210_031  # pg_advisory_xact_lock key (also taken by migrations/env.py)
LOCK_TIMEOUT_SECONDS = 600  # a migration of a big database may take minutes; longer means a stuck holder


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value (orjson: a check decodes half a million of them); the standard library for
    what orjson refuses (``NaN``, integers beyond 64 bits) so that no stored value becomes unreadable."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_dumps(value: Any) -> str:
    """A JSON column's text (UTF-8 as it is, not ``\\u`` escapes); the standard library for what orjson
    refuses (integers beyond 64 bits, keys that are not text)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


JSON_CODEC = {"json_serializer": json_dumps, "json_deserializer": json_loads}


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, create the file's folder and turn on WAL.

    WAL lets the web page read while a crawl writes, and a crash mid-write leaves the last committed
    state intact (the "half-written database" case).
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **JSON_CODEC)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **JSON_CODEC)


def alembic_config():  # noqa: ANN201  (alembic is imported lazily: `gkwatch parse` never needs it)
    """The Alembic configuration of ``storage/migrations`` (no ini file needed at run time)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def init_db(engine: Engine) -> None:
    """Bring the database to the current schema: Alembic ``upgrade head``, in one transaction.

    * a fresh database gets every table from the migrations;
    * a database made by ``create_all`` before migrations existed (tables, no ``alembic_version``) has its
      missing tables created and is stamped at the initial revision, then upgraded — nothing is dropped;
    * afterwards ``create_all`` adds any table a model declares but no migration creates yet (idempotent),
      so a model added during development still works; ``tests/storage`` flags the missing migration.

    Safe to call on every start, and from several processes at once (two crawls started together on a
    fresh database): the whole of it runs under a lock — a file lock beside a SQLite database, a
    transaction-level advisory lock on PostgreSQL — so that the second caller finds the first one's schema
    instead of creating the same tables again.
    """
    from alembic import command

    cfg = alembic_config()
    with _schema_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        existing = set(inspect(conn).get_table_names())
        ours = {t.name for t in SQLModel.metadata.sorted_tables}
        if existing & ours and "alembic_version" not in existing:
            SQLModel.metadata.create_all(conn)
            command.stamp(cfg, INITIAL_REVISION)
        command.upgrade(cfg, "head")
        SQLModel.metadata.create_all(conn)


def _schema_lock(engine: Engine):  # noqa: ANN202
    """A file lock beside a SQLite database file (``gkwatch.db.lock``); nothing for other databases (they
    lock inside the transaction) or an in-memory SQLite (one process)."""
    u = engine.url
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return nullcontext()
    from filelock import FileLock

    return FileLock(f"{u.database}.lock", timeout=LOCK_TIMEOUT_SECONDS)


def insert_ignoring(bind, table: Table, keys: Sequence[str]):  # noqa: ANN001, ANN201
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` for the bind's database (SQLite, PostgreSQL): a row that
    a concurrent writer inserted first is left as it is, instead of failing the transaction."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys))


def upserting(bind, table: Table, keys: Sequence[str], columns: Sequence[str]):  # noqa: ANN001, ANN201
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET columns = excluded.columns`` for SQLite and PostgreSQL."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in columns}
    )


@contextmanager
def session_scope(source: Engine | Callable[[], Session]) -> Iterator[Session]:
    """A session (from an engine, or a session factory) that commits on success and rolls back on error."""
    s = Session(source, expire_on_commit=False) if isinstance(source, Engine) else source()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()
