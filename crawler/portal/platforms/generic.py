"""Any portal: follow what the words say.

Reports are found by links whose text or URL says 年报 / 年度报告 / ``zfxxgknb`` / ``xxgknb``; per-year
("2023年") and per-department (市直部门 / 乡镇街道) sub-columns are followed; shell pages that forward by
``location.href`` or meta refresh are handled by the spider before any platform sees them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.portal.platforms.base import (
    PAGE_LINK_WORDS,
    Listing,
    Platform,
    links,
    parse_html,
    split_report_links,
)


def looks_like_article(url: str) -> bool:
    """A content page: a last path segment or query carrying an id (digits), not a folder or index."""
    parts = urlsplit(url)
    last = parts.path.rsplit("/", 1)[-1]
    if not last or last.startswith("index"):
        return False
    return bool(
        re.search(r"\d{3,}", last) or re.search(r"(?:^|&)(?:id|articleid|infoid)=\d+", parts.query, re.I)
    )


class Generic(Platform):
    name = "generic"

    def detect(self, url: str, text: str) -> bool:
        return True

    def listing(self, url: str, text: str, max_links: int | None = None) -> Listing:
        found = links(url, parse_html(text), limit=max_links)
        out = split_report_links(url, found, looks_like_article)
        out.truncated = found.truncated
        out.pages = [
            lk.url
            for lk in found
            if lk.text in PAGE_LINK_WORDS and lk.text not in ("首页", "上一页", "上页") and lk.url != url
        ]
        return out
