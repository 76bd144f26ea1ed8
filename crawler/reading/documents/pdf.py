"""PDF with a text layer (pdfplumber): ruled tables per page plus the text lines around them.

Tables found by their ruling become grids; text outside them becomes one paragraph per line, in page order.
A table that runs on over a page break is joined into one. The layout is still a guess (unruled tables,
labels broken over lines), so the document is ``loose_text``. A PDF without any text (a scan) is not
guessed at: it is reported as needing OCR. Encrypted and truncated files get a plain error.
"""

from __future__ import annotations

import io
import re

from crawler.reading.documents.limits import MAX_PDF_PAGE_CHARS, MAX_PDF_PAGES
from crawler.reading.documents.model import Block, Document, Paragraph, Table, UnreadableDocument

_CJK_GAP = re.compile(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])")
_PAGE_NUMBER = re.compile(r"^[-—–－]?\s*\d{1,3}\s*[-—–－]?$|^第\s*\d+\s*页(\s*共\s*\d+\s*页)?$")


def _cell(text: str | None) -> str:
    """A cell's text with line breaks inside CJK words removed (``商业企\\n业`` → ``商业企业``)."""
    if not text:
        return ""
    return _CJK_GAP.sub("", text.replace("\n", " ")).strip()


def _is_password_error(e: Exception) -> bool:
    name = type(e).__name__.lower()
    text = f"{name} {e}".lower()
    cause = e.__cause__ or e.__context__
    if cause is not None and cause is not e:
        text += f" {type(cause).__name__} {cause}".lower()
    return "password" in text or "encrypt" in text or "decrypt" in text


def _open(data: bytes):
    import pdfplumber

    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception as e:  # pdfminer raises many types (PSEOF, PDFSyntaxError, PDFPasswordIncorrect …)
        if _is_password_error(e):
            raise UnreadableDocument("encrypted PDF: it needs a password to open", "pdf") from e
        raise UnreadableDocument(
            f"damaged or truncated PDF: {type(e).__name__}: {e}".rstrip(": "), "pdf"
        ) from e


def _page_blocks(page, notes: list[str], number: int) -> list[tuple[float, Block]]:
    """(top, block) for the page's ruled tables and the text lines outside them."""
    out: list[tuple[float, Block]] = []
    if len(page.chars) > MAX_PDF_PAGE_CHARS:  # table finding is quadratic-ish: keep to the text
        notes.append(f"page {number}: {len(page.chars)} characters, read as text only")
        return [
            (line["top"], Paragraph(line["text"])) for line in page.extract_text_lines(return_chars=False)
        ]
    tables = page.find_tables()
    boxes = []
    for t in tables:
        rows = [[_cell(c) for c in row] for row in t.extract()]
        rows = [r for r in rows if any(r)]
        if not rows:
            continue
        boxes.append(t.bbox)
        if max(sum(1 for c in r if c) for r in rows) <= 1 and not _figures_only(rows):
            # A boxed paragraph, not a grid. (A box of figures alone is the last line of a table's cells
            # carried over a page break — the rest of wrapped numbers — and stays a grid.)
            for r in rows:
                out.append((t.bbox[1], Paragraph("".join(r))))
        else:
            prose, rows = _leading_prose(rows)
            out.extend((t.bbox[1], Paragraph(text)) for text in prose)
            out.append((t.bbox[1], Table(rows)))

    def outside(obj) -> bool:
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    rest = page.filter(outside) if boxes else page
    lines = [
        (ln["top"], ln["bottom"], ln["text"].strip()) for ln in rest.extract_text_lines(return_chars=False)
    ]
    for top, text in join_centered_rows([ln for ln in lines if ln[2]]):
        out.append((top, Paragraph(text)))
    out.sort(key=lambda tb: tb[0])
    return out


_VALUE_TOKEN = re.compile(r"^(?:[+\-−－]?\d[\d,，.]*(?:万元|元)?|[—–\-－]+|[/／]|无)$")


def _trailing_values(text: str) -> int:
    tokens = text.split()
    n = 0
    while n < len(tokens) and _VALUE_TOKEN.match(tokens[-1 - n]):
        n += 1
    return n


