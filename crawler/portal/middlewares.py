"""Downloader middlewares: charset from the bytes, block pages detected, robots.txt per portal, redirects
checked, requests per portal bounded.

Each turns a situation into something the spider's errback can record (a ``CrawlProblem``), never into a
way around it: a block page is reported as ``blocked`` and the request dropped; robots.txt is obeyed
unless the portal's config overrides it, and that override is logged; a redirect off the portal or in a
loop is stopped and recorded; a portal's requests beyond ``crawl.max_requests_per_portal`` are not sent
and recorded as ``limit``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import urldefrag, urljoin

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.settings import Settings

from crawler.portal.settings import url_in_domains
from domain import charset

log = logging.getLogger(__name__)

# Words of the interstitials Chinese portals put in front of their content (WAF "access verification").
BLOCK_MARKERS = (
    "访问验证",
    "安全验证",
    "滑动验证",
    "人机验证",
    "请完成验证",
    "验证码",
    "captcha",
    "访问频率过快",
)
# What every marker contains (so a page without any of these is not a block page): three plain scans of the
# page instead of lower-casing it and scanning it once per marker.
_MARKER_CORES = ("验证", "访问频率", "aptcha", "APTCHA")
# 412 is what the JavaScript-challenge firewalls common on government portals (瑞数 and the like) answer a
# client that did not run their script: a block, not a broken site.
BLOCK_STATUSES = (403, 412, 429)


class OffsiteRedirect(IgnoreRequest):
    """A redirect to a host outside the portal's ``allowed_domains``: dropped and recorded."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL of its own chain (a 302 to itself): dropped and recorded."""


class RequestLimit(IgnoreRequest):
    """The portal's requests reached ``crawl.max_requests_per_portal``: not sent, recorded as ``limit``."""


class Blocked(IgnoreRequest):
    """The portal refused us (403/429 or a verification page): recorded as ``blocked``."""


class RobotsDisallowed(IgnoreRequest):
    """robots.txt disallows this URL: recorded as ``robots``."""


def decide_encoding(body: bytes, header_charset: str | None = None) -> str:
    """The charset a page is really in, from its bytes first: headers on Chinese portals lie.

    Decided by ``domain.charset`` — the one decision the HTML reader shares (BOM, strict UTF-8, the page's
    declared charset, the header's, each only if the bytes decode with it, GB2312/GBK widened to GB18030);
    GB18030 where nothing decodes cleanly.
    """
    return charset.decide(body, header=header_charset)


def _unchanged(request) -> bool:  # noqa: ANN001
    """Whether UnchangedMiddleware found the response to be the very bytes read before."""
    return request is not None and bool(request.meta.get("gkwatch_unchanged"))


class CharsetMiddleware:
    """Re-decode text responses with the charset the bytes show, not the one the header claims.

    The page is decoded once: the text ``domain.charset`` made while deciding is handed to the response
    (Scrapy's ``TextResponse.text`` cache), so block detection and the spider read it without decoding the
    body again.
    """

    def process_response(self, request, response, spider=None):  # noqa: ANN001
        if not isinstance(response, TextResponse) or _unchanged(request):
            return response  # not text, or the very bytes read before (UnchangedMiddleware): not decoded
        declared = response.headers.get(b"Content-Type", b"").decode("latin-1")
        m = re.search(r"charset=([\w-]+)", declared, re.I)
        try:
            decoded = charset.decode(response.body, header=m.group(1) if m else None)
        except charset.UnknownCharset:
            return response.replace(encoding="gb18030")
        response = response.replace(encoding=decoded.encoding)
        response._cached_ubody = decoded.text  # Scrapy's own cache of .text: decoded once, here
        return response


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
# A verification page says little: a few hundred visible characters, however much script it carries.
MAX_BLOCK_PAGE_TEXT = 3000


