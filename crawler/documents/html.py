"""HTML pages: the report as portals publish it, inside navigation, headers and footers.

The charset is decided from the BYTES and the page's own ``<meta>``, never the HTTP header (portals serve GBK
pages labelled UTF-8 and the reverse): strict UTF-8 first, then the declared charset, then GB18030. Tables
become grids with rowspan/colspan expanded (a vertically merged cell repeats, a horizontally merged one
appears once). Only the main content is kept: the smallest element that holds the report's key labels, or
the element with the most paragraph text when the page is not a report.
"""

from __future__ import annotations

import html as html_lib
import re

from lxml import etree

from crawler.documents.limits import (
    HTML_STRIP_ABOVE_BYTES,
    MAX_COLSPAN,
    MAX_HTML_PARSE_BYTES,
    MAX_ROWSPAN,
    MAX_TABLE_CELLS,
    MAX_TABLE_ROWS,
    clamp_span,
)
from crawler.documents.model import Block, Document, Paragraph, Table, UnreadableDocument
from crawler.documents.text import decode_best, text_blocks

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_BULK = re.compile(
    r"<(script|style|noscript|template|svg)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_DATA_URI = re.compile(r"data:[^\"')\s>]{512,}")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")

SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "select",
    "option",
    "button",
    "input",
    "textarea",
    "svg",
    "head",
    "map",
    "canvas",
}
BLOCK_TAGS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "center",
    "dl",
    "dt",
    "dd",
    "form",
    "tr",
    "td",
    "th",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "caption",
    "main",
    "nav",
    "aside",
    "address",
    "hr",
    "figure",
}
CHROME_TAGS = {"nav", "header", "footer", "aside"}
# Words that start a class/id token of page chrome ("main-nav", "footer_links", "sidebar").
_CHROME_WORDS = (
    "nav",
    "menu",
    "foot",
    "header",
    "breadcrumb",
    "crumb",
    "sidebar",
    "toolbar",
    "share",
    "copyright",
    "banner",
    "bottom",
    "search",
    "login",
    "friendlink",
    "links",
)
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
# Labels that only the body of an annual report prints (表三's rows, section headings).
REPORT_MARKERS = (
    "本年新收",
    "结转下年度",
    "上年结转",
    "行政复议",
    "总体情况",
    "主动公开政府信息",
    "存在的主要问题",
)
_TITLE_LIKE = re.compile(r"(19|20)\d{2}\s*年.{0,30}报告")
MAX_DEPTH = 150


def _decode(data: bytes, fallback_charset: str | None = None) -> tuple[str, list[str]]:
    notes: list[str] = []
    m = _META_CHARSET.search(data[:16384])
    declared = m.group(1).decode("ascii", "ignore").lower() if m else fallback_charset
    text, enc, replaced = decode_best(data, declared=declared)
    if replaced:
        notes.append(f"{replaced} undecodable byte sequence(s) replaced")
    used = enc
    if (
        declared
        and used.replace("-sig", "") != declared
        and not (used == "gb18030" and declared in ("gb2312", "gbk", "x-gbk", "gb18030", "cp936"))
    ):
        notes.append(f"page declares charset {declared} but its bytes are {used}; decoded as {used}")
    elif not declared and used not in ("utf-8", "utf-8-sig"):
        notes.append(f"page declares no charset; decoded as {used}")
    return text, notes


def _prepare(text: str, notes: list[str]) -> str:
    text = _XML_DECL.sub("", text, count=1)
    if len(text) > HTML_STRIP_ABOVE_BYTES:
        text = _DATA_URI.sub("data:", _BULK.sub(" ", text))
        notes.append("very large page: scripts, styles, comments and inline data stripped before reading")
    if len(text) > MAX_HTML_PARSE_BYTES:
        text = text[:MAX_HTML_PARSE_BYTES]
        notes.append(
            f"very large page: only the first {MAX_HTML_PARSE_BYTES // 1048576} MB of its markup read"
        )
    return text


def _cell_text(cell: etree._Element) -> str:
    if len(cell) == 0:  # the common case: text only
        return _WS.sub(" ", cell.text).strip() if cell.text else ""
    parts: list[str] = []
    for node in cell.iter():
        if node is not cell and isinstance(node.tag, str) and node.tag in SKIP_TAGS:
            continue
        if isinstance(node.tag, str) and (node.tag == "br" or (node is not cell and node.tag in BLOCK_TAGS)):
            parts.append(" ")  # lines inside a cell: spaces vanish from labels, keep figures apart
        if node is cell or (isinstance(node.tag, str) and node.tag not in SKIP_TAGS):
            if node.text:
                parts.append(node.text)
        if node is not cell and node.tail:
            parts.append(node.tail)
    return _WS.sub(" ", "".join(parts)).strip()


def _own_rows(table: etree._Element) -> list[etree._Element]:
    return [tr for tr in table.iter("tr") if next(tr.iterancestors("table"), None) is table]


