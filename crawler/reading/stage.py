"""The reading stage: archived documents → stored readings, and every report attributed to its agency-year.

It runs after each crawl (``read_pending``: the documents that have no reading yet) and on demand over the
whole archive (``reparse``: every document read again with the current readers — batched, in worker
processes, resumable; a reading is replaced only where it differs). Both end by attributing the reports
whose facts may have changed (``attribute_reports``), and ``gkwatch check`` re-attributes every report when
the registry changed (a new alias finds the reports it names).

Nothing here fetches or judges: the crawler archived the bytes, the monitor judges the readings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from crawler.reading.attribution import AgencyMatcher, ReportFacts, attribute
from crawler.reading.model import Reading
from crawler.reading.workers import Job, ReaderPool, default_workers
from domain.clock import shanghai_midnight, utcnow
from domain.config import Config
from storage.archive import Archive
from storage.models import Fetch, ReadingPass, Report, ReportVersion
from storage.models import Reading as ReadingRow

log = logging.getLogger(__name__)

READING, REPORT, VERSION, FETCH = (
    ReadingRow.__table__,
    Report.__table__,
    ReportVersion.__table__,
    Fetch.__table__,
)
WRITE_BATCH = 50  # readings per transaction
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class ReadStats:
    """What one reading run did."""

    documents: int = 0  # read
    new: int = 0  # readings stored for the first time
    changed: int = 0  # readings replaced because the reader now reads them differently
    unreadable: int = 0  # documents whose reading is an error
    timeouts: int = 0
    crashes: int = 0
    attributed: int = 0  # reports whose agency or year changed
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        return (
            f"read {self.documents} documents in {self.seconds:.1f} s ({rate:.1f}/s): {self.new} new, "
            f"{self.changed} changed, {self.unreadable} unreadable ({self.timeouts} timed out, "
            f"{self.crashes} crashed a reader); {self.attributed} reports (re)attributed"
        )


def document_filename(url: str | None, content_type: str | None = None) -> str:
    """A file name for the reader (its extension is a hint; the reader trusts the bytes)."""
    try:
        name = unquote(PurePosixPath(urlsplit(url or "").path).name) or "index.html"
    except ValueError:
        name = "document"
    if "." not in name and "html" in (content_type or "").lower():
        name += ".html"
    return name[:200]


# --- which documents -----------------------------------------------------------------------------------


def _jobs_query(portal_ids: Sequence[str] = (), since: date | None = None):  # noqa: ANN202
    """One row per distinct document of the matching reports: (sha256, a URL it was fetched from, type)."""
    q = (
        select(VERSION.c.sha256, VERSION.c.document_url, FETCH.c.content_type)
        .select_from(VERSION)
        .join(REPORT, REPORT.c.id == VERSION.c.report_id)
        .outerjoin(FETCH, FETCH.c.id == VERSION.c.fetch_id)
        .order_by(VERSION.c.sha256, VERSION.c.id)
    )
    if portal_ids:
        q = q.where(REPORT.c.portal_id.in_(list(portal_ids)))
    if since is not None:
        q = q.where(VERSION.c.fetched_at >= shanghai_midnight(since))
    return q


def _distinct_jobs(rows: Iterable[tuple[str, str | None, str | None]]) -> list[Job]:
    jobs: dict[str, Job] = {}
    for sha, url, ctype in rows:
        if sha not in jobs:
            jobs[sha] = Job(sha, document_filename(url, ctype))
    return list(jobs.values())


def unread_jobs(conn: Connection, portal_ids: Sequence[str] = ()) -> list[Job]:
    """The documents that have no reading yet."""
    q = _jobs_query(portal_ids).outerjoin(READING, READING.c.sha256 == VERSION.c.sha256)
    return _distinct_jobs(conn.execute(q.where(READING.c.id.is_(None))))


# --- storing readings ----------------------------------------------------------------------------------


def store_readings(engine: Engine, results: Iterable[tuple[Job, Reading]], stats: ReadStats) -> set[str]:
    """Insert new readings and replace those that differ (in batches); returns the sha256s whose reading
    is new or changed (their reports need attributing again)."""
    touched: set[str] = set()
    batch: list[tuple[Job, Reading]] = []
    for pair in results:
        batch.append(pair)
        if len(batch) >= WRITE_BATCH:
            touched |= _store_batch(engine, batch, stats)
            batch = []
    if batch:
        touched |= _store_batch(engine, batch, stats)
    return touched


def _store_batch(engine: Engine, batch: list[tuple[Job, Reading]], stats: ReadStats) -> set[str]:
    now = utcnow()
    touched: set[str] = set()
    with engine.begin() as conn:
        shas = [job.sha256 for job, _ in batch]
        stored = {
            r.sha256: r for r in conn.execute(select(READING).where(READING.c.sha256.in_(shas))).mappings()
        }
        inserts, updates, touches = [], [], []
        for job, reading in batch:
            stats.documents += 1
            stats.unreadable += reading.error is not None
            row = reading.to_row(job.sha256, now)
            old = stored.get(job.sha256)
            if old is None:
                inserts.append(row)
                stats.new += 1
                touched.add(job.sha256)
            elif reading.same_as(Reading.from_row(dict(old))):
                touches.append(
                    {"k_sha": job.sha256, "read_at": now, "reader_version": reading.reader_version}
                )
            else:
                updates.append({"k_sha": job.sha256, **{k: v for k, v in row.items() if k != "sha256"}})
                stats.changed += 1
                touched.add(job.sha256)
        if inserts:
            conn.execute(insert(READING), inserts)
        if updates:
            cols = [k for k in updates[0] if k != "k_sha"]
            stmt = (
                update(READING)
                .where(READING.c.sha256 == bindparam("k_sha"))
                .values({c: bindparam(c) for c in cols})
            )
            conn.execute(stmt, updates)
        if touches:
            stmt = (
                update(READING)
                .where(READING.c.sha256 == bindparam("k_sha"))
                .values(read_at=bindparam("read_at"), reader_version=bindparam("reader_version"))
            )
            conn.execute(stmt, touches)
    return touched


# --- attribution ---------------------------------------------------------------------------------------


def attribute_reports(
    engine: Engine,
    config: Config,
    *,
    shas: set[str] | None = None,
    seen_since: datetime | None = None,
    everything: bool = False,
    matcher: AgencyMatcher | None = None,
) -> int:
    """Attribute reports again (``crawler.reading.attribution``): those whose current document is one of
    ``shas``, those seen since ``seen_since``, or all of them; returns how many changed."""
    if not everything and not shas and seen_since is None:
        return 0
    matcher = matcher or AgencyMatcher(config.agencies)
    q = (
        select(
            REPORT.c.id,
            REPORT.c.portal_id,
            REPORT.c.url,
            REPORT.c.title,
            REPORT.c.link_text,
            REPORT.c.column,
            REPORT.c.content_source,
            REPORT.c.agency_id,
            REPORT.c.agency_name,
            REPORT.c.attributed_by,
            REPORT.c.year,
            REPORT.c.year_source,
            READING.c.title,
            READING.c.agency,
            READING.c.year,
        )
        .select_from(REPORT)
        .outerjoin(VERSION, VERSION.c.id == REPORT.c.current_version_id)
        .outerjoin(READING, READING.c.sha256 == VERSION.c.sha256)
    )
    changed: list[dict] = []
    with engine.connect() as conn:
        for rows in _selected(conn, q, shas, seen_since, everything):
            for r in rows:
                (
                    rid,
                    portal,
                    url,
                    title,
                    link,
                    column,
                    source,
                    agency_id,
                    name,
                    by,
                    year,
                    ysrc,
                    dtitle,
                    dagency,
                    dyear,
                ) = r
                facts = ReportFacts(portal, url, title, link, column, source, dtitle, dagency, dyear)
                a = attribute(facts, matcher)
                new = {"agency_id": a.agency_id, "agency_name": a.agency_name, "attributed_by": a.by,
                       "year": a.year if a.year is not None else year,
                       "year_source": a.year_source if a.year is not None else ysrc}  # fmt: skip
                if tuple(new.values()) != (agency_id, name, by, year, ysrc):
                    changed.append({"k_id": rid, **new})
    if changed:
        stmt = (
            update(REPORT)
            .where(REPORT.c.id == bindparam("k_id"))
            .values({k: bindparam(k) for k in changed[0] if k != "k_id"})
        )
        with engine.begin() as conn:
            for i in range(0, len(changed), 1000):
                conn.execute(stmt, changed[i : i + 1000])
    return len(changed)


def _selected(conn: Connection, q, shas: set[str] | None, seen_since: datetime | None, everything: bool):  # noqa: ANN001, ANN202
    """The rows of ``q`` for the reports asked for: all, seen since a time, and/or holding given documents
    (in chunks small enough for one ``IN (...)``)."""
    if everything:
        yield conn.execute(q)
        return
    if seen_since is not None:
        yield conn.execute(q.where(REPORT.c.last_seen >= seen_since))
    ordered = sorted(shas or ())
    for i in range(0, len(ordered), 5000):
        chunk = ordered[i : i + 5000]
        cond = VERSION.c.sha256.in_(chunk)
        if seen_since is not None:
            cond = and_(cond, REPORT.c.last_seen < seen_since)  # not twice
        yield conn.execute(q.where(cond))


# --- the two runs --------------------------------------------------------------------------------------


def _pool(
    archive: Archive, config: Config, processes: int | None, seconds_per_document: float | None
) -> ReaderPool:
    """A reader pool with the configured budgets: per document (``crawl.seconds_per_document``, unless the
    caller gives its own), per LibreOffice conversion (``crawl.seconds_per_conversion``) and OCR's (``ocr``:
    page cap, time budget)."""
    crawl = getattr(config, "crawl", None)
    if seconds_per_document is None and crawl is not None:
        seconds_per_document = crawl.seconds_per_document
    kwargs = {} if seconds_per_document is None else {"seconds_per_document": seconds_per_document}
    return ReaderPool(
        archive.get,
        processes,
        ocr=getattr(config, "ocr", None),
        conversion_seconds=getattr(crawl, "seconds_per_conversion", None),
        **kwargs,
    )


def _with_progress(
    results: Iterable[tuple[Job, Reading]], total: int, progress: Progress | None
) -> Iterable[tuple[Job, Reading]]:
    for done, pair in enumerate(results, start=1):
        if progress is not None:
            progress(done, total)
        yield pair


def read_pending(
    engine: Engine,
    archive: Archive,
    config: Config,
    *,
    seen_since: datetime | None = None,
    processes: int | None = None,
    seconds_per_document: float | None = None,
    progress: Progress | None = None,
) -> ReadStats:
    """Read every document that has no reading yet, then attribute the reports they belong to (and every
    report seen since ``seen_since``: its title or column may have changed)."""
    started = time.perf_counter()
    stats = ReadStats()
    with engine.connect() as conn:
        jobs = unread_jobs(conn)
    touched: set[str] = set()
    if jobs:
        pool = _pool(archive, config, processes, seconds_per_document)
        touched = store_readings(engine, _with_progress(pool.read(jobs), len(jobs), progress), stats)
        stats.timeouts, stats.crashes = pool.timeouts, pool.crashes
    stats.attributed = attribute_reports(engine, config, shas=touched, seen_since=seen_since)
    stats.seconds = time.perf_counter() - started
    return stats


def read_batch(
    engine: Engine,
    archive: Archive,
    config: Config,
    shas: Sequence[str],
    *,
    processes: int | None = None,
    seconds_per_document: float | None = None,
) -> ReadStats:
    """Read the documents ``shas`` (one job of the shared job queue: ``monitor.queue``), store the readings
    that are new or differ, attribute the reports whose reading changed.

    Safe to run twice, or beside another batch holding the same document (a job queue delivers at least
    once; two portals may link one file): the reading of a document depends on its bytes only, and when
    two batches insert the same reading at once the one that loses the race stores its batch again — now
    as an update of the winner's row, or nothing where they agree.
    """
    started = time.perf_counter()
    stats = ReadStats()
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return stats
    with engine.connect() as conn:
        jobs = _distinct_jobs(conn.execute(_jobs_query().where(VERSION.c.sha256.in_(wanted))))
    if jobs:
        n = processes if processes is not None else min(len(jobs), default_workers())
        pool = _pool(archive, config, n, seconds_per_document)
        results = list(pool.read(jobs))
        stats.timeouts, stats.crashes = pool.timeouts, pool.crashes
        try:
            touched = store_readings(engine, results, stats)
        except IntegrityError:
            log.info("a reading of this batch was stored meanwhile by another reader: storing again")
            timeouts, crashes = stats.timeouts, stats.crashes
            stats = ReadStats(timeouts=timeouts, crashes=crashes)
            store_readings(engine, results, stats)
            touched = {job.sha256 for job, _ in results}
        stats.attributed = attribute_reports(engine, config, shas=touched)
    stats.seconds = time.perf_counter() - started
    return stats


def reparse_scope(portal_ids: Sequence[str], since: date | None) -> str:
    return f"portals={','.join(sorted(portal_ids)) or '*'} since={since.isoformat() if since else '*'}"


def open_reparse_pass(
    engine: Engine, portal_ids: Sequence[str], since: date | None
) -> tuple[int, list[Job], bool]:
    """The reparse pass of a scope and the documents it has still to read: the unfinished pass of the same
    scope, resumed (only what it has not re-read since it began), else a new one (everything in scope).
    Returns (pass id, jobs, resumed) — one answer for ``gkwatch reparse`` here and on the job queue."""
    scope = reparse_scope(portal_ids, since)
    with engine.begin() as conn:
        pending = conn.execute(
            select(ReadingPass.__table__)
            .where(and_(ReadingPass.scope == scope, ReadingPass.finished_at.is_(None)))
            .order_by(ReadingPass.id.desc())
        ).first()
        if pending is None:
            pass_id = conn.execute(
                insert(ReadingPass.__table__).values(scope=scope, started_at=utcnow())
            ).inserted_primary_key[0]
            resume_from = None
        else:
            pass_id, resume_from = pending.id, pending.started_at
        q = _jobs_query(portal_ids, since)
        if resume_from is not None:
            q = q.outerjoin(READING, READING.c.sha256 == VERSION.c.sha256).where(
                or_(READING.c.id.is_(None), READING.c.read_at < resume_from)
            )
        return pass_id, _distinct_jobs(conn.execute(q)), resume_from is not None


def reparse(
    engine: Engine,
    archive: Archive,
    config: Config,
    *,
    portal_ids: Sequence[str] = (),
    since: date | None = None,
    processes: int | None = None,
    seconds_per_document: float | None = None,
    progress: Progress | None = None,
) -> ReadStats:
    """Read every matching archived document again with the current readers; store the readings that
    differ; attribute the reports whose reading changed. An interrupted reparse of the same scope resumes:
    what it re-read already is skipped."""
    started = time.perf_counter()
    stats = ReadStats()
    scope = reparse_scope(portal_ids, since)
    pass_id, jobs, resumed = open_reparse_pass(engine, portal_ids, since)
    if resumed:
        log.info("resuming an interrupted reparse (%s): %d documents left", scope, len(jobs))
    touched: set[str] = set()
    if jobs:
        pool = _pool(archive, config, processes, seconds_per_document)
        touched = store_readings(engine, _with_progress(pool.read(jobs), len(jobs), progress), stats)
        stats.timeouts, stats.crashes = pool.timeouts, pool.crashes
    stats.attributed = attribute_reports(engine, config, shas=touched)
    with engine.begin() as conn:
        conn.execute(
            update(ReadingPass.__table__)
            .where(ReadingPass.__table__.c.id == pass_id)
            .values(
                finished_at=utcnow(),
                documents=ReadingPass.__table__.c.documents + stats.documents,
                changed=ReadingPass.__table__.c.changed + stats.changed + stats.new,
            )  # fmt: skip
        )
    stats.seconds = time.perf_counter() - started
    return stats
