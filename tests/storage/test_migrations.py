"""``init_db`` = Alembic ``upgrade head``: fresh databases, old ``create_all`` databases, and schema drift."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, inspect, text
from sqlmodel import SQLModel

import storage.models
from storage.db import alembic_config, init_db, make_engine, session_scope
from storage.models import Agency, Portal


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine) -> str | None:
    with engine.connect() as c:
        return MigrationContext.configure(c).get_current_revision()


def test_fresh_database_is_migrated_to_head(engine):
    """The ``engine`` fixture's database was made by init_db (SQLite template / PostgreSQL schema)."""
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables
    assert current(engine) == head()


def model_tables() -> MetaData:
    """The tables of ``storage/models.py`` — the schema the migrations own. (A table some other module
    declares is still created by init_db's ``create_all``, but has no migration until it moves there.)"""
    names = {
        m.__tablename__
        for m in vars(storage.models).values()
        if isinstance(m, type) and issubclass(m, SQLModel) and hasattr(m, "__table__")
    }
    md = MetaData()
    for t in SQLModel.metadata.sorted_tables:
        if t.name in names:
            t.to_metadata(md)
    return md


def schema_diff(engine, md: MetaData) -> list:
    def ours(name, type_, parent_names) -> bool:  # noqa: ANN001
        return type_ != "table" or name in md.tables

    with engine.connect() as c:
        ctx = MigrationContext.configure(c, opts={"compare_type": True, "include_name": ours})
        return compare_metadata(ctx, md)


def test_migrations_match_the_models(engine):
    """A model changed without a new revision shows up here (run `alembic revision --autogenerate`)."""
    md = model_tables()
    assert schema_diff(engine, md) == []
    md.tables["portal"].append_column(Column("added_without_migration", Integer))
    assert [d[0] for d in schema_diff(engine, md)] == ["add_column"]  # the check can fail
    assert {"report", "reportversion", "agencyyearstatus", "findingreview"} <= set(md.tables)


def test_init_db_is_idempotent_and_keeps_rows(engine):
    with session_scope(engine) as s:
        s.add(Portal(id="p1", name="淄川区人民政府"))
    init_db(engine)
    init_db(engine)
    with session_scope(engine) as s:
        assert s.get(Portal, "p1").name == "淄川区人民政府"
    assert current(engine) == head()


def test_database_made_by_create_all_is_adopted_without_loss(tmp_path):
    """Databases created before migrations existed: stamped, upgraded, every row kept."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name != "findingreview"]
    SQLModel.metadata.create_all(engine, tables=tables)  # an older schema missing one table
    with session_scope(engine) as s:
        s.add(Agency(id="a1", name="淄川区招商局"))
    assert current(engine) is None
    init_db(engine)
    assert current(engine) == head()
    assert "findingreview" in inspect(engine).get_table_names()
    with session_scope(engine) as s:
        assert s.get(Agency, "a1").name == "淄川区招商局"
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    init_db(engine)
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
