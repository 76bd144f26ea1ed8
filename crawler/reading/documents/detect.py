"""Telling a file's real format from its bytes.

Portals mislabel files all the time: a ``.doc`` that is really an HTML page saved by Word, or RTF; a ``.xls``
that is an xlsx; a ``.wps`` that is a Word 97 file; an attachment served as ``application/octet-stream``. So
the bytes decide (magic numbers, ZIP part names, OLE stream names, markup) and the extension only breaks ties
(``.wps`` vs ``.doc`` for the same OLE layout).
"""

from __future__ import annotations

import io
import re
import zipfile

from crawler.reading.documents.model import UnreadableDocument

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
RTF_MAGIC = b"{\\rtf"

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20)) + b"\x7f"
# Encodings in which those characters are exactly those single bytes (no multi-byte sequence contains a byte
# below 0x30 or 0x7f), so they can be counted on the bytes in C instead of by a regex over the text.
_ASCII_COMPATIBLE = ("utf-8", "utf-8-sig", "gb18030")
WEB_EXTENSIONS = ("htm", "html", "shtml", "xhtml", "jsp", "php", "asp", "aspx", "do", "action")
_HTML_SNIFF = re.compile(
    rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<table[\s>]|<tr[\s>]|<td[\s>]|<div[\s>]|<p[\s>]"
    rb"|<br\s*/?>|<span[\s>]",
    re.IGNORECASE,
)


def extension(filename: str | None) -> str:
    """The lower-case extension without the dot ("" when there is none); query strings are ignored."""
    if not filename:
        return ""
    name = filename.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _zip_format(data: bytes, ext: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise UnreadableDocument(
            f"damaged ZIP-based document: {e}", "docx" if ext != "xlsx" else "xlsx"
        ) from e
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if "mimetype" in names or any(n.startswith("ppt/") for n in names):
        raise UnreadableDocument("unsupported document type inside a ZIP container (not Word or Excel)", None)
    raise UnreadableDocument("a ZIP archive, not a report document", None)


def _ole_format(data: bytes, ext: str) -> str:
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as e:  # olefile raises OSError and its own subclasses on damaged headers
        raise UnreadableDocument(f"damaged Office (OLE) file: {e}", _ole_guess(ext)) from e
    try:
        streams = {"/".join(s).lower() for s in ole.listdir(streams=True, storages=True)}
    finally:
        ole.close()
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        raise UnreadableDocument("encrypted (password-protected) Office document", _ole_guess(ext))
    if "worddocument" in streams:
        return "wps" if ext == "wps" else "doc"
    if "workbook" in streams or "book" in streams:
        return "xls"
    if any(s.startswith("wps") or "kingsoft" in s for s in streams):  # Kingsoft's own WPS layout
        return "xls" if ext in ("et", "xls") else "wps"
    raise UnreadableDocument(
        "an Office (OLE) file that is neither a Word document nor a workbook", _ole_guess(ext)
    )


def _ole_guess(ext: str) -> str:
    return {"wps": "wps", "xls": "xls", "et": "xls"}.get(ext, "doc")


def decodes_as_text(data: bytes) -> bool:
    """Whether the bytes are text in one of the encodings portals use, with few control characters."""
    from crawler.reading.documents.text import decode_best, decode_text

    sample = data[:65536]
    try:
        text, enc = decode_text(sample, partial=len(data) > 65536)
    except UnreadableDocument:
        try:
            text, enc, _bad = decode_best(sample[:-4] if len(data) > 65536 else sample)
        except UnreadableDocument:
            return False
        sample = b""  # replaced bytes: count on the text
    if not text:
        return False
    if sample and enc in _ASCII_COMPATIBLE:
        controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    else:
        controls = len(_CONTROL.findall(text))
    return controls <= max(2, len(text) // 200)


_NOT_SPACE = re.compile(rb"[^ \t\r\n\x0b\x0c]")


def _starts_as_markup(data: bytes) -> bool:
    """A page from its first byte (``<!DOCTYPE html>``, ``<html>``, ``<meta …>``), in any ASCII-compatible
    charset — decided without decoding, so a GBK page with a few bad bytes is still a page and its bytes
    are decoded once, by the reader. UTF-16 (NUL bytes) goes the long way."""
    sniff = data[:8192]
    if b"\x00" in sniff:
        return False
    return sniff.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and _HTML_SNIFF.search(sniff) is not None


def is_rtf(data: bytes) -> bool:
    return data[:64].lstrip()[:5] == RTF_MAGIC


def detect_format(data: bytes, filename: str | None = None) -> str:
    """One of ``model.FORMATS``, decided from the bytes; raises UnreadableDocument when none fits.

    RTF (Word's other save format, often named .doc) is reported as "doc": LibreOffice converts it the same way.
    """
    ext = extension(filename)
    if _NOT_SPACE.search(data) is None:  # found at the first byte of any real file: no copy of it
        raise UnreadableDocument("empty file", None)
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    # --- OCR hook (issue 12): page images and the crawler's image bundles, read by crawler.reading.documents.ocr ---
    from crawler.reading.documents.ocr import image_format, is_image_bundle

    if image_format(data) or is_image_bundle(data):
        return "image"
    # --- end OCR hook ---
    if data.startswith(ZIP_MAGIC):
        return _zip_format(data, ext)
    if data.startswith(OLE_MAGIC):
        return _ole_format(data, ext)
    if is_rtf(data):
        return "wps" if ext == "wps" else "doc"
    from crawler.reading.documents.html import is_mhtml

    if is_mhtml(data):
        return "html"
    if _starts_as_markup(data):
        return "html"  # told from the bytes: a page's charset is the HTML reader's to decide (domain.charset)
    if decodes_as_text(data):
        sniff = data[:8192]
        if sniff.startswith((b"\xff\xfe", b"\xfe\xff")):
            sniff = data[:16384].decode("utf-16", "ignore").encode("utf-8", "ignore")
        # Markup from the first byte, a web extension, or several tags: a page (also an "Excel" export that is
        # an HTML table named .xls). A text that mentions one tag stays text.
        starts_with_tag = sniff.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
        if _HTML_SNIFF.search(sniff) and (
            starts_with_tag or ext in WEB_EXTENSIONS or len(_HTML_SNIFF.findall(sniff)) >= 2
        ):
            return "html"
        return "text"
    raise UnreadableDocument("unknown file format: not a PDF, Word, Excel, HTML or text document", None)
