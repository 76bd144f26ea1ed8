"""The jobs a ``gkwatch worker`` runs (see the package docstring for the design), and how they are deferred.

Tasks are registered on each app with the configuration of the process that builds it: a worker's tasks use
its own ``config.yaml`` (its paths, its archive), so nothing machine-local travels in a job's arguments — only
portal ids, sha256s and times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import select

from domain.clock import as_utc
from domain.config import Config, ConfigError, PortalConfig
from monitor.queue import CRAWL_TASK, QUEUE_CRAWL, QUEUE_READ, READ_TASK, SETTLE_TASK
from monitor.queue import tables as queue_db
from monitor.queue.tables import conninfo
from monitor.scheduler import run_child
from storage.db import make_engine, session_scope
from storage.models import AgencyYearStatus, PortalRead, ReadingPass
from storage.types import utcnow

if TYPE_CHECKING:
    from crawler.reading.stage import ReadStats

log = logging.getLogger(__name__)

SETTLE_AFTER_CRAWL_SECONDS = 2.0  # a settle deferred by a crawl job waits this long (crawls ending together)
KEEP_FINISHED_JOBS_HOURS = 24 * 14  # finished jobs (and their events) are deleted after two weeks
NOT_DONE = ("busy", "interrupted")  # end reasons of a read that did not happen, or did not end


class PortalBusy(Exception):
    """Another crawl run (elsewhere, or one whose heartbeat has not yet gone stale) holds the portal."""


class CrawlUnfinished(Exception):
    """The crawl child ended without a finished read of the portal (killed, timed out, crashed)."""


class NotRetried(Exception):
    """A job that cannot succeed by trying again (a portal this worker's config does not know)."""


class Backoff(procrastinate.BaseRetryStrategy):
    """Retry up to ``attempts`` times after 10 s + ``base`` ** attempt; never a ``NotRetried``."""

    def __init__(self, attempts: int, base: float) -> None:
        self.attempts, self.base = attempts, base

    def get_retry_decision(self, *, exception: BaseException, job) -> procrastinate.RetryDecision | None:  # noqa: ANN001
        if isinstance(exception, NotRetried) or job.attempts >= self.attempts:
            return None
        return procrastinate.RetryDecision(retry_in={"seconds": 10 + self.base ** (job.attempts + 1)})


def build_app(config: Config, *, pool_size: int = 4) -> procrastinate.App:
    """An app on the configured database with gkwatch's tasks (``monitor.queue.tasks``) registered."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(config.database_url), min_size=1, max_size=max(2, pool_size)
    )
    app = procrastinate.App(connector=connector)
    register(app, config)
    return app


# --- deferring ----------------------------------------------------------------------------------------


def site_of(portal: PortalConfig) -> str:
    """The site a portal's crawl is polite to: the host of its first start URL (one crawl per site)."""
    return (urlsplit(portal.start_urls[0]).hostname or portal.id).lower()


async def defer_crawls(app: procrastinate.App, config: Config, portal_ids: Sequence[str]) -> list[str]:
    """One crawl job per portal (a portal whose job already waits is skipped); returns the portals deferred."""
    requested_at = utcnow().isoformat()
    deferred = []
    for pid in portal_ids:
        portal = config.portal(pid)
        try:
            await app.configure_task(
                CRAWL_TASK, queueing_lock=f"crawl:{pid}", lock=f"site:{site_of(portal)}"
            ).defer_async(portal_id=pid, requested_at=requested_at)
            deferred.append(pid)
        except AlreadyEnqueued:
            log.info("portal %s: a crawl job is already waiting", pid)
    return deferred


async def defer_reads(
    app: procrastinate.App, shas: Sequence[str], batch: int, pass_id: int | None = None
) -> int:
    """Reading jobs of ``batch`` documents each; returns how many jobs."""
    kwargs = [{"shas": list(shas[i : i + batch]), "pass_id": pass_id} for i in range(0, len(shas), batch)]
    if kwargs:
        await app.configure_task(READ_TASK).batch_defer_async(*kwargs)
    return len(kwargs)


async def defer_settle(app: procrastinate.App, in_seconds: float = 0.0) -> bool:
    """A settle job (unless one already waits); True when this call queued it."""
    try:
        await app.configure_task(SETTLE_TASK, schedule_in={"seconds": in_seconds}).defer_async()
    except AlreadyEnqueued:
        return False
    return True


# --- child processes -------------------------------------------------------------------------------


# --- what the jobs ask the database -----------------------------------------------------------------


def read_since(engine: Engine, portal_id: str, since: datetime) -> PortalRead | None:
    """The latest read of a portal that started at or after ``since`` (any outcome)."""
    with session_scope(engine) as s:
        row = s.exec(
            select(PortalRead)
            .where(PortalRead.portal_id == portal_id, PortalRead.started_at >= since)
            .order_by(PortalRead.started_at.desc(), PortalRead.id.desc())  # type: ignore[union-attr]
        ).first()
        if row is not None:
            s.expunge(row)
        return row


def done_read(read: PortalRead | None) -> bool:
    """A read that happened and ended (complete or not: blocked, unreachable … are outcomes too)."""
    return read is not None and read.finished_at is not None and read.end_reason not in NOT_DONE


def last_check(engine: Engine) -> datetime | None:
    with session_scope(engine) as s:
        return as_utc(s.exec(select(func.max(AgencyYearStatus.computed_at))).one())


def unread_of_portal(engine: Engine, portal_id: str) -> list[str]:
    from crawler.reading.stage import unread_jobs

    with engine.connect() as conn:
        return [job.sha256 for job in unread_jobs(conn, [portal_id])]


def count_in_pass(engine: Engine, pass_id: int, stats: ReadStats) -> None:
    """A batch's share of its pass's counters (run by the reading job)."""
    with engine.begin() as conn:
        conn.execute(
            update(ReadingPass.__table__)
            .where(ReadingPass.__table__.c.id == pass_id)
            .values(
                documents=ReadingPass.__table__.c.documents + stats.documents,
                changed=ReadingPass.__table__.c.changed + stats.changed + stats.new,
            )
        )


# --- the tasks ---------------------------------------------------------------------------------------


def register(app: procrastinate.App, config: Config) -> None:
    """gkwatch's tasks on ``app``, bound to ``config`` (the config of the process that runs them)."""
    q = config.queue
    state: dict[str, Any] = {}

    def engine() -> Engine:
        if "engine" not in state:
            state["engine"] = make_engine(config.database_url)
        return state["engine"]

    def archive():  # noqa: ANN202
        if "archive" not in state:
            from storage.archive import open_archive

            state["archive"] = open_archive(config)
        return state["archive"]

    config_path = str(Path(config.path).resolve())

    @app.task(name=CRAWL_TASK, queue=QUEUE_CRAWL, retry=Backoff(q.retry_attempts, q.retry_backoff_seconds))
    async def crawl_portal(portal_id: str, requested_at: str) -> dict[str, Any]:
        """Crawl one portal (unless it was read since the job was requested), then queue its reading."""
        try:
            config.portal(portal_id)
        except ConfigError as e:
            raise NotRetried(f"{e} in this worker's {config_path}") from None
        since = datetime.fromisoformat(requested_at)
        read = await asyncio.to_thread(read_since, engine(), portal_id, since)
        crawled = False
        if not done_read(read):
            started = utcnow() - timedelta(seconds=1)
            rc = await run_child(
                "monitor.queue.child",
                ["--config", config_path, "--portal", portal_id],
                config.schedule.crawl_timeout_minutes * 60,
            )
            read = await asyncio.to_thread(read_since, engine(), portal_id, started)
            if read is not None and read.end_reason == "busy":
                raise PortalBusy(f"portal {portal_id} is being crawled by another run")
            if not done_read(read):
                raise CrawlUnfinished(f"portal {portal_id}: the crawl ended with {rc} and no finished read")
            crawled = True
        shas = await asyncio.to_thread(unread_of_portal, engine(), portal_id)
        queued = await asyncio.to_thread(queue_db.reading_in_queue, engine())
        shas = [s for s in shas if s not in queued]
        jobs = await defer_reads(app, shas, q.read_batch_documents)
        await defer_settle(app, SETTLE_AFTER_CRAWL_SECONDS)
        return {"portal": portal_id, "crawled": crawled, "complete": read.complete, "documents": len(shas),
                "reading_jobs": jobs}  # fmt: skip

    @app.task(
        name=READ_TASK, queue=QUEUE_READ, retry=Backoff(min(q.retry_attempts, 3), q.retry_backoff_seconds)
    )
    def read_documents(shas: list[str], pass_id: int | None = None) -> dict[str, Any]:
        """Read a batch of archived documents and store their readings (runs in a thread of the worker)."""
        from crawler.reading.stage import read_batch

        stats = read_batch(engine(), archive(), config, shas)
        if pass_id is not None:
            count_in_pass(engine(), pass_id, stats)
        return {"documents": stats.documents, "new": stats.new, "changed": stats.changed,
                "unreadable": stats.unreadable}  # fmt: skip

    @app.task(name=SETTLE_TASK, queue=QUEUE_CRAWL, queueing_lock="settle", lock="settle")
    async def settle() -> dict[str, Any]:
        """When no crawl work is left: read what is unread, check once, queue and deliver the mail."""
        left = await asyncio.to_thread(queue_db.pending, engine())
        if left.crawl_work:
            await defer_settle(app, q.settle_poll_seconds)
            return {"waiting_for": left.crawl_work}
        since = await asyncio.to_thread(last_check, engine())
        from crawler.reading.stage import read_pending

        stats = await asyncio.to_thread(partial(read_pending, engine(), archive(), config, seen_since=since))
        rc = await run_child(
            "monitor", ["check", "--config", config_path], config.schedule.check_timeout_minutes * 60
        )
        failed = await asyncio.to_thread(queue_db.failed_crawls_since, engine(), since)
        from monitor.scheduler import queue_and_deliver

        mail = await asyncio.to_thread(
            partial(queue_and_deliver, config_path, digests=rc == 0 and not failed)
        )
        if failed:
            log.warning("%d crawl job(s) failed since the last check: no digest from this check", failed)
        await app.job_manager.delete_old_jobs(nb_hours=KEEP_FINISHED_JOBS_HOURS, include_failed=True)
        return {"read": stats.documents, "check": rc, "failed_crawls": failed, **mail}
