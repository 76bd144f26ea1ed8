"""Fixtures for the storage tests: every database test runs on SQLite and on PostgreSQL (tests/storage/backends.py)."""

from __future__ import annotations

from tests.storage.backends import (  # noqa: F401  (fixtures)
    backend_engine,
    db_url,
    engine,
    pg_engine_factory,
    sqlite_template,
)