def join_centered_rows(lines: list[tuple[float, float, str]]) -> list[tuple[float, str]]:
    """Rejoin the rows of a table drawn without ruling, whose labels wrap around vertically centred figures.

    In such a table a row's figures sit on one text line and its wrapped label on the lines just above and
    below, overlapping that line's height (``2.其他法律行政法规`` / ``0 0 0 1 0 0 1`` / ``禁止公开``). Read in
    order, the line below would be taken for the start of the next row's label. Every label-only line that
    overlaps a figures line vertically is joined to it: labels in reading order, then the figures.
    """
    anchors = [i for i, (_t, _b, text) in enumerate(lines) if _trailing_values(text) >= 3]
    if not anchors:
        return [(t, text) for t, _b, text in lines]
    joined: dict[int, list[int]] = {a: [] for a in anchors}
    taken: set[int] = set()
    for a in anchors:
        top, bottom, _ = lines[a]
        for j in (a - 1, a + 1, a - 2, a + 2):
            if j < 0 or j >= len(lines) or j in taken or j in joined:
                continue
            t, b, text = lines[j]
            overlap = min(b, bottom) - max(t, top)
            if overlap > 0.25 * (b - t) and _trailing_values(text) == 0 and len(text) <= 30:
                joined[a].append(j)
                taken.add(j)
    out: list[tuple[float, str]] = []
    for i, (t, _b, text) in enumerate(lines):
        if i in taken:
            continue
        if joined.get(i):
            tokens = text.split()
            n = _trailing_values(text)
            own_label, values = tokens[: len(tokens) - n], tokens[len(tokens) - n :]
            before = [lines[j][2] for j in sorted(joined[i]) if j < i]
            after = [lines[j][2] for j in sorted(joined[i]) if j > i]
            label = "".join([*before, *own_label, *after]).replace(" ", "")
            text = " ".join([label, *values]) if label else " ".join(values)
        out.append((t, text))
    return out


def _join_split_tables(pages: list[list[Block]]) -> list[Block]:
    """Concatenate the pages, joining a table that ends one page with the one that starts the next.

    Page numbers between them do not count as content; the continuation's repeated header row (when the
    first row equals the table's first row) is dropped.
    """
    blocks: list[Block] = []
    for page in pages:
        body = list(page)
        while blocks and body and isinstance(body[0], Paragraph) and _PAGE_NUMBER.match(body[0].text):
            body.pop(0)
        tail = len(blocks)
        while tail and isinstance(blocks[tail - 1], Paragraph) and _PAGE_NUMBER.match(blocks[tail - 1].text):
            tail -= 1
        if body and isinstance(body[0], Table) and tail and isinstance(blocks[tail - 1], Table):
            prev: Table = blocks[tail - 1]  # type: ignore[assignment]
            cont: Table = body.pop(0)  # type: ignore[assignment]
            rows = cont.rows[1:] if cont.rows and prev.rows and cont.rows[0] == prev.rows[0] else cont.rows
            if rows and prev.rows and _continues_row(prev.rows[-1], rows[0]):
                last = prev.rows[-1]
                for i, text in enumerate(rows[0]):
                    if text:
                        last[i] += text
                rows = rows[1:]
            if rows:
                prev.breaks.append(len(prev.rows))
            prev.rows.extend(rows)
            del blocks[tail:]
        blocks.extend(body)
    return blocks


_NUMBERED = re.compile(r"^\s*(\d+|[一二三四五六七八九十]+)\s*[.．、]|^\s*[（(]")


_NUMBER_LIKE = re.compile(r"\d")


def _continues_row(last: list[str], first: list[str]) -> bool:
    """Whether a page's first table row is the rest of the previous page's last row (a row broken by the
    page break): only overflowing label text — no figures, fewer cells than the row it continues, each in a
    position that row also fills — and no numbered label of its own."""
    filled = [i for i, t in enumerate(first) if t]
    if not filled or len(first) != len(last):
        return False
    if any(not last[i] for i in filled) or len(filled) >= sum(1 for t in last if t):
        return False
    return not any(_NUMBERED.match(first[i]) or _NUMBER_LIKE.search(first[i]) for i in filled)


