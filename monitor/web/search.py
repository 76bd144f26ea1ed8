"""Name search over agencies' names *and aliases*, indexed: SQLite FTS5 (trigram tokenizer), PostgreSQL
``pg_trgm`` — never a LIKE scan of the status table.

SQLite: a contentless-delete-free FTS5 table ``web_agency_search`` holds one row per agency (its rowid is
the agency's), the name and the aliases side by side; triggers on ``agency`` keep it current whoever writes
the registry (``gkwatch check`` in another process included), and the web app fills it once if it is empty.
A query of three characters or more is a trigram phrase (substring) match; a shorter one is a LIKE over the
index's own text — the agencies, a fifth of the status rows, and no JSON to decode.

PostgreSQL: a GIN trigram index on ``name || ' ' || aliases::jsonb::text`` (jsonb prints the aliases as they
are, not ``\\u`` escaped) serves ``ILIKE '%…%'`` (where the extension can be created; otherwise the same query
runs without it).

``agency_ids(q)`` is a subquery of matching agency ids that the status queries use as ``agency_id IN (…)``.
"""

from __future__ import annotations

import logging

from sqlalchemy import Select, column, literal_column, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from storage.models import Agency

log = logging.getLogger(__name__)

FTS = "web_agency_search"
A = Agency.__table__


def like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# the name and every alias as plain text (aliases are a JSON list, stored with \\u escapes: decoded here)
_BODY = "{t}.name || ' ' || coalesce((SELECT group_concat(value, ' ') FROM json_each({t}.aliases)), '')"
_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(agency_id UNINDEXED, body, tokenize='trigram')",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS}_ai AFTER INSERT ON agency BEGIN
        INSERT INTO {FTS}(rowid, agency_id, body) VALUES (new.rowid, new.id, {_BODY.format(t="new")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS}_ad AFTER DELETE ON agency BEGIN
        DELETE FROM {FTS} WHERE rowid = old.rowid;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS}_au AFTER UPDATE OF id, name, aliases ON agency BEGIN
        DELETE FROM {FTS} WHERE rowid = old.rowid;
        INSERT INTO {FTS}(rowid, agency_id, body) VALUES (new.rowid, new.id, {_BODY.format(t="new")});
    END""",
)


def ensure_search_index(engine: Engine) -> str:
    """Create the index where the database allows; returns the method in use: fts5 | trgm | like."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        try:
            with engine.begin() as conn:
                for ddl in _SQLITE_DDL:
                    conn.exec_driver_sql(ddl)
                indexed = conn.exec_driver_sql(f"SELECT count(*) FROM {FTS}").scalar()
                agencies = conn.exec_driver_sql("SELECT count(*) FROM agency").scalar()
                if indexed != agencies:  # first start, or rows written before the triggers existed
                    conn.exec_driver_sql(f"DELETE FROM {FTS}")
                    conn.exec_driver_sql(
                        f"INSERT INTO {FTS}(rowid, agency_id, body) "
                        f"SELECT rowid, id, {_BODY.format(t='agency')} FROM agency"
                    )
            return "fts5"
        except DBAPIError as e:  # an SQLite without FTS5's trigram tokenizer (before 3.34)
            log.warning("name search without an index: %s", e)
            return "like"
    if dialect == "postgresql":
        return _pg_trigram_index(engine)
    return "like"


def _pg_trigram_index(engine: Engine) -> str:
    """pg_trgm in ``public`` where it can be created there (any schema's tables may use it, and a schema
    dropped later does not take it along), the opclass named with its schema; "pg" (the same query, without
    an index) where the extension is not available or not ours to create."""
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except DBAPIError:
        pass  # no right to create it: perhaps it exists already
    try:
        with engine.begin() as conn:
            schema = conn.execute(
                text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'"
                )
            ).scalar()
            if schema is None:
                log.warning("name search without a trigram index: pg_trgm is not installed")
                return "pg"
            conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_web_agency_trgm ON agency USING gin "
                    f"((name || ' ' || (aliases::jsonb)::text) \"{schema}\".gin_trgm_ops)"
                )
            )
        return "trgm"
    except DBAPIError as e:
        log.warning("name search without a trigram index: %s", e)
        return "pg"


def agency_ids(q: str, method: str) -> Select:
    """The ids of the agencies whose name or an alias contains ``q`` (a subquery)."""
    if method == "fts5":
        fts = table(FTS, column("agency_id"), column("body"))
        if len(q) >= 3:
            phrase = '"' + q.replace('"', '""') + '"'
            return select(fts.c.agency_id).where(literal_column(FTS).op("MATCH")(phrase))
        return select(fts.c.agency_id).where(fts.c.body.like("%" + like_escape(q) + "%", escape="\\"))
    pattern = "%" + like_escape(q) + "%"
    if method in ("trgm", "pg"):  # spelled as the index is, so that the planner matches it
        return select(A.c.id).where(
            text(
                "(agency.name || ' ' || (agency.aliases::jsonb)::text) ILIKE :pattern ESCAPE '\\'"
            ).bindparams(pattern=pattern)
        )
    return select(A.c.id).where(A.c.name.like(pattern, escape="\\"))  # no index here: names only


def indexed(conn: Connection) -> int:
    """How many agencies the SQLite index holds (tests)."""
    return conn.exec_driver_sql(f"SELECT count(*) FROM {FTS}").scalar() or 0
