"""HTML pages: the report as portals publish it, inside navigation, headers and footers.

The charset is decided from the BYTES and the page's own ``<meta>``, never the HTTP header alone (portals
serve GBK pages labelled UTF-8 and the reverse), by ``domain.charset`` — the one decision the crawler's
middleware shares: strict UTF-8 first, then the declared charset (GB2312/GBK widened to GB18030), then
GB18030, and a few undecodable bytes replaced rather than the page lost. Tables become grids with
rowspan/colspan expanded (a vertically merged cell repeats, a horizontally merged one appears once). Only the main content is kept: the smallest element that holds the report's key labels, or
the element with the most paragraph text when the page is not a report.

Speed (issue 2): Python never walks every element of the page. ``_scan_page`` gets from libxml2 only the text
nodes, headings, chrome tags and class/id values and looks at those (XPath ``contains``/``translate`` tests
would cost more than parsing the page); a cell is read from its few text nodes when it has Word's shape
(``<td><p><span>17</span></p></td>``), in C when its text is otherwise plain (``tostring(method="text")``).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from crawler.reading.documents.limits import (
    HTML_STRIP_ABOVE_BYTES,
    MAX_COLSPAN,
    MAX_HTML_PARSE_BYTES,
    MAX_ROWSPAN,
    MAX_TABLE_CELLS,
    MAX_TABLE_ROWS,
    clamp_span,
)
from crawler.reading.documents.model import Block, Document, Paragraph, Table, UnreadableDocument
from crawler.reading.documents.text import text_blocks
from domain import charset

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
    """The page's text, its charset decided by ``domain.charset`` (the one decision the crawler shares)."""
    try:
        decoded = charset.decode(data, outside=fallback_charset)
    except charset.UnknownCharset as e:
        raise UnreadableDocument(f"the HTML page is in no known charset: {e}", "html") from e
    return decoded.text, list(decoded.notes)


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
    """The exact reading of a cell: its text in document order, a space for each line break or block inside
    it (spaces vanish from labels, keep figures apart), nothing of what ``SKIP_TAGS`` hold but the text
    after them (as ``_BlockWriter.walk`` reads the page)."""
    if len(cell) == 0:  # the common case: text only
        return _WS.sub(" ", cell.text).strip() if cell.text else ""
    parts: list[str] = [cell.text] if cell.text else []
    skipping = None  # the skipped element whose subtree the walk is in
    for event, node in etree.iterwalk(cell, events=("start", "end")):
        if node is cell:
            continue
        if skipping is not None:
            if event == "end" and node is skipping:
                skipping = None
                if node.tail:
                    parts.append(node.tail)
            continue
        if event == "end":
            if node.tail:
                parts.append(node.tail)
            continue
        tag = node.tag
        if not isinstance(tag, str):
            continue
        if tag in SKIP_TAGS:
            skipping = node
            continue
        if tag == "br" or tag in BLOCK_TAGS:
            parts.append(" ")
        if node.text:
            parts.append(node.text)
    return _WS.sub(" ", "".join(parts)).strip()


# Descendants that make a cell's text more than the concatenation of its text nodes.
_SEPARATING = frozenset(BLOCK_TAGS) | {"br"}
_SPECIAL_IN_CELL = _SEPARATING | frozenset(SKIP_TAGS)
_OPENING_BLOCKS = frozenset(BLOCK_TAGS) - {"table"}  # may open a plain cell (see ``_is_plain``)


def _plain_cells(table: etree._Element) -> set[etree._Element]:
    """The cells whose text is just all their text nodes run together (read in C by ``_plain_text``)."""
    if next(table.iterdescendants("table"), None) is not None:
        return set()  # a layout table: its cells hold tables, read the exact way
    return {cell for cell in table.iter("td", "th") if _is_plain(cell)}


def _is_plain(cell: etree._Element) -> bool:
    """Whether ``_cell_text`` would give the cell's text nodes run together (``_plain_text``, read in C).

    True when nothing in the cell separates lines or is skipped, except one block element that opens the
    cell (Word's ``<td><p><span>…</span></p></td>``): the space ``_cell_text`` puts before that block is
    stripped anyway. Decided from the cell's own descendants (a cell holds two or three elements), never
    from a walk of the page: lxml's tag filters cost more to set up per cell than this loop.
    """
    if len(cell) == 0:
        return True
    first = cell[0]
    opening = (
        first.tag in _OPENING_BLOCKS and not (cell.text or "").strip()
    )  # the one special allowed, if it opens the cell
    for node in cell.iterdescendants():
        tag = node.tag
        if tag in _SPECIAL_IN_CELL and not (opening and node is first):
            return False
        if not isinstance(tag, str):
            return False  # an entity or anything unusual: the exact reading decides
    return True


