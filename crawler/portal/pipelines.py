"""Storing what the spider found: archive the bytes, upsert the rows, parse off the reactor thread.

Items are stored in batches, one transaction each (``BATCH_ITEMS`` items, or what arrived within
``BATCH_SECONDS``), with SQLAlchemy Core statements that write a batch's rows in a few round trips: one
commit and one ORM flush per item cost more than fetching the page did. Every write is keyed by what
identifies it (a report by URL, a version by (report, sha256)), and a batch's archive files are on disk
before its rows are committed: a crawl killed mid-way loses at most the batch not yet committed, and
running it again adds nothing twice. ``ReportStore`` is the storage logic (plain, testable without
Scrapy); ``StorePipeline`` is the Scrapy glue: it batches items on the reactor and writes them in one
writer thread, so that the database and the archive's fsync never stall fetching. Documents are read
later, by the reading stage (``crawler.reading.stage``), never here.

Besides the spider's items, the pipeline takes what no callback yields (``StorePipeline.accept``): the
begin and end of each portal's read (``PortalReadItem``) and the bounds reached. A read's end is written
only after every item the portal's callbacks yielded before it: its listing snapshots are committed first,
then the verdict "complete" that rests on them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine

from crawler.portal.items import (
    Fetched,
    Known,
    ListingItem,
    PortalReadItem,
    ProblemItem,
    ReportItem,
    Revalidated,
)
from domain.config import Config
from storage.archive import Archive, open_archive
from storage.db import init_db, insert_ignoring, make_engine, upserting
from storage.models import (
    CrawlProblem,
    Fetch,
    ListingSnapshot,
    Portal,
    PortalRead,
    Report,
    ReportVersion,
    UrlState,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

BATCH_ITEMS = 50  # items per transaction at most …
BATCH_SECONDS = 0.5  # … and a batch is committed this long after its first item at the latest
BATCHES_AHEAD = 2  # batches handed to the writer and not yet committed before new items wait

FETCH, LISTING, REPORT, VERSION, PROBLEM, PORTAL, READ, URLSTATE = (
    m.__table__
    for m in (Fetch, ListingSnapshot, Report, ReportVersion, CrawlProblem, Portal, PortalRead, UrlState)
)
_URLSTATE_COLUMNS = ("portal_id", "etag", "last_modified", "sha256", "size", "fetched_at", "checked_at")

# A new Report row's columns with the model's defaults (built once: constructing a model costs ~1 ms).
_NEW_REPORT: dict[str, Any] = Report(url="", portal_id="").model_dump()


class ReportStore:
    """Writes the crawler's findings into the database and the archive, a batch of items at a time.

    ``store_batch`` is the one way in; ``store`` / ``store_report`` / ``store_listing`` / ``store_problem``
    store one item (tools, tests). ``known_version`` answers from memory: the versions of a portal's
    reports are read once, the first time one of its reports is asked about, then kept up to date.
    """

    def __init__(self, engine: Engine, archive: Archive, config: Config, run_id: int | None = None):
        self.engine, self.archive, self.config, self.run_id = engine, archive, config, run_id
        self.counts: Counter[str] = Counter()
        self._platform_set: set[str] | None = None  # portals whose platform is recorded already

    # --- one item at a time ---

    def store(self, item: Any) -> None:
        """Store any item the spider yields."""
        self.store_batch([item])

    def store_report(self, item: ReportItem) -> None:
        """Upsert the report, its evidence, its version (new bytes → new version) and its trouble."""
        self.store_batch([item])

    def store_listing(self, item: ListingItem) -> None:
        self.store_batch([item])

    def store_problem(self, item: ProblemItem) -> None:
        self.store_batch([item])

    # --- a batch ---

    def store_batch(self, entries: Sequence[Any]) -> None:
        """Store items in one transaction: all of them or (on error) none; the archive files first."""
        if not entries:
            return
        fetched = _fetched_of(entries)
        self._archive_all([f for f, _ in fetched])
        counts: Counter[str] = Counter()
        with self.engine.begin() as conn:
            fetch_ids = _insert_returning_ids(conn, FETCH, [self._fetch_row(f, pid) for f, pid in fetched])
            fetch_id = {id(f): fid for (f, _), fid in zip(fetched, fetch_ids, strict=True)}
            counts["fetches"] += len(fetched)
            listings = [item for item in entries if isinstance(item, ListingItem)]
            problems = [item for item in entries if isinstance(item, ProblemItem)]
            reports = [item for item in entries if isinstance(item, ReportItem)]
            reads = [item for item in entries if isinstance(item, PortalReadItem)]
            revalidated = [item for item in entries if isinstance(item, Revalidated)]
            self._store_reads(conn, [r for r in reads if r.finished_at is None])
            self._store_listings(conn, listings, counts)
            problem_rows = [
                _problem_row(self.run_id, p.portal_id, p.agency_id, p.url, p.kind, p.detail) for p in problems
            ]
            for p in problems:
                counts[f"problems_{p.kind}"] += 1
            if reports:
                problem_rows += self._store_reports(conn, reports, fetch_id, counts)
            if revalidated:
                self._store_revalidated(conn, revalidated, counts)
            self._store_validators(conn, reports)
            if problem_rows:
                conn.execute(insert(PROBLEM), problem_rows)
            self._store_reads(conn, [r for r in reads if r.finished_at is not None])
        self.counts.update(counts)
        for p in problems:
            log.warning("crawl problem (%s) at %s: %s", p.kind, p.url, p.detail)

    def _archive_all(self, fetched: list[Fetched]) -> None:
        """Every body of a batch on disk (fsync'ed) before its rows are committed — written side by side:
        the disk commits simultaneous fsyncs together, one after the other costs one disk flush each
        (measured here: 8 ms a file one by one, 1 ms eight at a time)."""
        if len(fetched) <= 1:
            for f in fetched:
                self.archive.put(f.body, f.sha256)
            return
        for _ in _archive_pool().map(lambda f: self.archive.put(f.body, f.sha256), fetched):
            pass  # (an error in any write is raised here: the batch is not committed)

    def _fetch_row(self, f: Fetched, portal_id: str, sha256: str | None = None) -> dict[str, Any]:
        return {
            "url": f.url,
            "final_url": f.final_url,
            "sha256": sha256 or f.sha256,
            "size": len(f.body),
            "http_status": f.status,
            "content_type": f.content_type,
            "headers": f.headers,
            "fetched_at": f.fetched_at,
            "portal_id": portal_id,
            "run_id": self.run_id,
        }

    def _store_listings(self, conn: Connection, listings: list[ListingItem], counts: Counter[str]) -> None:
        if not listings:
            return
        conn.execute(
            insert(LISTING),
            [
                {
                    "portal_id": item.portal_id,
                    "url": item.page.final_url,
                    "fetched_at": item.page.fetched_at,
                    "sha256": item.page.sha256,
                    "report_urls": list(dict.fromkeys(item.report_urls)),
                    "run_id": self.run_id,
                }
                for item in listings
            ],
        )
        counts["listing_pages"] += len(listings)
        if self._platform_set is None:
            self._platform_set = set(conn.scalars(select(PORTAL.c.id).where(PORTAL.c.platform.is_not(None))))
        found = {item.portal_id: item.platform for item in listings if item.platform}
        for portal_id, platform in found.items():
            if portal_id not in self._platform_set:
                conn.execute(
                    update(PORTAL)
                    .where(PORTAL.c.id == portal_id, PORTAL.c.platform.is_(None))
                    .values(platform=platform)
                )
                self._platform_set.add(portal_id)

    def _store_reports(
        self,
        conn: Connection,
        reports: list[ReportItem],
        fetch_id: dict[int, int],
        counts: Counter[str],
    ) -> list[dict[str, Any]]:
        """Upsert the batch's reports and versions; returns the problem rows they call for."""
        now = utcnow()
        urls = list(dict.fromkeys(item.url for item in reports))
        rows: dict[str, dict[str, Any]] = {
            r["url"]: dict(r) for r in conn.execute(select(REPORT).where(REPORT.c.url.in_(urls))).mappings()
        }
        stored = {url: dict(rep) for url, rep in rows.items()}  # as read, to write back only what changed
        for item in reports:
            rep = rows.get(item.url)
            if rep is None:
                rep = rows[item.url] = {
                    **_NEW_REPORT,
                    "attachment_urls": [],
                    "url": item.url,
                    "portal_id": item.portal_id,
                    "first_seen": now,
                    "last_seen": now,
                }
                counts["reports_new"] += 1
            if item.page is not None:
                counts["report_pages"] += 1
            if item.document_is_attachment:
                counts["attachments"] += 1
            rep["last_seen"] = now
            rep["portal_id"] = item.portal_id
            rep["listing_url"] = item.listing_url or rep["listing_url"]
            self._page_facts(rep, item)
        new = [rep for rep in rows.values() if rep["id"] is None]
        for rep in new:
            del rep["id"]
        for rep, rid in zip(new, _insert_returning_ids(conn, REPORT, new), strict=True):
            rep["id"] = rid

        versions = self._versions_of(conn, reports, rows, fetch_id, counts)
        problem_rows = []
        for item in reports:
            rep = rows[item.url]
            problem_kind, problem_detail = item.problem_kind, item.problem_detail
            if item.document is not None:
                version_id = versions.get((rep["id"], item.document.sha256))
                if version_id is not None:
                    if rep["current_version_id"] is not None and rep["current_version_id"] != version_id:
                        rep["last_changed"] = now
                        counts["reports_changed"] += 1
                    rep["current_version_id"] = version_id
            if problem_kind:
                url = item.document.url if item.document else (item.attachment_urls or [item.url])[0]
                problem_rows.append(
                    _problem_row(
                        self.run_id, item.portal_id, rep["agency_id"], url, problem_kind, problem_detail
                    )
                )
                counts[f"problems_{problem_kind}"] += 1
            # a fetch problem stands until the report's document is fetched again
            rep["crawl_problem"] = problem_kind if problem_kind or rep["current_version_id"] is None else None
            counts["reports_seen"] += 1
        changed, seen_only = [], []
        for url, rep in rows.items():
            if _differs(rep, stored.get(url), ignore="last_seen"):
                changed.append(rep)
            else:
                seen_only.append(rep["id"])
        _update_by_id(conn, REPORT, changed)
        if seen_only:  # a re-crawl of unchanged reports: one statement for all of them
            conn.execute(update(REPORT).where(REPORT.c.id.in_(seen_only)).values(last_seen=now))
        return problem_rows

    def _versions_of(
        self,
        conn: Connection,
        reports: list[ReportItem],
        rows: dict[str, dict[str, Any]],
        fetch_id: dict[int, int],
        counts: Counter[str],
    ) -> dict[tuple[int, str], int]:
        """(report id, sha256) → version id of every document in the batch; new documents become new
        versions (read later by the reading stage)."""
        wanted = {(rows[item.url]["id"], item.document.sha256) for item in reports if item.document}
        if not wanted:
            return {}
        q = select(VERSION.c.id, VERSION.c.report_id, VERSION.c.sha256).where(
            VERSION.c.report_id.in_({rid for rid, _ in wanted})
        )
        found = {(rid, sha): vid for vid, rid, sha in conn.execute(q) if (rid, sha) in wanted}
        pending: dict[tuple[int, str], dict[str, Any]] = {}
        for item in reports:
            doc = item.document
            key = (rows[item.url]["id"], doc.sha256) if doc is not None else None
            if key is None or key in found or key in pending:
                continue
            pending[key] = _version_row(key[0], doc, fetch_id[id(doc)])
        for key, vid in zip(
            pending, _insert_returning_ids(conn, VERSION, list(pending.values())), strict=True
        ):
            found[key] = vid
        counts["versions_new"] += len(pending)
        return found

    def _page_facts(self, rep: dict[str, Any], item: ReportItem) -> None:
        """What the portal says about the report, as printed (attribution and dates are decided later, from
        these: ``crawler.reading.attribution``, ``monitor.status.publication``)."""
        header = None
        if item.document is not None and item.document_is_attachment:
            header = item.document.headers.get("Last-Modified")
        rep["title"] = item.title or rep["title"]
        rep["link_text"] = item.link_text or rep["link_text"]
        rep["column"] = item.column or rep["column"]
        rep["content_source"] = item.content_source or rep["content_source"]
        if item.attachment_urls:
            rep["attachment_urls"] = list(item.attachment_urls)
        rep["listing_date"] = item.listing_date or rep["listing_date"]
        if item.page_unchanged:  # the page answered 304: its words stand; a new attachment brings its header
            if item.document is not None:
                rep["pub_header"] = header
        elif item.page is not None or item.document is not None:  # fetched now: what it says now
            rep["pub_meta"], rep["pub_text"], rep["pub_header"] = item.pub_meta, item.pub_text, header
        _remember_dates(rep)

    # --- revalidation, validators, portal reads ---

    def _store_revalidated(self, conn: Connection, items: list[Revalidated], counts: Counter[str]) -> None:
        """304s: a Fetch (status 304, no body, naming the archived bytes it confirms), the URL checked now,
        the report seen now and standing fine."""
        rows = [
            {
                **self._fetch_row(item.response, item.portal_id, item.sha256 or "-"),
                "url": item.url,
                "size": len(item.response.body),  # 0 for a 304
            }
            for item in items
        ]
        conn.execute(insert(FETCH), rows)
        now = utcnow()
        conn.execute(
            update(URLSTATE).where(URLSTATE.c.url.in_({i.url for i in items})).values(checked_at=now)
        )
        conn.execute(
            update(REPORT)
            .where(REPORT.c.url.in_({i.report_url for i in items}))
            .values(last_seen=now, crawl_problem=None)
        )
        counts["revalidated"] += sum(1 for i in items if i.response.status == 304)
        counts["unchanged"] += sum(1 for i in items if i.response.status != 304)
        counts["reports_seen"] += len({i.report_url for i in items})

    def _store_validators(self, conn: Connection, reports: list[ReportItem]) -> None:
        """Each report page and document fetched fine now: its validators, for the next sweep's
        conditional request."""
        rows: dict[str, dict[str, Any]] = {}
        for item in reports:
            for f in (item.page, item.document):
                if f is None or f.status != 200:
                    continue
                rows[f.url] = {
                    "url": f.url,
                    "portal_id": item.portal_id,
                    "etag": _header(f.headers, "ETag"),
                    "last_modified": _header(f.headers, "Last-Modified"),
                    "sha256": f.sha256,
                    "size": len(f.body),
                    "fetched_at": f.fetched_at,
                    "checked_at": f.fetched_at,
                }
        if rows:
            conn.execute(upserting(conn, URLSTATE, ["url"], _URLSTATE_COLUMNS), list(rows.values()))

    def _store_reads(self, conn: Connection, reads: list[PortalReadItem]) -> None:
        """A portal read begun (its row, unfinished: what a killed crawl leaves) or ended (complete or not)."""
        if self.run_id is None:
            return
        for item in reads:
            row = {
                "run_id": self.run_id,
                "portal_id": item.portal_id,
                "started_at": item.started_at,
                "finished_at": item.finished_at,
                "complete": item.complete,
                "listing_pages": item.listing_pages,
                "failed_pages": item.failed_pages,
                "report_links": item.report_links,
                "end_reason": item.end_reason,
            }
            if item.finished_at is None:
                conn.execute(insert_ignoring(conn, READ, ["run_id", "portal_id"]), [row])
                continue
            done = conn.execute(
                update(READ)
                .where(READ.c.run_id == self.run_id, READ.c.portal_id == item.portal_id)
                .where(READ.c.finished_at.is_(None))
                .values({k: v for k, v in row.items() if k not in ("run_id", "portal_id", "started_at")})
            )
            if done.rowcount == 0:  # ended without a row begun (never started), unless ended already
                conn.execute(insert_ignoring(conn, READ, ["run_id", "portal_id"]), [row])
            log.info(
                "portal %s: listing read %s (%s: %d listing pages, %d failed, %d report links)",
                item.portal_id,
                "complete" if item.complete else "INCOMPLETE",
                item.end_reason,
                item.listing_pages,
                item.failed_pages,
                item.report_links,
            )

    def known_urls(self, portal_id: str) -> dict[str, Known]:
        """What earlier crawls stored about a portal's report URLs and their documents (the spider's
        revalidation decisions): validators from ``UrlState``, standing from ``Report``."""
        out: dict[str, Known] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(URLSTATE).where(URLSTATE.c.portal_id == portal_id)).mappings():
                out[row["url"]] = Known(
                    etag=row["etag"],
                    last_modified=row["last_modified"],
                    checked_at=row["checked_at"],
                    sha256=row["sha256"],
                )
            q = (
                select(
                    REPORT.c.url, REPORT.c.crawl_problem, REPORT.c.current_version_id, VERSION.c.document_url
                )
                .select_from(REPORT.outerjoin(VERSION, VERSION.c.id == REPORT.c.current_version_id))
                .where(REPORT.c.portal_id == portal_id)
            )
            for url, problem, version_id, document_url in conn.execute(q):
                known = out.get(url)
                if known is None:
                    continue  # never fetched with validators recorded: asked as new
                known.report_ok = version_id is not None and problem is None
                known.document_url = document_url
        return out


