"""Bytes in, a ``Reading`` out: the one entry point of the reading stage.

``read_bytes`` never raises for bad input: whatever goes wrong ends up in ``Reading.error``, with the format
where it could be told. Reading a file (``crawler.reading.documents``) turns any format into paragraphs and
grids; recognizing (``crawler.reading.tables``, ``.metadata``) finds the template's cells. Nothing here
judges: the rules run over stored readings (``monitor.judgement``).
"""

from __future__ import annotations

import logging
from typing import Any

from crawler.reading.documents.model import Document, UnreadableDocument
from crawler.reading.labels import MARKERS_2021, norm_text, template_scores
from crawler.reading.metadata import read_metadata
from crawler.reading.model import Reading
from crawler.reading.tables import read_tables
from domain.template import cell_keys, expected_template_for_year, get_template

log = logging.getLogger(__name__)

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


def recognize(doc: Document, filename: str | None = None) -> Reading:
    """Recognize the report in a document that has been read."""
    # Read and normalized once: the metadata and the format detection both look at all of it.
    text = doc.text()
    normalized = norm_text(text)
    md = read_metadata(doc, text, normalized)
    reading = Reading(
        file=filename,
        format=doc.format,
        year=md.year,
        year_source=md.year_source,
        agency=md.agency,
        title=md.title,
        prose=doc.prose(),
        notes=list(doc.notes),
        sections_present=list(md.sections_present),
        period=md.period,
        prose_years=list(md.prose_years),
    )
    reading.template = detect_template(doc, md.year, normalized)
    if reading.template is None:
        return reading
    tables = read_tables(doc, get_template(reading.template))
    reading.cells = {k: tables.cells[k] for k in cell_keys(reading.template)}
    reading.missing = list(tables.missing)
    reading.notes += tables.notes
    return reading


def read_bytes(data: bytes, filename: str | None = None, *, converter: Any = None) -> Reading:
    """Read and recognize one document. Never raises for bad input."""
    from crawler.reading.documents import read_document

    try:
        doc = read_document(data, filename, converter=converter)
    except UnreadableDocument as e:
        return Reading(file=filename, format=e.format, error=str(e))
    except Exception as e:  # a reader bug must not stop a crawl of thousands of documents
        log.exception("reading %s failed", filename)
        return Reading(file=filename, error=f"could not read the document ({type(e).__name__}: {e})")
    try:
        reading = recognize(doc, filename)
        if getattr(doc, "ocr_pages", None):  # read by OCR (issue 12): confidences, misreads mended by sums
            from crawler.reading.ocr import finish

            reading = finish(reading, doc)
        return reading
    except Exception as e:
        log.exception("recognizing %s failed", filename)
        return Reading(
            file=filename,
            format=doc.format,
            error=f"could not recognize the report ({type(e).__name__}: {e})",
        )


def read_many(items: list[tuple[str, bytes]]) -> list[Reading]:
    """Read several documents, converting every one that needs LibreOffice in a single batch."""
    from crawler.reading.documents import needs_conversion
    from crawler.reading.documents.office import OfficeConverter

    if sum(1 for name, data in items if needs_conversion(data, name)) < 2:
        return [read_bytes(data, name) for name, data in items]
    with OfficeConverter() as converter:
        converter.prepare([(name, data) for name, data in items if needs_conversion(data, name)])
        return [read_bytes(data, name, converter=converter) for name, data in items]
