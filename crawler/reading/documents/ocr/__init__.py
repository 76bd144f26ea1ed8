"""OCR for reports published as pictures: scanned PDFs, page images, image bundles (issue 12).

Optional at install (``pip install 'gkwatch[ocr]'``: ``rapidocr`` with its models in the wheel,
``onnxruntime``, one OpenCV package); without it a scan is reported as before — unreadable, saying OCR is
needed. Nothing is downloaded at run time.

How a page is read (``image`` → ``grid`` → ``page``): decoded, seals dropped, scaled, deskewed; its ruled
tables found from their ruling; every word recognized with a score and placed in its cell. The pages
become an ``OcrDocument`` that the recognizer reads like any document; ``crawler.reading.ocr.finish`` then
marks each cell with its confidence and mends misreads the table's own sums pin down. Pages are read in
order under ``settings`` (page cap, time budget); the worker pool's per-document time cap backs them up.

This module stays light to import (the format readers import it to ask ``available()``); numpy, OpenCV and
the models load on the first page read.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from crawler.reading.documents.model import Block, Document, UnreadableDocument
from crawler.reading.documents.ocr.settings import OcrSettings, configure, current

log = logging.getLogger(__name__)

__all__ = [
    "OcrDocument",
    "OcrSettings",
    "available",
    "configure",
    "image_format",
    "is_image_bundle",
    "ocr_document",
    "read_embedded_images",
    "read_image_document",
    "read_scanned_pages",
]

PDF_DPI = 200  # scanned PDF pages are rendered at this resolution (then scaled to reading size)
NEEDS_OCR = "needs OCR to be read, and OCR is not installed (pip install 'gkwatch[ocr]')"
OCR_OFF = "needs OCR to be read, and OCR is turned off (config ocr.enabled)"


def available() -> bool:
    """Whether OCR can run here: its packages are installed."""
    from crawler.reading.documents.ocr.engine import available as packages

    return packages()


def image_format(data: bytes) -> str | None:
    """The image type of ``data`` from its magic number (jpeg, png, gif, bmp, tiff, webp), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM") and len(data) > 26 and int.from_bytes(data[2:6], "little") in (0, len(data)):
        return "bmp"
    return None


def is_image_bundle(data: bytes) -> bool:
    from domain.image_bundle import is_image_bundle as check

    return check(data)


def _can_run(fmt: str, what: str) -> None:
    if not current().enabled:
        raise UnreadableDocument(f"{what}: {OCR_OFF}", fmt)
    if not available():
        raise UnreadableDocument(f"{what}: {NEEDS_OCR}", fmt)


def read_image_document(data: bytes) -> Document:
    """A page image or an image bundle → an ``OcrDocument`` (format ``image``)."""
    from domain.image_bundle import BadBundle, read_image_bundle

    if is_image_bundle(data):
        try:
            _page, images = read_image_bundle(data)
        except BadBundle as e:
            raise UnreadableDocument(str(e), "image") from e
        pages = [img.data for img in images]
        what = f"a report published as {len(pages)} page image(s)"
    else:
        pages = [data]
        what = "an image of a report"
    _can_run("image", what)
    from crawler.reading.documents.ocr.image import prepare

    read, notes = _read_pages([lambda b=b: prepare(b) for b in pages], "image")
    blocks = [b for page in read for b in page]
    base = Document(format="image", blocks=blocks, loose_text=True, notes=notes)
    return ocr_document(base, [n for n, page in enumerate(read, start=1) if page], ocr_only=True)


_DATA_IMAGE = re.compile(rb"data:image/(?:png|jpe?g|gif|bmp|webp);base64,([A-Za-z0-9+/=\s]{2000,})", re.I)
MAX_EMBEDDED_IMAGES = 60


def read_embedded_images(page: bytes, doc: Document) -> Document:
    """A page whose report is pictures embedded in it (``<img src="data:image/…;base64,…">``, as some
    editors paste scans): the page's own text, then its pictures read by OCR in page order. The page as
    read (``doc``) where there are none, or OCR cannot run here."""
    import base64
    import binascii

    images = []
    for m in _DATA_IMAGE.finditer(page):
        try:
            data = base64.b64decode(re.sub(rb"\s+", b"", m.group(1)), validate=True)
        except (binascii.Error, ValueError):
            continue
        if image_format(data):
            images.append(data)
        if len(images) >= MAX_EMBEDDED_IMAGES:
            break
    if not images or not current().enabled or not available():
        return doc
    from crawler.reading.documents.ocr.image import prepare

    read, notes = _read_pages([lambda b=b: prepare(b) for b in images], doc.format)
    base = Document(
        format=doc.format,
        blocks=[*doc.blocks, *(b for p in read for b in p)],
        meta=doc.meta,
        loose_text=True,
        notes=[*doc.notes, *notes],
    )
    return ocr_document(base, [n for n, p in enumerate(read, start=1) if p], ocr_only=True)


