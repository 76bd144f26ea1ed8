"""The one spider: reads every configured portal through the platform module its pages belong to.

Listing pages (columns, pagination, data proxies, sub-columns) → report pages → attachments. Each report
becomes a ``ReportItem`` carrying its raw responses; each listing page a ``ListingItem`` (proof the portal
was readable and of what it showed); each failure a problem, classified so that the crawler's trouble is
never mistaken for an agency's silence.

``scrapy crawl portal -a config=config.yaml [-a portals=a,b] [-a agencies=x,y]`` or ``gkwatch crawl``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.portal.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.portal.middlewares import BLOCK_STATUSES, Blocked, OffsiteRedirect, RobotsDisallowed
from crawler.portal.platforms import Platform, detect, get_platform
from crawler.portal.platforms.base import is_attachment, redirect_target
from crawler.portal.settings import host_of, settings_from_config
from crawler.portal.tracking import PortalTracker, closes_ticket
from domain.config import Config, ConfigError, PortalConfig, load_config

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
    """(kind, detail) of a failed request: blocked | robots | unreachable | too_large."""
    exc = failure.value
    if isinstance(exc, Blocked):
        return "blocked", str(exc)
    if isinstance(exc, RobotsDisallowed):
        return "robots", str(exc)
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
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.config = config if isinstance(config, Config) else load_config(config)
        self.portals = select_portals(self.config, _split(portals), _split(agencies))
        self._by_id = {p.id: p for p in self.portals}
        self._domains = {p.id: portal_domains(p) for p in self.portals}
        self.allowed_domains = sorted({d for ds in self._domains.values() for d in ds})
        self.run_id = int(run_id) if run_id not in (None, "") else None
        self.store_counts: dict = {}
        self.tracker = PortalTracker()

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
            if portal.obey_robots is not None and bool(portal.obey_robots) != self.config.crawl.obey_robots:
                self.logger.warning(
                    "portal %s overrides crawl.obey_robots: robots.txt %s there",
                    portal.id,
                    "obeyed" if portal.obey_robots else "NOT obeyed",
                )
            for url in portal.start_urls:
                yield self._request(url, portal.id, self.parse_listing, {})

    def _request(self, url: str, portal_id: str, callback, ctx: dict) -> Request:  # noqa: ANN001
        portal = self._by_id[portal_id]
        meta: dict[str, Any] = {
            "gkwatch_portal": portal_id,
            "gkwatch_obey_robots": self._obey_robots(portal),
            "gkwatch": ctx,
        }
        self.tracker.open(portal_id, meta)
        if callback == self.parse_attachment:
            meta["download_maxsize"] = int(self.config.crawl.max_attachment_bytes)
        return Request(url, callback=callback, errback=self.on_error, meta=meta)

    def _in_portal(self, url: str, portal_id: str) -> bool:
        host = host_of(url)
        return any(host == d or host.endswith("." + d) for d in self._domains[portal_id])

    def _platform(self, portal_id: str, url: str, text: str) -> Platform:
        forced = self._by_id[portal_id].platform
        return get_platform(forced) if forced else detect(url, text)

    # --- callbacks ---

    @closes_ticket
    def parse_listing(self, response: Response) -> Iterator[Any]:
        portal_id = response.meta["gkwatch_portal"]
        ctx = response.meta["gkwatch"]
        if not isinstance(response, TextResponse):  # a column link that turned out to be a document
            yield from self.parse_attachment(response)
            return
        text = response.text
        page = Fetched.from_response(response)
        target = redirect_target(response.url, text)
        if target:
            yield ListingItem(portal_id, page, [], None)
            if self._in_portal(target, portal_id):
                yield self._request(target, portal_id, self.parse_listing, ctx)
            return
        platform = self._platform(portal_id, response.url, text)
        listing = platform.listing(response.url, text)
        reports = [r for r in listing.reports if self._in_portal(r.url, portal_id)]
        yield ListingItem(portal_id, page, [r.url for r in reports], platform.name)
        for url in listing.pages:
            if self._in_portal(url, portal_id):
                yield self._request(url, portal_id, self.parse_listing, ctx)
        for col in listing.columns:
            column = " / ".join(c for c in (ctx.get("column"), col.text) if c)
            yield self._request(col.url, portal_id, self.parse_listing, {"column": column})
        for r in reports:
            rctx = {
                "column": ctx.get("column"),
                "title": r.text or None,
                "pub_text": r.date_text,
                "listing_url": response.url,
            }
            callback = self.parse_attachment if is_attachment(r.url) else self.parse_report_page
            yield self._request(r.url, portal_id, callback, rctx)

    @closes_ticket
    def parse_report_page(self, response: Response) -> Iterator[Any]:
        portal_id = response.meta["gkwatch_portal"]
        ctx = response.meta["gkwatch"]
        if not isinstance(response, TextResponse):
            yield from self.parse_attachment(response)
            return
        text = response.text
        target = redirect_target(response.url, text)
        if target and self._in_portal(target, portal_id):
            yield self._request(target, portal_id, self.parse_report_page, ctx)
            return
        platform = self._platform(portal_id, response.url, text)
        article = platform.article(response.url, text)
        if not article.has_tables and not article.attachments:
            listing = platform.listing(response.url, text)
            if len(listing.reports) >= 2:  # a "report" link that led to a list of reports
                yield from self.parse_listing(response)
                return
        page = Fetched.from_response(response)
        item = ReportItem(
            portal_id=portal_id,
            url=page.url,
            listing_url=ctx.get("listing_url"),
            title=article.meta.get("articletitle") or ctx.get("title") or article.title,
            link_text=ctx.get("title"),
            column=" / ".join(c for c in (ctx.get("column"), article.column_name) if c) or None,
            content_source=article.content_source,
            pub_meta=article.pub_meta,
            pub_text=article.pub_text or ctx.get("pub_text"),
            page=page,
            attachment_urls=[a.url for a in article.attachments],
        )
        if article.has_tables or not article.attachments:
            item.document = page
            yield item
            return
        chosen = pick_attachment([a.url for a in article.attachments])
        yield self._request(chosen, portal_id, self.parse_attachment, {**ctx, "report": item})

    @closes_ticket
    def parse_attachment(self, response: Response) -> Iterator[Any]:
        portal_id = response.meta["gkwatch_portal"]
        ctx = response.meta["gkwatch"]
        doc = Fetched.from_response(response)
        item: ReportItem | None = ctx.get("report")
        if item is None:  # linked directly from a listing: the attachment is the report
            item = ReportItem(
                portal_id=portal_id,
                url=doc.url,
                listing_url=ctx.get("listing_url"),
                title=ctx.get("title"),
                link_text=ctx.get("title"),
                column=ctx.get("column"),
                pub_text=ctx.get("pub_text"),
                attachment_urls=[doc.url],
            )
        item.document = doc
        yield item

    @closes_ticket
    def on_error(self, failure) -> Iterator[Any]:  # noqa: ANN001
        request = failure.request
        portal_id = request.meta.get("gkwatch_portal")
        ctx = request.meta.get("gkwatch") or {}
        kind, detail = classify_failure(failure)
        url = (request.meta.get("redirect_urls") or [request.url])[0]  # the link followed, not where it led
        if url != request.url:
            detail = f"{detail} (redirected from {url} to {request.url})"
        if kind == "too_large":
            kind = "parse_failed"
            detail = (
                f"attachment larger than the cap ({self.config.crawl.max_attachment_bytes} bytes): {detail}"
            )
        report: ReportItem | None = ctx.get("report")
        if report is None and request.callback in (self.parse_attachment, self.parse_report_page):
            # A report the listing showed but whose page or file could not be fetched: kept, with the trouble.
            report = ReportItem(
                portal_id=portal_id,
                url=url,
                listing_url=ctx.get("listing_url"),
                title=ctx.get("title"),
                link_text=ctx.get("title"),
                column=ctx.get("column"),
                pub_text=ctx.get("pub_text"),
            )
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
