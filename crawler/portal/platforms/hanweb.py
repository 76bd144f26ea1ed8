"""大汉 Hanweb JCMS portals: ``/art/2025/1/28/art_1234_5678.html`` articles, listings through ``dataproxy.jsp``.

A Hanweb column page holds no list in its HTML: a ``jpage`` script asks
``/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15&columnid=…`` for an XML
``<datastore>`` whose ``<record>`` elements carry each list item as an HTML fragment in CDATA, with
``<totalrecord>`` telling how many there are. The first group is often embedded in the page itself in a
``<script type="text/xml">``. We read the records wherever they are and page by record ranges.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from crawler.portal.platforms.base import Listing, Platform, links, parse_html, split_report_links

_ARTICLE = re.compile(r"/art_\d+_\d+\.s?html?$")
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
_PROXY_URL = re.compile(r"""["']([^"'\s]*dataproxy\.jsp[^"'\s]*)["']""")
_SCRIPT_VAR = r"""['"]?{name}['"]?\s*[:=]\s*['"]?([\w/%.-]+)"""
GROUP = 45  # records per dataproxy request, as jpage asks (3 pages of 15)


def looks_like_article(url: str) -> bool:
    return bool(_ARTICLE.search(urlsplit(url).path))


def _script_value(text: str, name: str) -> str | None:
    m = re.search(_SCRIPT_VAR.format(name=name), text, re.I)
    return m.group(1) if m else None


def proxy_url(url: str, text: str, start: int = 1, end: int = GROUP) -> str | None:
    """The dataproxy.jsp request a column page's jpage script would make for records start..end."""
    m = _PROXY_URL.search(text)
    if not m:
        return None
    base = urlsplit(urljoin(url, m.group(1).replace("&amp;", "&")))
    params = dict(parse_qsl(base.query, keep_blank_values=True))
    for key, var in (("columnid", "columnid"), ("unitid", "unitid"), ("webid", "webid"), ("path", "path")):
        if key not in params:
            v = _script_value(text, var)
            if v:
                params[key] = v
    perpage = params.get("perpage") or _script_value(text, "perPage") or "15"
    params.update(startrecord=str(start), endrecord=str(end), perpage=perpage)
    params.setdefault("col", "1")
    params.setdefault("appid", "1")
    return urlunsplit((base.scheme, base.netloc, base.path, urlencode(params), ""))


def next_range(url: str, text: str) -> str | None:
    """The next dataproxy request after this response, if ``<totalrecord>`` says there is more."""
    m = _TOTAL.search(text)
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    try:
        end = int(params.get("endrecord", "0"))
        start = int(params.get("startrecord", "1"))
    except ValueError:
        return None
    # a runaway total is bounded by the spider (crawl.max_listing_pages_per_portal), and recorded there
    if not m or end >= int(m.group(1)):
        return None
    size = max(end - start + 1, 1)
    params.update(startrecord=str(end + 1), endrecord=str(end + size))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))


def records_html(text: str) -> str:
    """All list items of a datastore (a dataproxy response or a page's embedded first group) as HTML."""
    return "<html><body><ul>" + "".join(_RECORD.findall(text)) + "</ul></body></html>"


class Hanweb(Platform):
    name = "hanweb"

    def detect(self, url: str, text: str) -> bool:
        return (
            "dataproxy.jsp" in url or "dataproxy.jsp" in text or bool(re.search(r"art_\d+_\d+\.html", text))
        )

    def listing(self, url: str, text: str, max_links: int | None = None) -> Listing:
        if "dataproxy.jsp" in url:
            found = links(url, parse_html(records_html(text)), limit=max_links)
            out = split_report_links(url, found, looks_like_article)
            nxt = next_range(url, text)
            out.pages = [nxt] if nxt else []
            out.truncated = found.truncated
            return out
        found = links(url, parse_html(text), limit=max_links)
        truncated = found.truncated
        if _RECORD.search(text):
            left = None if max_links is None else max(max_links - len(found), 0)
            records = links(url, parse_html(records_html(text)), limit=left)
            truncated = truncated or records.truncated
            found += records
        out = split_report_links(url, found, looks_like_article)
        first = proxy_url(url, text)
        out.pages = [first] if first else []
        out.truncated = truncated
        return out
