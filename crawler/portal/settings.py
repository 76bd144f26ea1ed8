"""Scrapy settings of the gkwatch crawler (``scrapy.cfg`` → here), and how config.yaml overrides them.

Politeness is the default, not an option: one request at a time per site, a delay, AutoThrottle backing
off when a site slows down, robots.txt, an identifying User-Agent with a contact, no cookies, and the
remote-control / telnet consoles of Scrapy 2.19 off (they would open local code-execution servers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crawler.portal.bounds import crawl_value

if TYPE_CHECKING:
    from domain.config import Config

BOT_NAME = "gkwatch"
SPIDER_MODULES = ["crawler.portal.spiders"]
NEWSPIDER_MODULE = "crawler.portal.spiders"

USER_AGENT = "gkwatch/0.1 (+https://github.com/gkwatch/gkwatch; watchdog of 政府信息公开工作年度报告)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

CONCURRENT_REQUESTS = 16  # sites at once: ``crawl.concurrent_sites``
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# Scrapy's own downloader lets a burst of requests queued at once through to one site together.
DOWNLOADER = "crawler.portal.downloader.PoliteDownloader"
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50 % around the delay, as real visitors vary
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 50 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 2
# 429 is a block ("slow down"), recorded and respected, not retried into.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
REDIRECT_MAX_TIMES = 10
# Shell pages (meta refresh, ``location.href = …``) are followed by the spider itself
# (``platforms.base.redirect_target``), which sees where they lead: off the portal or in a loop, the link
# is recorded as a problem instead of being dropped silently by Scrapy's offsite filter or dupefilter.
METAREFRESH_ENABLED = False
# No depth limit: it bounds neither a branching trap nor a page of 100,000 links, and silently cut a
# listing paged by "下一页" links after 8 pages. The bounds are per portal (crawler.portal.bounds) and
# each one reached is recorded.
DEPTH_LIMIT = 0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.portal.middlewares.PortalRobotsMiddleware": 100,
    "crawler.portal.middlewares.PortalBoundsMiddleware": 120,
    # process_response runs from high to low: decompression (Scrapy's, 590), then the same-bytes check,
    # charset, block detection, before retries (550).
    "crawler.portal.middlewares.BlockDetectionMiddleware": 560,
    "crawler.portal.middlewares.CharsetMiddleware": 580,
    "crawler.portal.middlewares.UnchangedMiddleware": 585,
    # above RedirectMiddleware (600): sees the 3xx before it is followed.
    "crawler.portal.middlewares.OffsiteRedirectMiddleware": 610,
}
EXTENSIONS = {
    # AutoThrottle whose floor is each portal's own delay (DOWNLOAD_SLOTS), not only DOWNLOAD_DELAY.
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.portal.extensions.PortalAutoThrottle": 0,
}
SPIDER_MIDDLEWARES = {"crawler.portal.middlewares.CallbackErrorMiddleware": 950}
ITEM_PIPELINES = {"crawler.portal.pipelines.StorePipeline": 300}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def url_in_domains(url: str, domains: list[str]) -> bool:
    """Whether a URL lies in one of a portal's domains: its host or a subdomain of it, on any port — or,
    for an entry that names a port (``127.0.0.1:8080``), that host on that port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for entry in domains:
        d = entry.strip().lower()
        name, _, port = d.rpartition(":") if d.count(":") == 1 else ("", "", "")
        if name and port.isdigit():
            try:
                url_port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
            except ValueError:
                return False
            if (host == name or host.endswith("." + name)) and url_port == int(port):
                return True
        elif host == d or host.endswith("." + d):
            return True
    return False


def domain_names(domains: list[str]) -> list[str]:
    """The host names of allowed_domains entries (ports dropped): what Scrapy's offsite filter accepts."""
    out = []
    for entry in domains:
        d = entry.strip().lower()
        name, _, port = d.rpartition(":") if d.count(":") == 1 else ("", "", "")
        out.append(name if name and port.isdigit() else d)
    return out


def settings_from_config(config: Config) -> dict:
    """The overrides config.yaml asks for, on top of this module (pass to ``CrawlerProcess``)."""
    crawl = config.crawl
    ua = crawl.user_agent
    if crawl.contact and crawl.contact not in ua:
        ua = f"{ua} contact: {crawl.contact}"
    delay = float(crawl.delay_seconds)
    slots = {}
    for p in config.portals:
        if p.delay_seconds is not None:
            for url in p.start_urls:
                slots[host_of(url)] = {"delay": float(p.delay_seconds), "concurrency": 1}
    out = {
        "USER_AGENT": ua,
        "ROBOTSTXT_OBEY": bool(crawl.obey_robots),
        "DOWNLOAD_DELAY": delay,
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.0),
        "DOWNLOAD_TIMEOUT": float(crawl.timeout_seconds),
        "DOWNLOAD_MAXSIZE": int(crawl_value(crawl, "max_document_bytes")),
        "CONCURRENT_REQUESTS": int(crawl_value(crawl, "concurrent_sites")),
        "RETRY_TIMES": int(crawl.retries),
        "DOWNLOAD_SLOTS": slots,
        "LOG_LEVEL": str(crawl.log_level).upper(),
    }
    if delay <= 0:
        # Delays off (tests, the simulator, benchmarks): AutoThrottle would add its own.
        out["AUTOTHROTTLE_ENABLED"] = False
        out["DOWNLOAD_DELAY_JITTER"] = 0
    return out


# Scrapy inspects each callback's source with ast.parse to warn about generators that return values. On
# CPython 3.11 that check, running while parser threads work, once failed with "SystemError: AST constructor
# recursion depth mismatch" and lost a report as parse_failed. Our callbacks are tested; the warning is not
# worth the risk.
WARN_ON_GENERATOR_RETURN_VALUE = False
