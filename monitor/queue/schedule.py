"""The schedule of ``gkwatch serve`` when workers crawl (``queue_in_use``): defer jobs, crawl nothing here.

``dispatch`` is the hourly APScheduler job in this mode (installed in place of ``monitor.scheduler.dispatch``
by the service): a portal is due when ``monitor.scheduler.crawl_due`` says so of its own last read (a portal
read yesterday by one worker and another not read for a week are each judged by their own history), and no
crawl job of it waits or runs. Each due portal gets one crawl job; when none is due but the statuses are a day
old, a settle job checks (and mails). Functions are module-level and take the config path, as the job store
needs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from domain.clock import as_utc
from domain.config import Config, load_config
from monitor.queue.tables import Pending, ensure_schema, pending
from monitor.queue.tasks import build_app, defer_crawls, defer_settle, last_check
from monitor.scheduler import check_due, crawl_due
from storage.db import init_db, make_engine, session_scope
from storage.models import PortalRead
from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueFacts:
    last_read: dict[str, datetime]  # portal → when its latest read began (reads skipped as busy aside)
    last_checked: datetime | None
    pending: Pending


def queue_facts(config: Config) -> QueueFacts:
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        ensure_schema(engine)
        with session_scope(engine) as s:
            rows = s.exec(
                select(PortalRead.portal_id, func.max(PortalRead.started_at))
                .where(PortalRead.end_reason.is_(None) | (PortalRead.end_reason != "busy"))  # type: ignore[union-attr]
                .group_by(PortalRead.portal_id)
            ).all()
        return QueueFacts({p: as_utc(at) for p, at in rows}, last_check(engine), pending(engine))
    finally:
        engine.dispose()


def due_portals(config: Config, facts: QueueFacts, now: datetime) -> list[str]:
    """Portals whose crawl is due and that have no crawl job waiting or running."""
    s = config.schedule
    return [
        p.id
        for p in config.portals
        if p.id not in facts.pending.crawl_portals and crawl_due(now, facts.last_read.get(p.id), s)
    ]


async def dispatch(config_path: str) -> dict[str, Any] | None:
    """The hourly job in queue mode: crawl jobs for the due portals, or a settle job for the daily check."""
    config = load_config(config_path)
    now = utcnow()
    facts = await asyncio.to_thread(queue_facts, config)
    due = due_portals(config, facts, now)
    if not due and not check_due(now, facts.last_checked):
        return None
    app = build_app(config, pool_size=2)
    async with app.open_async():
        if due:
            deferred = await defer_crawls(app, config, due)
            log.info("crawl jobs deferred for %d portal(s): %s", len(deferred), ", ".join(deferred))
            return {"crawl_jobs": deferred}
        if not facts.pending.crawl_work and not facts.pending.settle_waiting:
            await defer_settle(app)
            log.info("statuses are a day old: a check job deferred")
            return {"check_job": True}
    return None


async def crawl_now(config_path: str, only: list[str] | None = None) -> list[str]:
    """The web page's "crawl now": a crawl job for every portal (or each of ``only``) that has none waiting
    or running."""
    config = load_config(config_path)
    facts = await asyncio.to_thread(queue_facts, config)
    portals = [
        p.id
        for p in config.portals
        if (only is None or p.id in only) and p.id not in facts.pending.crawl_portals
    ]
    if not portals:
        return []
    app = build_app(config, pool_size=2)
    async with app.open_async():
        return await defer_crawls(app, config, portals)