def _read_cell(cell: etree._Element) -> str:
    """A cell's text: read in C when it is plain (``_is_plain``), else the exact way (``_cell_text``)."""
    n = len(cell)
    if n == 0:  # text only: what both readings give
        return _plain(cell.text) if cell.text else ""
    if n == 1:  # Word's <td><p><span>17</span></p></td>: its four text nodes, without asking libxml2
        block = cell[0]
        if block.tag in _OPENING_BLOCKS and len(block) == 1:
            inner = block[0]
            tag = inner.tag
            if tag.__class__ is str and tag not in _SPECIAL_IN_CELL and len(inner) == 0:
                outer = cell.text
                if not outer or not outer.strip():
                    return _plain(
                        f"{outer or ''}{block.text or ''}{inner.text or ''}{inner.tail or ''}{block.tail or ''}"
                    )
    return _plain_text(cell) if _is_plain(cell) else _cell_text(cell)


def _plain(text: str) -> str:
    """A plain cell's text nodes run together, spaces collapsed (``_cell_text``'s result for such a cell)."""
    if text.isalnum():  # a number or a label without spaces, punctuation or invisible characters
        return text
    return _WS.sub(" ", text).strip()


def _plain_text(cell: etree._Element) -> str:
    return _plain(etree.tostring(cell, method="text", encoding=str, with_tail=False))


def _own_rows(table: etree._Element) -> list[etree._Element]:
    if next(table.iterdescendants("table"), None) is None:  # the common case: an innermost table
        return list(table.iter("tr"))
    return [tr for tr in table.iter("tr") if next(tr.iterancestors("table"), None) is table]


def table_grid(
    table: etree._Element, notes: list[str], plain: set[etree._Element] | None = None
) -> list[list[str]]:
    """The table as a grid of cell texts with rowspan/colspan expanded (caps from ``limits``).

    ``plain`` holds the cells to read as plain (``_plain_cells``); by default each cell is judged as it is read.
    """
    trs = _own_rows(table)
    if len(trs) > MAX_TABLE_ROWS:
        notes.append(f"table cut at {MAX_TABLE_ROWS} rows")
        trs = trs[:MAX_TABLE_ROWS]
    if plain is None:
        read = _read_cell
    else:
        read = lambda cell: _plain_text(cell) if cell in plain else _cell_text(cell)  # noqa: E731
    grid = _grid_by_rows(trs, read)
    if grid is None:  # near the cell cap: the exact placement decides where the table is cut
        grid = _grid_capped(trs, read, notes)
    return grid


def _cell_spans(cell: etree._Element) -> tuple[int, int]:
    rowspan, colspan = cell.get("rowspan"), cell.get("colspan")
    return (
        1 if rowspan is None else clamp_span(rowspan, MAX_ROWSPAN),
        1 if colspan is None else clamp_span(colspan, MAX_COLSPAN),
    )


def _grid_by_rows(trs: list[etree._Element], read: Callable[[etree._Element], str]) -> list[list[str]] | None:
    """The grid built row by row (what ``_grid_capped`` does, with less bookkeeping per cell), or None
    when the table may reach ``MAX_TABLE_CELLS`` positions."""
    below: dict[int, dict[int, str]] = {}  # row → {column: text} of cells spanning down from rows above
    extents = [0] * len(trs)  # row → width that those cells give it
    grid: list[list[str]] = []
    positions = 0  # at least the number of grid positions filled so far
    n = len(trs)
    for r, tr in enumerate(trs):
        placed = below.pop(r, None)
        spanned = placed is not None
        if placed is None:
            placed = {}
        col = 0
        for cell in tr:
            tag = cell.tag
            if tag != "td" and tag != "th":
                continue
            if spanned:
                while col in placed:
                    col += 1
            text = read(cell)
            placed[col] = text
            if cell.get("rowspan") is None and cell.get("colspan") is None:  # most cells: nothing to spread
                col += 1
                positions += 1
                continue
            rowspan, colspan = _cell_spans(cell)
            for dc in range(1, colspan):
                placed[col + dc] = ""
            down = min(rowspan, n - r)
            for dr in range(1, down):
                target = below.setdefault(r + dr, {})
                target[col] = text
                for dc in range(1, colspan):
                    target[col + dc] = ""
                extents[r + dr] = max(extents[r + dr], col + colspan)
            col += colspan
            positions += down * colspan
        if positions > MAX_TABLE_CELLS:  # checked per row: the exact placement redoes the table anyway
            return None
        width = max(extents[r], max(placed) + 1 if placed else 0)
        if width:
            grid.append([placed.get(c, "") for c in range(width)])
    return grid


