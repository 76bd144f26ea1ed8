"""What every CMS family module provides, and the helpers they share.

Government portals are built on a handful of content-management systems (TRS WCM, 大汉 Hanweb JCMS, …)
whose listing pages, pagination and article URLs look the same from one county to the next. A platform
module knows one family: how to read a listing (report links, pagination, sub-columns) and an article
(title, PubDate, attachments). ``generic`` reads any page by keywords and is the fallback.

Platform code only reads a page (url + decoded text) and returns plain data; requests, storage and
politeness stay in the spider, so a module is tested on a saved page without Scrapy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from domain.titles import year_from_title

ATTACHMENT_EXTENSIONS = (".doc", ".docx", ".wps", ".pdf", ".xls", ".xlsx", ".et")
REPORT_WORDS = ("年报", "年度报告", "年度工作报告")
REPORT_URL_WORDS = ("zfxxgknb", "xxgknb", "gknb")
# Column names that hold per-department or per-township reports.
COLUMN_WORDS = ("部门", "乡镇", "街道", "市直", "区直", "县直", "镇", "单位", "政府")

_YEAR_ONLY = re.compile(r"^\s*((?:19|20)\d{2})\s*年?度?\s*(?:年报|年度报告)?\s*$")
_DATE = re.compile(
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+(\d{1,2}):(\d{2}))?"
)
# 日期 covers 发布日期 / 成文日期 …, 时间 covers 发布时间 and the bare "时间：2022-02-08 16:34" of TRS pages
_VISIBLE_DATE = re.compile(r"(?:日期|时间)\s*[:：]?\s*" + _DATE.pattern)
_JS_REDIRECT = re.compile(
    r"""(?:window\.|self\.|top\.|document\.)?location(?:\.href)?\s*(?:=|\.replace\(|\.assign\()\s*["']([^"']+)["']"""
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_META_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";]+)", re.I)
# What an attachment's raw href must contain for ``is_attachment`` to accept it (an extension, maybe
# percent-encoded in a download script's query).
_MAY_BE_ATTACHMENT = re.compile(
    r"(?:\.|%2e)(?:" + "|".join(e[1:] for e in ATTACHMENT_EXTENSIONS) + r")(?![a-z0-9])", re.I
)


@dataclass
class Link:
    """A link seen on a page, with what surrounds it (the date beside it in a listing, its column)."""

    url: str
    text: str = ""
    date_text: str | None = None  # the date printed beside the link, raw


@dataclass
class Listing:
    """What a listing page offers: report links, and further listing pages to read."""

    reports: list[Link] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # pagination, data-proxy pages: same column
    columns: list[Link] = field(default_factory=list)  # sub-columns (per year, per department)
    truncated: bool = False  # the page held more links than ``max_links``: those after were not read


@dataclass
class Article:
    """What a report page says about itself."""

    title: str | None = None
    meta: dict[str, str] = field(default_factory=dict)  # 《政府网站发展指引》 meta tags, by lower-case name
    pub_meta: str | None = None  # raw PubDate meta
    pub_text: str | None = None  # raw visible 发布日期
    content_source: str | None = None
    column_name: str | None = None
    attachments: list[Link] = field(default_factory=list)
    has_tables: bool = False  # the report's tables are in the page itself


class Platform:
    """One CMS family. Subclasses override what differs; the defaults read any HTML page."""

    name = "base"

    def detect(self, url: str, text: str) -> bool:
        raise NotImplementedError

    def listing(self, url: str, text: str, max_links: int | None = None) -> Listing:
        """Report links, pagination and sub-columns of a listing page; at most ``max_links`` links are
        read (a page of 100,000 links is cut there, and says so: ``Listing.truncated``)."""
        raise NotImplementedError

    def article(self, url: str, text: str) -> Article:
        return read_article(url, text)


# --- shared helpers -----------------------------------------------------------------------------------


def parse_html(text: str):
    """An lxml tree for a page, tolerant of the broken markup portals serve.

    The spider asks several helpers about one page (shell redirect? article? a list after all?), each
    with the same decoded ``text`` object: the last tree is remembered by that object's identity, so a page
    is parsed once, not once per helper. Trees handed out are therefore shared: nothing may modify them.
    """
    last_text, last_tree = _last_parsed
    if text is last_text:
        return last_tree
    source = _XML_DECLARATION.sub("", text, count=1)  # lxml refuses str input that declares an encoding
    if not source.strip():
        source = "<html></html>"
    try:
        tree = lxml_html.fromstring(source)
    except (etree.ParserError, ValueError):
        tree = lxml_html.fromstring("<html></html>")
    _last_parsed[:] = [text, tree]
    return tree


_last_parsed: list = [None, None]  # (text, tree) of the page parsed last

BOUNDED_PARSE_CHARS = 1_000_000  # pages longer than this are parsed only as far as the links wanted
_CHUNK = 256 * 1024


def parse_listing_html(text: str, max_links: int | None):  # noqa: ANN201
    """The tree of a listing page, parsed only as far as its first ``max_links + 1`` links when it is large.

    A page of 100,000 links would become a tree of half a million elements only for all but the first
    thousand links to be cut off (``max_links_per_listing_page``); fed to the parser in chunks, the page
    stops being parsed once one link more than wanted has been seen (so that the cut is still noticed).
    The tree is remembered like ``parse_html``'s, so the platform reading the page gets this one.
    """
    if max_links is None or len(text) <= BOUNDED_PARSE_CHARS:
        return parse_html(text)
    last_text, last_tree = _last_parsed
    if text is last_text:
        return last_tree
    source = _XML_DECLARATION.sub("", text, count=1)
    parser = etree.HTMLPullParser(events=("end",), tag="a")
    parser.set_element_class_lookup(lxml_html.HtmlElementClassLookup())
    seen = 0
    for start in range(0, len(source), _CHUNK):
        parser.feed(source[start : start + _CHUNK])
        seen += sum(1 for _ in parser.read_events())
        if seen > max_links:
            break
    try:
        tree = parser.close()
    except etree.XMLSyntaxError:
        tree = None
    if tree is None:
        tree = lxml_html.fromstring("<html></html>")
    _last_parsed[:] = [text, tree]
    return tree


def clean(s: str | None) -> str:
    return re.sub(r"\s+", " ", s or "").strip()


def node_text(node) -> str:
    return clean(node.text_content())


def is_attachment(url: str) -> bool:
    """A document URL: by its path, or a download script's file name (downfile.jsp?filename=x.docx)."""
    parts = urlsplit(url)
    if parts.path.lower().endswith(ATTACHMENT_EXTENSIONS):
        return True
    return any(v.lower().endswith(ATTACHMENT_EXTENSIONS) for _, v in parse_qsl(parts.query))


def looks_like_report_title(text: str) -> bool:
    """A full report title ("XX局2024年政府信息公开工作年度报告"), not a column name like "2024年报"."""
    return len(text) > 12 and year_from_title(text) is not None and ("报告" in text or "年报" in text)


def says_report(text: str, url: str = "") -> bool:
    """Whether a link's text or URL names an annual report (or its column)."""
    low = url.lower()
    return any(w in text for w in REPORT_WORDS) or any(w in low for w in REPORT_URL_WORDS)


def is_year_column(text: str) -> bool:
    return bool(_YEAR_ONLY.match(text))


def find_date(text: str | None) -> str | None:
    """The first date-looking string in a text, raw."""
    if not text:
        return None
    m = _DATE.search(text)
    return m.group(0).strip() if m else None


def visible_pubdate(text: str) -> str | None:
    """The 发布日期 / 发布时间 printed on a page (raw), from its visible text."""
    m = _VISIBLE_DATE.search(text)
    if not m:
        return None
    return find_date(m.group(0))


def redirect_target(url: str, text: str) -> str | None:
    """Where a shell page sends the browser: meta refresh or a ``location.href = …`` script.

    Only small pages count as shells (a full page with a script redirect buried in it is a page).
    """
    if len(text) > 20000:
        return None
    low = text.lower()
    if "refresh" not in low and "location" not in low:
        return None  # the common case, decided without parsing the page
    tree = parse_html(text)
    for meta in tree.xpath("//meta[@http-equiv]"):
        if meta.get("http-equiv", "").lower() == "refresh":
            m = _META_REFRESH_URL.search(meta.get("content", ""))
            if m:
                return urljoin(url, m.group(1).strip())
    visible = clean(" ".join(tree.xpath("//body//text()[not(ancestor::script)]")))
    if len(visible) > 200:
        return None
    for script in tree.xpath("//script/text()"):
        m = _JS_REDIRECT.search(script)
        if m:
            return urljoin(url, m.group(1).strip())
    return None


class Links(list):
    """The links read from a page; ``truncated`` when the page had more than the limit asked for."""

    truncated = False


def links(url: str, tree, *, only=None, with_dates: bool = True, hint=None, limit=None) -> Links:  # noqa: ANN001
    """Every <a href> of a page, absolute, with its text and the date printed beside it.

    ``only`` filters absolute URLs before the (costlier) text and date are read; ``hint``, a regex every
    raw href that ``only`` accepts matches, skips most links before they are even made absolute.
    ``limit``: at most this many hrefs are read; a page with more comes back ``truncated``.
    """
    out = Links()
    seen = 0
    for a in tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        if limit is not None:
            if seen >= limit:
                out.truncated = True
                break
            seen += 1
        if hint is not None and not hint.search(href):
            continue
        absolute = urljoin(url, href)
        if only is not None and not only(absolute):
            continue
        text = node_text(a) or clean(a.get("title"))
        title_attr = clean(a.get("title"))
        if title_attr and text.rstrip(".…。 ") in title_attr:  # listings cut long titles, keep them in title=
            text = title_attr
        out.append(Link(url=absolute, text=text, date_text=date_beside(a) if with_dates else None))
    return out


def date_beside(a) -> str | None:
    """The date a listing prints next to a link: in the same <li>/<tr>, outside the link text — or, where
    the link sits in a cell of its own (``<dl><dd><a/></dd><dd>2022-02-08</dd></dl>``), in the item that
    holds the link and nothing else linked."""
    row = a
    for _ in range(3):
        row = row.getparent()
        if row is None:
            return None
        if row.tag in ("li", "tr", "dd", "p", "div"):
            break
    own = node_text(a)
    found = find_date(node_text(row).replace(own, " ", 1))
    item = row.getparent()
    for _ in range(2):
        if found or item is None or sum(1 for _ in item.iter("a")) > 1:
            break
        found = find_date(node_text(item).replace(own, " ", 1))
        item = item.getparent()
    return found


def visible_text_of(node) -> str:  # noqa: ANN001
    """A node's text without its scripts and styles, leaving the (shared) tree as it is.

    The text of the whole node comes from one XPath ``string()`` (fast, in C); each script's and style's
    own text is then cut out of it, in document order, where it stands.
    """
    full = node.xpath("string()")
    parts, pos = [], 0
    for el in node.iter("script", "style"):
        inner = el.xpath("string()")
        at = full.find(inner, pos) if inner else -1
        if at < 0:
            continue
        parts.append(full[pos:at])
        pos = at + len(inner)
    parts.append(full[pos:])
    return "".join(parts)


def read_article(url: str, text: str) -> Article:
    """The 《政府网站发展指引》 meta tags, visible date, title and attachments of any article page."""
    tree = parse_html(text)
    meta = {}
    for m in tree.xpath("//meta[@name]"):
        meta[m.get("name", "").strip().lower()] = clean(m.get("content"))
    title = meta.get("articletitle") or None
    if not title:
        for xp in ("//h1", "//*[contains(@class,'title')]", "//title"):
            nodes = tree.xpath(xp)
            if nodes and node_text(nodes[0]):
                title = node_text(nodes[0])
                break
    atts = links(url, tree, only=is_attachment, with_dates=False, hint=_MAY_BE_ATTACHMENT)
    body = tree.find("body")
    body_text = clean(visible_text_of(body if body is not None else tree))
    return Article(
        title=title,
        meta=meta,
        pub_meta=meta.get("pubdate") or None,
        pub_text=visible_pubdate(body_text),
        content_source=meta.get("contentsource") or None,
        column_name=meta.get("columnname") or None,
        attachments=atts,
        has_tables="本年新收" in body_text.replace(" ", "") and bool(tree.xpath("//table")),
    )


def same_site(url: str, base: str) -> bool:
    return urlsplit(url).hostname == urlsplit(base).hostname


def split_report_links(page_url: str, found: list[Link], looks_like_article) -> Listing:
    """Sort a page's links into reports, sub-columns and nothing, the way all families share.

    A report link is an attachment, or an article (per the family's URL shape) whose text names a report;
    a sub-column is a same-site link whose text is a year ("2023年") or names the report column or a
    department group (市直部门 / 乡镇街道). Everything else (navigation, other columns) is ignored.
    """
    out = Listing()
    seen: set[str] = {folder_of(page_url)}
    for lk in found:
        key = folder_of(lk.url.split("#")[0])
        if key in seen or lk.text in PAGE_LINK_WORDS:
            continue
        seen.add(key)
        if is_attachment(lk.url):
            if says_report(lk.text, lk.url) or year_from_title(lk.text):
                out.reports.append(lk)
        elif looks_like_article(lk.url) and (says_report(lk.text) or "报告" in lk.text):
            # by its words only: every article of a report column has zfxxgknb in its URL, notices too
            out.reports.append(lk)
        elif same_site(lk.url, page_url) and looks_like_report_title(lk.text):
            out.reports.append(lk)  # an unfamiliar URL shape; the report page callback copes with a list
        elif same_site(lk.url, page_url) and (
            is_year_column(lk.text)
            or (says_report(lk.text, lk.url) and not looks_like_article(lk.url))
            or (any(w in lk.text for w in COLUMN_WORDS) and len(lk.text) <= 12 and _under(lk.url, page_url))
        ):
            out.columns.append(lk)
    return out


PAGE_LINK_WORDS = ("首页", "上一页", "下一页", "上页", "下页", "尾页", "末页")
_INDEX_PAGE = re.compile(r"/(?:index|default)(?:_0)?\.s?html?$")


def folder_of(url: str) -> str:
    """A column's URL without its index page: …/zfxxgknb/index.html and …/zfxxgknb/ are one column."""
    return _INDEX_PAGE.sub("/", url)


def _under(url: str, base: str) -> bool:
    """Whether url lies in the folder of base (a sub-column of this column, not site navigation)."""
    folder = urlsplit(base).path.rsplit("/", 1)[0] + "/"
    return urlsplit(url).path.startswith(folder)
