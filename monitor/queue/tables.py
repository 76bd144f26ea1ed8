"""The job queue's tables in gkwatch's database: creating them, and what the queue holds right now.

The queue's tables live beside gkwatch's own, in the schema the database URL selects (a ``search_path`` in
its ``options`` is honoured: tests give each run its own schema). They are created on first use, under a
transaction-level advisory lock so that workers starting together do not create them twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from procrastinate.schema import SchemaManager
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from monitor.queue import CRAWL_TASK, READ_TASK, SETTLE_TASK

# PostgreSQL advisory lock keys are bigints; ours are derived from a name (and the schema, where needed)
SCHEMA_LOCK_NAME = "gkwatch: create the job queue's tables"


def conninfo(database_url: str) -> str:
    """A libpq connection URI from a SQLAlchemy URL (``postgresql+psycopg://…`` → ``postgresql://…``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def ensure_schema(engine: Engine) -> bool:
    """Create the queue's tables if they are not there yet; True when this call created them.

    (A later procrastinate release may bring migrations: ``procrastinate schema --migrate`` lists them.)
    """
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(SCHEMA_LOCK_NAME)})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # psycopg itself (no parameters: the SQL's own % signs stay as they are), in this transaction
        conn.connection.driver_connection.execute(SchemaManager.get_schema())
    return True


# --- what the queue holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """Jobs waiting (``todo``) or running (``doing``)."""

    crawl_portals: frozenset[str]  # portals with a crawl job waiting or running
    crawl_jobs: int
    read_jobs: int  # reading jobs of crawls (not of a reparse)
    settle_waiting: bool

    @property
    def crawl_work(self) -> int:
        return self.crawl_jobs + self.read_jobs


def pending(engine: Engine) -> Pending:
    """What is still to do: a settle job waits for ``crawl_work`` to reach 0."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT task_name, status::text, args->>'portal_id', args->>'pass_id' FROM procrastinate_jobs "
                "WHERE status IN ('todo', 'doing') AND task_name IN (:c, :r, :s)"
            ),
            {"c": CRAWL_TASK, "r": READ_TASK, "s": SETTLE_TASK},
        ).all()
    crawl = [portal for task, _, portal, _ in rows if task == CRAWL_TASK]
    reads = sum(1 for task, _, _, pass_id in rows if task == READ_TASK and pass_id is None)
    settle = any(task == SETTLE_TASK and status == "todo" for task, status, _, _ in rows)
    return Pending(frozenset(crawl), len(crawl), reads, settle)


def reading_in_queue(engine: Engine, pass_id: int | None = None) -> set[str]:
    """The documents of reading jobs waiting or running (of one reparse pass, or of crawls)."""
    cond = "args->>'pass_id' IS NULL" if pass_id is None else "args->>'pass_id' = :p"
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT args->'shas' FROM procrastinate_jobs WHERE task_name = :r "
                f"AND status IN ('todo', 'doing') AND {cond}"
            ),
            {"r": READ_TASK, "p": str(pass_id)},
        ).all()
    return {sha for (shas,) in rows for sha in (shas or [])}


def pass_jobs_left(engine: Engine, pass_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :r "
                "AND status IN ('todo', 'doing') AND args->>'pass_id' = :p"
            ),
            {"r": READ_TASK, "p": str(pass_id)},
        ).scalar_one()


def failed_crawls_since(engine: Engine, since) -> int:  # noqa: ANN001 - datetime | None
    """Crawl jobs that failed for good (retries exhausted, or not retried) since ``since``."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(DISTINCT e.job_id) FROM procrastinate_events e "
                "JOIN procrastinate_jobs j ON j.id = e.job_id "
                "WHERE j.task_name = :c AND e.type = 'failed' AND j.status = 'failed' "
                "AND (CAST(:since AS timestamptz) IS NULL OR e.at >= CAST(:since AS timestamptz))"
            ),
            {"c": CRAWL_TASK, "since": since},
        ).scalar_one()


def live_workers(engine: Engine, seconds: float) -> int:
    """Workers whose heartbeat is younger than ``seconds``."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :s)"
            ),
            {"s": float(seconds)},
        ).scalar_one()
