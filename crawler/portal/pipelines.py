"""Storing what the spider found: archive the bytes, upsert the rows, parse off the reactor thread.

Items are stored in batches, one transaction each (``BATCH_ITEMS`` items, or what arrived within
``BATCH_SECONDS``), with SQLAlchemy Core statements that write a batch's rows in a few round trips: one
commit and one ORM flush per item cost more than fetching the page did. Every write is keyed by what
identifies it (a report by URL, a version by (report, sha256)), and a batch's archive files are on disk
before its rows are committed: a crawl killed mid-way loses at most the batch not yet committed, and
running it again adds nothing twice. ``ReportStore`` is the storage logic (plain, testable without
Scrapy); ``StorePipeline`` is the Scrapy glue that parses in worker processes (``crawler.reading.workers``) so
that neither a slow LibreOffice conversion nor the parser's CPU time stalls fetching.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine

from crawler.portal.items import Fetched, ListingItem, ProblemItem, ReportItem
from domain.config import Config
from storage.archive import Archive
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlProblem, CrawlRun, Fetch, ListingSnapshot, Portal, Report, ReportVersion
from storage.types import utcnow

log = logging.getLogger(__name__)

BATCH_ITEMS = 50  # items per transaction at most …
BATCH_SECONDS = 0.5  # … and a batch is committed this long after its first item at the latest
BATCHES_AHEAD = 2  # batches handed to the writer and not yet committed before new items wait

FETCH, LISTING, REPORT, VERSION, PROBLEM, PORTAL = (
    m.__table__ for m in (Fetch, ListingSnapshot, Report, ReportVersion, CrawlProblem, Portal)
)

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
        for f, _ in fetched:
            self.archive.put(f.body, f.sha256)
        counts: Counter[str] = Counter()
        with self.engine.begin() as conn:
            fetch_ids = _insert_returning_ids(conn, FETCH, [self._fetch_row(f, pid) for f, pid in fetched])
            fetch_id = {id(f): fid for (f, _), fid in zip(fetched, fetch_ids, strict=True)}
            counts["fetches"] += len(fetched)
            listings = [item for item in entries if isinstance(item, ListingItem)]
            problems = [item for item in entries if isinstance(item, ProblemItem)]
            reports = [item for item in entries if isinstance(item, ReportItem)]
            self._store_listings(conn, listings, counts)
            problem_rows = [
                _problem_row(self.run_id, p.portal_id, p.agency_id, p.url, p.kind, p.detail) for p in problems
            ]
            for p in problems:
                counts[f"problems_{p.kind}"] += 1
            if reports:
                problem_rows += self._store_reports(conn, reports, fetch_id, counts)
            if problem_rows:
                conn.execute(insert(PROBLEM), problem_rows)
        self.counts.update(counts)
        for p in problems:
            log.warning("crawl problem (%s) at %s: %s", p.kind, p.url, p.detail)

    def _fetch_row(self, f: Fetched, portal_id: str) -> dict[str, Any]:
        return {
            "url": f.url,
            "final_url": f.final_url,
            "sha256": f.sha256,
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
        if item.page is not None or item.document is not None:  # fetched now: what it says now
            rep["pub_meta"], rep["pub_text"], rep["pub_header"] = item.pub_meta, item.pub_text, header
        else:  # not fetched (an error): keep what an earlier fetch said, take the listing's date if new
            rep["pub_text"] = rep["pub_text"] or item.pub_text


def _fetched_of(entries: Sequence[Any]) -> list[tuple[Fetched, str]]:
    """Every response the items carry, once each (a report page that is its own document is one Fetch)."""
    out: dict[int, tuple[Fetched, str]] = {}
    for item in entries:
        if isinstance(item, ListingItem):
            out.setdefault(id(item.page), (item.page, item.portal_id))
        elif isinstance(item, ReportItem):
            for f in (item.page, item.document):
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
    """

    def __init__(self, crawler):  # noqa: ANN001
        self.crawler = crawler
        self.store: ReportStore | None = None
        self.own_run = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gkwatch-store")
        self._pending: list[Any] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: deque[asyncio.Future] = deque()  # batches handed to the writer, oldest first

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001
        return cls(crawler)

    def open_spider(self, spider=None) -> None:  # noqa: ANN001
        spider = spider or self.crawler.spider
        config: Config = spider.config
        engine = make_engine(config.database_url)
        init_db(engine)
        run_id = getattr(spider, "run_id", None)
        if run_id is None:  # `scrapy crawl portal -a config=…`: this process is the run
            from storage.registry import sync_registry

            with session_scope(engine) as s:
                sync_registry(s, config)
                run = CrawlRun(portal_ids=[p.id for p in spider.portals])
                s.add(run)
                s.flush()
                run_id = run.id
            spider.run_id = run_id
            self.own_run = True
        self.store = ReportStore(engine, Archive(config.archive_dir), config, run_id)
        spider.store_counts = self.store.counts
        # Everything allocated so far (imported modules, settings, table metadata) lives as long as the
        # crawl: out of the collector's sight, each full collection during the crawl has far less to walk.
        gc.freeze()

    def close_spider(self, spider=None) -> None:  # noqa: ANN001
        gc.unfreeze()
        self._flush()
        self._writer.shutdown(wait=True)
        assert self.store is not None
        for k, v in self.store.counts.items():
            self.crawler.stats.set_value(f"gkwatch/{k}", v)
        if self.own_run:
            reason = self.crawler.stats.get_value("finish_reason") or "finished"
            with session_scope(self.store.engine) as s:
                run = s.get(CrawlRun, self.store.run_id)
                if run is not None:
                    run.status = "finished" if reason == "finished" else "interrupted"
                    run.finished_at = utcnow()
                    run.stats = dict(self.store.counts)

    async def process_item(self, item, spider=None):  # noqa: ANN001
        self._pending.append(item)
        if len(self._pending) >= BATCH_ITEMS:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(BATCH_SECONDS, self._flush)
        while self._writing and self._writing[0].done():  # the writer commits batches in order
            self._writing.popleft()
        while len(self._writing) > BATCHES_AHEAD:
            await asyncio.shield(self._writing.popleft())
        return item

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
    url = getattr(item, "url", None) or getattr(getattr(item, "page", None), "url", None)
    return f"{type(item).__name__} {url}"
