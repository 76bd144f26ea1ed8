"""Word: paragraphs and tables in body order, merged cells once (across) or repeated (down)."""

from __future__ import annotations

import io

import docx

from crawler.reading.documents import read_document
from crawler.reading.documents.model import Paragraph, Table
from monitor.judgement.report import parse_bytes
from tests.documents.builders import MERGED_GRID, merged_table_docx, render_module, report_cells, report_spec


def test_body_order_and_merged_cells():
    doc = read_document(merged_table_docx(), "m.docx")
    assert doc.format == "docx"
    assert doc.blocks == [Paragraph("第一段 before"), Table(MERGED_GRID), Paragraph("第二段 after")]


def test_stale_core_title_is_kept_apart_from_the_printed_title():
    doc = read_document(merged_table_docx(), "m.docx")
    assert doc.meta["core.title"] == "某某局2015年政府信息公开工作年度报告"
    assert "title" not in doc.meta


def test_nested_layout_table_is_read_as_content():
    d = docx.Document()
    outer = d.add_table(rows=1, cols=1)
    cell = outer.cell(0, 0)
    cell.paragraphs[0].text = "布局表格里的标题"
    inner = cell.add_table(rows=2, cols=2)
    for r in range(2):
        for c in range(2):
            inner.cell(r, c).text = f"{r}{c}"
    buf = io.BytesIO()
    d.save(buf)
    doc = read_document(buf.getvalue(), "n.docx")
    assert doc.blocks == [Paragraph("布局表格里的标题"), Table([["00", "01"], ["10", "11"]])]


def test_rendered_reports_read_back_every_cell():
    render_module()
    from testbed.render import render_docx

    for template, year in (("2019", 2020), ("2021", 2023)):
        pr = parse_bytes(render_docx(report_spec(template)), "r.docx")
        assert (pr.error, pr.template, pr.year) == (None, template, year)
        assert pr.cells == report_cells(template)


def test_word_document_of_pictures_only_needs_ocr():
    import struct
    import zlib

    import pytest

    from crawler.reading.documents.model import UnreadableDocument

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )
    d = docx.Document()
    d.add_picture(io.BytesIO(png))
    buf = io.BytesIO()
    d.save(buf)
    with pytest.raises(UnreadableDocument, match="image-only Word document") as e:
        read_document(buf.getvalue(), "scan.docx")
    assert e.value.format == "docx"
