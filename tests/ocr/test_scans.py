"""Real scans read by real OCR: every cell against the source, and no inconsistency invented.

The scans are made as townships make them (``testbed.scan``): reports with known cells rendered to PDF by
LibreOffice, rasterized by pdftoppm, turned, blurred, speckled, stamped with a red seal and saved as
JPEG; then published as an image-only PDF, as page images (the crawler's image bundle), and as a PDF whose
first page has a text layer and whose table pages are scans. A handful of documents: each OCR page costs
seconds.
"""

from __future__ import annotations

import random

import pytest

from crawler.reading.documents.ocr import available
from crawler.reading.read import read_bytes
from domain.image_bundle import make_image_bundle
from monitor.judgement import is_inconsistent, judge
from testbed.render import ReportSpec, render_many
from testbed.scan import POOR, Damage, images_to_pdf, scan_pdf
from testbed.synthetic import consistent_cells

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(not available(), reason="OCR not installed (pip install 'gkwatch[ocr]')"),
]

MILD = Damage(dpi=200, angle=-0.8, blur=0.4, speckle=0.001, jpeg_quality=75)


def clean_spec() -> ReportSpec:
    cells = consistent_cells("2021", random.Random(21), scale=300)
    return ReportSpec(template="2021", year=2023, agency="淄川区经济开发区管理委员会", cells=cells)


def seed_style_spec() -> ReportSpec:
    """The demo portal's ``row_total`` report: （一）予以公开's 总计 printed 3 too high."""
    cells = consistent_cells("2019", random.Random(19), scale=40)
    cells["s3.granted.total"] += 3  # type: ignore[operator]
    return ReportSpec(template="2019", year=2020, agency="临淄区人民政府稷下街道办事处", cells=cells)


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    clean, seed = render_many([(clean_spec(), "pdf"), (seed_style_spec(), "pdf")])
    return {"clean": clean, "seed": seed}


def wrong_cells(reading, spec: ReportSpec) -> dict[str, tuple]:
    return {k: (v, reading.cells[k].value, reading.cells[k].raw) for k, v in spec.cells.items()
            if reading.cells[k].value != v}  # fmt: skip


def test_a_poor_scan_published_as_an_image_only_pdf_reads_every_cell(pdfs):
    spec = clean_spec()
    pages = scan_pdf(pdfs["clean"], POOR, seed=3)
    reading = read_bytes(images_to_pdf(pages, dpi=POOR.dpi), "nb2023.pdf")
    assert reading.error is None and reading.format == "pdf"
    assert (reading.template, reading.year, reading.agency) == ("2021", 2023, spec.agency)
    assert wrong_cells(reading, spec) == {}
    assert all(c.how in ("ocr", "ocr_corrected") and c.confidence is not None for c in reading.cells.values())
    assert sum(c.sure for c in reading.cells.values()) >= 0.9 * len(reading.cells)
    assert any(n.startswith("OCR：识别了 4 页") for n in reading.notes)
    findings = judge(reading)
    assert not is_inconsistent(findings), [f for f in findings if f["severity"] == "error"]


def test_the_seed_style_report_in_page_images_is_still_found_inconsistent(pdfs):
    spec = seed_style_spec()
    pages = scan_pdf(pdfs["seed"], MILD, seed=5)
    bundle = make_image_bundle([(f"https://x.gov.cn/nb/{i}.jpg", p) for i, p in enumerate(pages)])
    reading = read_bytes(bundle, "nb2020.html")
    assert reading.error is None and reading.format == "image"
    assert (reading.template, reading.year) == ("2019", 2020)
    assert wrong_cells(reading, spec) == {}
    findings = judge(reading)
    assert is_inconsistent(findings)
    errors = {(f["rule"], f["cells"][-1]) for f in findings if f["severity"] == "error"}
    assert ("s3.row_total", "s3.granted.total") in errors


def test_a_pdf_with_a_text_first_page_and_scanned_tables_reads_both(pdfs):
    import pypdfium2 as pdfium

    spec = clean_spec()
    scanned = images_to_pdf(scan_pdf(pdfs["clean"], MILD, seed=7), dpi=MILD.dpi)
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(pdfium.PdfDocument(pdfs["clean"]), [0])
    mixed.import_pages(pdfium.PdfDocument(scanned), [1, 2, 3])
    import io

    out = io.BytesIO()
    mixed.save(out)
    reading = read_bytes(out.getvalue(), "mixed.pdf")
    assert reading.error is None
    assert reading.title == spec.full_title  # from the text layer
    assert wrong_cells(reading, spec) == {}
    assert any(n.startswith("OCR：识别了 3 页") for n in reading.notes)
    assert not is_inconsistent(judge(reading))


def test_a_page_with_the_report_pasted_in_as_pictures_reads_its_tables(pdfs):
    """Some editors paste scans into the article as ``data:`` images: the page itself holds the pictures."""
    import base64

    spec = clean_spec()
    pages = scan_pdf(pdfs["clean"], MILD, seed=9)
    imgs = "".join(f'<p><img src="data:image/jpeg;base64,{base64.b64encode(p).decode()}"></p>' for p in pages)
    page = (
        f'<html><head><meta charset="utf-8"><title>{spec.full_title}</title></head><body>'
        f'<div class="nav">首页</div><h1>{spec.full_title}</h1><div class="content">{imgs}</div></body></html>'
    )
    reading = read_bytes(page.encode(), "t20240120.html")
    assert reading.error is None and reading.format == "html"
    assert (reading.template, reading.year, reading.agency) == ("2021", 2023, spec.agency)
    assert wrong_cells(reading, spec) == {}
    assert not is_inconsistent(judge(reading))
