"""The one spider: reads every configured portal through the platform module its pages belong to.

Listing pages (columns, pagination, data proxies, sub-columns) → report pages → attachments. Each report
becomes a ``ReportItem`` carrying its raw responses; each listing page a ``ListingItem`` (proof the portal
was readable and of what it showed); each failure a problem, classified so that the crawler's trouble is
never mistaken for an agency's silence.

Per portal and run the spider keeps a ``ReadProgress`` (``crawler.portal.tracking``) and says at the end,
in a ``PortalReadItem``, whether the listing was read to its end: every listing page fetched and read, no
bound (``crawler.portal.bounds``) reached, the crawl not stopped first.

Sweeps are incremental: a report page or attachment fetched before is asked again only after
``crawl.revalidate_known_after_days`` (spread over the second half of that span, per URL), and then
conditionally (``If-None-Match`` / ``If-Modified-Since``): a 304 is evidence it is still there unchanged
(``Revalidated``). New links are fetched at once; listing pages always.

``scrapy crawl portal -a config=config.yaml [-a portals=a,b] [-a agencies=x,y]`` or ``gkwatch crawl``.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.portal.bounds import Bounds, crawl_value
from crawler.portal.downloader import CrawlStopped
from crawler.portal.images import bundle_document, report_images  # OCR hook (issue 12)
from crawler.portal.items import (
    Fetched,
    Known,
    ListingItem,
    PortalReadItem,
    ProblemItem,
    ReportItem,
    Revalidated,
)
from crawler.portal.middlewares import (
    BLOCK_STATUSES,
    Blocked,
    OffsiteRedirect,
    RedirectLoop,
    RequestLimit,
    RobotsDisallowed,
)
from crawler.portal.platforms import Platform, detect, get_platform
from crawler.portal.platforms.base import is_attachment, parse_listing_html, redirect_target
from crawler.portal.settings import domain_names, host_of, settings_from_config, url_in_domains
from crawler.portal.tracking import PORTAL, PortalTracker, closes_ticket
from domain.config import Config, ConfigError, PortalConfig, load_config
from storage.types import utcnow

log = logging.getLogger(__name__)

# Which attachment to parse when a report page offers several copies: the most faithful format first.
ATTACHMENT_PREFERENCE = (".docx", ".xlsx", ".xls", ".doc", ".wps", ".et", ".pdf")


def select_portals(config: Config, portal_ids=(), agency_ids=()) -> list[PortalConfig]:  # noqa: ANN001
    """The portals to crawl: those named, plus the portals of the agencies named; all when none is."""
    wanted = set(portal_ids)
    by_id = {a.id: a for a in config.agencies}
    for aid in agency_ids:
        agency = by_id.get(aid)
        if agency is None:
            raise ConfigError(f"no agency with id {aid!r}")
        if not agency.portal:
            raise ConfigError(f"agency {aid!r} has no portal to crawl")
        wanted.add(agency.portal)
    for pid in wanted:
        config.portal(pid)  # raises for an unknown id
    return [p for p in config.portals if not wanted or p.id in wanted]


def portal_domains(portal: PortalConfig) -> list[str]:
    return list(portal.allowed_domains) or sorted({host_of(u) for u in portal.start_urls})


def _split(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def classify_failure(failure) -> tuple[str, str]:  # noqa: ANN001 (twisted Failure)
    """(kind, detail) of a failed request: blocked | robots | unreachable | limit | too_large."""
    exc = failure.value
    if isinstance(exc, Blocked):
        return "blocked", str(exc)
    if isinstance(exc, RobotsDisallowed):
        return "robots", str(exc)
    if isinstance(exc, RequestLimit):
        return "limit", str(exc)
    if isinstance(exc, RedirectLoop):
        return "unreachable", str(exc)
    if isinstance(exc, HttpError):
        status = exc.response.status
        if status in BLOCK_STATUSES:
            return "blocked", f"HTTP {status}"
        return "unreachable", f"HTTP {status}" + (" after retries" if status >= 500 else "")
    if isinstance(exc, OffsiteRedirect):
        return "unreachable", str(exc)
    if isinstance(exc, IgnoreRequest) and "offsite" in str(exc).lower():
        return "unreachable", f"outside allowed_domains, dropped: {exc}"
    if isinstance(exc, DownloadCancelledError) and (
        "max size" in str(exc) or failure.request.meta.get("download_maxsize")
    ):
        return "too_large", str(exc) or "download cancelled at the size cap"
    return "unreachable", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def revalidation_due(url: str, checked_at: datetime | None, days: float, now: datetime) -> bool:
    """Whether a known URL is asked again: after ``days × (0.5 … 1)`` since it was last confirmed, the factor
    fixed per URL (a hash), so that the URLs of one first sweep do not all come due on the same day."""
    if checked_at is None or days <= 0:
        return True
    spread = int.from_bytes(hashlib.blake2b(url.encode(), digest_size=2).digest(), "big") / 65535
    return now - checked_at >= timedelta(days=days * (0.5 + 0.5 * spread))


class PortalSpider(Spider):
    name = "portal"
    # Scrapy starts CONCURRENT_ITEMS tasks for the output of every response (100 by default); a callback
    # here yields one item and at most a listing's worth of requests, and 100 tasks per page cost more
    # than reading the page. Items still wait for their parse concurrently across responses.
    custom_settings = {"CONCURRENT_ITEMS": 16}

    def __init__(
        self,
        config: Config | str | None = None,
        portals: str | list[str] | None = None,
        agencies: str | list[str] | None = None,
        run_id: int | str | None = None,
        busy: dict[str, int] | None = None,
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.config = config if isinstance(config, Config) else load_config(config)
        self.portals = select_portals(self.config, _split(portals), _split(agencies))
        self._by_id = {p.id: p for p in self.portals}
        self._domains = {p.id: portal_domains(p) for p in self.portals}
        # Scrapy's offsite filter takes host names only; ports are checked by ``in_portal``
        self.allowed_domains = sorted({d for ds in self._domains.values() for d in domain_names(ds)})
        self.run_id = int(run_id) if run_id not in (None, "") else None
        self.store_counts: dict = {}
        self.bounds = Bounds.from_config(self.config.crawl)
        self.revalidate_days = float(crawl_value(self.config.crawl, "revalidate_known_after_days"))
        self.tracker = PortalTracker(on_done=self._portal_done)
        self.busy: dict[str, int] = dict(busy or {})  # portals another live run is crawling: skipped
        self.counts: Counter[str] = Counter()  # what the spider decided without fetching
        # Where items that no callback yields go (bounds reached, reads begun and ended): the store
        # pipeline sets this to its own intake; without one they are kept here.
        self.side_items: list[Any] = []
        self.emit: Callable[[Any], None] = self.side_items.append
        self.known_loader: Callable[[str], dict[str, Known]] | None = None  # set by the store pipeline
        self._known: dict[str, dict[str, Known]] = {}
        self._platforms: dict[str, Platform] = {}  # detected once per portal
        self.stopping = False  # set when the crawl is being stopped: reads ending now were cut short

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):  # noqa: ANN001, ANN206
        """Also apply config.yaml's crawl settings (delay, robots, User-Agent contact, timeouts, size cap).

        ``gkwatch crawl`` passes them already; under ``scrapy crawl portal -a config=…`` this is where they
        come from (Scrapy applies settings after creating the spider). ``-s KEY=VALUE`` still wins.
        """
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not crawler.settings.frozen:
            crawler.settings.setdict(settings_from_config(spider.config), priority="spider")
        crawler.signals.connect(spider.tracker.request_dropped, signal=signals.request_dropped)
        return spider

    # --- requests ---

    def _obey_robots(self, portal: PortalConfig) -> bool:
        return self.config.crawl.obey_robots if portal.obey_robots is None else bool(portal.obey_robots)

    async def start(self):
        for portal in self.portals:
            if portal.id in self.busy:
                continue
            if portal.obey_robots is not None and bool(portal.obey_robots) != self.config.crawl.obey_robots:
                self.logger.warning(
                    "portal %s overrides crawl.obey_robots: robots.txt %s there",
                    portal.id,
                    "obeyed" if portal.obey_robots else "NOT obeyed",
                )
            read = self.tracker.progress(portal.id)
            self.emit(PortalReadItem(portal.id, started_at=read.started_at))
            # every start page's ticket is open before the first is sent: the portal is not "done" early
            requests = [self._request(url, portal.id, self.parse_listing, {}) for url in portal.start_urls]
            for request in requests:
                if request is not None:
                    yield request

    def _request(self, url: str, portal_id: str, callback, ctx: dict) -> Request | None:  # noqa: ANN001
        """The request for a link, or None: a bound reached (recorded), or a known document confirmed
        recently (not asked again yet)."""
        read = self.tracker.progress(portal_id)
        listing = callback == self.parse_listing
        if read.pages >= self.bounds.max_pages_per_portal:
            self._limit(portal_id, "max_pages_per_portal", url)
            return None
        if listing and read.listing_requests >= self.bounds.max_listing_pages_per_portal:
            self._limit(portal_id, "max_listing_pages_per_portal", url)
            return None
        portal = self._by_id[portal_id]
        meta: dict[str, Any] = {
            PORTAL: portal_id,
            "gkwatch_obey_robots": self._obey_robots(portal),
            "gkwatch": ctx,
            "download_maxsize": self.bounds.max_document_bytes,
        }
        headers = None
        if not listing:
            known = self._known_for(portal_id).get(url)
            if known is not None and known.report_ok and "report_url" not in ctx and "report" not in ctx:
                if not revalidation_due(url, known.checked_at, self.revalidate_days, utcnow()):
                    self.counts["reports_known"] += 1  # listed again, confirmed recently: not asked now
                    return None
            if known is not None and known.sha256 and (known.report_ok or "report_url" in ctx):
                # asked again: conditionally where the server gave validators; either way the same bytes
                # as last time are recognized (UnchangedMiddleware) and not read again
                meta["gkwatch_known"] = known
                if known.etag or known.last_modified:
                    headers = {}
                    if known.etag:
                        headers["If-None-Match"] = known.etag
                    if known.last_modified:
                        headers["If-Modified-Since"] = known.last_modified
                    meta["handle_httpstatus_list"] = [304]
        self.tracker.open(portal_id, meta, listing=listing)
        return Request(url, callback=callback, errback=self.on_error, meta=meta, headers=headers)

    def _known_for(self, portal_id: str) -> dict[str, Known]:
        """What earlier crawls stored about this portal's URLs, read once per portal and run."""
        known = self._known.get(portal_id)
        if known is None:
            known = self._known[portal_id] = self.known_loader(portal_id) if self.known_loader else {}
        return known

    def _limit(self, portal_id: str, bound: str, url: str) -> None:
        """A bound reached: the portal's read is incomplete; recorded once per portal and bound."""
        if self.tracker.limit(portal_id, bound, url):
            detail = f"{self.bounds.describe(bound)} reached at {url}: links beyond it not followed"
            self.logger.warning("portal %s: %s", portal_id, detail)
            self.emit(ProblemItem(portal_id=portal_id, kind="limit", url=url, detail=detail))

    def in_portal(self, url: str, portal_id: str) -> bool:
        """Whether a URL belongs to the portal: its hosts (and their subdomains), on the port named where
        the portal's allowed_domains name one, else on any."""
        return url_in_domains(url, self._domains[portal_id])

    _in_portal = in_portal

    def _platform(self, portal_id: str, url: str, text: str) -> Platform:
        """The portal's CMS family: forced by the config, else detected — once per portal (the first
        listing page that shows a family decides; generic pages keep asking)."""
        forced = self._by_id[portal_id].platform
        if forced:
            return get_platform(forced)
        platform = self._platforms.get(portal_id)
        if platform is None:
            platform = detect(url, text)
            if platform.name != "generic":
                self._platforms[portal_id] = platform
        return platform

    # --- the end of a portal's read ---

    def _portal_done(self, portal_id: str) -> None:
        """The portal's last request has ended: its read is over, complete or not (cut short, when the crawl
        is being stopped: its last requests were dropped, not answered)."""
        self.emit(self._read_item(portal_id, interrupted=self.stopping))

    def _read_item(self, portal_id: str, *, interrupted: bool) -> PortalReadItem:
        read = self.tracker.progress(portal_id)
        complete, reason = read.outcome(interrupted=interrupted)
        return PortalReadItem(
            portal_id=portal_id,
            started_at=read.started_at,
            finished_at=utcnow(),
            complete=complete,
            listing_pages=read.listing_pages,
            failed_pages=read.failed_pages,
            report_links=read.report_links,
            end_reason=reason,
            after_items=read.items,
        )

    def finish_reads(self) -> list[PortalReadItem]:
        """When the crawl closes: every portal begun but not done was cut short (SIGTERM, Ctrl-C, a timeout,
        an engine stop), and every portal never begun was not read. Their reads end ``interrupted``."""
        items = [self._read_item(p, interrupted=True) for p in self.tracker.unfinished()]
        now = utcnow()
        for portal in self.portals:
            if portal.id not in self.tracker.reads and portal.id not in self.busy:
                items.append(
                    PortalReadItem(portal.id, started_at=now, finished_at=now, end_reason="interrupted")
                )
        return items

    # --- callbacks ---

    @closes_ticket
    def parse_listing(self, response: Response) -> Iterator[Any]:
        yield from self._listing(response)

    @closes_ticket
    def parse_report_page(self, response: Response) -> Iterator[Any]:
        yield from self._report_page(response)

    @closes_ticket
    def parse_attachment(self, response: Response) -> Iterator[Any]:
        yield from self._attachment(response)

    def _listing(self, response: Response) -> Iterator[Any]:
        portal_id = response.meta[PORTAL]
        ctx = response.meta["gkwatch"]
        if not isinstance(response, TextResponse):  # a column link that turned out to be a document
            yield from self._attachment(response)
            return
        text = response.text
        page = Fetched.from_response(response)
        target = redirect_target(response.url, text)
        if target:
            if not self.in_portal(target, portal_id):
                # the listing cannot be read here: a failed listing page, with where it pointed
                self.tracker.listing_failed(portal_id, "unreachable")
                detail = f"the listing page forwards (meta refresh / script) outside the portal to {target}"
                yield ProblemItem(portal_id=portal_id, kind="unreachable", url=response.url, detail=detail)
                return
            self.tracker.listing_read(portal_id, 0)
            yield ListingItem(portal_id, page, [], None)
            request = self._request(target, portal_id, self.parse_listing, ctx)
            if request is not None:
                yield request
            return
        parse_listing_html(text, self.bounds.max_links_per_listing_page)  # a huge page: only what is read
        platform = self._platform(portal_id, response.url, text)
        listing = platform.listing(response.url, text, self.bounds.max_links_per_listing_page)
        reports = [r for r in listing.reports if self.in_portal(r.url, portal_id)]
        self.tracker.listing_read(portal_id, len(reports))
        yield ListingItem(portal_id, page, [r.url for r in reports], platform.name)
        if listing.truncated:
            self._limit(portal_id, "max_links_per_listing_page", response.url)
        for url in listing.pages:
            if self.in_portal(url, portal_id):
                request = self._request(url, portal_id, self.parse_listing, ctx)
                if request is not None:
                    yield request
        for col in listing.columns:
            column = " / ".join(c for c in (ctx.get("column"), col.text) if c)
            request = self._request(col.url, portal_id, self.parse_listing, {"column": column})
            if request is not None:
                yield request
        for r in reports:
            rctx = {
                "column": ctx.get("column"),
                "title": r.text or None,
                "listing_date": r.date_text,
                "listing_url": response.url,
            }
            callback = self.parse_attachment if is_attachment(r.url) else self.parse_report_page
            request = self._request(r.url, portal_id, callback, rctx)
            if request is not None:
                yield request

    def _report_page(self, response: Response) -> Iterator[Any]:
        portal_id = response.meta[PORTAL]
        ctx = response.meta["gkwatch"]
        if response.status == 304 or response.meta.get("gkwatch_unchanged"):
            yield from self._not_modified(response)
            return
        if not isinstance(response, TextResponse):
            yield from self._attachment(response)
            return
        text = response.text
        target = redirect_target(response.url, text)
        if target:
            chain = [*ctx.get("refreshed_from", ()), response.url]
            if not self.in_portal(target, portal_id):
                detail = f"the report page forwards (meta refresh / script) outside the portal to {target}"
                yield self._failed_report(portal_id, ctx, response.url, "unreachable", detail)
                return
            if target in chain:
                detail = f"refresh loop: {' → '.join(chain)} → {target}"
                yield self._failed_report(portal_id, ctx, chain[0], "unreachable", detail)
                return
            request = self._request(
                target, portal_id, self.parse_report_page, {**ctx, "refreshed_from": chain}
            )
            if request is not None:
                yield request
            return
        platform = self._platform(portal_id, response.url, text)
        article = platform.article(response.url, text)
        if not article.has_tables and not article.attachments:
            listing = platform.listing(response.url, text, self.bounds.max_links_per_listing_page)
            if len(listing.reports) >= 2:  # a "report" link that led to a list of reports
                yield from self._listing(response)
                return
        page = Fetched.from_response(response)
        item = ReportItem(
            portal_id=portal_id,
            url=(ctx.get("refreshed_from") or [page.url])[0],  # the link followed, through shell pages
            listing_url=ctx.get("listing_url"),
            title=article.meta.get("articletitle") or ctx.get("title") or article.title,
            link_text=ctx.get("title"),
            column=" / ".join(c for c in (ctx.get("column"), article.column_name) if c) or None,
            content_source=article.content_source,
            pub_meta=article.pub_meta,
            pub_text=article.pub_text,
            listing_date=ctx.get("listing_date"),
            page=page,
            attachment_urls=[a.url for a in article.attachments],
        )
        if article.has_tables or not article.attachments:
            # --- OCR hook (issue 12): a report published as page images; fetched, archived as a bundle ---
            images = [] if article.has_tables else report_images(response.url, text)
            images = [u for u in images if self.in_portal(u, portal_id)]
            if images:
                yield from self._next_image(item, images, [], portal_id, ctx)
                return
            # --- end OCR hook ---
            item.document = page
            yield item
            return
        chosen = pick_attachment([a.url for a in article.attachments])
        request = self._request(chosen, portal_id, self.parse_attachment, {**ctx, "report": item})
        if request is not None:
            yield request
        else:  # a bound reached before its attachment: the page is kept, the report marked
            item.problem_kind = "limit"
            item.problem_detail = f"attachment {chosen} not fetched: a bound of this crawl was reached"
            yield item

    # --- OCR hook (issue 12): a report's page images, fetched one after the other in page order ---

    def _next_image(
        self, item: ReportItem, todo: list[str], done: list[Fetched], portal_id: str, ctx: dict
    ) -> Iterator[Any]:
        """Ask for the next page image; after the last, the report's document is their bundle."""
        if not todo:
            item.evidence = done
            item.document = bundle_document(item.page, done)
            yield item
            return
        request = self._request(
            todo[0], portal_id, self.parse_report_image, {**ctx, "report": item, "images": (todo[1:], done)}
        )
        if request is not None:
            yield request
        else:  # a bound reached before the last image: the page is kept, the report marked
            item.evidence = done
            item.problem_kind = "limit"
            item.problem_detail = f"page image {todo[0]} not fetched: a bound of this crawl was reached"
            yield item

    @closes_ticket
    def parse_report_image(self, response: Response) -> Iterator[Any]:
        ctx = response.meta["gkwatch"]
        todo, done = ctx["images"]
        image = Fetched.from_response(response)
        yield from self._next_image(ctx["report"], todo, [*done, image], response.meta[PORTAL], ctx)

    # --- end OCR hook ---

    def _attachment(self, response: Response) -> Iterator[Any]:
        portal_id = response.meta[PORTAL]
        ctx = response.meta["gkwatch"]
        if response.status == 304 or response.meta.get("gkwatch_unchanged"):
            yield from self._not_modified(response)
            return
        doc = Fetched.from_response(response)
        item: ReportItem | None = ctx.get("report")
        if item is None:
            report_url = ctx.get("report_url")
            if report_url:  # a known report's page answered 304, its document did not: new bytes
                item = ReportItem(portal_id=portal_id, url=report_url, page_unchanged=True)
            else:  # linked directly from a listing: the attachment is the report
                item = ReportItem(
                    portal_id=portal_id,
                    url=doc.url,
                    listing_url=ctx.get("listing_url"),
                    title=ctx.get("title"),
                    link_text=ctx.get("title"),
                    column=ctx.get("column"),
                    listing_date=ctx.get("listing_date"),
                    attachment_urls=[doc.url],
                )
        item.document = doc
        yield item

    def _not_modified(self, response: Response) -> Iterator[Any]:
        """A 304, or a 200 with the bytes archived last time: the known document is still there unchanged.
        A report page's own document (its attachment) is then asked again too."""
        portal_id = response.meta[PORTAL]
        ctx = response.meta["gkwatch"]
        known: Known = response.meta["gkwatch_known"]
        url = (response.meta.get("redirect_urls") or [response.request.url])[0]
        report_url = ctx.get("report_url") or url
        yield Revalidated(portal_id, url, report_url, Fetched.from_response(response), known.sha256)
        if report_url == url and known.document_url and known.document_url != url:
            request = self._request(
                known.document_url, portal_id, self.parse_attachment, {**ctx, "report_url": url}
            )
            if request is not None:
                yield request

    def _failed_report(self, portal_id: str, ctx: dict, url: str, kind: str, detail: str) -> ReportItem:
        """A report the listing showed whose document could not be had: kept, with the trouble and the
        listing's link text (it names the agency whose status becomes ``unknown``)."""
        return ReportItem(
            portal_id=portal_id,
            url=ctx.get("report_url") or url,
            listing_url=ctx.get("listing_url"),
            title=ctx.get("title"),
            link_text=ctx.get("title"),
            column=ctx.get("column"),
            listing_date=ctx.get("listing_date"),
            problem_kind=kind,
            problem_detail=detail,
            page_unchanged=bool(ctx.get("report_url")),
        )

    @closes_ticket
    def on_error(self, failure) -> Iterator[Any]:  # noqa: ANN001
        request = failure.request
        if isinstance(failure.value, CrawlStopped):
            return  # never sent: the crawl is stopping (the read ends ``interrupted``), not a site's fault
        portal_id = request.meta.get(PORTAL)
        ctx = request.meta.get("gkwatch") or {}
        kind, detail = classify_failure(failure)
        url = (request.meta.get("redirect_urls") or [request.url])[0]  # the link followed, not where it led
        if url != request.url:
            detail = f"{detail} (redirected from {url} to {request.url})"
        if kind == "too_large":
            kind = "limit"
            detail = f"larger than {self.bounds.describe('max_document_bytes')} bytes: {detail}"
        listing = request.callback == self.parse_listing
        if kind == "limit":
            if isinstance(failure.value, RequestLimit):
                if not self.tracker.limit(portal_id, "max_requests_per_portal", url):
                    return  # recorded once per portal: the first request refused
                if listing:
                    yield ProblemItem(portal_id=portal_id, kind=kind, url=url, detail=detail)
                    return
            elif listing:  # a listing page over the size cap: the listing is cut there
                self.tracker.limit(portal_id, "max_document_bytes", url)
                yield ProblemItem(portal_id=portal_id, kind=kind, url=url, detail=detail)
                return
            # else a report's document over the size cap: that report's trouble; the listing was read
        elif listing:
            self.tracker.listing_failed(portal_id, kind)
        report: ReportItem | None = ctx.get("report")
        if report is None and request.callback in (self.parse_attachment, self.parse_report_page):
            # A report the listing showed but whose page or file could not be fetched: kept, with the trouble.
            report = self._failed_report(portal_id, ctx, url, kind, detail)
        if report is not None:
            report.problem_kind, report.problem_detail = kind, detail
            yield report
            return
        yield ProblemItem(portal_id=portal_id, kind=kind, url=url, detail=detail)


def pick_attachment(urls: list[str]) -> str:
    """The copy to parse among a report page's attachments (docx before pdf: tables survive better)."""

    def rank(url: str) -> int:
        low = url.lower().split("?")[0]
        for i, ext in enumerate(ATTACHMENT_PREFERENCE):
            if low.endswith(ext):
                return i
        return len(ATTACHMENT_PREFERENCE)

    return min(urls, key=rank)
