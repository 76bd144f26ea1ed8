"""What OCR's confidence does to a reading and to the findings: OCR never invents an inconsistency.

The readings here come from a rendered report page read by the ordinary HTML reader, its cells then
marked as OCR would mark them (``OcrText`` with a chosen confidence): this tests ``finish`` and the rules
on exact, known inputs, without running the recognizer (``test_scans`` runs it).
"""

from __future__ import annotations

import random

from crawler.reading.documents import read_document
from crawler.reading.documents.model import Table
from crawler.reading.documents.ocr import OcrDocument
from crawler.reading.documents.ocr.page import OcrText
from crawler.reading.labels import match_s3_row, norm
from crawler.reading.ocr import SURE_CONFIDENCE, finish
from crawler.reading.read import recognize
from crawler.reading.values import looks_like_value
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS
from monitor.judgement import is_inconsistent, judge
from testbed.render import ReportSpec, render_html
from testbed.synthetic import consistent_cells

HIGH, LOW = 0.999, 0.80


def spec(template: str = "2021", seed: int = 3, **changes) -> ReportSpec:
    cells = consistent_cells(template, random.Random(seed), scale=300)
    cells.update(changes)
    year = 2020 if template == "2019" else 2023
    return ReportSpec(template=template, year=year, agency="淄川区招商局", cells=cells)


def ocr_reading(
    s: ReportSpec, confidence: dict[str, float] | None = None, misread: dict[str, str] | None = None
):
    """The report as OCR would have read it: every cell at HIGH confidence unless told, some misread.

    The page is read by the HTML reader; its table cells then become ``OcrText`` as OCR's page reader
    makes them, 表三's and 表四's numbers found the way the recognizer's grid path finds them."""
    confidence, misread = confidence or {}, misread or {}
    doc = read_document(render_html(s), "report.html")

    def ocr(row: list[str], at: int, key: str) -> None:
        row[at] = OcrText(misread.get(key, row[at]), confidence.get(key, HIGH))

    for b in doc.blocks:
        if not isinstance(b, Table):
            continue
        for row in b.rows:
            key = match_s3_row(norm("".join(row[:-7]))) if len(row) >= 8 else None
            if key is not None:
                for i, col in enumerate(S3_COLUMNS):
                    ocr(row, len(row) - 7 + i, f"s3.{key}.{col.key}")
            elif len(row) >= 15 and all(looks_like_value(c) for c in row[-15:]):
                keys = [f"s4.{g.key}.{c.key}" for g in S4_GROUPS for c in S4_COLUMNS]
                for i, k in enumerate(keys):
                    ocr(row, len(row) - 15 + i, k)
            else:
                row[:] = [OcrText(c, HIGH) if c else c for c in row]
    ocr_doc = OcrDocument(format="pdf", blocks=doc.blocks, ocr_only=True, ocr_pages=[1, 2, 3, 4])
    return finish(recognize(ocr_doc, "scan.pdf"), ocr_doc)


def test_every_ocr_cell_carries_its_confidence_and_high_confidence_is_sure():
    s = spec()
    r = ocr_reading(s, confidence={"s3.granted.natural_person": LOW})
    assert r.values == s.cells
    cells = r.cells
    assert all(c.how == "ocr" and c.confidence is not None for c in cells.values())
    assert not cells["s3.granted.natural_person"].sure
    assert cells["s3.granted.total"].sure and cells["s3.granted.total"].confidence == HIGH
    assert r.unsure == {"s3.granted.natural_person"}
    assert any("OCR" in n for n in r.notes)
    assert not is_inconsistent(judge(r))


