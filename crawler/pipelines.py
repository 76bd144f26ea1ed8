"""Storing what the spider found: archive the bytes, upsert the rows, parse off the reactor thread.

Every item is committed as it arrives, and every write is an upsert keyed by what identifies it (a
report by URL, a version by (report, sha256)): a crawl killed mid-way loses at most the item in flight,
and running it again adds nothing twice. ``ReportStore`` is the storage logic (plain, testable without
Scrapy); ``StorePipeline`` is the Scrapy glue that parses in worker processes (``crawler.parsing``) so
that neither a slow LibreOffice conversion nor the parser's CPU time stalls fetching.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.agency_match import AgencyMatcher
from crawler.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.parsing import ParserPool
from crawler.platforms.base import year_from_title, year_from_url
from crawler.pubdate import choose_pubdate
from monitor.config import Config
from storage.archive import Archive
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlProblem, CrawlRun, Fetch, ListingSnapshot, Portal, Report, ReportVersion
from storage.types import utcnow

log = logging.getLogger(__name__)


def document_filename(url: str, fetched: Fetched | None = None) -> str:
    """A file name for the parser (its extension is a hint; the parser trusts the bytes)."""
    name = unquote(PurePosixPath(urlsplit(url).path).name) or "index.html"
    ctype = (fetched.content_type or "").lower() if fetched else ""
    if "." not in name and "html" in ctype:
        name += ".html"
    return name


def parse_document(data: bytes, filename: str):
    """``parse_bytes`` in this process (tests, tools); the crawl itself parses in ``ParserPool``."""
    from crawler.parsing import parse_document as parse

    return parse(data, filename)


class ReportStore:
    """Writes the crawler's findings into the database and the archive; one method per item kind."""

    def __init__(self, engine: Engine, archive: Archive, config: Config, run_id: int | None = None):
        self.engine, self.archive, self.config, self.run_id = engine, archive, config, run_id
        self.matcher = AgencyMatcher(config.agencies)
        self.counts: Counter[str] = Counter()

    # --- evidence ---

    def _fetch_row(self, s: Session, fetched: Fetched, portal_id: str) -> Fetch:
        sha = self.archive.put(fetched.body)
        row = Fetch(
            url=fetched.url,
            final_url=fetched.final_url,
            sha256=sha,
            size=len(fetched.body),
            http_status=fetched.status,
            content_type=fetched.content_type,
            headers=fetched.headers,
            fetched_at=fetched.fetched_at,
            portal_id=portal_id,
            run_id=self.run_id,
        )
        s.add(row)
        s.flush()
        self.counts["fetches"] += 1
        return row

    def store_listing(self, item: ListingItem) -> None:
        with session_scope(self.engine) as s:
            f = self._fetch_row(s, item.page, item.portal_id)
            s.add(
                ListingSnapshot(
                    portal_id=item.portal_id,
                    url=item.page.final_url,
                    fetched_at=item.page.fetched_at,
                    sha256=f.sha256,
                    report_urls=list(dict.fromkeys(item.report_urls)),
                )
            )
            portal = s.get(Portal, item.portal_id)
            if portal is not None and item.platform and not portal.platform:
                portal.platform = item.platform
        self.counts["listing_pages"] += 1

    def store_problem(self, item: ProblemItem) -> None:
        with session_scope(self.engine) as s:
            s.add(
                CrawlProblem(
                    run_id=self.run_id,
                    portal_id=item.portal_id,
                    agency_id=item.agency_id,
                    url=item.url,
                    kind=item.kind,
                    detail=item.detail[:2000],
                )
            )
        self.counts[f"problems_{item.kind}"] += 1
        log.warning("crawl problem (%s) at %s: %s", item.kind, item.url, item.detail)

    # --- reports ---

    def known_version(self, item: ReportItem) -> bool:
        """Whether the report already has a version with these bytes (then there is nothing to parse)."""
        if item.document is None:
            return True
        sha = hashlib.sha256(item.document.body).hexdigest()
        q = (
            select(ReportVersion.id)
            .join(Report, Report.id == ReportVersion.report_id)
            .where(Report.url == item.url, ReportVersion.sha256 == sha)
        )
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def store(self, item, parsed=None) -> None:  # noqa: ANN001
        """Store any item the spider yields."""
        if isinstance(item, ListingItem):
            self.store_listing(item)
        elif isinstance(item, ProblemItem):
            self.store_problem(item)
        elif isinstance(item, ReportItem):
            self.store_report(item, parsed)

    def store_report(self, item: ReportItem, parsed=None) -> Report:  # noqa: ANN001 (ParsedReport | None)
        """Upsert the report, its evidence, its version (new bytes → new version) and its trouble."""
        now = utcnow()
        with session_scope(self.engine) as s:
            page_fetch = self._fetch_row(s, item.page, item.portal_id) if item.page is not None else None
            doc_fetch = page_fetch
            if item.document is not None and item.document_is_attachment:
                doc_fetch = self._fetch_row(s, item.document, item.portal_id)
                self.counts["attachments"] += 1
            if page_fetch is not None:
                self.counts["report_pages"] += 1

            rep = s.exec(select(Report).where(Report.url == item.url)).first()
            if rep is None:
                rep = Report(url=item.url, portal_id=item.portal_id, first_seen=now, last_seen=now)
                s.add(rep)
                self.counts["reports_new"] += 1
            rep.last_seen = now
            rep.portal_id = item.portal_id
            rep.listing_url = item.listing_url or rep.listing_url
            rep.title = item.title or (parsed.title if parsed else None) or rep.title
            if item.attachment_urls:
                rep.attachment_urls = list(item.attachment_urls)
            self._identify(rep, item, parsed)
            self._date(rep, item)
            s.flush()

            problem_kind, problem_detail = item.problem_kind, item.problem_detail
            if doc_fetch is not None:
                version = s.exec(
                    select(ReportVersion).where(
                        ReportVersion.report_id == rep.id, ReportVersion.sha256 == doc_fetch.sha256
                    )
                ).first()
                if version is None and parsed is not None:
                    version = self._new_version(s, rep, doc_fetch, item, parsed)
                if version is not None:
                    if rep.current_version_id is not None and rep.current_version_id != version.id:
                        rep.last_changed = now
                        self.counts["reports_changed"] += 1
                    rep.current_version_id = version.id
                    if version.error:
                        problem_kind, problem_detail = "parse_failed", version.error
            if problem_kind:
                s.add(
                    CrawlProblem(
                        run_id=self.run_id,
                        portal_id=item.portal_id,
                        agency_id=rep.agency_id,
                        url=(item.document.url if item.document else (item.attachment_urls or [item.url])[0]),
                        kind=problem_kind,
                        detail=problem_detail[:2000],
                    )
                )
                self.counts[f"problems_{problem_kind}"] += 1
            if problem_kind == "parse_failed" or rep.current_version_id is None:
                rep.crawl_problem = problem_kind
            else:
                rep.crawl_problem = None
        self.counts["reports_seen"] += 1
        return rep

    def _identify(self, rep: Report, item: ReportItem, parsed) -> None:  # noqa: ANN001
        match = self.matcher.match(
            portal_id=item.portal_id,
            content_source=item.content_source,
            title=item.title,
            column=item.column,
            document_agency=parsed.agency if parsed else None,
        )
        if match is not None:
            rep.agency_id, rep.agency_name = match.agency_id, match.name
        year = (
            year_from_title(item.title)
            or (parsed.year if parsed else None)
            or year_from_title(item.column)
            or year_from_url(item.url)
        )
        if year:
            rep.year = year

    def _date(self, rep: Report, item: ReportItem) -> None:
        header = None
        if item.document is not None and item.document_is_attachment:
            header = item.document.headers.get("Last-Modified")
        rep.pub_meta, rep.pub_text, rep.pub_header = item.pub_meta, item.pub_text, header
        pub = choose_pubdate(
            pub_meta=item.pub_meta, pub_text=item.pub_text, pub_header=header, first_seen=rep.first_seen
        )
        rep.published, rep.published_evidence = pub.published, pub.evidence

    def _new_version(
        self, s: Session, rep: Report, doc_fetch: Fetch, item: ReportItem, parsed
    ) -> ReportVersion:  # noqa: ANN001
        v = ReportVersion(
            report_id=rep.id,
            sha256=doc_fetch.sha256,
            fetch_id=doc_fetch.id,
            document_url=doc_fetch.final_url or doc_fetch.url,
            fetched_at=doc_fetch.fetched_at,
            format=parsed.format,
            template=parsed.template,
            year=parsed.year,
            agency_name=parsed.agency,
            title=parsed.title,
            cells=dict(parsed.cells),
            findings=list(parsed.findings),
            prose=parsed.prose or None,
            error=parsed.error,
        )
        s.add(v)
        s.flush()
        self.counts["versions_new"] += 1
        return v


