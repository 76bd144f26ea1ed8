"""Documents made with the real tools, for the reader tests: python-docx, openpyxl, LibreOffice, hand-written
PDF and HTML bytes. LibreOffice conversions are batched (one soffice run per target format) and cached for the
whole test process, so every test that needs a .doc/.pdf/.xls shares four LibreOffice start-ups.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import zlib
from functools import lru_cache

import pytest

AGENCY_2019 = "淄川区招商局"
AGENCY_2021 = "淮安市测试局"

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"
)


def render_module():
    return pytest.importorskip("testbed.render", reason="testbed.render (report renderer) missing")


@lru_cache
def report_cells(template: str) -> dict:
    from testbed.synthetic import consistent_cells

    return consistent_cells(template, random.Random(20 if template == "2019" else 21))


def report_spec(template: str):
    render = render_module()
    year, agency = (2020, AGENCY_2019) if template == "2019" else (2023, AGENCY_2021)
    return render.ReportSpec(template=template, year=year, agency=agency, cells=dict(report_cells(template)))


def merged_table_docx() -> bytes:
    """A paragraph, a 4×4 table with a horizontal merge (row 0) and a vertical merge (column 0), a paragraph."""
    import docx

    d = docx.Document()
    d.core_properties.title = "某某局2015年政府信息公开工作年度报告"  # stale core title: must not be used
    d.add_paragraph("第一段 before")
    t = d.add_table(rows=4, cols=4)
    t.style = "Table Grid"
    t.cell(0, 0).merge(t.cell(0, 3)).text = "表头横跨四列"
    t.cell(1, 0).merge(t.cell(3, 0)).text = "纵向合并"
    for r in range(1, 4):
        for c in range(1, 4):
            t.cell(r, c).text = f"r{r}c{c}"
    d.add_paragraph("第二段 after")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


MERGED_GRID = [
    ["表头横跨四列", "", "", ""],
    ["纵向合并", "r1c1", "r1c2", "r1c3"],
    ["纵向合并", "r2c1", "r2c2", "r2c3"],
    ["纵向合并", "r3c1", "r3c2", "r3c3"],
]


def two_sheet_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表二"
    ws["A1"] = "某局2023年政府信息公开工作年度报告"
    ws.append(["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"])
    ws.append(["规章", 3, 0, 12])
    ws.append(["行政规范性文件", 5, 1, 40])
    ws.merge_cells("A1:D1")
    ws2 = wb.create_sheet("收费")
    ws2.append(["信息内容", "本年收费金额（单位：万元）"])
    ws2.append(["行政事业性收费", 26.8])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def image_only_pdf() -> bytes:
    """A one-page PDF whose only content is an image (what a scanner produces): no text layer."""
    pixels = zlib.compress(bytes([0, 255, 255, 0] * 16))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /XObject << /Im0 5 0 R >> >> "
        b"/Contents 4 0 R >>",
    ]
    content = b"q 100 0 0 100 50 50 cm /Im0 Do Q"
    objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(
        b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream"
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def unruled_html() -> bytes:
    """The 2021 report as a web page whose tables have no borders: printed to PDF, a table without ruling."""
    render = render_module()
    page = render.render_html(report_spec("2021")).decode("utf-8")
    return re.sub(r'border="?1"?', 'border="0"', page).encode("utf-8")


ENCRYPTED_PDF_FILTER = (
    'pdf:writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
    '"DocumentOpenPassword":{"type":"string","value":"secret"}}'
)


@lru_cache
def lo_documents() -> dict[str, bytes]:
    """Every LibreOffice-made test document, in one soffice run per target format."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) not installed")
    from crawler.reading.documents.office import convert_batch

    render = render_module()
    r19 = render.render_docx(report_spec("2019"))
    r21 = render.render_docx(report_spec("2021"))
    merged = merged_table_docx()
    docs: dict[str, bytes] = {}
    x21 = render.render_xlsx(report_spec("2021"))
    batches = (
        (("report2019.doc", "report2021.doc", "merged.doc"), [r19, r21, merged], "docx", "doc"),
        (
            ("report2019.pdf", "merged.pdf", "unruled2021.pdf"),
            [r19, merged, unruled_html()],
            ["docx", "docx", "html"],
            "pdf",
        ),
        (("report2021.xls", "sheets.xls"), [x21, two_sheet_xlsx()], "xlsx", "xls"),
    )
    for names, sources, src, target in batches:
        docs.update(zip(names, convert_batch(sources, src, target), strict=True))
    docs["encrypted.pdf"] = convert_batch([merged], "docx", ENCRYPTED_PDF_FILTER)[0]
    return docs
