"""Spreadsheets: each sheet a table, single-cell rows as paragraphs; .xls read directly by calamine."""

from __future__ import annotations

import pytest

from crawler.reading.documents import read_document
from crawler.reading.documents.model import Paragraph, Table
from monitor.judgement.report import parse_bytes
from tests.documents.builders import (
    lo_documents,
    needs_soffice,
    render_module,
    report_cells,
    report_spec,
    two_sheet_xlsx,
)

SHEETS = [
    Paragraph("某局2023年政府信息公开工作年度报告"),
    Table(
        [
            ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
            ["规章", "3", "0", "12"],
            ["行政规范性文件", "5", "1", "40"],
        ]
    ),
    Table([["信息内容", "本年收费金额（单位：万元）"], ["行政事业性收费", "26.8"]]),
]


def test_xlsx_sheets_become_tables():
    doc = read_document(two_sheet_xlsx(), "s.xlsx")
    assert doc.format == "xlsx"
    assert doc.blocks == SHEETS


def test_rendered_xlsx_report():
    render = render_module()
    pr = parse_bytes(render.render_xlsx(report_spec("2021")), "r.xlsx")
    assert (pr.error, pr.template, pr.year) == (None, "2021", 2023)
    assert pr.cells == report_cells("2021")


@pytest.mark.libreoffice
@needs_soffice
def test_xls_made_by_libreoffice():
    docs = lo_documents()
    doc = read_document(docs["sheets.xls"], "s.et")
    assert doc.format == "xls"
    assert doc.blocks == SHEETS
    pr = parse_bytes(docs["report2021.xls"], "r.xls")
    assert (pr.error, pr.format, pr.template) == (None, "xls", "2021")
    assert pr.cells == report_cells("2021")


def test_damaged_xlsx():
    data = two_sheet_xlsx()
    with pytest.raises(Exception) as e:
        read_document(data[: len(data) // 2], "s.xlsx")
    assert "damaged" in str(e.value) or "ZIP" in str(e.value)


def test_blank_cells_keep_their_place_in_a_sheet_table():
    """A blank 总计 at a row's end stays a cell; a row with every figure blank stays a table row; a narrow
    table is not padded to the width of a wider one elsewhere on the sheet."""
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某局2023年政府信息公开工作年度报告"])
    ws.append(["信息内容", "自然人", "其他", "总计"])
    ws.append(["（一）予以公开", 1, 2, None])
    ws.append(["（二）部分公开", None, None, None])
    ws.append([])
    ws.append(["四、行政复议"])
    ws.append(list(range(15)))
    buf = io.BytesIO()
    wb.save(buf)
    doc = read_document(buf.getvalue(), "b.xlsx")
    assert doc.blocks == [
        Paragraph("某局2023年政府信息公开工作年度报告"),
        Table(
            [
                ["信息内容", "自然人", "其他", "总计"],
                ["（一）予以公开", "1", "2", ""],
                ["（二）部分公开", "", "", ""],
            ]
        ),
        Paragraph("四、行政复议"),
        Table([[str(i) for i in range(15)]]),
    ]
