"""Database fixtures shared by tests/monitor and tests/storage: SQLite per test, PostgreSQL per session.

* ``engine`` — a migrated, empty database; parametrized ``sqlite`` / ``postgres``. SQLite tests get a copy of
  a database migrated once per session (fast); PostgreSQL tests share one schema per pytest process,
  emptied (TRUNCATE) before each test.
* ``db_url`` — the URL of that database (for CLI subprocess tests).

PostgreSQL: ``GKWATCH_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); skipped with
the reason when it does not answer.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from storage.db import init_db, make_engine

PG_URL = os.environ.get("GKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable(url: str) -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover
        return f"psycopg not installed: {e}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=3) as c:
            c.execute("select 1")
    except Exception as e:  # noqa: BLE001 - any failure means "skip with the reason"
        return f"PostgreSQL at {url} does not answer: {e}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A database migrated once; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine_factory() -> Iterator[tuple[str, Engine]]:
    """A fresh schema for this pytest process, migrated; dropped at the end."""
    why = _pg_reachable(PG_URL)
    if why:
        pytest.skip(why)
    schema = f"gkw_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    init_db(engine)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_all(engine: Engine) -> None:
    from sqlmodel import SQLModel

    # DELETE, not TRUNCATE: on a handful of rows it is ten times faster (no exclusive table locks).
    # Only tables that exist: a module imported later in the session may declare more (init_db adds them).
    init_db(engine)
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as c:
        for t in reversed(SQLModel.metadata.sorted_tables):
            if t.name in existing:
                c.execute(t.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_engine(request, tmp_path) -> Iterator[tuple[str, Engine]]:
    if request.param == "sqlite":
        path = tmp_path / "gkwatch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield url, engine
        engine.dispose()
    else:
        url, engine = request.getfixturevalue("pg_engine_factory")
        _truncate_all(engine)
        yield url, engine


@pytest.fixture
def engine(backend_engine) -> Engine:
    return backend_engine[1]


@pytest.fixture
def db_url(backend_engine) -> str:
    return backend_engine[0]
