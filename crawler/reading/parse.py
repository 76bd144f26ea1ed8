"""Bytes in, a checked report out: the one entry point the CLI, the crawler and the tests use.

``parse_bytes`` never raises for bad input: whatever goes wrong ends up in ``ParsedReport.error``, with
the format where it could be told. Reading (``crawler.reading.documents``) turns any format into paragraphs and
grids; recognizing (``crawler.reading.tables``, ``.metadata``) finds the template's cells; judging
(``monitor.judgement``) produces the findings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from crawler.reading.documents.model import Document, UnreadableDocument
from crawler.reading.labels import MARKERS_2021, norm_text, template_scores
from crawler.reading.metadata import read_metadata
from crawler.reading.tables import read_tables
from domain.template import cell_keys, expected_template_for_year, get_template

log = logging.getLogger(__name__)

Value = int | float | None


@dataclass
class ParsedReport:
    file: str | None = None
    format: str | None = None  # html | docx | doc | wps | pdf | xls | xlsx | text
    template: str | None = None  # "2019" | "2021" | None
    year: int | None = None
    agency: str | None = None
    title: str | None = None
    cells: dict[str, Value] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)  # {"rule","severity","cells","message"}
    error: str | None = None
    prose: str = ""  # the report's words (not its tables), for text checks and copy detection
    raw: dict[str, str] = field(default_factory=dict)  # cell key -> the text as printed
    notes: list[str] = field(default_factory=list)  # how the document was read (charset fallback …)

    def to_json(self) -> dict[str, Any]:
        """The contract's ``gkwatch parse`` object."""
        return {
            "file": self.file,
            "format": self.format,
            "template": self.template,
            "year": self.year,
            "agency": self.agency,
            "title": self.title,
            "cells": self.cells,
            "findings": self.findings,
            "error": self.error,
        }


# How many format-specific labels of 表二 a document without 表三 must print to count as a report.
MIN_MARKERS = 3


def detect_template(doc: Document, year: int | None, normalized: str | None = None) -> str | None:
    """Which national format the document follows, from the labels only that format prints.

    A document with neither format's labels and no 表三 is not a report (``None``). One with 表三 but no
    distinguishing label (表二 missing) is taken to follow the format due for its year.
    """
    text = norm_text(doc.text()) if normalized is None else normalized  # the caller's norm_text(doc.text())
    s19, s21 = template_scores(text)
    has_s3 = "本年新收" in text and ("结转下年度" in text or "予以公开" in text)
    # A single marker word (a news item or a README mentioning 政府集中采购) does not make a report.
    if not has_s3 and max(s19, s21) < MIN_MARKERS:
        return None
    if s19 > s21:
        return "2019"
    if s21 > s19:
        return "2021"
    if any(m in text for m in MARKERS_2021[4:6]):  # 表三's 2021-only rows
        return "2021"
    return expected_template_for_year(year) if year else "2021"


def parse_document(doc: Document, filename: str | None = None) -> ParsedReport:
    """Recognize and check a document that has been read."""
    from monitor.judgement import check_report

    # Read and normalized once: the metadata and the format detection both look at all of it.
    text = doc.text()
    normalized = norm_text(text)
    md = read_metadata(doc, text, normalized)
    pr = ParsedReport(
        file=filename,
        format=doc.format,
        year=md.year,
        agency=md.agency,
        title=md.title,
        prose=doc.prose(),
        notes=list(doc.notes),
    )
    pr.template = detect_template(doc, md.year, normalized)
    if pr.template is None:
        return pr
    reading = read_tables(doc, get_template(pr.template))
    keys = cell_keys(pr.template)
    pr.cells = {k: reading.cells[k].value for k in keys}
    pr.raw = {k: reading.raw[k] for k in keys if k in reading.raw}
    pr.findings = check_report(
        template=pr.template,
        year=md.year,
        readings={k: reading.cells[k] for k in keys},
        sections_present=md.sections_present,
        missing=reading.missing,
        prose=pr.prose,
        period=md.period,
        prose_years=md.prose_years,
    )
    return pr


def parse_bytes(data: bytes, filename: str | None = None, *, converter: Any = None) -> ParsedReport:
    """Read, recognize and check one document. Never raises for bad input."""
    from crawler.reading.documents import read_document

    try:
        doc = read_document(data, filename, converter=converter)
    except UnreadableDocument as e:
        return ParsedReport(file=filename, format=e.format, error=str(e))
    except Exception as e:  # a reader bug must not stop a crawl of thousands of documents
        log.exception("reading %s failed", filename)
        return ParsedReport(file=filename, error=f"could not read the document ({type(e).__name__}: {e})")
    try:
        return parse_document(doc, filename)
    except Exception as e:
        log.exception("recognizing %s failed", filename)
        return ParsedReport(
            file=filename,
            format=doc.format,
            error=f"could not recognize the report ({type(e).__name__}: {e})",
        )


def parse_many(items: list[tuple[str, bytes]]) -> list[ParsedReport]:
    """Parse several documents, converting every one that needs LibreOffice in a single batch."""
    from crawler.reading.documents import needs_conversion
    from crawler.reading.documents.office import OfficeConverter

    if sum(1 for name, data in items if needs_conversion(data, name)) < 2:
        return [parse_bytes(data, name) for name, data in items]
    with OfficeConverter() as converter:
        converter.prepare([(name, data) for name, data in items if needs_conversion(data, name)])
        return [parse_bytes(data, name, converter=converter) for name, data in items]
