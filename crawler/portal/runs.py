"""A crawl run's life in the database: opened (registry synced, dead runs buried, portals locked, heartbeat
started), closed (status, stats, unfinished reads ended, locks released).

Shared by ``gkwatch crawl`` (``crawler.portal.run``) and ``scrapy crawl portal`` (the store pipeline owns
the run there). What a dead run looks like to everyone else is ``storage.crawl_state``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from domain.config import Config
from storage.crawl_state import (
    Heartbeat,
    acquire_portal_locks,
    finish_open_reads,
    mark_dead_runs,
    release_portal_locks,
    this_host,
)
from storage.db import session_scope
from storage.models import CrawlRun, PortalRead
from storage.registry import sync_registry
from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class RunHandle:
    engine: Engine
    run_id: int
    started_at: datetime
    busy: dict[str, int] = field(default_factory=dict)  # portals held by another live run → its run id
    heartbeat: Heartbeat | None = None


def open_run(engine: Engine, config: Config, portal_ids: Sequence[str]) -> RunHandle:
    """Sync the registry, mark dead runs, open a CrawlRun, lock its portals, start its heartbeat.

    A portal another live run is crawling is not crawled twice at once: its read in this run is recorded
    at once as ended, incomplete, ``busy`` — the other run's read is the one that counts.
    """
    with session_scope(engine) as s:
        sync_registry(s, config)  # writes first: on SQLite the transaction takes the write lock here
        mark_dead_runs(s)
        now = utcnow()
        host, pid = this_host(), os.getpid()
        run = CrawlRun(
            portal_ids=list(portal_ids),
            host=host,
            pid=pid,
            heartbeat_at=now,
            stats={"pid": pid, "host": host},
        )
        s.add(run)
        s.flush()
        busy = acquire_portal_locks(s, run.id, portal_ids, now)
        for portal_id in busy:
            s.add(
                PortalRead(
                    run_id=run.id, portal_id=portal_id, started_at=now, finished_at=now, end_reason="busy"
                )
            )
        run_id, started_at = run.id, run.started_at
    for portal_id, holder in sorted(busy.items()):
        log.warning("portal %s is being crawled by run %s: skipped by this run", portal_id, holder)
    return RunHandle(engine, run_id, started_at, busy, Heartbeat(engine, run_id).start())


def close_run(handle: RunHandle, status: str, stats: dict) -> None:
    """Stop the heartbeat; record the run's end; reads still open end ``interrupted``; free its locks."""
    if handle.heartbeat is not None:
        handle.heartbeat.stop()
    with session_scope(handle.engine) as s:
        row = s.get(CrawlRun, handle.run_id)
        if row is not None:
            row.status = status
            row.finished_at = utcnow()
            row.stats = stats
        finish_open_reads(s, handle.run_id, "interrupted")
        release_portal_locks(s, handle.run_id)