def table_grid(table: etree._Element, notes: list[str]) -> list[list[str]]:
    """The table as a grid of cell texts with rowspan/colspan expanded (caps from ``limits``)."""
    trs = _own_rows(table)
    if len(trs) > MAX_TABLE_ROWS:
        notes.append(f"table cut at {MAX_TABLE_ROWS} rows")
        trs = trs[:MAX_TABLE_ROWS]
    occupied: dict[tuple[int, int], str] = {}
    widths = [0] * len(trs)
    for r, tr in enumerate(trs):
        col = 0
        for cell in tr:
            if not isinstance(cell.tag, str) or cell.tag not in ("td", "th"):
                continue
            while (r, col) in occupied:
                col += 1
            rowspan = clamp_span(cell.get("rowspan"), MAX_ROWSPAN)
            colspan = clamp_span(cell.get("colspan"), MAX_COLSPAN)
            text = _cell_text(cell)
            for dr in range(min(rowspan, len(trs) - r)):
                for dc in range(colspan):
                    occupied[(r + dr, col + dc)] = text if dc == 0 else ""
                widths[r + dr] = max(widths[r + dr], col + colspan)
            col += colspan
            if len(occupied) > MAX_TABLE_CELLS:
                notes.append(f"table cut at {MAX_TABLE_CELLS} cells")
                return _rows(occupied, widths[: r + 1])
    return _rows(occupied, widths)


def _rows(occupied: dict[tuple[int, int], str], widths: list[int]) -> list[list[str]]:
    return [[occupied.get((r, c), "") for c in range(w)] for r, w in enumerate(widths) if w]


class _BlockWriter:
    """Walks the content tree and writes paragraphs (one per block element or <br>) and tables."""

    def __init__(self, notes: list[str]):
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.notes = notes

    def flush(self) -> None:
        text = _WS.sub(" ", "".join(self.parts)).strip()
        self.parts = []
        if text:
            self.blocks.append(Paragraph(text))

    def walk(self, el: etree._Element, depth: int = 0) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in SKIP_TAGS or not tag:
            return
        if depth > MAX_DEPTH:  # pathological nesting: keep the words, drop the structure
            self.parts.append(" ".join(el.itertext()))
            return
        if tag == "table" and not any(True for _ in el.iterdescendants("table")):
            self.flush()
            grid = table_grid(el, self.notes)
            if grid:
                self.blocks.append(Table(grid))
            return
        if tag == "br":
            self.flush()
            return
        block = tag in BLOCK_TAGS
        if block:
            self.flush()
        if el.text:
            self.parts.append(el.text)
        for child in el:
            self.walk(child, depth + 1)
            if child.tail:
                self.parts.append(child.tail)
        if block:
            self.flush()


def _ancestors_and_self(el: etree._Element) -> list[etree._Element]:
    return [el, *el.iterancestors()]


# XPath expressions as strings, evaluated per call (``el.xpath``): a shared compiled XPath object is not
# meant to be used from several threads at once.
_MARKER_XPATH = "//body//text()[" + " or ".join(f"contains(., '{m}')" for m in REPORT_MARKERS) + "]"


def _marker_elements(root: etree._Element) -> list[etree._Element]:
    """Elements whose own text holds one of the report's labels (found by XPath: a page can be huge)."""
    found: list[etree._Element] = []
    seen: set[int] = set()
    for text in root.xpath(_MARKER_XPATH):
        el = text.getparent()
        if el is None:
            continue
        if text.is_tail:
            el = el.getparent()
        if el is None or id(el) in seen:
            continue
        # A label in a link or a menu ("行政复议" is a common portal column) is chrome, not the report.
        if any(a.tag in SKIP_TAGS or a.tag == "a" or _is_chrome(a) for a in _ancestors_and_self(el)):
            continue
        seen.add(id(el))
        found.append(el)
    return found


def _common_ancestor(elements: list[etree._Element]) -> etree._Element:
    chain = _ancestors_and_self(elements[0])
    for el in elements[1:]:
        ids = {id(a) for a in _ancestors_and_self(el)}
        chain = [a for a in chain if id(a) in ids]
    return chain[0]


def _densest_text(body: etree._Element) -> etree._Element:
    """The element whose paragraphs hold the most text: the article body of a page that is not a report."""
    score: dict[int, tuple[int, etree._Element]] = {}
    for p in body.iter("p", "br"):
        parent = p.getparent()
        if parent is None:
            continue
        n = len("".join(p.itertext()).strip()) if p.tag == "p" else len((p.tail or "").strip())
        s, _ = score.get(id(parent), (0, parent))
        score[id(parent)] = (s + n, parent)
    if not score:
        return body
    best, el = max(score.values(), key=lambda t: t[0])
    return el if best >= 50 else body


def _is_chrome(el: etree._Element) -> bool:
    if el.tag in CHROME_TAGS:
        return True
    if el.tag not in ("div", "ul", "ol", "section", "dl", "span", "a", "p"):
        return False  # never a piece of a table: its header rows carry no report marker of their own
    name = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return any(t.startswith(_CHROME_WORDS) for t in _TOKEN_SPLIT.split(name) if t)