def visible_text(html: str) -> str:
    """The words a browser would show (scripts, styles and tags removed); cheap, for short pages."""
    return re.sub(r"\s+", " ", _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", html)))


def looks_blocked(text: str) -> str | None:
    """The verification marker of an interstitial page, or None for a real page.

    Judged on the visible text, not the page's size: WAF challenge pages carry tens of KB of script around
    a line of words. Only pages with little to read count, and never one with report words: a report that
    mentions 验证码 in its prose is not a block.
    """
    if not any(core in text for core in _MARKER_CORES):
        return None  # the common case, decided without lower-casing or stripping the page
    visible = visible_text(text)
    if len(visible) > MAX_BLOCK_PAGE_TEXT or ("年度报告" in visible and "本年新收" in visible):
        return None
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    said = visible.lower() + " " + (title.group(1).lower() if title else "")
    for marker in BLOCK_MARKERS:
        if marker.lower() in said:
            return marker
    return None


class BlockDetectionMiddleware:
    """403/429 and verification pages served with 200 become ``Blocked`` (dropped, recorded, not retried)."""

    def process_response(self, request, response, spider=None):  # noqa: ANN001
        if response.status in BLOCK_STATUSES:
            raise Blocked(f"HTTP {response.status} from {response.url}")
        if _unchanged(request):
            return response  # the bytes of a report page read fine before: not a block page
        if response.status == 200 and isinstance(response, TextResponse):
            marker = looks_blocked(response.text)
            if marker:
                raise Blocked(f"verification page ({marker}) served with 200 at {response.url}")
        return response


class _CrawlerView:
    """A crawler with other settings; everything else (engine, stats, spider) is the real one's."""

    def __init__(self, crawler, settings):  # noqa: ANN001
        self._crawler = crawler
        self.settings = settings

    def __getattr__(self, name: str):
        return getattr(self._crawler, name)


class PortalRobotsMiddleware(RobotsTxtMiddleware):
    """robots.txt obeyed per request (``meta["gkwatch_obey_robots"]``), so that a portal can override it.

    Scrapy's middleware is all-or-nothing (``ROBOTSTXT_OBEY``); portals differ, so this one is always on
    and reads the decision the spider put on each request (from the config, the override logged there).
    """

    def __init__(self, crawler):  # noqa: ANN001
        # RobotsTxtMiddleware refuses to exist when ROBOTSTXT_OBEY is off; here the decision is per request,
        # so it is built on a view of the crawler whose settings say "on" (the real settings stay untouched).
        self._default_obey = crawler.settings.getbool("ROBOTSTXT_OBEY")
        settings = Settings(crawler.settings.copy_to_dict())
        settings.set("ROBOTSTXT_OBEY", True, priority=1000)
        super().__init__(_CrawlerView(crawler, settings))

    async def process_request(self, request, spider=None):  # noqa: ANN001
        obey = request.meta.get("gkwatch_obey_robots", self._default_obey)
        if not obey or request.meta.get("dont_obey_robotstxt"):
            return None
        try:
            await super().process_request(request)
        except IgnoreRequest as e:
            if isinstance(e, RobotsDisallowed) or "robots.txt" not in str(e):
                raise
            raise RobotsDisallowed(f"disallowed by robots.txt: {request.url}") from e
        return None


class OffsiteRedirectMiddleware:
    """Stop redirects that leave the allowed domains, visibly.

    Scrapy's offsite filter drops such a redirect at scheduling time without telling the spider, so the
    report link would vanish without a trace; raising here (before ``RedirectMiddleware`` follows it)
    reaches the request's errback, which records it.
    """

    def __init__(self, crawler=None):  # noqa: ANN001
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001
        return cls(crawler)

    def process_response(self, request, response, spider=None):  # noqa: ANN001
        if response.status not in (301, 302, 303, 307, 308) or b"Location" not in response.headers:
            return response
        spider = spider or (self.crawler.spider if self.crawler is not None else None)
        target = urljoin(response.url, response.headers[b"Location"].decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        if urldefrag(target)[0] in {urldefrag(u)[0] for u in chain}:
            # Scrapy would drop the repeated URL as a duplicate, silently: the link would lead nowhere
            raise RedirectLoop(f"redirect loop: {' → '.join(chain)} → {target}, dropped")
        portal_id = request.meta.get("gkwatch_portal")
        in_portal = getattr(spider, "in_portal", None)
        if portal_id and in_portal is not None:
            inside = in_portal(target, portal_id)
        else:
            domains = getattr(spider, "allowed_domains", None)
            inside = not domains or url_in_domains(target, domains)
        if not inside:
            raise OffsiteRedirect(f"redirected outside allowed_domains to {target}, dropped")
        return response


class PortalBoundsMiddleware:
    """Count the HTTP requests sent for each portal (retries and redirects included); past
    ``crawl.max_requests_per_portal`` a request is not sent: ``RequestLimit`` reaches its errback, which
    records the bound (once) and leaves the portal's read incomplete."""

    def __init__(self, crawler=None):  # noqa: ANN001
        self.crawler = crawler
        self.sent: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler):  # noqa: ANN001
        return cls(crawler)

    def process_request(self, request, spider=None):  # noqa: ANN001
        portal_id = request.meta.get("gkwatch_portal")
        if not portal_id:
            return None  # robots.txt and other requests of the machinery
        spider = spider or (self.crawler.spider if self.crawler is not None else None)
        bounds = getattr(spider, "bounds", None)
        n = self.sent.get(portal_id, 0)
        if bounds is not None and n >= bounds.max_requests_per_portal:
            raise RequestLimit(
                f"{bounds.describe('max_requests_per_portal')} reached: {request.url} not requested"
            )
        self.sent[portal_id] = n + 1
        return None


class UnchangedMiddleware:
    """A known report page or document answering 200 with the very bytes archived last time is what a 304
    would have said: the document is still there, unchanged. Marked ``gkwatch_unchanged`` and handed on as
    a plain ``Response``, so that its charset and block words are not worked out again and the spider does
    not read it again (its facts are stored already): a re-crawl of unchanged pages costs a hash each.

    Runs after decompression and before the charset and block middlewares (``process_response`` runs from
    the highest priority down).
    """

    def process_response(self, request, response, spider=None):  # noqa: ANN001
        known = request.meta.get("gkwatch_known")
        if known is None or not known.sha256 or response.status != 200:
            return response
        digest = request.meta["gkwatch_sha256"] = hashlib.sha256(
            response.body
        ).hexdigest()  # kept: hashed once
        if digest != known.sha256:
            return response
        request.meta["gkwatch_unchanged"] = True
        return response


class CallbackErrorMiddleware:
    """A page the spider's own code failed to read becomes a ``parse_failed`` problem, not silence.

    Without this, an exception in a callback is only a log line and the portal's report would simply be
    missing; recorded, it counts as the crawler's trouble and the agency is not blamed.
    """

    def process_spider_exception(self, response, exception, spider=None):  # noqa: ANN001
        from crawler.portal.items import ProblemItem

        portal_id = response.meta.get("gkwatch_portal") if response.request is not None else None
        if not portal_id:
            return None
        log.error("crawler error reading %s", response.url, exc_info=exception)
        detail = f"the crawler could not read the page: {type(exception).__name__}: {exception}"
        return [ProblemItem(portal_id=portal_id, kind="parse_failed", url=response.url, detail=detail)]