@dataclass
class ScannedPages:
    """OCR's reading of a PDF's picture-only pages: blocks per page index (0-based), and notes."""

    blocks: dict[int, list[Block]]
    notes: list[str]


def read_scanned_pages(data: bytes, page_indexes: list[int]) -> ScannedPages | None:
    """The blocks of a PDF's picture-only pages (0-based indexes) read by OCR, in order under the page
    cap and time budget; None where OCR cannot run here (the caller then reports the PDF as before)."""
    if not current().enabled or not available():
        return None
    import pypdfium2 as pdfium

    from crawler.reading.documents.ocr.image import prepare_array

    pdf = pdfium.PdfDocument(data)
    try:

        def render(i: int):
            page = pdf[i]
            try:
                bitmap = page.render(scale=PDF_DPI / 72)
                return prepare_array(bitmap.to_numpy()[:, :, :3].copy())
            finally:
                page.close()

        pages, notes = _read_pages([lambda i=i: render(i) for i in page_indexes], "pdf")
    finally:
        pdf.close()
    return ScannedPages(dict(zip(page_indexes, pages, strict=False)), notes)


@dataclass
class OcrDocument(Document):
    """A document some or all of whose pages were read by OCR. ``crawler.reading.read`` hands its
    reading to ``crawler.reading.ocr.finish``: each cell's confidence, misreads mended by the sums."""

    ocr_only: bool = True  # every page came from OCR (else: a PDF mixing text-layer and scanned pages)
    ocr_pages: list[int] = field(default_factory=list)  # 1-based page numbers read by OCR


def ocr_document(base: Document, ocr_pages: list[int], *, ocr_only: bool) -> OcrDocument:
    """``base`` as an ``OcrDocument``."""
    return OcrDocument(
        format=base.format,
        blocks=base.blocks,
        meta=base.meta,
        loose_text=base.loose_text,
        notes=base.notes,
        ocr_only=ocr_only,
        ocr_pages=ocr_pages,
    )


def _read_pages(loaders: list[Callable], fmt: str) -> tuple[list[list[Block]], list[str]]:
    """Each page's blocks (an empty list for a page not read), in order, and notes on the reading."""
    from crawler.reading.documents.ocr.page import read_page

    settings = current()
    todo = loaders[: settings.max_pages]
    notes: list[str] = []
    # The budget is CPU time (pages per core-second do not change with the machine's load); the pool's
    # cap behind it is wall-clock time.
    budget = settings.seconds_per_page * len(todo)
    deadline = time.monotonic() + 0.8 * settings.deadline_seconds if settings.deadline_seconds else None
    started = time.process_time()
    pages: list[list[Block]] = []
    read = 0
    skews: list[str] = []
    for n, load in enumerate(todo, start=1):
        if time.process_time() - started > budget or (deadline is not None and time.monotonic() > deadline):
            notes.append(f"OCR：超出时间预算（{budget:.0f} 秒），第 {n} 页起未识别")
            break
        try:
            result = read_page(load())
        except UnreadableDocument as e:
            if len(todo) == 1:
                raise
            notes.append(f"OCR：第 {n} 页图像无法读取（{e}）")
            pages.append([])
            continue
        except Exception as e:  # a broken page (a codec, the recognizer) must not lose the others
            log.exception("OCR of page %d failed", n)
            notes.append(f"OCR：第 {n} 页识别失败（{type(e).__name__}）")
            pages.append([])
            continue
        pages.append([b for _top, b in result.blocks])
        read += 1
        if abs(result.skew) >= 0.1:
            skews.append(f"第 {n} 页 {result.skew:+.1f}°")
    if not read:
        raise UnreadableDocument("OCR could not read any page of the document", fmt)
    if len(loaders) > len(todo):
        notes.append(f"OCR：只识别了前 {len(todo)} 页（共 {len(loaders)} 页，ocr.max_pages）")
    notes.insert(0, f"OCR：识别了 {read} 页" + (f"，纠偏 {'、'.join(skews)}" if skews else ""))
    return pages, notes
