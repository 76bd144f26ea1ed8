"""How fresh the page is: when the portals were last crawled, when the statuses were last checked, when the
next crawl comes — on every page — and, on ``/runs``, every crawl run per portal.

The next crawl follows ``schedule:`` of config.yaml exactly as the scheduler decides it
(``monitor.scheduler.crawl_due``: every N calendar days in Asia/Shanghai, from the configured hour, sooner
when a crawl is overdue by more than a day); a test holds the two to the same answers. The dispatcher looks
every ``dispatch_every_minutes``, so the crawl starts within that much after the time shown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.engine import Connection

from domain.clock import SHANGHAI, as_utc, shanghai_date
from domain.config import Config, ScheduleSettings
from storage.models import CrawlProblem, CrawlRun, Fetch, ListingSnapshot, PortalRead, Report, ReportVersion
from storage.types import utcnow


def next_crawl(last_started: datetime | None, s: ScheduleSettings, now: datetime) -> datetime:
    """The first instant at or after ``now`` at which the scheduler's rule says a crawl is due."""
    if last_started is None:
        return now
    local = now.astimezone(SHANGHAI)
    last_day = shanghai_date(last_started)
    for k in range(0, 800):
        d = local.date() + timedelta(days=k)
        days = (d - last_day).days
        every = s.every_days(d)
        if days < every:
            continue
        start = datetime.combine(d, time(s.hour if days == every else 0), SHANGHAI)
        return max(start, local).astimezone(as_utc(now).tzinfo)
    return now + timedelta(days=800)  # pragma: no cover - no schedule is that sparse


@dataclass
class Freshness:
    last_crawl_started: datetime | None = None
    last_crawl_finished: datetime | None = None
    last_crawl_status: str | None = None
    running: bool = False
    last_check: datetime | None = None
    next_crawl: datetime | None = None
    every_minutes: int = 60


def freshness(
    conn: Connection, config: Config, last_check: datetime | None, now: datetime | None = None
) -> Freshness:
    """Three small look-ups (the latest run, a running one; the check's time is the summary's generation)."""
    now = now or utcnow()
    t = CrawlRun.__table__.c
    last = conn.execute(
        select(t.started_at, t.finished_at, t.status).order_by(desc(t.started_at), desc(t.id)).limit(1)
    ).first()
    running = conn.execute(select(t.id).where(t.status == "running").limit(1)).first() is not None
    s = config.schedule
    return Freshness(
        last_crawl_started=last[0] if last else None,
        last_crawl_finished=last[1] if last else None,
        last_crawl_status=last[2] if last else None,
        running=running,
        last_check=last_check,
        next_crawl=None if running else next_crawl(last[0] if last else None, s, now),
        every_minutes=s.dispatch_every_minutes,
    )


# --- /runs ----------------------------------------------------------------------------------------------


@dataclass
class PortalRun:
    portal_id: str
    name: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    complete: bool | None = None
    end_reason: str | None = None
    listing_pages: int = 0
    failed_pages: int = 0
    report_links: int = 0
    fetched: int = 0  # responses archived (pages and documents)
    reports_new: int = 0
    reports_changed: int = 0
    problems: Counter = field(default_factory=Counter)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return (as_utc(end) - as_utc(self.started_at)).total_seconds()


@dataclass
class RunView:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    heartbeat_at: datetime | None
    stats: dict[str, Any]
    portals: list[PortalRun]

    @property
    def seconds(self) -> float:
        end = self.finished_at or utcnow()
        return (as_utc(end) - as_utc(self.started_at)).total_seconds()

    def total(self, attr: str) -> int:
        return sum(getattr(p, attr) for p in self.portals)

    @property
    def problems(self) -> int:
        return sum(sum(p.problems.values()) for p in self.portals)