def _grid_capped(
    trs: list[etree._Element], read: Callable[[etree._Element], str], notes: list[str]
) -> list[list[str]]:
    occupied: dict[tuple[int, int], str] = {}
    widths = [0] * len(trs)
    for r, tr in enumerate(trs):
        col = 0
        for cell in tr:
            if cell.tag != "td" and cell.tag != "th":
                continue
            while (r, col) in occupied:
                col += 1
            rowspan, colspan = _cell_spans(cell)
            text = read(cell)
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


_MARKER = re.compile("|".join(map(re.escape, REPORT_MARKERS)))
_HEADINGS = ("h1", "h2", "h3")
# Only these tags can be chrome by their class or id (see ``_is_chrome``).
_NAMED_CHROME_TAGS = frozenset({"div", "ul", "ol", "section", "dl", "span", "a", "p"})
_TITLE_CASE = str.maketrans("TITLE", "title")  # what XPath's translate(@class, 'TITLE', 'title') did


@dataclass
class _PageScan:
    """What the later steps need from the whole page, found by two XPath queries and a tag filter that
    libxml2 answers in C.

    A Python loop over every element (~950 on a report page) costs more than parsing the page: reading an
    element's tag, text or attributes from Python is a fraction of a microsecond each. So libxml2 hands over
    only what can matter — every text node of ``<body>`` (for the report labels) and the headings, chrome
    tags and class/id attribute values of the page — and Python looks at those. The lists are in document
    order.
    """

    markers: list[etree._Element] = field(default_factory=list)  # own text holds a report label (in <body>)
    titles: list[etree._Element] = field(default_factory=list)  # <h1>-<h3>, or "title" in class/id
    # Navigation, headers and footers (anywhere: the caller keeps those inside the content element only).
    chrome: list[etree._Element] = field(default_factory=list)


# Text nodes (as lxml "smart" strings that know their element), and every class/id value (with its element),
# in document order.
_TEXT_NODES = etree.XPath("descendant::text()")
_CLASS_ID_VALUES = etree.XPath("descendant-or-self::*/@class | descendant-or-self::*/@id")
# Tags that make an element a title candidate or chrome by themselves.
_ROLE_TAGS = (*_HEADINGS, *sorted(CHROME_TAGS))


def _scan_page(root: etree._Element, body: etree._Element | None) -> _PageScan:
    """Markers are looked for in ``body`` (none when the page has none), title candidates and chrome
    everywhere."""
    scan = _PageScan()
    if body is not None:
        search = _MARKER.search
        for text in _TEXT_NODES(body):
            if search(text):
                # A label in an element's text belongs to it; in its tail, to its parent (as XPath's text()).
                el = text.getparent()
                scan.markers.append(el.getparent() if text.is_tail else el)
    for el, title, is_chrome in _role_elements(root):
        if title:
            scan.titles.append(el)
        if is_chrome:
            scan.chrome.append(el)
    return scan


def _role_elements(root: etree._Element) -> list[tuple[etree._Element, bool, bool]]:
    """(element, title candidate, chrome) for every element that is either, in document order.

    Not one XPath union of the role tags and the class/id values: each ``descendant-or-self::h1`` branch is a
    walk of the whole tree, and the union is sorted node by node — together more than the class/id values
    themselves. The role tags come from ``iter`` (a tag filter libxml2 applies in C), the values from one
    XPath; the few elements they give are put in document order by their paths.
    """
    roles = _valued_roles(root)
    for el in root.iter(*_ROLE_TAGS):
        title, is_chrome = roles.get(el, _NO_ROLE)
        roles[el] = (True, is_chrome) if el.tag in _HEADINGS else (title, True)
    if len(roles) > _MAX_SORTED_ROLES:  # a page of hundreds of "title" cells: one walk orders them
        order = [el for el in root.iter() if el in roles]
    else:
        order = sorted(roles, key=_document_position)
    return [(el, *roles[el]) for el in order]


# Up to this many role elements are ordered by their paths (each a few ``index`` calls), more by a walk.
_MAX_SORTED_ROLES = 64


