"""The schedule of ``gkwatch serve``: when to crawl, check, and send mail.

One APScheduler 3.x ``AsyncIOScheduler`` on the service's event loop (shared with the web server), with its
jobs in a ``SQLAlchemyJobStore`` in gkwatch's own database, so a restart keeps the schedule. There is no
job per agency: a *dispatcher* job runs every hour and decides, from what the database says, whether a crawl
is due — daily in the reporting season (1 January – 15 April, when reports appear and deadlines fall),
weekly otherwise — and whether the statuses need recomputing (after a crawl, and once a day, because a
deadline passing changes statuses with no crawl at all). Then it queues alert mail and delivers the outbox.
A second, frequent job retries the outbox alone, so mail held up by an SMTP outage goes out within minutes.

Crawls run as a subprocess (``python -m monitor crawl --config …``), never in this process: Scrapy runs
on a Twisted reactor, and a reactor cannot be restarted once stopped (``ReactorNotRestartable``), so a
long-lived process cannot simply start a fresh crawler per scheduled run. A subprocess costs about a second
of start-up and buys full isolation — a crawl that leaks memory, hangs, or crashes is killed at its timeout
and cannot take the web page down with it. ``gkwatch check`` runs the same way, keeping its memory out of
the long-lived process and its CPU time off the event loop.

APScheduler 3 does not coordinate schedulers across processes: on SQLite run one ``gkwatch serve`` per
database. (A crawl already running elsewhere — a ``CrawlRun`` still ``running`` — is respected, and the
outbox is safe with any number of workers.) On PostgreSQL with the job queue (``monitor.queue``), any number
of ``serve`` may run: one holds the scheduler lock and acts, the others stand by; its dispatcher is then
``monitor.queue.schedule.dispatch``, which defers crawl jobs to ``gkwatch worker`` processes instead of
crawling here.

Jobs reference module-level functions and take the config *path* (the job store pickles references and
arguments; a path stays valid across restarts, a loaded ``Config`` would go stale).

``config.yaml`` may tune it all::

    schedule:
      season_start: 01-01        # MM-DD, Asia/Shanghai calendar
      season_end: 04-15
      season_every_days: 1
      off_season_every_days: 7
      hour: 6                    # local hour from which the day's crawl may start
      dispatch_every_minutes: 60
      outbox_every_minutes: 5
      crawl_timeout_minutes: 180
      check_timeout_minutes: 30
      misfire_grace_minutes: 60
      first_dispatch_seconds: 5  # after the first start (later starts keep the stored schedule)
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func
from sqlmodel import select

from domain.clock import SHANGHAI, as_utc, shanghai_date
from domain.config import Config, ScheduleSettings, load_config
from storage.crawl_state import crawls_in_progress, mark_dead_runs
from storage.db import init_db, make_engine, session_scope
from storage.models import AgencyYearStatus, CrawlRun
from storage.types import utcnow

log = logging.getLogger(__name__)

JOBS_TABLE = "gkwatch_scheduler_jobs"
DISPATCH_JOB = "dispatch"
OUTBOX_JOB = "outbox"
CRAWL_NOW_JOB = "crawl-now"


def schedule_settings(config: Config) -> ScheduleSettings:
    """``schedule:`` of config.yaml, checked (defaults filled in) by domain/config.py with the whole file."""
    return config.schedule


# --- the decisions (pure) -----------------------------------------------------------------------------


def crawl_due(now: datetime, last_started: datetime | None, s: ScheduleSettings) -> bool:
    """Is a crawl due at ``now``, given when the last one started? Calendar days in Asia/Shanghai.

    Due once ``every_days`` calendar days have passed since the last crawl's day (the interval of the
    season ``now`` is in) and the local hour has reached ``s.hour``; a crawl overdue by more than a day (the
    service was down) does not wait for the hour.
    """
    if last_started is None:
        return True
    local = now.astimezone(SHANGHAI)
    every = s.every_days(local.date())
    days = (local.date() - shanghai_date(last_started)).days
    if days < every:
        return False
    return local.hour >= s.hour or days > every


def check_due(now: datetime, last_checked: datetime | None) -> bool:
    """Statuses are recomputed at least once per Shanghai day: a deadline passing changes them."""
    return last_checked is None or shanghai_date(last_checked) < shanghai_date(now)


# --- what the jobs do ---------------------------------------------------------------------------------
#
# Job functions are module-level and take the config *path*: the job store pickles references and arguments.
# They hold no state of their own: whether a crawl is already running is asked of the database (a crawl run
# started by this service, the command line or another machine), never of a lock in this process.


@dataclass(frozen=True)
class DbFacts:
    last_crawl_started: datetime | None
    crawl_running: bool  # a crawl started here or elsewhere (CLI, another service) is still going
    last_checked: datetime | None


def db_facts(config: Config, now: datetime, s: ScheduleSettings) -> DbFacts:
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            mark_dead_runs(session, now)  # a crawl killed outright (SIGKILL, a lost machine) is not "running"
            last = session.exec(select(func.max(CrawlRun.started_at))).one()
            running = crawls_in_progress(session, now)  # alive: its heartbeat still beats
            checked = session.exec(select(func.max(AgencyYearStatus.computed_at))).one()
    finally:
        engine.dispose()
    return DbFacts(as_utc(last), bool(running), as_utc(checked))


async def run_child(module: str, args: list[str], timeout_s: float) -> int:
    """``python -m MODULE ARGS`` as a child process, stopped at its timeout or when its caller is cancelled
    (the service stops, a queue job is aborted).

    On timeout the child gets SIGTERM (a crawl then closes gracefully: its run and its portals' reads are
    recorded as interrupted, never as complete) and SIGKILL ten seconds later; the answer is then -1.
    """
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", module, *args, start_new_session=True)
    try:
        return await asyncio.wait_for(proc.wait(), timeout_s)
    except (TimeoutError, asyncio.CancelledError) as e:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if isinstance(e, asyncio.CancelledError):
            raise
        log.error(
            "python -m %s %s: timed out after %.0f s and was stopped", module, " ".join(args[:1]), timeout_s
        )
        return -1


async def run_gkwatch(args: list[str], timeout_s: float) -> int:
    """``gkwatch ARGS`` as a child process (``run_child``)."""
    return await run_child("monitor", args, timeout_s)


def queue_and_deliver(config_path: str, *, digests: bool = True) -> dict[str, int]:
    """Queue digests (``digests=False``: not from this check) and operator notices in one transaction, then
    deliver what is due. Blocking."""
    from monitor.alerts import deliver_outbox, queue_alerts, queue_operator_notices

    config = load_config(config_path)
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            queued = queue_alerts(session, config) if digests else 0
            notices = queue_operator_notices(session, config)
        result = deliver_outbox(engine, config)
    finally:
        engine.dispose()
    return {"digests": queued, "notices": notices, "sent": result.sent, "failed": result.failed}


def deliver_due(config_path: str) -> int:
    """The outbox retry job (runs in a worker thread): send what is due, return how many went out."""
    from monitor.alerts import deliver_outbox

    config = load_config(config_path)
    engine = make_engine(config.database_url)  # the service created the tables at start
    try:
        return deliver_outbox(engine, config).sent
    finally:
        engine.dispose()


async def run_cycle(
    config_path: str, crawl: bool = True, portal_ids: list[str] | None = None
) -> dict[str, Any]:
    """Crawl (optionally; every portal, or ``portal_ids`` only), check, queue and deliver mail.

    ``gkwatch crawl`` reads and checks what it fetched itself; a separate check runs only when there was no
    crawl, or the crawl was stopped before it could check (its timeout). A crawl already running anywhere
    (the database says) is not started twice.

    Subscribers hear only from a check whose crawl finished: after an interrupted or timed-out crawl the
    statuses are honest (no ``missing`` rests on an incomplete read) but the digest waits for a complete
    crawl, so that nothing half-known is mailed. The operator still hears of portals in trouble.
    """
    config = load_config(config_path)
    s = schedule_settings(config)
    out: dict[str, Any] = {"crawl": None}
    checked = False
    if crawl:
        facts = await asyncio.to_thread(db_facts, config, utcnow(), s)
        if facts.crawl_running:
            log.info("a crawl is already running; not starting another")
            out["crawl"] = "busy"
        else:
            only = [arg for p in portal_ids or () for arg in ("--portal", p)]
            out["crawl"] = await run_gkwatch(
                ["crawl", "--config", config_path, *only], s.crawl_timeout_minutes * 60
            )
            checked = out["crawl"] in (0, 1)  # finished, or interrupted after reading and checking
    if not checked:
        out["check"] = await run_gkwatch(["check", "--config", config_path], s.check_timeout_minutes * 60)
    complete = out["crawl"] in (None, 0)  # no crawl this cycle (a daily check), or one that finished
    if not complete:
        log.warning("the crawl did not finish (%s): no digest from this check", out["crawl"])
    out.update(await asyncio.to_thread(partial(queue_and_deliver, config_path, digests=complete)))
    log.info("cycle done: %s", out)
    return out


async def dispatch(config_path: str) -> dict[str, Any] | None:
    """The hourly job: run a cycle when a crawl or a check is due; nothing otherwise."""
    config = load_config(config_path)
    s = schedule_settings(config)
    now = utcnow()
    facts = await asyncio.to_thread(db_facts, config, now, s)
    crawl = crawl_due(now, facts.last_crawl_started, s) and not facts.crawl_running
    if not crawl and not check_due(now, facts.last_checked):
        return None
    return await run_cycle(config_path, crawl=crawl)


# --- the scheduler ------------------------------------------------------------------------------------


def build_scheduler(config: Config) -> AsyncIOScheduler:
    """A scheduler with the persistent job store in gkwatch's database (one-off jobs stay in memory)."""
    s = schedule_settings(config)
    return AsyncIOScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=make_engine(config.database_url), tablename=JOBS_TABLE),
            "memory": MemoryJobStore(),
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": s.misfire_grace_minutes * 60,
        },
        timezone=SHANGHAI,
    )


