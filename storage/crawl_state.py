"""Crawl runs seen from anywhere: alive or dead, which portals each holds, and what each read completely.

A crawl may be stopped by anything — SIGTERM from the scheduler, Ctrl-C, SIGKILL, a machine lost. Its
``CrawlRun`` says ``running`` until the crawl itself says otherwise, so the living need a way to tell a
crawl in progress from a dead one without waiting for the next crawl:

* every running crawl beats (``Heartbeat``): ``CrawlRun.heartbeat_at`` and its portal locks' are renewed
  every ``HEARTBEAT_SECONDS``;
* a ``running`` run is dead when its heartbeat is older than ``STALE_AFTER``, or — on the machine it ran
  on — when its process no longer exists (``run_is_dead``); ``crawls_in_progress`` answers "is a crawl
  running?" for the scheduler, ``mark_dead_runs`` writes the verdict down (run ``interrupted``, its
  unfinished portal reads finished as ``interrupted``, its locks freed);
* one crawl per portal at a time (``acquire_portal_locks``): a portal held by a live run is skipped by
  another run, and says so (``PortalRead.end_reason = "busy"``); a dead run's lock is taken over;
* "was portal P's listing read completely after time T, and by which run?" is ``complete_read``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import insert_ignoring
from storage.models import CrawlRun, ListingSnapshot, PortalLock, PortalRead
from storage.types import utcnow

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
# Ten missed beats: a run this quiet is dead (a busy SQLite may delay one beat by its 30 s busy timeout).
STALE_AFTER = timedelta(minutes=5)


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_gone(host: str | None, pid: int | None, beat: datetime | None, now: datetime) -> bool:
    """A holder (a run, a lock) whose process is gone on this machine, or whose heartbeat stopped."""
    if host and host == this_host() and isinstance(pid, int) and pid > 0 and not pid_alive(pid):
        return True
    return beat is None or now - beat > STALE_AFTER


def run_is_dead(run: CrawlRun, now: datetime | None = None) -> bool:
    """A run still marked ``running`` that can no longer finish (killed, its machine lost)."""
    if run.status != "running":
        return False
    stats = run.stats or {}
    host = run.host or stats.get("host")  # runs from before the heartbeat kept these in their stats
    pid = run.pid if run.pid is not None else stats.get("pid")
    return _holder_gone(host, pid, run.heartbeat_at or run.started_at, now or utcnow())


def crawls_in_progress(session: Session, now: datetime | None = None) -> list[int]:
    """Ids of the runs really crawling now (``running`` and alive). The scheduler's "is a crawl running?"."""
    now = now or utcnow()
    runs = session.exec(select(CrawlRun).where(CrawlRun.status == "running")).all()
    return [r.id for r in runs if not run_is_dead(r, now)]


def mark_dead_runs(session: Session, now: datetime | None = None) -> list[int]:
    """Dead runs become ``interrupted``: their unfinished portal reads end ``interrupted`` (incomplete), their
    locks are freed. Safe to call from anywhere, any time; returns the ids of the runs it marked."""
    now = now or utcnow()
    dead = [
        r for r in session.exec(select(CrawlRun).where(CrawlRun.status == "running")) if run_is_dead(r, now)
    ]
    for run in dead:
        ended = run.heartbeat_at or run.started_at
        run.status = "interrupted"
        run.finished_at = ended
        session.add(run)
        finish_open_reads(session, run.id, "interrupted", ended)
        session.execute(delete(PortalLock).where(PortalLock.run_id == run.id))
    if dead:
        session.flush()
        log.warning("crawl run(s) %s found dead: marked interrupted", ", ".join(str(r.id) for r in dead))
    return [r.id for r in dead]


def finish_open_reads(session: Session, run_id: int, reason: str, at: datetime | None = None) -> int:
    """Portal reads of a run that never finished end now, incomplete, for ``reason``; returns how many."""
    result = session.execute(
        update(PortalRead)
        .where(PortalRead.run_id == run_id, PortalRead.finished_at.is_(None))
        .values(finished_at=at or utcnow(), complete=False, end_reason=reason)
    )
    return result.rowcount or 0


# --- one crawl per portal ---------------------------------------------------------------------------