def runs(conn: Connection, config: Config, limit: int = 20) -> list[RunView]:
    """The latest crawl runs, newest first, each with its portals' reads, pages, reports and problems."""
    names = {p.id: p.name for p in config.portals}
    rt = CrawlRun.__table__.c
    rows = (
        conn.execute(select(CrawlRun.__table__).order_by(desc(rt.started_at), desc(rt.id)).limit(limit))
        .mappings()
        .all()
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    by_run: dict[int, dict[str, PortalRun]] = {i: {} for i in ids}

    def portal(run_id: int, pid: str) -> PortalRun:
        p = by_run[run_id].get(pid)
        if p is None:
            p = by_run[run_id][pid] = PortalRun(pid, names.get(pid, pid))
        return p

    pr = PortalRead.__table__.c
    for r in conn.execute(select(PortalRead.__table__).where(pr.run_id.in_(ids))).mappings():
        p = portal(r["run_id"], r["portal_id"])
        p.started_at, p.finished_at, p.complete = r["started_at"], r["finished_at"], r["complete"]
        p.end_reason = r["end_reason"]
        p.listing_pages, p.failed_pages, p.report_links = (
            r["listing_pages"],
            r["failed_pages"],
            r["report_links"],
        )
    ls = ListingSnapshot.__table__.c  # while a read runs, its PortalRead row is not yet filled in
    for run_id, pid, n in conn.execute(
        select(ls.run_id, ls.portal_id, func.count())
        .where(ls.run_id.in_(ids))
        .group_by(ls.run_id, ls.portal_id)
    ):
        p = portal(run_id, pid)
        p.listing_pages = max(p.listing_pages, n)
    ft = Fetch.__table__.c
    for run_id, pid, n in conn.execute(
        select(ft.run_id, ft.portal_id, func.count())
        .where(ft.run_id.in_(ids))
        .group_by(ft.run_id, ft.portal_id)
    ):
        if pid:
            portal(run_id, pid).fetched = n
    cp = CrawlProblem.__table__.c
    for run_id, pid, kind, n in conn.execute(
        select(cp.run_id, cp.portal_id, cp.kind, func.count())
        .where(cp.run_id.in_(ids))
        .group_by(cp.run_id, cp.portal_id, cp.kind)
    ):
        portal(run_id, pid).problems[kind] += n
    _new_and_changed(conn, rows, portal)
    out = []
    for r in rows:
        listed = list(r["portal_ids"] or [])
        for pid in listed:
            portal(r["id"], pid)
        ps = sorted(by_run[r["id"]].values(), key=lambda p: (p.portal_id not in listed, p.portal_id))
        out.append(
            RunView(
                r["id"],
                r["started_at"],
                r["finished_at"],
                r["status"],
                r["heartbeat_at"],
                r["stats"] or {},
                ps,
            )
        )
    return out


def _new_and_changed(conn: Connection, rows, portal) -> None:  # noqa: ANN001
    """Reports first seen during each run (new) and new versions of reports seen before it (changed), per
    portal: one pass over what was stored since the oldest run shown."""
    windows = sorted((as_utc(r["started_at"]), as_utc(r["finished_at"] or utcnow()), r["id"]) for r in rows)
    since = windows[0][0]

    def run_at(at: datetime) -> int | None:
        at = as_utc(at)
        for start, end, run_id in windows:
            if start <= at <= end + timedelta(seconds=1):
                return run_id
        return None

    rt = Report.__table__.c
    for pid, first in conn.execute(select(rt.portal_id, rt.first_seen).where(rt.first_seen >= since)):
        run_id = run_at(first)
        if run_id is not None:
            portal(run_id, pid).reports_new += 1
    vt = ReportVersion.__table__.c
    stmt = (
        select(rt.portal_id, rt.first_seen, vt.fetched_at)
        .join_from(ReportVersion.__table__, Report.__table__, vt.report_id == rt.id)
        .where(vt.fetched_at >= since)
    )
    changed: defaultdict[tuple[int, str], int] = defaultdict(int)
    for pid, first, fetched in conn.execute(stmt):
        run_id = run_at(fetched)
        if run_id is not None and as_utc(first) < as_utc(fetched) - timedelta(seconds=1):
            run_start = next(s for s, _, i in windows if i == run_id)
            if as_utc(first) < run_start:
                changed[(run_id, pid)] += 1
    for (run_id, pid), n in changed.items():
        portal(run_id, pid).reports_changed += n
