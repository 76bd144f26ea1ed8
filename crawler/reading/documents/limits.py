"""Size caps that keep one hostile or broken file from stalling a crawl of thousands.

Crawled bytes are untrusted: a ZIP container (docx/xlsx) can declare gigabytes inside a few kilobytes, an
HTML page can be tens of megabytes of inline script, a table can declare ``colspan=100000``. Every reader
checks against these numbers BEFORE doing the expensive thing, and says plainly which cap was hit.
"""

from __future__ import annotations

import io
import zipfile

from crawler.reading.documents.model import Document, Paragraph, UnreadableDocument

# No published report comes near these; anything larger is not worth reading at all.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# HTML above this is stripped of script/style/comments and inline data: URIs before parsing.
HTML_STRIP_ABOVE_BYTES = 1024 * 1024
# After stripping, markup above this is cut: a report saved as a web page is well under 1 MB of markup, and
# it comes before whatever endless lists a portal appends.
MAX_HTML_PARSE_BYTES = 4 * 1024 * 1024
# Plain text: characters read at most (a report is some 10 000).
MAX_TEXT_CHARS = 400_000
# Any document: characters handed to the recognizer at most (its loose-text reading is not linear-cheap).
MAX_DOCUMENT_CHARS = 600_000
# ZIP containers: total declared uncompressed size and the worst compression ratio of any member.
MAX_ZIP_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 5000
# Tables: spans beyond these are clamped; rows and cells beyond these are dropped (with a note).
MAX_COLSPAN = 60
MAX_ROWSPAN = 500
MAX_TABLE_ROWS = 5000
MAX_TABLE_CELLS = 200_000
# PDFs: pages read at most (annual reports run to a dozen pages; a 500-page yearbook is not one).
MAX_PDF_PAGES = 60
# A page with more characters than this is read as text lines only (no table finding).
MAX_PDF_PAGE_CHARS = 30_000


def check_size(data: bytes, fmt: str | None = None) -> None:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise UnreadableDocument(
            f"file too large: {len(data) / 1048576:.0f} MB (limit {MAX_DOCUMENT_BYTES // 1048576} MB)", fmt
        )


def check_zip(data: bytes, fmt: str) -> None:
    """Refuse a ZIP container whose declared contents would blow up memory or time (a zip bomb).

    Only the central directory is read here: nothing is decompressed.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise UnreadableDocument(f"damaged {fmt} file: the ZIP container cannot be opened ({e})", fmt) from e
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UnreadableDocument(f"suspicious {fmt} file: {len(infos)} parts in the ZIP container", fmt)
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise UnreadableDocument(
            f"suspicious {fmt} file (zip bomb?): it declares {total / 1048576:.0f} MB uncompressed "
            f"(limit {MAX_ZIP_UNCOMPRESSED_BYTES // 1048576} MB)",
            fmt,
        )
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise UnreadableDocument(
                f"suspicious {fmt} file (zip bomb?): part {i.filename!r} expands {i.file_size // max(i.compress_size, 1)}×",
                fmt,
            )


def clamp_span(value: str | None, limit: int) -> int:
    """A rowspan/colspan attribute as a sane integer (garbage → 1, huge → ``limit``)."""
    try:
        n = int(str(value).strip().split(".")[0]) if value not in (None, "") else 1
    except ValueError:
        return 1
    return max(1, min(n, limit))


def cap_document(doc: Document) -> Document:
    """Drop the blocks past ``MAX_DOCUMENT_CHARS`` (with a note): the report is at the start of any file."""
    total = 0
    for i, block in enumerate(doc.blocks):
        total += (
            len(block.text)
            if isinstance(block, Paragraph)
            else sum(len(c) + 1 for r in block.rows for c in r)
        )
        if total > MAX_DOCUMENT_CHARS:
            del doc.blocks[i + 1 :]
            doc.notes.append(f"very long document: only its first {MAX_DOCUMENT_CHARS} characters read")
            break
    return doc
