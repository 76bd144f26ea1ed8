"""The readers' fast paths (issue 2) give exactly what the slow, exact readings give.

HTML cells whose text is their text nodes run together are read in C; a grid is built row by row unless it
nears the cell cap; .docx is read from ``word/document.xml`` without loading the package in python-docx;
control characters are counted on the bytes. Each test compares a fast path with the exact reading of the
same input, on markup made to hit the corner cases (broken nesting, spans, skipped tags).
"""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from lxml import etree

from crawler.reading.documents import detect, html, read_document
from crawler.reading.documents.model import Paragraph
from tests.documents.builders import merged_table_docx

_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
# Pieces of table markup, well-formed and not: what libxml2 makes of them is what the readers see.
_PIECES = (
    "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "<p>", "</p>", "<div>", "</div>", "<br>",
    "<span class='nav'>", "</span>", "<td rowspan=2>", "<td colspan=3>", "<td rowspan=3 colspan=2>",
    "<script>s</script>", "<select><option>o</option></select>", "<tbody>", "a", "b ", " 1", "本年新收",
    "<a>", "</a>", "<h1>", "</h1>", "<ul class='menu'>", "<li>", "</ul>", "\u3000", "&nbsp;",
)  # fmt: skip


def _random_tables(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["<table><tr><td>" + "".join(rng.choices(_PIECES, k=rng.randrange(3, 40))) for _ in range(n)]


def _exact_grid(table: etree._Element) -> list[list[str]]:
    """The grid with every cell read by the exact walk and placed by the exact (capped) placement."""
    return html._grid_capped(html._own_rows(table), html._cell_text, [])


def test_plain_cells_and_row_grid_match_the_exact_reading():
    wordish = (
        "<table><tr><td colspan=2><p class=MsoNormal><span>表头</span></p></td></tr>"
        "<tr><td><p><span>规章</span></p></td><td> <p><span>1</span><span>7</span></p></td></tr>"
        "<tr><td><p>a</p><p>b</p></td><td>x<br>y</td></tr></table>"
    )
    checked = plain_seen = 0
    for markup in [wordish, *_random_tables(1500, seed=11)]:
        root = etree.fromstring(markup, _PARSER)
        for table in root.iter("table"):
            plain = html._plain_cells(table)
            plain_seen += len(plain)
            assert html.table_grid(table, []) == _exact_grid(table), markup  # cells judged as read
            assert html.table_grid(table, [], plain) == _exact_grid(table), markup
            checked += 1
    assert checked > 1500 and plain_seen > 500  # the fast path was taken, and often


def test_a_cell_misplaced_inside_a_cell_is_read_the_exact_way():
    root = etree.fromstring("<table><tr><td><div>q<td>z</td></div></td></tr></table>", _PARSER)
    table = next(root.iter("table"))
    assert html.table_grid(table, []) == _exact_grid(table) == [["q z"]]


def test_page_reading_is_the_same_whatever_the_order_proxies_are_freed_in():
    """Chrome inside the content is dropped every time (ids of freed lxml proxies once made it random)."""
    body = (
        "<div class='nav'><a>首页</a></div><h1>某局2020年政府信息公开工作年度报告</h1><div class='c'>"
        "<p>本年新收 上年结转</p><table><tr><td><span class='share'>分享</span>1</td></tr></table>"
        "<p>结转下年度</p><div class='footer'>版权所有</div></div>"
    )
    data = f"<html><body>{body}</body></html>".encode()
    readings = {repr(html.read_html(data).blocks) for _ in range(30)}
    assert len(readings) == 1
    text = read_document(data, "r.html").text()
    assert "分享" not in text and "版权所有" not in text and "结转下年度" in text
    # Broken markup that makes <body> the content: its menu went, or stayed when an id() came back.
    broken = (
        "<html><body><div class='nav'><a>首页</a></div><h1>某局2020年政府信息公开工作年度报告</h1><div class='c'>"
        "<p>本年新收 上年结转</p><table><tr><td></table><th><tr><th><td rowspan=2></td></tr></div>b </table>"
        "</tr><table>a<td><tbody></tr><br>b <table><tr><li><th>b <span class='nav'><td> 1</p><br>"
        "<p>结转下年度</p></div><div class='footer'>版权</div></body></html>"
    )
    for _ in range(5):
        doc = html.read_html(broken.encode())
        assert "首页" not in doc.text() and "本年新收 上年结转" in doc.text()


def _rezip(data: bytes, drop: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != drop:
                out.writestr(info, src.read(info.filename))
    return buf.getvalue()


def test_docx_core_properties_are_read_without_loading_the_package():
    doc = read_document(merged_table_docx(), "m.docx")
    assert doc.meta["core.title"] == "某某局2015年政府信息公开工作年度报告"
    assert doc.meta["core.created"].startswith("20")  # a W3CDTF date parsed to ISO


def test_docx_without_core_properties_reads_with_no_core_metadata():
    doc = read_document(_rezip(merged_table_docx(), "docProps/core.xml"), "m.docx")
    assert doc.blocks[0] == Paragraph("第一段 before")
    assert not any(k.startswith("core.") for k in doc.meta)


def test_docx_without_its_main_part_is_refused_plainly():
    from crawler.reading.documents.docx import DocxParseError, read_docx

    with pytest.raises(DocxParseError, match="not readable as .docx"):
        read_docx(_rezip(merged_table_docx(), "word/document.xml"))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_control_characters_counted_on_bytes_as_on_text(encoding):
    rng = random.Random(encoding)
    alphabet = ["政", "府", "a", "1", "\n", "\t", "\x01", "\x1b", "\x7f", "é"]
    for n in (50, 400, 3000):
        for _ in range(40):
            text = "".join(rng.choices(alphabet, weights=[30, 30, 20, 10, 5, 5, 1, 1, 1, 2], k=n))
            data = text.encode(encoding)
            controls = sum(text.count(c) for c in "\x01\x1b\x7f")
            expected = controls <= max(2, len(text) // 200)
            assert detect.decodes_as_text(data) is expected


def test_tables_past_the_cell_cap_are_cut_where_the_exact_placement_cuts_them(monkeypatch):
    monkeypatch.setattr(html, "MAX_TABLE_CELLS", 40)
    cut = 0
    for markup in _random_tables(400, seed=5) + ["<table>" + "<tr><td>1</td><td colspan=4>2</td></tr>" * 30]:
        root = etree.fromstring(markup, _PARSER)
        for table in root.iter("table"):
            notes: list[str] = []
            exact_notes: list[str] = []
            grid = html.table_grid(table, notes)
            assert grid == html._grid_capped(html._own_rows(table), html._cell_text, exact_notes)
            assert notes == exact_notes
            cut += bool(notes)
    assert cut >= 1


# Word's cell shape and its near misses: what ``_read_cell`` reads without libxml2 must be the exact reading.
_CELL_TEXTS = ("", " ", "\u3000", "\n ", "x", "1 7", "\u00a0", "本年新收", "\u200b2")
_CELL_INNER = (
    "<span>{}</span>",
    "<b>{}</b>",
    "<br>{}",
    "<span>{}<i>i</i></span>",
    "<script>{}</script>",
    "{}",
)


def test_word_shaped_cells_read_fast_as_the_exact_reading():
    rng = random.Random(7)
    fast = 0
    for _ in range(3000):
        t = [rng.choice(_CELL_TEXTS) for _ in range(5)]
        block = rng.choice(("p", "div", "h3", "table", "span"))
        inner = rng.choice(_CELL_INNER).format(t[2])
        markup = f"<table><tr><td>{t[0]}<{block}>{t[1]}{inner}{t[3]}</{block}>{t[4]}</td></tr></table>"
        root = etree.fromstring(markup, _PARSER)
        for cell in root.iter("td"):
            assert html._read_cell(cell) == html._cell_text(cell), markup
            fast += len(cell) == 1 and html._is_plain(cell)
    assert fast > 300


def _slow_scan(root: etree._Element) -> tuple[set, list, list]:
    """What ``_scan_page`` finds, by looking at every element from Python (as the reader once did)."""
    body = root.find("body")
    markers = set()
    for el in body.iter() if body is not None else ():
        if isinstance(el.tag, str) and el.text and html._MARKER.search(el.text):
            markers.add(el)
        if el is not body and el.tail and html._MARKER.search(el.tail):
            markers.add(el.getparent())
    titles, chrome = [], []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        cls, ident = el.get("class"), el.get("id")
        if el.tag in html._HEADINGS or any(
            v and "title" in v.translate(html._TITLE_CASE) for v in (cls, ident)
        ):
            titles.append(el)
        if el.tag in html.CHROME_TAGS or (
            el.tag in html._NAMED_CHROME_TAGS and html._chrome_name(cls, ident)
        ):
            chrome.append(el)
    return markers, titles, chrome


_PAGE_PIECES = (
    "<div class='nav'>", "<div id='Title'>", "<div class='main-TITLE x'>", "<p>", "</p>", "<h2>", "</h2>",
    "<footer>", "</footer>", "<span class='links'>", "</span>", "</div>", "<td class='footer_x'>",
    "本年新收", "结转下年度", "总体情况", "text", "<br>", "<ul id='menu'>", "<li>", "</ul>", "<a>", "</a>",
    "<table class='sidebar'>", "<b>", "</b>", "上年", "结转", "<aside>", "</aside>", "<h1 id='t'>",
)  # fmt: skip


def test_page_scan_finds_what_a_walk_of_every_element_finds():
    rng = random.Random(3)
    found = 0
    for _ in range(600):
        markup = "<html><head><title>t</title></head><body>" + "".join(
            rng.choices(_PAGE_PIECES, k=rng.randrange(5, 60))
        )
        root = etree.fromstring(markup, _PARSER)
        scan = html._scan_page(root, root.find("body"))
        markers, titles, chrome = _slow_scan(root)
        assert set(scan.markers) == markers and len(scan.markers) >= len(markers), markup
        assert scan.titles == titles and scan.chrome == chrome, markup
        found += len(markers) + len(titles) + len(chrome)
    assert found > 1000


def test_role_elements_are_in_document_order_however_they_are_ordered(monkeypatch):
    """By their paths (a few role elements) or by a walk of the page (many): the same list."""
    rng = random.Random(5)
    for _ in range(300):
        markup = "<html><body>" + "".join(rng.choices(_PAGE_PIECES, k=rng.randrange(5, 60)))
        root = etree.fromstring(markup, _PARSER)
        by_path = html._role_elements(root)
        monkeypatch.setattr(html, "_MAX_SORTED_ROLES", 0)
        assert html._role_elements(root) == by_path, markup
        monkeypatch.undo()


def test_exact_cell_reading_keeps_document_order_and_the_text_after_skipped_elements():
    """The text after an inner element's children is read after them, and a form control or script drops
    its own content, never the words that follow it (a checkbox before 是, a list box before 其他)."""
    markup = (
        "<table><tr><td><input type=checkbox>是</td><td>a<br><span>b<i>c</i></span>d</td>"
        "<td><select><option>x</option></select>其他<script>s</script>1</td></tr></table>"
    )
    table = next(etree.fromstring(markup, _PARSER).iter("table"))
    assert html.table_grid(table, []) == [["是", "a bcd", "其他1"]]