_FIGURE = re.compile(r"^\d+(?:\.\d+)?$")
# A line of running text (longer than any label's line in a cell, or ending a sentence) or a section heading.
_PROSE = re.compile(r"^.{16,}$|[。；;]$|^[一二三四五六]、")


def _leading_prose(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Lines of running text a table's ruling took in above its first real row (a page's prose above 表二,
    boxed by the table's outer border), split off as paragraphs: they are the report's words, not cells."""
    n = 0
    while n < len(rows) - 1:
        filled = [c for c in rows[n] if c]
        if len(filled) != 1 or rows[n][0] != filled[0] or not _PROSE.search(filled[0]):
            break
        n += 1
    return [r[0] for r in rows[:n]], rows[n:]


def _figures_only(rows: list[list[str]]) -> bool:
    return all(_FIGURE.match(c) for r in rows for c in r if c)


def read_pdf(data: bytes) -> Document:
    notes: list[str] = []
    pdf = _open(data)
    try:
        try:
            pages = pdf.pages
        except Exception as e:
            if _is_password_error(e):
                raise UnreadableDocument("encrypted PDF: it needs a password to open", "pdf") from e
            raise UnreadableDocument(f"damaged or truncated PDF: no readable pages ({e})", "pdf") from e
        if not pages:
            raise UnreadableDocument("damaged or truncated PDF: no pages found", "pdf")
        if len(pages) > MAX_PDF_PAGES:
            notes.append(f"only the first {MAX_PDF_PAGES} of {len(pages)} pages read")
        per_page: list[list[Block]] = []
        images = 0
        failed: list[int] = []
        scanned: list[int] = []  # 0-based indexes of pages that are only a picture (OCR hook, issue 12)
        for i, page in enumerate(pages[:MAX_PDF_PAGES], start=1):
            try:
                images += len(page.images)
                per_page.append([b for _top, b in _page_blocks(page, notes, i)])
                if page.images and len(page.chars) < 20:
                    scanned.append(i - 1)
            except Exception as e:  # one broken page (truncated stream) must not lose the others
                if _is_password_error(e):
                    raise UnreadableDocument("encrypted PDF: it needs a password to open", "pdf") from e
                failed.append(i)
                per_page.append([])
        meta = {k: str(v) for k, v in (pdf.metadata or {}).items() if isinstance(v, str | int | float) and v}
    finally:
        pdf.close()
    # --- OCR hook (issue 12): picture-only pages are read by crawler.reading.documents.ocr where it is installed ---
    ocr = None
    if scanned:
        from crawler.reading.documents.ocr import read_scanned_pages

        ocr = read_scanned_pages(data, scanned)
        if ocr is not None:
            for i, page_blocks in ocr.blocks.items():
                per_page[i] = page_blocks
            notes += ocr.notes
    # --- end OCR hook ---
    blocks = _join_split_tables(per_page)
    if failed:
        if len(failed) == len(per_page):
            raise UnreadableDocument("damaged or truncated PDF: none of its pages can be read", "pdf")
        notes.append(f"page(s) {', '.join(map(str, failed))} could not be read (damaged or truncated PDF)")
    if not any(isinstance(b, Table) or b.text.strip() for b in blocks):
        if images:
            found = " (OCR found no text in it)" if ocr is not None else ""  # OCR hook (issue 12)
            raise UnreadableDocument(
                f"scanned/image-only PDF: no text layer; needs OCR to be read{found}", "pdf"
            )
        raise UnreadableDocument("PDF without any text", "pdf")
    # PDF info keys ("Title", "Author") are kept prefixed: they are often stale, never the printed title.
    doc = Document(
        format="pdf",
        blocks=blocks,
        meta={f"pdf.{k}": v for k, v in meta.items()},
        loose_text=True,
        notes=notes,
    )
    if ocr is not None:  # OCR hook (issue 12): the reading gets OCR's confidences
        from crawler.reading.documents.ocr import ocr_document

        return ocr_document(doc, [i + 1 for i in scanned], ocr_only=len(scanned) == len(per_page))
    return doc
