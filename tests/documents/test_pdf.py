"""PDF: ruled tables and text lines, tables split over pages joined; scans, encryption, truncation refused."""

from __future__ import annotations

import pytest

from crawler.reading.documents import read_document
from crawler.reading.documents.model import Table, UnreadableDocument
from monitor.judgement.report import parse_bytes
from tests.conftest import SAMPLES
from tests.documents.builders import MERGED_GRID, image_only_pdf, lo_documents, needs_soffice, report_cells

pytestmark = []


@pytest.mark.libreoffice
@needs_soffice
def test_merged_table_from_libreoffice_pdf():
    doc = read_document(lo_documents()["merged.pdf"], "m.pdf")
    assert doc.format == "pdf" and doc.loose_text
    grids = [b.rows for b in doc.blocks if isinstance(b, Table)]
    assert len(grids) == 1
    # PDF shows a vertically merged cell once: its text stands in the first row it spans.
    assert grids[0][0][0] == MERGED_GRID[0][0]
    assert [r[1:] for r in grids[0][1:]] == [r[1:] for r in MERGED_GRID[1:]]
    assert "第一段 before" in doc.prose() and "第二段 after" in doc.prose()


@pytest.mark.libreoffice
@needs_soffice
def test_report_with_tables_split_over_pages_reads_back_every_cell():
    pr = parse_bytes(lo_documents()["report2019.pdf"], "r.pdf")
    assert (pr.error, pr.format, pr.template, pr.year) == (None, "pdf", "2019", 2020)
    assert pr.cells == report_cells("2019")
    assert pr.findings == []


def test_scanned_pdf_needs_ocr():
    with pytest.raises(UnreadableDocument, match="scanned/image-only PDF") as e:
        read_document(image_only_pdf(), "scan.pdf")
    assert e.value.format == "pdf"


@pytest.mark.libreoffice
@needs_soffice
def test_encrypted_pdf():
    with pytest.raises(UnreadableDocument, match="encrypted PDF") as e:
        read_document(lo_documents()["encrypted.pdf"], "e.pdf")
    assert e.value.format == "pdf"


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_truncated_pdf(fraction):
    if not SAMPLES.is_dir():
        pytest.skip("samples missing")
    data = (SAMPLES / "huaian_city_2024.pdf").read_bytes()
    with pytest.raises(UnreadableDocument, match="damaged or truncated PDF"):
        read_document(data[: int(len(data) * fraction)], "t.pdf")


def test_page_break_joins_a_split_row_but_never_two_rows():
    from crawler.reading.documents.model import Paragraph
    from crawler.reading.documents.pdf import _join_split_tables

    s2_end = Table([["信息内容", "本年新制作数量", "本年新公开数量"], ["规章", "0", "0"]])
    s2_next = Table([["规范性文件", "2", "5"], ["行政许可", "1", "1"]])
    blocks = _join_split_tables([[s2_end], [Paragraph("- 3 -"), s2_next]])
    assert blocks == [
        Table(
            [
                ["信息内容", "本年新制作数量", "本年新公开数量"],
                ["规章", "0", "0"],
                ["规范性文件", "2", "5"],
                ["行政许可", "1", "1"],
            ]
        )
    ]

    s3_end = Table([["", "", "7.属于行政执法案", "0", "2"]])
    s3_next = Table([["", "", "卷", "", ""], ["", "", "8.属于行政查询事项", "1", "0"]])
    blocks = _join_split_tables([[s3_end, Paragraph("4")], [s3_next]])
    assert blocks == [
        Table([["", "", "7.属于行政执法案卷", "0", "2"], ["", "", "8.属于行政查询事项", "1", "0"]])
    ]


@pytest.mark.libreoffice
@needs_soffice
def test_table_without_ruling_is_read_from_text_lines():
    """No ruled table at all: labels wrap around vertically centred figures, and still every cell is read."""
    data = lo_documents()["unruled2021.pdf"]
    doc = read_document(data, "u.pdf")
    assert not any(isinstance(b, Table) for b in doc.blocks)
    pr = parse_bytes(data, "u.pdf")
    assert (pr.error, pr.template, pr.year) == (None, "2021", 2023)
    assert pr.cells == report_cells("2021")


def test_wrapped_labels_around_centred_figures_are_joined():
    from crawler.reading.documents.pdf import join_centered_rows

    lines = [
        (310.0, 322.0, "2.其他法律行政法规"),
        (317.0, 329.0, "0 0 0 1 0 0 1"),
        (324.1, 336.1, "禁止公开"),
        (352.4, 364.4, "3.危及“三安全一稳"),
        (359.4, 371.4, "7 0 0 0 18 0 25"),
        (366.5, 378.5, "定”"),
        (394.7, 406.7, "一、总体情况"),
    ]
    assert join_centered_rows(lines) == [
        (317.0, "2.其他法律行政法规禁止公开 0 0 0 1 0 0 1"),
        (359.4, "3.危及“三安全一稳定” 7 0 0 0 18 0 25"),
        (394.7, "一、总体情况"),
    ]
