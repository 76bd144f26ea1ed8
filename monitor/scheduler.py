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

Run one ``gkwatch serve`` per database: APScheduler 3 does not coordinate schedulers across processes.
(A crawl already running elsewhere — a ``CrawlRun`` still ``running`` — is respected, and the outbox is
safe with any number of workers.)

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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func
from sqlmodel import select

from domain.clock import SHANGHAI, as_utc, shanghai_date
from domain.config import Config, ConfigError, load_config
from storage.db import init_db, make_engine, session_scope
from storage.models import AgencyYearStatus, CrawlRun
from storage.types import utcnow

log = logging.getLogger(__name__)

JOBS_TABLE = "gkwatch_scheduler_jobs"
DISPATCH_JOB = "dispatch"
OUTBOX_JOB = "outbox"
CRAWL_NOW_JOB = "crawl-now"


@dataclass(frozen=True)
class ScheduleSettings:
    season_start: tuple[int, int] = (1, 1)
    season_end: tuple[int, int] = (4, 15)
    season_every_days: int = 1
    off_season_every_days: int = 7
    hour: int = 6
    dispatch_every_minutes: int = 60
    outbox_every_minutes: int = 5
    crawl_timeout_minutes: int = 180
    check_timeout_minutes: int = 30
    misfire_grace_minutes: int = 60
    first_dispatch_seconds: int = 5

    def in_season(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.season_start <= self.season_end:
            return self.season_start <= md <= self.season_end
        return md >= self.season_start or md <= self.season_end  # a season across New Year

    def every_days(self, day: date) -> int:
        return self.season_every_days if self.in_season(day) else self.off_season_every_days


def _month_day(value: Any, key: str) -> tuple[int, int]:
    try:
        month, day = (int(x) for x in str(value).strip().split("-")[-2:])
        date(2000, month, day)  # a leap year, so 02-29 is accepted
    except ValueError as e:
        raise ConfigError(f"schedule.{key}: expected MM-DD, got {value!r}") from e
    return month, day


def schedule_settings(config: Config) -> ScheduleSettings:
    """``schedule:`` of config.yaml, validated; defaults for whatever is left out."""
    raw = config.raw.get("schedule") or {}
    if not isinstance(raw, dict):
        raise ConfigError("schedule: must be a mapping")
    base = ScheduleSettings()
    values: dict[str, Any] = {}
    for key in ("season_start", "season_end"):
        if key in raw:
            values[key] = _month_day(raw[key], key)
    for key in (
        "season_every_days",
        "off_season_every_days",
        "hour",
        "dispatch_every_minutes",
        "outbox_every_minutes",
        "crawl_timeout_minutes",
        "check_timeout_minutes",
        "misfire_grace_minutes",
        "first_dispatch_seconds",
    ):
        if key in raw:
            try:
                values[key] = int(raw[key])
            except (TypeError, ValueError) as e:
                raise ConfigError(f"schedule.{key}: expected a whole number, got {raw[key]!r}") from e
    unknown = set(raw) - set(base.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"schedule: unknown key(s) {', '.join(sorted(unknown))}")
    s = ScheduleSettings(**{**base.__dict__, **values})
    if not 0 <= s.hour <= 23:
        raise ConfigError("schedule.hour: must be 0–23")
    if (
        min(s.season_every_days, s.off_season_every_days, s.dispatch_every_minutes, s.outbox_every_minutes)
        < 1
    ):
        raise ConfigError("schedule: intervals must be at least 1")
    return s


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
            last = session.exec(select(func.max(CrawlRun.started_at))).one()
            cutoff = now - timedelta(minutes=s.crawl_timeout_minutes)
            running = session.exec(
                select(CrawlRun.id).where(CrawlRun.status == "running").where(CrawlRun.started_at > cutoff)
            ).first()
            checked = session.exec(select(func.max(AgencyYearStatus.computed_at))).one()
    finally:
        engine.dispose()
    return DbFacts(as_utc(last), running is not None, as_utc(checked))


async def run_gkwatch(args: list[str], timeout_s: float) -> int:
    """``python -m monitor ARGS`` as a child process, stopped at its timeout or when the service stops.

    On timeout the child gets SIGTERM (a crawl then closes gracefully: its run and its portals' reads are
    recorded as interrupted, never as complete) and SIGKILL ten seconds later; the answer is then -1.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args, start_new_session=True
    )
    try:
        return await asyncio.wait_for(proc.wait(), timeout_s)
    except (TimeoutError, asyncio.CancelledError) as e:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if isinstance(e, asyncio.CancelledError):
            raise
        log.error("gkwatch %s: timed out after %.0f s and was stopped", args[0], timeout_s)
        return -1


def queue_and_deliver(config_path: str) -> dict[str, int]:
    """Queue digests and operator notices (one transaction), then deliver what is due. Blocking."""
    from monitor.alerts import deliver_outbox, queue_alerts, queue_operator_notices

    config = load_config(config_path)
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            digests = queue_alerts(session, config)
            notices = queue_operator_notices(session, config)
        result = deliver_outbox(engine, config)
    finally:
        engine.dispose()
    return {"digests": digests, "notices": notices, "sent": result.sent, "failed": result.failed}


def deliver_due(config_path: str) -> int:
    """The outbox retry job (runs in a worker thread): send what is due, return how many went out."""
    from monitor.alerts import deliver_outbox

    config = load_config(config_path)
    engine = make_engine(config.database_url)  # the service created the tables at start
    try:
        return deliver_outbox(engine, config).sent
    finally:
        engine.dispose()


async def run_cycle(config_path: str, crawl: bool = True) -> dict[str, Any]:
    """Crawl (optionally), check, queue and deliver mail.

    ``gkwatch crawl`` reads and checks what it fetched itself; a separate check runs only when there was no
    crawl, or the crawl was stopped before it could check (its timeout). A crawl already running anywhere
    (the database says) is not started twice.
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
            out["crawl"] = await run_gkwatch(["crawl", "--config", config_path], s.crawl_timeout_minutes * 60)
            checked = out["crawl"] in (0, 1)  # finished, or interrupted after reading and checking
    if not checked:
        out["check"] = await run_gkwatch(["check", "--config", config_path], s.check_timeout_minutes * 60)
    out.update(await asyncio.to_thread(queue_and_deliver, config_path))
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


def _ensure_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func_name: str,
    trigger: IntervalTrigger,
    config_path: str,
    first_in: float,
) -> None:
    """Keep a stored job as it is (its next run time survives a restart); replace it only if it changed.

    The function is given by textual reference (``monitor.scheduler:dispatch``): that is what the job
    store pickles, and it is resolved again whenever the job is loaded.
    """
    func_ref = f"{__name__}:{func_name}"
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


def install_jobs(scheduler: AsyncIOScheduler, config: Config) -> None:
    """The two persistent jobs: the hourly dispatcher and the frequent outbox retry."""
    s = schedule_settings(config)
    config_path = str(Path(config.path).resolve())
    _ensure_job(
        scheduler,
        DISPATCH_JOB,
        "dispatch",
        IntervalTrigger(minutes=s.dispatch_every_minutes),
        config_path,
        s.first_dispatch_seconds,
    )
    _ensure_job(
        scheduler, OUTBOX_JOB, "deliver_due", IntervalTrigger(minutes=s.outbox_every_minutes), config_path, 30
    )


def queue_crawl_now(scheduler: AsyncIOScheduler, config: Config) -> bool:
    """Queue a crawl cycle to run right away (in memory: a restart need not replay a button press).
    False when one is already queued or running here."""
    if scheduler.get_job(CRAWL_NOW_JOB, jobstore="memory") is not None:
        return False
    scheduler.add_job(
        f"{__name__}:run_cycle",
        args=[str(Path(config.path).resolve())],
        kwargs={"crawl": True},
        id=CRAWL_NOW_JOB,
        jobstore="memory",
        misfire_grace_time=None,
    )
    return True
