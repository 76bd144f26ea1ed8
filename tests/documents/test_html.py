"""HTML: charset from the bytes, rowspan/colspan into grids, only the main content, page meta kept."""

from __future__ import annotations

import pytest

from crawler.reading.documents import detect_format, read_document
from crawler.reading.documents.html import table_grid
from crawler.reading.documents.model import Paragraph, Table
from monitor.judgement.report import parse_bytes
from tests.documents.builders import render_module, report_cells, report_spec

SPANNED_TABLE = """
<table border="1">
  <tr><td rowspan="2" colspan="2">申请人情况</td><td colspan="2">法人或其他组织</td><td rowspan="3">总计</td></tr>
  <tr><td>商业企业</td><td>科研机构</td></tr>
  <tr><td>一、本年新收</td><td></td><td>1</td><td>2</td></tr>
  <tr><td rowspan="2">三、本年度办理结果</td><td>（一）予以公开</td><td>3</td><td>4</td><td>7</td></tr>
  <tr><td>（二）部分公开</td><td>5</td><td>6</td><td>11</td></tr>
</table>
"""
SPANNED_GRID = [
    ["申请人情况", "", "法人或其他组织", "", "总计"],
    ["申请人情况", "", "商业企业", "科研机构", "总计"],
    ["一、本年新收", "", "1", "2", "总计"],
    ["三、本年度办理结果", "（一）予以公开", "3", "4", "7"],
    ["三、本年度办理结果", "（二）部分公开", "5", "6", "11"],
]


def page(body: str, head: str = "", charset: str | None = "utf-8") -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if charset else ""
    return f"<!DOCTYPE html><html><head>{meta}{head}</head><body>{body}</body></html>"


def tables(doc) -> list[list[list[str]]]:
    return [b.rows for b in doc.blocks if isinstance(b, Table)]


def test_rowspan_and_colspan_expand_into_a_grid():
    doc = read_document(page(SPANNED_TABLE).encode(), "t.html")
    assert tables(doc) == [SPANNED_GRID]


def test_gbk_page_that_declares_utf8_is_decoded_from_its_bytes():
    data = page(
        "<p>稷下街道办事处2020年政府信息公开工作年度报告</p>" + SPANNED_TABLE, charset="utf-8"
    ).encode("gbk")
    doc = read_document(data, "t.html")
    assert doc.blocks[0] == Paragraph("稷下街道办事处2020年政府信息公开工作年度报告")
    assert tables(doc) == [SPANNED_GRID]
    assert any("utf-8" in n and "gb18030" in n for n in doc.notes)


def test_utf8_page_that_declares_gb2312_stays_utf8():
    data = page("<p>淄川区招商局</p>", charset="gb2312").encode("utf-8")
    doc = read_document(data, "t.html")
    assert doc.blocks == [Paragraph("淄川区招商局")]
    assert any("gb2312" in n and "utf-8" in n for n in doc.notes)


def test_gbk_page_without_charset():
    doc = read_document(page("<p>临淄区人民政府</p>", charset=None).encode("gb18030"), "t.htm")
    assert doc.blocks == [Paragraph("临淄区人民政府")]
    assert len(doc.notes) == 1 and "gb18030" in doc.notes[0] and "未声明" in doc.notes[0]


CHROME = """
<div class="header"><a href="/">首页</a><a href="/nb">政府信息公开年报</a></div>
<ul id="main-nav"><li>机构概况</li><li>2019年政府信息公开工作年度报告</li></ul>
<div class="position">当前位置：首页 &gt; 年报</div>
<div class="left"><p>侧栏</p><a href="/fy">行政复议</a><a href="/nb">本年新收情况</a></div>
<h1 class="article-title">示例局2023年政府信息公开工作年度报告</h1>
<div class="article-body">
  <p>一、总体情况</p><p>本年新收申请3件，结转下年度0件。</p>
  <p>四、政府信息公开行政复议、行政诉讼情况</p>
  <script>document.write("<p>脚本文字</p>")</script>
</div>
<div class="footer">版权所有 某某市人民政府 网站标识码</div>
"""


