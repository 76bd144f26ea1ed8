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
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine

from crawler.portal.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.portal.platforms.base import year_from_title, year_from_url
from crawler.reading.attribution import AgencyMatcher
from crawler.reading.parse import ParsedReport
from crawler.reading.workers import ParserPool
from domain.config import Config
from monitor.status.publication import choose_pubdate
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

Entry = tuple[Any, ParsedReport | None]  # an item the spider yielded, and what the parser made of it


def document_filename(url: str, fetched: Fetched | None = None) -> str:
    """A file name for the parser (its extension is a hint; the parser trusts the bytes)."""
    name = unquote(PurePosixPath(urlsplit(url).path).name) or "index.html"
    ctype = (fetched.content_type or "").lower() if fetched else ""
    if "." not in name and "html" in ctype:
        name += ".html"
    return name


def parse_document(data: bytes, filename: str):
    """``parse_bytes`` in this process (tests, tools); the crawl itself parses in ``ParserPool``."""
    from crawler.reading.workers import parse_document as parse

    return parse(data, filename)


class ReportStore:
    """Writes the crawler's findings into the database and the archive, a batch of items at a time.

    ``store_batch`` is the one way in; ``store`` / ``store_report`` / ``store_listing`` / ``store_problem``
    store one item (tools, tests). ``known_version`` answers from memory: the versions of a portal's
    reports are read once, the first time one of its reports is asked about, then kept up to date.
    """

    def __init__(self, engine: Engine, archive: Archive, config: Config, run_id: int | None = None):
        self.engine, self.archive, self.config, self.run_id = engine, archive, config, run_id
        self.matcher = AgencyMatcher(config.agencies)
        self.counts: Counter[str] = Counter()
        self._versions: dict[str, dict[str, set[str]]] = {}  # portal → report URL → version sha256s
        self._platform_set: set[str] | None = None  # portals whose platform is recorded already

    # --- what is known already ---

    def known_version(self, item: ReportItem) -> bool:
        """Whether the report already has a version with these bytes (then there is nothing to parse)."""
        if item.document is None:
            return True
        urls = self._versions.get(item.portal_id)
        if urls is None:
            urls = self._versions[item.portal_id] = self._load_versions(item.portal_id)
        return item.document.sha256 in urls.get(item.url, ())

    def forget(self, portal_ids: set[str]) -> None:
        """Drop what is known of portals whose crawl is over (memory stays that of the portals underway)."""
        for portal_id in portal_ids & self._versions.keys():
            del self._versions[portal_id]

    def _load_versions(self, portal_id: str) -> dict[str, set[str]]:
        q = (
            select(REPORT.c.url, VERSION.c.sha256)
            .join(VERSION, VERSION.c.report_id == REPORT.c.id)
            .where(REPORT.c.portal_id == portal_id)
        )
        out: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            for url, sha in conn.execute(q):
                out.setdefault(url, set()).add(sha)
        return out

    # --- one item at a time ---

    def store(self, item: Any, parsed: ParsedReport | None = None) -> None:
        """Store any item the spider yields."""
        self.store_batch([(item, parsed)])

    def store_report(self, item: ReportItem, parsed: ParsedReport | None = None) -> None:
        """Upsert the report, its evidence, its version (new bytes → new version) and its trouble."""
        self.store_batch([(item, parsed)])

    def store_listing(self, item: ListingItem) -> None:
        self.store_batch([(item, None)])

    def store_problem(self, item: ProblemItem) -> None:
        self.store_batch([(item, None)])

    # --- a batch ---

    def store_batch(self, entries: Sequence[Entry]) -> None:
        """Store items in one transaction: all of them or (on error) none; the archive files first."""
        if not entries:
            return
        fetched = _fetched_of(entries)
        for f, _ in fetched:
            self.archive.put(f.body, f.sha256)
        counts: Counter[str] = Counter()
        new_versions: list[tuple[str, str, str]] = []
        with self.engine.begin() as conn:
            fetch_ids = _insert_returning_ids(conn, FETCH, [self._fetch_row(f, pid) for f, pid in fetched])
            fetch_id = {id(f): fid for (f, _), fid in zip(fetched, fetch_ids, strict=True)}
            counts["fetches"] += len(fetched)
            listings = [item for item, _ in entries if isinstance(item, ListingItem)]
            problems = [item for item, _ in entries if isinstance(item, ProblemItem)]
            reports = [(item, parsed) for item, parsed in entries if isinstance(item, ReportItem)]
            self._store_listings(conn, listings, counts)
            problem_rows = [
                _problem_row(self.run_id, p.portal_id, p.agency_id, p.url, p.kind, p.detail) for p in problems
            ]
            for p in problems:
                counts[f"problems_{p.kind}"] += 1
            if reports:
                problem_rows += self._store_reports(conn, reports, fetch_id, counts, new_versions)
            if problem_rows:
                conn.execute(insert(PROBLEM), problem_rows)
        self.counts.update(counts)
        for p in problems:
            log.warning("crawl problem (%s) at %s: %s", p.kind, p.url, p.detail)
        for portal_id, url, sha in new_versions:
            urls = self._versions.get(portal_id)
            if urls is not None:
                urls.setdefault(url, set()).add(sha)

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
        reports: list[tuple[ReportItem, ParsedReport | None]],
        fetch_id: dict[int, int],
        counts: Counter[str],
        new_versions: list[tuple[str, str, str]],
    ) -> list[dict[str, Any]]:
        """Upsert the batch's reports and versions; returns the problem rows they call for."""
        now = utcnow()
        urls = list(dict.fromkeys(item.url for item, _ in reports))
        rows: dict[str, dict[str, Any]] = {
            r["url"]: dict(r) for r in conn.execute(select(REPORT).where(REPORT.c.url.in_(urls))).mappings()
        }
        stored = {url: dict(rep) for url, rep in rows.items()}  # as read, to write back only what changed
        for item, parsed in reports:
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
            rep["title"] = item.title or (parsed.title if parsed else None) or rep["title"]
            if item.attachment_urls:
                rep["attachment_urls"] = list(item.attachment_urls)
            self._identify(rep, item, parsed)
            self._date(rep, item)
        new = [rep for rep in rows.values() if rep["id"] is None]
        for rep in new:
            del rep["id"]
        for rep, rid in zip(new, _insert_returning_ids(conn, REPORT, new), strict=True):
            rep["id"] = rid

        versions = self._versions_of(conn, reports, rows, fetch_id, counts, new_versions)
        problem_rows = []
        for item, _ in reports:
            rep = rows[item.url]
            problem_kind, problem_detail = item.problem_kind, item.problem_detail
            if item.document is not None:
                version = versions.get((rep["id"], item.document.sha256))
                if version is not None:
                    version_id, error = version
                    if rep["current_version_id"] is not None and rep["current_version_id"] != version_id:
                        rep["last_changed"] = now
                        counts["reports_changed"] += 1
                    rep["current_version_id"] = version_id
                    if error:
                        problem_kind, problem_detail = "parse_failed", error
            if problem_kind:
                url = item.document.url if item.document else (item.attachment_urls or [item.url])[0]
                problem_rows.append(
                    _problem_row(
                        self.run_id, item.portal_id, rep["agency_id"], url, problem_kind, problem_detail
                    )
                )
                counts[f"problems_{problem_kind}"] += 1
            if problem_kind == "parse_failed" or rep["current_version_id"] is None:
                rep["crawl_problem"] = problem_kind
            else:
                rep["crawl_problem"] = None
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
        reports: list[tuple[ReportItem, ParsedReport | None]],
        rows: dict[str, dict[str, Any]],
        fetch_id: dict[int, int],
        counts: Counter[str],
        new_versions: list[tuple[str, str, str]],
    ) -> dict[tuple[int, str], tuple[int, str | None]]:
        """(report id, sha256) → (version id, parse error) of every document in the batch; new documents
        that were parsed become new versions."""
        wanted = {(rows[item.url]["id"], item.document.sha256) for item, _ in reports if item.document}
        if not wanted:
            return {}
        q = select(VERSION.c.id, VERSION.c.report_id, VERSION.c.sha256, VERSION.c.error).where(
            VERSION.c.report_id.in_({rid for rid, _ in wanted})
        )
        found = {(rid, sha): (vid, err) for vid, rid, sha, err in conn.execute(q) if (rid, sha) in wanted}
        pending: dict[tuple[int, str], dict[str, Any]] = {}
        for item, parsed in reports:
            doc = item.document
            key = (rows[item.url]["id"], doc.sha256) if doc is not None else None
            if key is None or parsed is None or key in found or key in pending:
                continue
            pending[key] = _version_row(key[0], doc, fetch_id[id(doc)], parsed)
            new_versions.append((item.portal_id, item.url, doc.sha256))
        for key, vid in zip(
            pending, _insert_returning_ids(conn, VERSION, list(pending.values())), strict=True
        ):
            found[key] = (vid, pending[key]["error"])
        counts["versions_new"] += len(pending)
        return found

    def _identify(self, rep: dict[str, Any], item: ReportItem, parsed: ParsedReport | None) -> None:
        match = self.matcher.match(
            portal_id=item.portal_id,
            content_source=item.content_source,
            title=item.title,
            column=item.column,
            document_agency=parsed.agency if parsed else None,
        )
        if match is not None:
            rep["agency_id"], rep["agency_name"] = match.agency_id, match.name
        year = (
            year_from_title(item.title)
            or (parsed.year if parsed else None)
            or year_from_title(item.column)
            or year_from_url(item.url)
        )
        if year:
            rep["year"] = year

    def _date(self, rep: dict[str, Any], item: ReportItem) -> None:
        header = None
        if item.document is not None and item.document_is_attachment:
            header = item.document.headers.get("Last-Modified")
        rep["pub_meta"], rep["pub_text"], rep["pub_header"] = item.pub_meta, item.pub_text, header
        pub = choose_pubdate(
            pub_meta=item.pub_meta, pub_text=item.pub_text, pub_header=header, first_seen=rep["first_seen"]
        )
        rep["published"], rep["published_evidence"] = pub.published, pub.evidence