DISPATCH_REF = f"{__name__}:dispatch"


def _ensure_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func_ref: str,
    trigger: IntervalTrigger,
    config_path: str,
    first_in: float,
) -> None:
    """Keep a stored job as it is (its next run time survives a restart); replace it only if it changed.

    The function is given by textual reference (``monitor.scheduler:dispatch``): that is what the job
    store pickles, and it is resolved again whenever the job is loaded.
    """
    existing = scheduler.get_job(job_id, jobstore="default")
    if (
        existing is not None
        and existing.func_ref == func_ref
        and str(existing.trigger) == str(trigger)
        and list(existing.args) == [config_path]
    ):
        return
    scheduler.add_job(
        func_ref,
        trigger,
        args=[config_path],
        id=job_id,
        name=job_id,
        jobstore="default",
        replace_existing=True,
        next_run_time=utcnow() + timedelta(seconds=first_in),
    )


def install_jobs(scheduler: AsyncIOScheduler, config: Config, dispatch_ref: str = DISPATCH_REF) -> None:
    """The two persistent jobs: the hourly dispatcher and the frequent outbox retry.

    ``dispatch_ref``: the dispatcher's function (the service names the job queue's when workers crawl)."""
    s = schedule_settings(config)
    config_path = str(Path(config.path).resolve())
    _ensure_job(
        scheduler,
        DISPATCH_JOB,
        dispatch_ref,
        IntervalTrigger(minutes=s.dispatch_every_minutes),
        config_path,
        s.first_dispatch_seconds,
    )
    _ensure_job(
        scheduler,
        OUTBOX_JOB,
        f"{__name__}:deliver_due",
        IntervalTrigger(minutes=s.outbox_every_minutes),
        config_path,
        30,
    )


def queue_crawl_now(scheduler: AsyncIOScheduler, config: Config, portal_id: str | None = None) -> bool:
    """Queue a crawl cycle to run right away (in memory: a restart need not replay a button press) — of
    every portal, or of ``portal_id`` alone. False when one is already queued or running here."""
    if scheduler.get_job(CRAWL_NOW_JOB, jobstore="memory") is not None:
        return False
    scheduler.add_job(
        f"{__name__}:run_cycle",
        args=[str(Path(config.path).resolve())],
        kwargs={"crawl": True, **({"portal_ids": [portal_id]} if portal_id else {})},
        id=CRAWL_NOW_JOB,
        jobstore="memory",
        misfire_grace_time=None,
    )
    return True