def test_only_the_main_content_with_its_title_and_page_meta():
    head = (
        '<title>示例局2023年报_某某市人民政府</title><meta name="ArticleTitle" content="示例局2023年政府信息公开工作年度报告">'
        '<meta name="PubDate" content="2024-01-20 09:30"><meta name="ContentSource" content="示例局">'
    )
    doc = read_document(page(CHROME, head).encode(), "a.html")
    texts = [b.text for b in doc.blocks]
    assert texts[0] == "示例局2023年政府信息公开工作年度报告"
    assert "一、总体情况" in texts and "本年新收申请3件，结转下年度0件。" in texts
    full = doc.text()
    for chrome in ("首页", "机构概况", "2019年", "侧栏", "版权所有", "脚本文字"):
        assert chrome not in full
    assert doc.meta["PubDate"] == "2024-01-20 09:30"
    assert doc.meta["ContentSource"] == "示例局"
    assert doc.meta["title"] == "示例局2023年报_某某市人民政府"


def test_news_page_keeps_its_article_not_the_menus():
    body = (
        "<div class='menu'>" + "<a>栏目</a>" * 30 + "</div>"
        "<div class='news'><p>"
        + "市政府召开常务会议，研究部署近期重点工作。" * 5
        + "</p><p>会议强调要抓好落实。</p></div>"
    )
    doc = read_document(page(body).encode(), "n.html")
    assert "栏目" not in doc.text()
    assert "会议强调要抓好落实。" in doc.text()


def test_layout_table_around_report_tables():
    data = page(f"<table><tr><td>导航</td><td><p>一、总体情况</p>{SPANNED_TABLE}</td></tr></table>").encode()
    doc = read_document(data, "l.html")
    assert tables(doc) == [SPANNED_GRID]


def test_hostile_spans_are_clamped():
    from lxml import html

    t = html.fromstring(
        '<table><tr><td colspan="100000" rowspan="99999">x</td><td colspan="abc">y</td></tr></table>'
    )
    grid = table_grid(t, notes=[])
    assert len(grid) == 1 and grid[0][0] == "x" and grid[0][-1] == "y" and len(grid[0]) <= 61


def test_deeply_nested_markup_does_not_crash():
    data = page("<div>" * 5000 + "本年新收" + "</div>" * 5000).encode()
    doc = read_document(data, "deep.html")
    assert "本年新收" in doc.text()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_rendered_report_in_portal_chrome_reads_back_every_cell(encoding):
    render = render_module()
    data = render.render_html(report_spec("2021"), encoding=encoding, chrome=True, declared_charset="utf-8")
    pr = parse_bytes(data, "report.html")
    assert pr.error is None and pr.template == "2021" and pr.year == 2023
    assert pr.cells == report_cells("2021")


def test_web_archive_saved_as_doc():
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    archive = MIMEMultipart("related")
    archive.attach(
        MIMEText("<html><body><p>淄川区招商局</p>" + SPANNED_TABLE + "</body></html>", "html", "gb2312")
    )
    data = archive.as_bytes()
    assert detect_format(data, "report.doc") == "html"
    doc = read_document(data, "report.doc")
    assert doc.format == "html"
    assert doc.blocks[0] == Paragraph("淄川区招商局")
    assert tables(doc) == [SPANNED_GRID]
    assert doc.notes[0].startswith("web archive (MHTML)")


def test_a_stray_byte_does_not_lose_the_page():
    data = page("<p>淄川区招商局</p><p>二、主动公开政府信息情况</p>", charset="gb2312").encode("gbk")
    cut = data.index("招".encode("gbk"))
    data = data[: cut + 1] + data[cut + 2 :]  # half of one character gone
    doc = read_document(data, "t.html")
    assert doc.blocks[-1] == Paragraph("二、主动公开政府信息情况")
    assert any("无法解码" in n for n in doc.notes)


def test_lines_inside_a_cell_stay_apart():
    data = page(
        "<table><tr><td><p>属于国家</p><p>秘密</p></td><td><p>1</p><p>2</p></td></tr></table>"
    ).encode()
    assert tables(read_document(data, "c.html")) == [[["属于国家 秘密", "1 2"]]]
