"""The format comes from the bytes; the extension only breaks ties (.wps vs .doc, .et)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from crawler.reading.documents import detect_format, needs_conversion
from crawler.reading.documents.model import UnreadableDocument
from tests.conftest import SAMPLES
from tests.documents.builders import (
    image_only_pdf,
    lo_documents,
    merged_table_docx,
    needs_soffice,
    two_sheet_xlsx,
)


def test_pdf_docx_xlsx_by_magic_whatever_the_name():
    assert detect_format(image_only_pdf(), "report.doc") == "pdf"
    assert detect_format(merged_table_docx(), "report.xls") == "docx"
    assert detect_format(two_sheet_xlsx(), "download.aspx?id=3") == "xlsx"
    assert detect_format(b"\r\n%PDF-1.7 junk before the header", None) == "pdf"


def test_html_saved_as_doc_is_html():
    page = "<html><head><meta charset='gbk'></head><body><p>报告</p></body></html>".encode("gb18030")
    assert detect_format(page, "report.doc") == "html"
    assert not needs_conversion(page, "report.doc")


def test_text_in_any_encoding():
    text = "淄川区招商局\n2020年政府信息公开工作年度报告\n规章\t0\n"
    for enc in ("utf-8", "gb18030", "utf-16"):
        assert detect_format(text.encode(enc), "a.txt") == "text"
    # A text that only mentions one tag is still text.
    assert detect_format("说明：用 <p> 分段\n".encode(), "a.txt") == "text"


def test_rtf_is_a_word_document_needing_conversion():
    rtf = rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} \f0 hello}"
    assert detect_format(rtf, "x.doc") == "doc"
    assert detect_format(rtf, "x.wps") == "wps"
    assert needs_conversion(rtf, "x.doc")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (os.urandom(4096), "unknown file format"),
    ],
)
def test_unrecognizable_bytes(data, message):
    with pytest.raises(UnreadableDocument, match=message):
        detect_format(data, "x.pdf")
    assert not needs_conversion(data, "x.doc")


def test_zip_that_is_no_office_document():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(UnreadableDocument, match="ZIP"):
        detect_format(buf.getvalue(), "report.docx")


def test_broken_ole_header():
    with pytest.raises(UnreadableDocument) as e:
        detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.doc")
    assert e.value.format == "doc"


def test_sample_files():
    if not SAMPLES.is_dir():
        pytest.skip("samples missing")
    assert detect_format((SAMPLES / "huaian_city_2024.pdf").read_bytes(), "huaian_city_2024.pdf") == "pdf"
    assert detect_format((SAMPLES / "zichuan_zsj_2020.txt").read_bytes(), "zichuan_zsj_2020.txt") == "text"


@pytest.mark.libreoffice
@needs_soffice
def test_ole_word_and_workbook_by_stream_names():
    docs = lo_documents()
    doc, xls = docs["report2019.doc"], docs["sheets.xls"]
    assert detect_format(doc, "a.doc") == "doc"
    assert detect_format(doc, None) == "doc"
    assert detect_format(doc, "a.wps") == "wps"  # WPS Office saves Word-compatible OLE files as .wps
    assert detect_format(doc, "a.xls") == "doc"  # the bytes win over a wrong extension
    assert detect_format(xls, "a.xls") == "xls"
    assert detect_format(xls, "a.et") == "xls"
    assert detect_format(xls, "a.doc") == "xls"
    assert needs_conversion(doc, "a.doc") and needs_conversion(doc, "a.wps")
    assert not needs_conversion(xls, "a.xls")


def test_html_table_exported_as_xls_is_html():
    data = "<table><tr><td>规章</td><td>1</td></tr></table>".encode("gb18030")
    assert detect_format(data, "export.xls") == "html"