def _document_position(el: etree._Element) -> list[int]:
    """The element's child index at each level from the root: sorts elements in document order."""
    path: list[int] = []
    parent = el.getparent()
    while parent is not None:
        path.append(parent.index(el))
        el, parent = parent, parent.getparent()
    path.reverse()
    return path


def _valued_roles(root: etree._Element) -> dict[etree._Element, tuple[bool, bool]]:
    """The elements whose class or id value names a title or chrome: element → (title, chrome)."""
    valued: dict[etree._Element, tuple[bool, bool]] = {}
    for node in _CLASS_ID_VALUES(root):  # most are Word's MsoNormal, answered by one dict lookup
        roles = _VALUE_ROLES.get(node)
        if roles is None:
            roles = _value_roles(str(node))  # a plain str: the cache must not hold the tree
        if roles is _NO_ROLE:
            continue
        el = node.getparent()
        title, chrome_word = roles
        is_chrome = chrome_word and el.tag in _NAMED_CHROME_TAGS
        if title or is_chrome:
            was_title, was_chrome = valued.get(el, _NO_ROLE)
            valued[el] = (title or was_title, is_chrome or was_chrome)
    return valued


_NO_ROLE = (False, False)
_VALUE_ROLES: dict[str, tuple[bool, bool]] = {}  # class/id value -> (names a title, names chrome)


def _value_roles(value: str) -> tuple[bool, bool]:
    """Whether a class/id value names a title (what XPath's translate(@class, 'TITLE', 'title') did) and
    whether it names chrome (``_chrome_name``); remembered, as pages repeat a few values hundreds of times."""
    title, chrome = "title" in value.translate(_TITLE_CASE), _chrome_name(value, None)
    roles = (title, chrome) if title or chrome else _NO_ROLE
    if len(_VALUE_ROLES) > 4096:
        _VALUE_ROLES.clear()
    _VALUE_ROLES[value] = roles
    return roles


def _marker_elements(candidates: list[etree._Element]) -> list[etree._Element]:
    """The elements holding a report label that are part of the report (not a link or a menu)."""
    found: list[etree._Element] = []
    seen: set[int] = set()
    for el in candidates:
        if el is None or id(el) in seen:
            continue
        # A label in a link or a menu ("行政复议" is a common portal column) is chrome, not the report.
        if any(a.tag in SKIP_TAGS or a.tag == "a" or _is_chrome(a) for a in _ancestors_and_self(el)):
            continue
        seen.add(id(el))
        found.append(el)
    return found


def _inside(el: etree._Element, container: etree._Element) -> bool:
    """Whether ``el`` is a strict descendant of ``container``."""
    return any(a is container for a in el.iterancestors())


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
    if el.tag not in _NAMED_CHROME_TAGS:
        return False  # never a piece of a table: its header rows carry no report marker of their own
    return _chrome_name(el.get("class"), el.get("id"))


@lru_cache(maxsize=4096)
def _chrome_name(cls: str | None, ident: str | None) -> bool:
    """Whether a class/id token starts with a chrome word ("main-nav", "footer_links", "sidebar").

    Cached: a page repeats the same few class names hundreds of times (Word's ``MsoNormal``).
    """
    name = f"{cls or ''} {ident or ''}".lower()
    return any(t.startswith(_CHROME_WORDS) for t in _TOKEN_SPLIT.split(name) if t)


def _drop_chrome(root: etree._Element, keep: list[etree._Element], candidates: list[etree._Element]) -> None:
    """Remove navigation, headers and footers inside ``root`` that hold none of the report's text."""
    # The proxies themselves, not their id(): a proxy nothing holds is freed, and its id() can come back as
    # another element's (the XPath version kept chrome at random that way).
    kept = {a for el in keep for a in _ancestors_and_self(el)}
    inside = [el for el in candidates if el is not root and el not in kept and _inside(el, root)]
    for el in inside:
        if el.getparent() is not None:
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


def _outside_title(candidates: list[etree._Element]) -> str | None:
    """A report title printed above the content element (an <h1> or a "title" div beside the article);
    ``candidates`` are the title candidates not inside the content element."""
    for el in candidates:
        if el.tag in SKIP_TAGS or el.tag == "title":
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
    # A cheap upper bound first: the markup without its tags holds at least as much text as ``raw`` (script
    # and comment bodies, entities and block tags only shrink it), so most short pages stop here.
    if len(_WS.sub("", _TAG.sub("", markup))) <= 2 * parsed:
        return None
    raw = html_lib.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", _BULK.sub(" ", markup))))
    return raw if len(_WS.sub("", raw)) > 2 * parsed else None