_ARCHIVE_WRITERS = 8
_archive_writers: list[ThreadPoolExecutor] = []


def _archive_pool() -> ThreadPoolExecutor:
    """The threads writing a batch's archive files side by side (made once, for the process)."""
    if not _archive_writers:
        _archive_writers.append(
            ThreadPoolExecutor(max_workers=_ARCHIVE_WRITERS, thread_name_prefix="gkwatch-archive")
        )
    return _archive_writers[0]


def _header(headers: dict[str, str], name: str) -> str | None:
    """A response header by name, whatever its case (HTTP headers are case-insensitive)."""
    low = name.lower()
    for k, v in headers.items():
        if k.lower() == low:
            return v or None
    return None


def _fetched_of(entries: Sequence[Any]) -> list[tuple[Fetched, str]]:
    """Every response the items carry, once each (a report page that is its own document is one Fetch)."""
    out: dict[int, tuple[Fetched, str]] = {}
    for item in entries:
        if isinstance(item, ListingItem):
            out.setdefault(id(item.page), (item.page, item.portal_id))
        elif isinstance(item, ReportItem):
            for f in (item.page, item.document, *item.evidence):  # evidence: a picture report's images
                if f is not None:
                    out.setdefault(id(f), (f, item.portal_id))
    return list(out.values())


