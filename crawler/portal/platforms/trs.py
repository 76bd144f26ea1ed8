"""TRS WCM (拓尔思) portals: ``index.html`` / ``index_1.html`` … pages, ``./202101/t20210128_123.html`` articles.

The page count is not in links but in a script call, ``createPageHTML(total, current, "index", "html")``;
page 0 is ``index.html``, page n is ``index_n.html``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from crawler.portal.platforms.base import Listing, Platform, links, parse_html, split_report_links

_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]"
)
_ARTICLE = re.compile(r"/t\d{8}_\d+\.s?html?$")


def looks_like_article(url: str) -> bool:
    return bool(_ARTICLE.search(urlsplit(url).path))


def pagination(url: str, text: str, limit: int | None = None) -> list[str]:
    """Every page of a column from its ``createPageHTML`` call (absolute URLs, this page excluded).

    A runaway page count in a broken script must not become a million URLs: at most ``limit`` (the
    caller records the cut: ``page_count(text) > limit``).
    """
    m = _CREATE_PAGE.search(text)
    if not m:
        return []
    total, current, name, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    pages = []
    for n in range(total if limit is None else min(total, limit + 1)):
        if n == current:
            continue
        pages.append(urljoin(url, f"{name}.{ext}" if n == 0 else f"{name}_{n}.{ext}"))
    return pages if limit is None else pages[:limit]


def page_count(text: str) -> int:
    """The page count a column's ``createPageHTML`` call declares (0 without one)."""
    m = _CREATE_PAGE.search(text)
    return int(m.group(1)) if m else 0


class TRS(Platform):
    name = "trs"

    def detect(self, url: str, text: str) -> bool:
        return "createPageHTML" in text or bool(re.search(r"t\d{8}_\d+\.s?html?", text))

    def listing(self, url: str, text: str, max_links: int | None = None) -> Listing:
        found = links(url, parse_html(text), limit=max_links)
        out = split_report_links(url, found, looks_like_article)
        out.pages = pagination(url, text, max_links)
        out.truncated = found.truncated or (max_links is not None and page_count(text) - 1 > max_links)
        return out