def _hit_resource_limit(parser: etree.HTMLParser) -> bool:
    """Whether libxml2 reported a resource limit (nesting beyond its depth limit) while parsing: only then
    can it have dropped text by itself, so only then is the parsed text compared with the markup's."""
    return any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)


def _text_after_document_end(markup: str, parser: etree.HTMLParser) -> bool:
    """Whether text follows the first ``</html>``: libxml2 ends the document there and drops the rest, which
    Word exports pasted into a CMS article (a whole ``<html>…</html>`` inside the page) and CMS templates
    that append the article after the page's end carry — often the report's tables.

    Cheap on a well-formed page (a search of its last 4 KB): the page's own ``</html>`` is at its end, and a
    stray one earlier makes libxml2 log the end tags that follow it, so the whole markup is searched only
    when the parser logged anything, or the end tag is not near the end.
    """
    tail = markup[-4096:].lower()
    last = tail.rfind("</html")
    if last < 0 or len(parser.error_log):
        m = _END_OF_DOCUMENT.search(markup)
        return m is not None and _has_text(markup[m.end() :])
    close = tail.find(">", last)
    return close >= 0 and _has_text(tail[close + 1 :])


_END_OF_DOCUMENT = re.compile(r"</html[^>]*>", re.IGNORECASE)


def _has_text(markup: str) -> bool:
    return bool(markup.strip()) and bool(_WS.sub("", _TAG.sub("", _BULK.sub(" ", markup))))


def _browser_tree(markup: str, notes: list[str]) -> etree._Element | None:
    """The page as a browser builds it: beautifulsoup4 over html5lib (the WHATWG parsing algorithm, which puts
    what follows ``</html>`` back into the body), converted to an lxml tree for the rest of the reader; None
    where even that fails (nesting too deep for the conversion).

    Only for pages lxml would read short (``_text_after_document_end``): it costs ~50 times lxml's parse.
    html5lib over bs4's ``html.parser`` because that one leaves the rest outside ``<body>`` and keeps
    mis-nested Word markup as written, at the same cost (measured on a 22 KB Word-export page: 59 ms and
    60 ms, lxml 1.2 ms).
    """
    from lxml.html import soupparser

    try:
        root = soupparser.fromstring(markup, features="html5lib")
    except (RecursionError, ValueError):
        return None
    notes.append("页面在 </html> 之后仍有正文（Word 导出的网页常见），已按浏览器的规则（html5lib）重新解析")
    return root


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
    if _hit_resource_limit(parser):  # libxml2 stops at its depth limit and drops what is nested deeper
        lost = _text_lost_by_parser(text, tree)
        if lost is not None:
            notes.append("markup nested too deeply to parse: read as plain text")
            meta = _page_meta(tree)
            return Document(format="html", blocks=text_blocks(lost), meta=meta, loose_text=True, notes=notes)
    elif _text_after_document_end(text, parser):
        rebuilt = _browser_tree(text, notes)
        if rebuilt is not None:
            tree = rebuilt
    meta = _page_meta(tree)
    body = tree.find("body")
    scan = _scan_page(tree, body)
    if body is None:
        body = tree
    markers = _marker_elements(scan.markers)
    content = _common_ancestor(markers) if len(markers) >= 2 else _densest_text(body)
    if content.tag in ("tr", "td", "th", "tbody", "thead") or content.tag == "table":
        # Markers inside one grid: keep the whole table (the report's tables need their header rows).
        table = content if content.tag == "table" else next(content.iterancestors("table"), content)
        content = table.getparent() if table.getparent() is not None else table
    # Title candidates inside the content are its own headings (decided before chrome is cut out of it).
    titles = [el for el in scan.titles if el is not content and not _inside(el, content)]
    _drop_chrome(content, markers, scan.chrome)
    writer = _BlockWriter(notes)
    title = _outside_title(titles)
    if title:
        writer.blocks.append(Paragraph(title))
    writer.walk(content)
    writer.flush()
    doc = Document(format="html", blocks=writer.blocks, meta=meta, notes=notes)
    if len(markers) < 2 and b"data:image/" in data:  # OCR hook (issue 12): a report pasted in as pictures
        from crawler.reading.documents.ocr import read_embedded_images

        return read_embedded_images(data, doc)
    return doc