def test_a_low_confidence_misread_pinned_by_the_sums_is_corrected_and_said():
    s = spec()
    key = next(
        k
        for k, v in s.cells.items()
        if k.startswith("s3.denied") and k.endswith("natural_person") and v >= 10
    )
    true = str(s.cells[key])
    slip = true[:-1] + ("8" if true[-1] != "8" else "3")
    r = ocr_reading(s, confidence={key: LOW}, misread={key: slip})
    cell = r.cells[key]
    assert (cell.value, cell.raw, cell.how, cell.sure) == (int(true), slip, "ocr_corrected", False)
    assert slip in cell.detail
    assert any(key in n and slip in n for n in r.notes)
    findings = judge(r)
    assert not is_inconsistent(findings)
    assert not [f for f in findings if f["rule"].startswith(("s3.", "reading."))]


def test_the_seed_style_report_read_with_full_confidence_is_still_inconsistent():
    """The demo's row_total report: 予以公开's 总计 printed 3 too high; OCR read it right and sure."""
    base = spec()
    s = spec(**{"s3.granted.total": base.cells["s3.granted.total"] + 3})
    r = ocr_reading(s)
    assert r.cells["s3.granted.total"].how == "ocr" and r.cells["s3.granted.total"].sure
    findings = judge(r)
    assert is_inconsistent(findings)
    errors = {(f["rule"], tuple(f["cells"])[-1]) for f in findings if f["severity"] == "error"}
    assert ("s3.row_total", "s3.granted.total") in errors
    assert ("s3.results_total", "s3.results_total.total") in errors


def test_a_failed_sum_on_a_doubtful_cell_is_a_warning_never_an_error():
    """A cell read below the threshold whose misread the sums cannot pin (more than one slip away)."""
    s = spec()
    key = next(
        k for k, v in s.cells.items() if k.startswith("s3.granted.") and k != "s3.granted.total" and v >= 1
    )
    wrong = str(s.cells[key] + 250)  # not one slip: left alone
    r = ocr_reading(s, confidence={key: LOW}, misread={key: wrong})
    assert r.cells[key].how == "ocr" and not r.cells[key].sure
    findings = judge(r)
    assert not is_inconsistent(findings)
    unsure = [f for f in findings if f["rule"] == "reading.unsure"]
    assert unsure and all(key in f["data"]["unsure"] for f in unsure)


def test_a_sure_report_error_beside_a_doubtful_cell_still_stands():
    """Doubt about one cell excuses only the sums that cell is in."""
    base = spec()
    s = spec(**{"s4.review.total": base.cells["s4.review.total"] + 2})
    r = ocr_reading(s, confidence={"s3.granted.natural_person": LOW})
    errors = [f for f in judge(r) if f["severity"] == "error"]
    assert [f["rule"] for f in errors] == ["s4.total"]


def test_a_dash_read_before_a_count_is_not_a_negative_count():
    s = spec()
    r = ocr_reading(s, misread={"s3.granted.business": "-5"})
    cell = r.cells["s3.granted.business"]
    assert cell.value is None and cell.note == "not_number" and not cell.sure
    assert "cell.negative" not in {f["rule"] for f in judge(r)}


def test_a_speck_read_as_a_decimal_point_in_a_count_is_dropped_unsure():
    s = spec()
    key = next(k for k, v in s.cells.items() if k.startswith("s3.") and not k.endswith(".total") and v >= 10)
    true = str(s.cells[key])
    r = ocr_reading(s, misread={key: true[0] + "." + true[1:]})
    assert r.cells[key].value == int(true) and not r.cells[key].sure
    assert "小数点" in r.cells[key].detail


def test_threshold_is_what_the_docs_say():
    from pathlib import Path

    rules = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    assert f"**{SURE_CONFIDENCE:g}**" in rules


def test_a_minus_read_as_a_chinese_one_in_a_signed_cell_is_a_negative_unsure():
    s = spec("2019", **{"s2.coercion.change": -52})
    s.cell_text["s2.coercion.change"] = "一52"  # as OCR read the printed -52
    r = ocr_reading(s)
    cell = r.cells["s2.coercion.change"]
    assert (cell.value, cell.raw, cell.sure) == (-52, "一52", False)