_CHROME_CANDIDATES = "descendant::nav | descendant::header | descendant::footer | descendant::aside | descendant::*[@class or @id]"


def _drop_chrome(root: etree._Element, keep: list[etree._Element]) -> None:
    """Remove navigation, headers and footers inside ``root`` that hold none of the report's text."""
    keep_ids = {id(a) for el in keep for a in _ancestors_and_self(el)}
    for el in root.xpath(_CHROME_CANDIDATES):
        if el is root or id(el) in keep_ids:
            continue
        if _is_chrome(el) and el.getparent() is not None:
            _drop(el)


def _drop(el: etree._Element) -> None:
    """Remove an element but keep the text that follows it (its tail belongs to the parent's flow)."""
    parent = el.getparent()
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _page_meta(tree: etree._Element) -> dict[str, str]:
    meta: dict[str, str] = {}
    for m in tree.iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip()
        content = m.get("content")
        if name and content is not None and name not in meta:
            meta[name] = _WS.sub(" ", content).strip()
    title = next(tree.iter("title"), None)
    if title is not None:
        meta["title"] = _WS.sub(" ", "".join(title.itertext())).strip()
    return meta


_TITLE_CANDIDATES = (
    "//h1 | //h2 | //h3 | //*[contains(translate(@class, 'TITLE', 'title'), 'title') "
    "or contains(translate(@id, 'TITLE', 'title'), 'title')]"
)


def _outside_title(tree: etree._Element, content: etree._Element) -> str | None:
    """A report title printed above the content element (an <h1> or a "title" div beside the article)."""
    for el in tree.xpath(_TITLE_CANDIDATES):
        if el.tag in SKIP_TAGS or el.tag == "title" or any(a is content for a in _ancestors_and_self(el)):
            continue
        text = _WS.sub(" ", el.xpath("string(.)")).strip()
        if len(text) <= 100 and _TITLE_LIKE.search(text):
            return text
    return None


_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"<(?:/?(?:p|div|tr|li|h\d|table)\b[^>]*|br\s*/?)>", re.IGNORECASE)


def _text_lost_by_parser(markup: str, tree: etree._Element) -> str | None:
    """The page's text from the raw markup when the parser dropped most of it (libxml2 discards what is
    nested beyond its depth limit), else None."""
    parsed = int(tree.xpath("string-length(normalize-space(string(.)))"))
    if parsed > 2000:
        return None
    raw = html_lib.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", _BULK.sub(" ", markup))))
    return raw if len(_WS.sub("", raw)) > 2 * parsed else None


def is_mhtml(data: bytes) -> bool:
    """A web archive (Word's "single file web page", .mht — often published as .doc): MIME multipart."""
    head = data[:4096].lstrip().lower()
    return (
        head.startswith((b"mime-version:", b"from:", b"content-type: multipart"))
        and b"multipart/related" in head
    )


def read_mhtml(data: bytes) -> Document:
    """The HTML part of a web archive, read like any page."""
    import email
    import email.policy

    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                doc = read_html(payload, fallback_charset=part.get_content_charset())
                doc.notes.insert(0, "web archive (MHTML): its HTML part read")
                return doc
    raise UnreadableDocument("web archive (MHTML) without an HTML part", "html")


def read_html(data: bytes, fallback_charset: str | None = None) -> Document:
    """Read a page; ``fallback_charset`` is a charset named outside the page (a MIME part) for when the page's
    own ``<meta>`` names none."""
    notes: list[str] = []
    text, notes = _decode(data, fallback_charset)
    text = _prepare(text, notes)
    try:
        # The plain etree parser: lxml.html's element classes cost a Python lookup per node.
        parser = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
        tree = etree.fromstring(text, parser=parser)
        if tree is None:
            raise ValueError("no markup")
    except (etree.ParserError, ValueError) as e:
        raise UnreadableDocument(f"the HTML page cannot be parsed: {e}", "html") from e
    meta = _page_meta(tree)
    lost = _text_lost_by_parser(text, tree)
    if lost is not None:
        notes.append("markup nested too deeply to parse: read as plain text")
        return Document(format="html", blocks=text_blocks(lost), meta=meta, loose_text=True, notes=notes)
    body = tree.find("body")
    if body is None:
        body = tree
    markers = _marker_elements(body)
    content = _common_ancestor(markers) if len(markers) >= 2 else _densest_text(body)
    if content.tag in ("tr", "td", "th", "tbody", "thead") or content.tag == "table":
        # Markers inside one grid: keep the whole table (the report's tables need their header rows).
        table = content if content.tag == "table" else next(content.iterancestors("table"), content)
        content = table.getparent() if table.getparent() is not None else table
    _drop_chrome(content, markers)
    writer = _BlockWriter(notes)
    title = _outside_title(tree, content)
    if title:
        writer.blocks.append(Paragraph(title))
    writer.walk(content)
    writer.flush()
    return Document(format="html", blocks=writer.blocks, meta=meta, notes=notes)