def acquire_portal_locks(
    session: Session, run_id: int, portal_ids: Iterable[str], now: datetime | None = None
) -> dict[str, int]:
    """Lock the portals for this run; returns the portals held by another live run (portal → its run id).

    Each lock is an INSERT that a concurrent insert cannot duplicate (the portal id is the key); a lock
    held by a dead holder is taken over with an UPDATE conditioned on the holder seen, so that of two runs
    taking it over at once only one wins.
    """
    now = now or utcnow()
    wanted = list(dict.fromkeys(portal_ids))
    host, pid = this_host(), os.getpid()
    if not wanted:
        return {}
    rows = [
        {"portal_id": p, "run_id": run_id, "host": host, "pid": pid, "acquired_at": now, "heartbeat_at": now}
        for p in wanted
    ]
    session.execute(insert_ignoring(session.get_bind(), PortalLock.__table__, ["portal_id"]), rows)
    held = {
        lock.portal_id: lock
        for lock in session.exec(select(PortalLock).where(PortalLock.portal_id.in_(wanted)))  # type: ignore[attr-defined]
    }
    busy: dict[str, int] = {}
    for portal_id in wanted:
        lock = held.get(portal_id)
        if lock is None or lock.run_id == run_id:
            continue
        holder = session.get(CrawlRun, lock.run_id)
        stale = (
            holder is None
            or holder.status != "running"
            or _holder_gone(lock.host, lock.pid, lock.heartbeat_at, now)
        )
        if stale:
            took = session.execute(
                update(PortalLock)
                .where(
                    PortalLock.portal_id == portal_id,
                    PortalLock.run_id == lock.run_id,
                    PortalLock.heartbeat_at == lock.heartbeat_at,
                )
                .values(run_id=run_id, host=host, pid=pid, acquired_at=now, heartbeat_at=now)
            )
            if took.rowcount == 1:
                log.warning("portal %s: lock of dead run %s taken over", portal_id, lock.run_id)
                continue
        busy[portal_id] = lock.run_id
    session.flush()
    return busy


def release_portal_locks(session: Session, run_id: int) -> None:
    session.execute(delete(PortalLock).where(PortalLock.run_id == run_id))


def beat(engine: Engine, run_id: int, now: datetime | None = None) -> None:
    """One heartbeat of a run: its row and its locks say it is alive now."""
    now = now or utcnow()
    with engine.begin() as conn:
        conn.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(heartbeat_at=now))
        conn.execute(update(PortalLock).where(PortalLock.run_id == run_id).values(heartbeat_at=now))


class Heartbeat:
    """A daemon thread beating for a run every ``every`` seconds until stopped (or the process dies)."""

    def __init__(self, engine: Engine, run_id: int, every: float = HEARTBEAT_SECONDS):
        self.engine, self.run_id, self.every = engine, run_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gkwatch-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                beat(self.engine, self.run_id)
            except Exception:  # noqa: BLE001 - a missed beat is logged; the next one may succeed
                log.warning("crawl run %s: heartbeat not written", self.run_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 5)


# --- what the status stage asks ---------------------------------------------------------------------


def complete_read(session: Session, portal_id: str, after: datetime) -> PortalRead | None:
    """The latest complete read of a portal's listing that started at or after ``after`` (None: none).

    Its ``run_id`` names the run, ``listing_pages`` how many pages it read, and ``listing_snapshots``
    gives the pages themselves (time, URL, report links) — the proof a ``missing`` verdict rests on.
    """
    return session.exec(
        select(PortalRead)
        .where(PortalRead.portal_id == portal_id)
        .where(PortalRead.complete == True)  # noqa: E712
        .where(PortalRead.started_at >= after)
        .order_by(PortalRead.finished_at.desc())  # type: ignore[union-attr]
    ).first()


def listing_snapshots(session: Session, read: PortalRead) -> list[ListingSnapshot]:
    """The listing pages one portal read consists of, in the order they were fetched."""
    return list(
        session.exec(
            select(ListingSnapshot)
            .where(ListingSnapshot.run_id == read.run_id, ListingSnapshot.portal_id == read.portal_id)
            .order_by(ListingSnapshot.fetched_at, ListingSnapshot.id)
        )
    )
