"""Downloader middlewares: charset from the bytes, block pages detected, robots.txt per portal.

Each turns a situation into something the spider's errback can record (a ``CrawlProblem``), never into a
way around it: a block page is reported as ``blocked`` and the request dropped; robots.txt is obeyed
unless the portal's config overrides it, and that override is logged.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.settings import Settings
from scrapy.utils.url import url_is_from_any_domain

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)""", re.I)
_XML_DECL = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([\w-]+)""", re.I)
_GB = ("gb2312", "gbk", "gb18030", "x-gbk", "gb_2312-80", "cp936")

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
# 412 is what the JavaScript-challenge firewalls common on government portals (瑞数 and the like) answer a
# client that did not run their script: a block, not a broken site.
BLOCK_STATUSES = (403, 412, 429)


class OffsiteRedirect(IgnoreRequest):
    """A redirect to a host outside the portal's ``allowed_domains``: dropped and recorded."""


class Blocked(IgnoreRequest):
    """The portal refused us (403/429 or a verification page): recorded as ``blocked``."""


class RobotsDisallowed(IgnoreRequest):
    """robots.txt disallows this URL: recorded as ``robots``."""


def _norm_charset(name: str | None) -> str | None:
    if not name:
        return None
    n = name.strip().lower()
    if n in _GB:
        return "gb18030"  # the superset: GBK/GB2312 pages often hold characters outside them
    return n


def decide_encoding(body: bytes, header_charset: str | None = None) -> str:
    """The charset a page is really in, from its bytes first: headers on Chinese portals lie.

    Valid UTF-8 with non-ASCII bytes is UTF-8 (GBK text almost never is); otherwise the ``<meta>`` or XML
    declaration, then the header, each only if the bytes decode with it; else gb18030.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    head = body[:4096]
    m = _META_CHARSET.search(head) or _XML_DECL.search(head)
    for candidate in (
        _norm_charset(m.group(1).decode("ascii", "ignore")) if m else None,
        _norm_charset(header_charset),
    ):
        if candidate and candidate not in ("utf-8", "utf8"):
            try:
                body.decode(candidate)
                return candidate
            except (UnicodeDecodeError, LookupError):
                continue
    return "gb18030"


class CharsetMiddleware:
    """Re-decode text responses with the charset the bytes show, not the one the header claims."""

    def process_response(self, request, response, spider=None):  # noqa: ANN001
        if not isinstance(response, TextResponse):
            return response
        declared = response.headers.get(b"Content-Type", b"").decode("latin-1")
        m = re.search(r"charset=([\w-]+)", declared, re.I)
        enc = decide_encoding(response.body, m.group(1) if m else None)
        if enc != response.encoding:
            return response.replace(encoding=enc)
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
    low = text.lower()
    if not any(marker.lower() in low for marker in BLOCK_MARKERS):
        return None  # the common case, decided without stripping the page
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
        domains = getattr(spider, "allowed_domains", None)
        if not domains:
            return response
        if not url_is_from_any_domain(target, domains):
            raise OffsiteRedirect(f"redirected outside allowed_domains to {target}, dropped")
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
