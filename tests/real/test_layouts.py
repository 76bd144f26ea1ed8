"""Layouts real documents come in: markdown pipe tables, numbers wrapped in narrow PDF cells and over page
breaks, text a parser drops after ``</html>``, pages in GBK with bad bytes."""

from __future__ import annotations

import random

import pytest

from crawler.reading.documents import read_document
from crawler.reading.documents.model import Paragraph, Table
from crawler.reading.read import read_bytes
from crawler.reading.tables import continued_row
from monitor.judgement import judge
from tests.documents.builders import needs_soffice
from tests.real.builders import cells, page

# --- markdown pipe tables -------------------------------------------------------------------------------


def test_pipe_tables_become_grids_and_their_separators_vanish():
    text = "表二\n| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |\n|---|---|---|---|\n| 规章 | 0 | 0 | 0 |\n说明\n"
    doc = read_document(text.encode(), "r.md")
    assert doc.blocks == [
        Paragraph("表二"),
        Table([["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"], ["规章", "0", "0", "0"]]),
        Paragraph("说明"),
    ]


def test_a_sentence_naming_an_item_is_not_a_row():
    """上海科委 2024's prose: "行政规范性文件 13 件；规划计划文件 2 件" is no 表二 row."""
    r = read_bytes(_kewei_like(with_table=False), "k.md")
    assert r.values["s2.normative_docs.issued"] is None
    assert r.cells["s2.normative_docs.issued"].raw is None
    r = read_bytes(_kewei_like(with_table=True), "k.md")
    assert (r.values["s2.normative_docs.issued"], r.values["s2.normative_docs.in_force"]) == (13, 55)


def _kewei_like(with_table: bool) -> bytes:
    table = "| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |\n|---|---|---|---|\n| 规范性文件 | 13 | 0 | 55 |\n"
    return (
        "2024 年上海市科委政府信息公开工作\n年度报告\n一、总体情况\n"
        "市科委通过部门网站当年发布政府信息 393 件，其中包\n括：行政规范性文件 13 件；规划计划文件 2 件；2024 年度部门\n"
        "本年新收 结转下年度 予以公开\n二、主动公开政府信息情况\n" + (table if with_table else "")
    ).encode()


# --- wrapped numbers ------------------------------------------------------------------------------------


def test_a_row_continued_over_a_page_break_is_rejoined():
    last = ["二、上年结转政府信息公", "3502", "12", "0", "0", "0", "0", "3514"]
    first = ["开申请数量", "", "", "2", "", "", "", "", "", "0"]  # the next page's grid is wider
    assert continued_row(last, first) == [
        "二、上年结转政府信息公开申请数量", "3502 2", "12", "0", "0", "0", "0", "3514 0",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("last", "first"),
    [
        (["行政处罚", "4119"], ["行政强制", "195"]),  # a new row of 表二
        (["规章", "0", "0"], ["规范性文件", "2", "5"]),
        (
            ["（一）予以公开", "12", "0", "12"],
            ["（二）部分公开", "3", "0", "3"],
        ),  # numbered: a row of its own
        (["3.其他", "1200", "0", "1200"], ["", "5", "0", "5"]),  # a whole row of figures
    ],
)
def test_a_new_row_after_a_page_break_is_not_joined(last, first):
    assert continued_row(last, first) is None


def _city_specs(n: int) -> list:
    from testbed.render import ReportSpec
    from testbed.synthetic import consistent_cells

    rng = random.Random(2024)
    return [
        ReportSpec(
            template="2021",
            year=2022,
            agency="淮安市人民政府",
            cells=consistent_cells("2021", rng, scale=20000),
        )
        for _ in range(n)
    ]


@needs_soffice
def test_city_scale_pdfs_read_back_with_wrapped_numbers_sure():
    """The project's own rendered PDFs (LibreOffice): city-scale figures wrap in their narrow cells and over
    the page break of 表三. Every figure reads back, the rejoined ones marked ``wrapped`` and sure (the
    table adds up with them)."""
    from testbed.render import render_many

    specs = _city_specs(4)
    datas = render_many([(s, "pdf") for s in specs])
    wrapped = 0
    for spec, data in zip(specs, datas, strict=True):
        r = read_bytes(data, "city.pdf")
        assert r.values == spec.cells
        marked = [c for c in r.cells.values() if c.how == "wrapped"]
        wrapped += len(marked)
        assert all(c.sure for c in marked)
        assert not [f for f in judge(r) if f["severity"] != "info"]
    assert wrapped


# --- HTML that lxml reads short -------------------------------------------------------------------------


def test_text_after_the_end_of_the_document_is_read():
    """A Word export pasted into a CMS article closes ``</html>`` in the middle of the page: libxml2 drops the
    rest (the report's tables); the browser's algorithm (html5lib) keeps it."""
    values = cells(seed=9)
    whole = page(values, s3="plain").decode()
    cut = whole.index("<p>二、主动公开")
    broken = (whole[:cut] + "</body></html>" + whole[cut:]).encode()
    r = read_bytes(broken, "broken.html")
    assert r.values == values
    assert any("html5lib" in n for n in r.notes)
    plain = read_bytes(whole.encode(), "whole.html")
    assert not any("html5lib" in n for n in plain.notes)


# --- charsets -------------------------------------------------------------------------------------------


def _gbk_page(bad_bytes: int) -> bytes:
    values = cells(seed=4)
    data = bytearray(
        page(values, s3="plain").decode().replace("charset='utf-8'", "charset='gbk'").encode("gbk")
    )
    start = data.index("一、总体情况".encode("gbk"))
    for i in range(bad_bytes):
        data[start + 40 + 9 * i] = 0xFF  # never a GBK lead byte followed by a valid trail here
    return bytes(data)


def test_a_gbk_page_with_ten_bad_bytes_still_reads():
    r = read_bytes(_gbk_page(10), "gbk.html")
    assert r.error is None and r.format == "html"
    assert r.values == cells(seed=4)
    assert any("gb18030" in n and "替换" in n for n in r.notes)


def test_the_crawler_and_the_reader_decide_the_same_charset():
    from crawler.portal.middlewares import decide_encoding
    from domain import charset

    pages = [
        ("<meta charset='gb2312'><p>区招商局</p>".encode("gbk"), None),
        ("<meta charset='utf-8'><p>区招商局</p>".encode("gbk"), "utf-8"),  # both lie
        ("<meta charset='gbk'><p>区招商局</p>".encode(), "gbk"),  # UTF-8 bytes declared GBK
        ("<p>区招商局 鍚</p>".encode("gb18030"), None),
        (b"\xef\xbb\xbf<p>x</p>", "gbk"),
        (_gbk_page(10), None),
    ]
    for data, header in pages:
        assert decide_encoding(data, header) == charset.decode(data, header=header).encoding
    assert charset.widen("GB2312") == charset.widen("x-gbk") == charset.widen("CP936") == "gb18030"