def _fetched_of(entries: Sequence[Entry]) -> list[tuple[Fetched, str]]:
    """Every response the items carry, once each (a report page that is its own document is one Fetch)."""
    out: dict[int, tuple[Fetched, str]] = {}
    for item, _ in entries:
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


def _version_row(report_id: int, doc: Fetched, fetch_id: int, parsed: ParsedReport) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "sha256": doc.sha256,
        "fetch_id": fetch_id,
        "document_url": doc.final_url or doc.url,
        "fetched_at": doc.fetched_at,
        "format": parsed.format,
        "template": parsed.template,
        "year": parsed.year,
        "agency_name": parsed.agency,
        "title": parsed.title,
        "cells": dict(parsed.cells),
        "findings": list(parsed.findings),
        "prose": parsed.prose or None,
        "error": parsed.error,
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
    Parsing runs in worker processes (``GKWATCH_PARSE_PROCESSES``, default cores - 1, at least 1; 0
    parses in a thread), so neither a slow LibreOffice conversion nor the parser's CPU time holds up
    fetching or storing.
    """

    def __init__(self, crawler):  # noqa: ANN001
        self.crawler = crawler
        self.store: ReportStore | None = None
        self.own_run = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gkwatch-store")
        processes = crawler.settings.get("GKWATCH_PARSE_PROCESSES")
        self._parsers = ParserPool(None if processes in (None, "") else int(processes))
        self._pending: list[Entry] = []
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
        self._parsers.start()
        # Everything allocated so far (imported modules, settings, table metadata) lives as long as the
        # crawl: out of the collector's sight, each full collection during the crawl has far less to walk.
        gc.freeze()

    def close_spider(self, spider=None) -> None:  # noqa: ANN001
        gc.unfreeze()
        self._flush()
        self._writer.shutdown(wait=True)
        self._parsers.close()
        assert self.store is not None
        for k, v in self.store.counts.items():
            self.crawler.stats.set_value(f"gkwatch/{k}", v)
        self.crawler.stats.set_value("gkwatch/parse_cpu_seconds", round(self._parsers.cpu_seconds, 3))
        self.crawler.stats.set_value("gkwatch/parse_peak_kb", self._parsers.peak_kb)
        if self.own_run:
            reason = self.crawler.stats.get_value("finish_reason") or "finished"
            with session_scope(self.store.engine) as s:
                run = s.get(CrawlRun, self.store.run_id)
                if run is not None:
                    run.status = "finished" if reason == "finished" else "interrupted"
                    run.finished_at = utcnow()
                    run.stats = dict(self.store.counts)

    async def process_item(self, item, spider=None):  # noqa: ANN001
        store = self.store
        assert store is not None
        parsed = None
        if isinstance(item, ReportItem) and item.document is not None and not store.known_version(item):
            name = document_filename(item.document.final_url, item.document)
            parsed = await self._parsers.parse(item.document.body, name)
        self._pending.append((item, parsed))
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
        tracker = getattr(getattr(self.crawler, "spider", None), "tracker", None)
        if tracker is not None and self.store is not None:
            self.store.forget(tracker.done())
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # close_spider outside the loop: the writer's shutdown waits for it
            return
        self._writing.append(asyncio.wrap_future(future, loop=loop))

    def _write(self, batch: list[Entry]) -> None:
        """Store a batch; if it fails, store its items one by one, so that one bad item loses only itself."""
        store = self.store
        assert store is not None
        try:
            store.store_batch(batch)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("could not store %s", _describe(batch[0][0]))
                return
            log.exception("could not store a batch of %d items; storing them one by one", len(batch))
        for entry in batch:
            try:
                store.store_batch([entry])
            except Exception:
                log.exception("could not store %s", _describe(entry[0]))


def _describe(item: Any) -> str:
    """An item in a log line: its kind and URL (its repr would carry whole response bodies)."""
    url = getattr(item, "url", None) or getattr(getattr(item, "page", None), "url", None)
    return f"{type(item).__name__} {url}"