def _problem_row(
    run_id: int | None, portal_id: str, agency_id: str | None, url: str, kind: str, detail: str
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "portal_id": portal_id,
        "agency_id": agency_id,
        "url": url,
        "kind": kind,
        "detail": (detail or "")[:2000],
        "at": utcnow(),
    }


_DATES = ("pub_meta", "pub_text", "listing_date", "pub_header")


def _remember_dates(rep: dict[str, Any]) -> None:
    """Keep every set of dates the portal has printed for the report, each with when it was first seen: a
    report re-uploaded with a new date after the deadline still has its first date on record
    (``monitor.status.publication`` takes the earliest credible one and shows them all)."""
    printed = {k: rep.get(k) for k in _DATES}
    if not any(printed.values()):
        return
    history = list(rep.get("pub_history") or [])
    if history and {k: history[-1].get(k) for k in _DATES} == printed:
        return
    history.append({**printed, "seen": utcnow().isoformat()})
    rep["pub_history"] = history[-20:]


def _version_row(report_id: int, doc: Fetched, fetch_id: int) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "sha256": doc.sha256,
        "fetch_id": fetch_id,
        "document_url": doc.final_url or doc.url,
        "fetched_at": doc.fetched_at,
    }


def _insert_returning_ids(conn: Connection, table, rows: list[dict[str, Any]]) -> list[int]:  # noqa: ANN001
    """INSERT many rows in one statement per few hundred (SQLAlchemy's "insertmanyvalues"); their new
    ids, in the rows' order."""
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(conn.execute(stmt, rows).scalars())