class StorePipeline:
    """Scrapy item pipeline around ``ReportStore``; owns a CrawlRun when started by ``scrapy crawl``.

    Storing (archive writes with fsync, SQLite commits) runs in ONE writer thread, so writes never race
    and the reactor keeps fetching meanwhile; parsing runs in worker processes
    (``GKWATCH_PARSE_PROCESSES``, default cores - 1, at least 1; 0 parses in a thread), so neither a slow
    LibreOffice conversion nor the parser's CPU time holds up fetching or storing.
    """

    def __init__(self, crawler):  # noqa: ANN001
        self.crawler = crawler
        self.store: ReportStore | None = None
        self.own_run = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gkwatch-store")
        processes = crawler.settings.get("GKWATCH_PARSE_PROCESSES")
        self._parsers = ParserPool(None if processes in (None, "") else int(processes))

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
            from monitor.registry import sync_registry

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

    def close_spider(self, spider=None) -> None:  # noqa: ANN001
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
        if isinstance(item, ReportItem) and item.document is not None:
            if not await _in_thread(self._writer, store.known_version, item):
                name = document_filename(item.document.final_url, item.document)
                parsed = await self._parsers.parse(item.document.body, name)
        await _in_thread(self._writer, store.store, item, parsed)
        return item


async def _in_thread(executor: ThreadPoolExecutor, fn, *args):  # noqa: ANN001
    """Run ``fn`` in ``executor`` and await it from the reactor's asyncio loop (Scrapy's default)."""
    return await asyncio.wrap_future(executor.submit(fn, *args))
