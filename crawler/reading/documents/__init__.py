"""Any report file's bytes → a ``Document`` (paragraphs and table grids) for the recognizer.

``read_document`` is the one entry point: it detects the real format from the bytes, applies the size caps,
and hands over to one reader per format. Word-processor formats that only LibreOffice reads (.doc, .wps, RTF)
are converted to .docx first — by the batch ``OfficeConverter`` when the caller has one, else one-off — with
``antiword`` as a text-only fallback for .doc.
"""

from __future__ import annotations

from typing import Any

from crawler.reading.documents.detect import detect_format, extension
from crawler.reading.documents.limits import cap_document, check_size
from crawler.reading.documents.model import FORMATS, Document, Paragraph, Table, UnreadableDocument

__all__ = [
    "FORMATS",
    "Document",
    "Paragraph",
    "Table",
    "UnreadableDocument",
    "detect_format",
    "needs_conversion",
    "read_document",
]

# Formats read only after LibreOffice has converted them.
CONVERTED_FORMATS = ("doc", "wps")


def needs_conversion(data: bytes, filename: str | None = None) -> bool:
    """Whether reading these bytes needs LibreOffice (Word 97/RTF .doc, Kingsoft .wps)."""
    try:
        return detect_format(data, filename) in CONVERTED_FORMATS
    except UnreadableDocument:
        return False


def read_document(
    data: bytes,
    filename: str | None = None,
    *,
    converter: Any = None,
    max_bytes: int | None = None,
    conversion_seconds: float | None = None,
) -> Document:
    """Read one document; raises ``UnreadableDocument(message, format)`` for anything that cannot be read
    (a subclass per kind of refusal: ``limits.TooLarge``, ``limits.ZipBomb``, ``office.ConversionTimeout`` …).

    ``converter`` is an ``office.OfficeConverter`` (or anything with ``convert(data, filename) -> (bytes,
    ext)``) that may already hold this file's conversion from a batch. ``max_bytes`` is the size cap (default
    ``limits.MAX_DOCUMENT_BYTES``), ``conversion_seconds`` a one-off LibreOffice conversion's budget (default
    ``office.CONVERSION_SECONDS``; a converter has its own).
    """
    check_size(data, cap=max_bytes)
    fmt = detect_format(data, filename)
    return cap_document(_read(data, fmt, filename, converter, conversion_seconds))


def _read(
    data: bytes, fmt: str, filename: str | None, converter: Any, conversion_seconds: float | None
) -> Document:
    if fmt == "image":  # page images and image bundles: OCR (crawler.reading.documents.ocr, issue 12)
        from crawler.reading.documents.ocr import read_image_document

        return read_image_document(data)
    if fmt == "html":
        from crawler.reading.documents.html import is_mhtml, read_html, read_mhtml

        return read_mhtml(data) if is_mhtml(data) else read_html(data)
    if fmt == "text":
        from crawler.reading.documents.text import read_text

        return read_text(data)
    if fmt == "docx":
        return _read_docx_or_repair(data, conversion_seconds)
    if fmt == "pdf":
        from crawler.reading.documents.pdf import read_pdf

        return read_pdf(data)
    if fmt in ("xls", "xlsx"):
        from crawler.reading.documents.spreadsheet import read_spreadsheet

        return read_spreadsheet(
            data, fmt, filename, converter=converter, conversion_seconds=conversion_seconds
        )
    if fmt in CONVERTED_FORMATS:
        from crawler.reading.documents.office import read_converted

        return read_converted(data, fmt, filename, converter=converter, timeout=conversion_seconds)
    raise UnreadableDocument(f"unsupported format {fmt}", fmt)


def _read_docx_or_repair(data: bytes, conversion_seconds: float | None) -> Document:
    """python-docx refuses some files Word opens (Strict OOXML, odd relationships): let LibreOffice re-save
    those as plain .docx. A container that is broken or hostile is refused before that (``check_zip`` has
    inflated and measured every part), so LibreOffice only ever gets one that holds what it declares."""
    from crawler.reading.documents.docx import DocxParseError, read_docx

    try:
        return read_docx(data)
    except DocxParseError as e:
        failure = e
    from crawler.reading.documents.office import convert_bytes

    try:
        repaired = convert_bytes(data, "docx", "docx", timeout=conversion_seconds)
        doc = read_docx(repaired)
    except UnreadableDocument:
        raise failure from None
    doc.notes.append(f"{failure}; re-saved with LibreOffice")
    return doc


def source_extension(data: bytes, fmt: str, filename: str | None) -> str:
    """The extension LibreOffice should see for these bytes (its filters go by content, but a right name helps)."""
    from crawler.reading.documents.detect import is_rtf

    if is_rtf(data):
        return "rtf"
    ext = extension(filename)
    if fmt == "wps":
        return "wps"
    if fmt == "xls":
        return "et" if ext == "et" else "xls"
    return fmt