def _differs(row: dict[str, Any], before: dict[str, Any] | None, ignore: str) -> bool:
    """Whether a row needs more written than its ``ignore`` column (a new row always does)."""
    return before is None or any(v != before.get(k) for k, v in row.items() if k != ignore)


def _update_by_id(conn: Connection, table, rows: list[dict[str, Any]]) -> None:  # noqa: ANN001
    """UPDATE every column of rows (dicts holding them all, ``id`` included) in one executemany."""
    if not rows:
        return
    columns = [c.name for c in table.columns if c.name != "id"]
    stmt = update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(c) for c in columns})
    conn.execute(stmt, [{"row_id": r["id"], **{c: r[c] for c in columns}} for r in rows])


class StorePipeline:
    """Scrapy item pipeline around ``ReportStore``; owns a CrawlRun when started by ``scrapy crawl``.

    Items are collected into batches on the reactor and stored by ONE writer thread (archive writes with
    fsync, one transaction per batch), so writes never race and the reactor keeps fetching meanwhile; when
    the writer falls ``BATCHES_AHEAD`` batches behind, new items wait for it (memory stays bounded).

    A portal read's end (``PortalReadItem`` with ``finished_at``) waits here until the items its portal's
    callbacks yielded before it have all arrived (``after_items``), so that it is committed after them.
    """

    def __init__(self, crawler):  # noqa: ANN001
        self.crawler = crawler
        self.store: ReportStore | None = None
        self.own_run = False
        self.run = None  # the run this pipeline opened (``scrapy crawl``), a crawler.portal.runs.RunHandle
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gkwatch-store")
        self._pending: list[Any] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: deque[asyncio.Future] = deque()  # batches handed to the writer, oldest first
        self._arrived: Counter[str] = Counter()  # items arrived through process_item, per portal
        self._ends: list[PortalReadItem] = []  # portal reads ended, waiting for their items
        self._cpu_start = time.process_time()

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001
        return cls(crawler)

    def open_spider(self, spider=None) -> None:  # noqa: ANN001
        spider = spider or self.crawler.spider
        config: Config = spider.config
        engine = make_engine(config.database_url)
        run_id = getattr(spider, "run_id", None)
        if run_id is None:  # `scrapy crawl portal -a config=…`: this process is the run
            from crawler.portal.runs import open_run

            init_db(engine)  # (``gkwatch crawl`` migrated the database before opening its run)

            self.run = open_run(engine, config, [p.id for p in spider.portals])
            run_id = spider.run_id = self.run.run_id
            spider.busy = self.run.busy
            self.own_run = True
        self.store = ReportStore(engine, open_archive(config), config, run_id)
        spider.store_counts = self.store.counts
        spider.known_loader = self.store.known_urls
        for item in getattr(spider, "side_items", ()):  # emitted before the pipeline was there
            self.accept(item)
        spider.emit = self.accept
        # Everything allocated so far (imported modules, settings, table metadata) lives as long as the
        # crawl: out of the collector's sight, each full collection during the crawl has far less to walk.
        gc.freeze()
        self._cpu_start = time.process_time()  # the crawl's own CPU (all threads), for run stats and benches

    def close_spider(self, spider=None) -> None:  # noqa: ANN001
        spider = spider or self.crawler.spider
        gc.unfreeze()
        finish = getattr(spider, "finish_reads", None)
        for item in finish() if finish is not None else ():
            self.accept(item)
        self._pending.extend(self._ends)  # everything has arrived: no read waits any longer
        self._ends = []
        self._flush()
        self._writer.shutdown(wait=True)
        assert self.store is not None
        for k, v in self.store.counts.items():
            self.crawler.stats.set_value(f"gkwatch/{k}", v)
        for k, v in getattr(spider, "counts", {}).items():
            self.crawler.stats.set_value(f"gkwatch/{k}", v)
        self.crawler.stats.set_value("gkwatch/cpu_seconds", round(time.process_time() - self._cpu_start, 3))
        if self.own_run:
            from crawler.portal.runs import close_run

            reason = self.crawler.stats.get_value("finish_reason") or "finished"
            unfinished = bool(getattr(spider, "tracker", None) and spider.tracker.unfinished())
            status = "finished" if reason == "finished" and not unfinished else "interrupted"
            close_run(self.run, status, dict(self.store.counts))

    async def process_item(self, item, spider=None):  # noqa: ANN001
        self._pending.append(item)
        portal_id = getattr(item, "portal_id", None)
        if portal_id is not None:
            self._arrived[portal_id] += 1
            if self._ends:
                self._release_ends()
        if len(self._pending) >= BATCH_ITEMS:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(BATCH_SECONDS, self._flush)
        while self._writing and self._writing[0].done():  # the writer commits batches in order
            self._writing.popleft()
        while len(self._writing) > BATCHES_AHEAD:
            await asyncio.shield(self._writing.popleft())
        return item

    def accept(self, item: Any) -> None:
        """Take an item no callback yielded (the spider's ``emit``): stored with the next batch; a read's
        end waits for its portal's items."""
        if isinstance(item, PortalReadItem) and item.finished_at is not None:
            self._ends.append(item)
            self._release_ends()
        else:
            self._pending.append(item)
        if self._timer is None and self._pending:
            try:
                self._timer = asyncio.get_running_loop().call_later(BATCH_SECONDS, self._flush)
            except RuntimeError:  # no loop (closing, tests): the next flush takes it
                pass

    def _release_ends(self) -> None:
        ready = [e for e in self._ends if self._arrived[e.portal_id] >= e.after_items]
        if ready:
            self._ends = [e for e in self._ends if e not in ready]
            self._pending.extend(ready)

    def _flush(self) -> None:
        """Hand the items collected so far to the writer thread as one batch."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        future = self._writer.submit(self._write, batch)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # close_spider outside the loop: the writer's shutdown waits for it
            return
        self._writing.append(asyncio.wrap_future(future, loop=loop))

    def _write(self, batch: list[Any]) -> None:
        """Store a batch; if it fails, store its items one by one, so that one bad item loses only itself."""
        store = self.store
        assert store is not None
        try:
            store.store_batch(batch)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("could not store %s", _describe(batch[0]))
                return
            log.exception("could not store a batch of %d items; storing them one by one", len(batch))
        for item in batch:
            try:
                store.store_batch([item])
            except Exception:
                log.exception("could not store %s", _describe(item))


def _describe(item: Any) -> str:
    """An item in a log line: its kind and URL (its repr would carry whole response bodies)."""
    url = (
        getattr(item, "url", None)
        or getattr(getattr(item, "page", None), "url", None)
        or getattr(item, "portal_id", None)
    )
    return f"{type(item).__name__} {url}"
