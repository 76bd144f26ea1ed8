"""Word .docx (and .doc/.wps after LibreOffice has turned them into .docx).

Paragraphs and tables are read in body order straight from the WordprocessingML, so that nothing python-docx
does not model (content controls, tracked insertions, fields) loses text. A horizontally merged cell
(``gridSpan``) appears once, followed by blank positions; a vertically merged one (``vMerge``) repeats the text
of the cell it continues, as HTML rowspan does. A table that holds other tables is layout: its cells are read
as ordinary content.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from crawler.documents.limits import MAX_COLSPAN, MAX_TABLE_CELLS, MAX_TABLE_ROWS, check_zip, clamp_span
from crawler.documents.model import Block, Document, Paragraph, Table, UnreadableDocument


class DocxParseError(UnreadableDocument):
    """A sound ZIP container that python-docx cannot make sense of (LibreOffice may still read it)."""


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _q(tag: str) -> str:
    return W + tag


def paragraph_text(p) -> str:
    """A paragraph's visible text: runs, insertions, tabs and breaks; deleted text left out."""
    parts: list[str] = []
    for el in p.iter(_q("t"), _q("tab"), _q("br"), _q("cr"), _q("noBreakHyphen")):
        tag = el.tag
        if tag == _q("t"):
            parts.append(el.text or "")
        elif tag == _q("tab"):
            parts.append("\t")
        elif tag == _q("noBreakHyphen"):
            parts.append("-")
        else:
            parts.append("\n")
    return "".join(parts)


def _cell_text(tc) -> str:
    return " ".join(t for t in (paragraph_text(p).strip() for p in tc.iter(_q("p"))) if t)


def _row_cells(tr) -> Iterator:
    """The cells of a row, looking through content controls (``w:sdt``) that may wrap them."""
    for child in tr:
        if child.tag == _q("tc"):
            yield child
        elif child.tag == _q("sdt"):
            content = child.find(_q("sdtContent"))
            if content is not None:
                yield from _row_cells(content)


def _rows(tbl) -> list:
    rows = []
    for child in tbl:
        if child.tag == _q("tr"):
            rows.append(child)
        elif child.tag == _q("sdt"):
            content = child.find(_q("sdtContent"))
            if content is not None:
                rows.extend(_rows(content))
    return rows


def _tc_props(tc) -> tuple[int, bool]:
    """(grid span, whether this cell continues a vertical merge)."""
    pr = tc.find(_q("tcPr"))
    if pr is None:
        return 1, False
    span_el = pr.find(_q("gridSpan"))
    span = clamp_span(span_el.get(_q("val")), MAX_COLSPAN) if span_el is not None else 1
    vm = pr.find(_q("vMerge"))
    continues = vm is not None and vm.get(_q("val"), "continue") != "restart"
    return span, continues


def _sliver_columns(tbl) -> set[int]:
    """Grid columns too narrow to hold anything: LibreOffice adds them when cell edges of rows differ by a hair.

    A cell standing only on such a column would shift every cell after it in its row by one position.
    """
    grid = tbl.find(_q("tblGrid"))
    if grid is None:
        return set()
    widths = []
    for col in grid.findall(_q("gridCol")):
        try:
            widths.append(int(float(col.get(_q("w"), "0"))))
        except ValueError:
            widths.append(0)
    total = sum(widths)
    if total <= 0:
        return set()
    return {i for i, w in enumerate(widths) if w < min(60, total * 0.01)}


def table_grid(tbl, notes: list[str]) -> list[list[str]]:
    grid: list[list[str]] = []
    cells = 0
    slivers = _sliver_columns(tbl)
    trs = _rows(tbl)
    if len(trs) > MAX_TABLE_ROWS:
        notes.append(f"table cut at {MAX_TABLE_ROWS} rows")
        trs = trs[:MAX_TABLE_ROWS]
    for tr in trs:
        row: list[str] = []
        pr = tr.find(_q("trPr"))
        before = pr.find(_q("gridBefore")) if pr is not None else None
        gcol = clamp_span(before.get(_q("val")), MAX_COLSPAN) if before is not None else 0
        row.extend([""] * sum(1 for i in range(gcol) if i not in slivers))
        for tc in _row_cells(tr):
            span, continues = _tc_props(tc)
            width = sum(1 for i in range(gcol, gcol + span) if i not in slivers)
            gcol += span
            col = len(row)
            if continues and grid and col < len(grid[-1]):
                text = grid[-1][col]
            else:
                text = _cell_text(tc)
            if width == 0 and not text:
                continue  # an empty cell on a sliver column
            row.append(text)
            row.extend([""] * (width - 1))
        grid.append(row)
        cells += len(row)
        if cells > MAX_TABLE_CELLS:
            notes.append(f"table cut at {MAX_TABLE_CELLS} cells")
            break
    return grid


def body_blocks(container, notes: list[str], depth: int = 0) -> Iterator[Block]:
    """Paragraphs and tables of a body (or a layout table's cell) in reading order."""
    for child in container:
        tag = child.tag
        if tag == _q("p"):
            text = paragraph_text(child).strip()
            if text:
                yield Paragraph(text)
        elif tag == _q("tbl"):
            if depth < 20 and child.find(f".//{_q('tbl')}") is not None:
                for tr in _rows(child):
                    for tc in _row_cells(tr):
                        yield from body_blocks(tc, notes, depth + 1)
            else:
                grid = table_grid(child, notes)
                if grid:
                    yield Table(grid)
        elif tag in (_q("sdt"), _q("customXml"), _q("ins"), _q("smartTag")):
            content = child.find(_q("sdtContent")) if tag == _q("sdt") else child
            if content is not None and depth < 20:
                yield from body_blocks(content, notes, depth + 1)


def _has_pictures(body) -> bool:
    """Pictures in the body: DrawingML (``w:drawing``) or legacy VML (``w:pict``)."""
    return body.find(f".//{_q('drawing')}") is not None or body.find(f".//{_q('pict')}") is not None


def read_docx(data: bytes, format: str = "docx") -> Document:
    """Read .docx bytes; ``format`` is what the file was before conversion (doc/wps), for the result."""
    check_zip(data, format)
    import docx  # python-docx

    try:
        wd = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises KeyError/ValueError/XMLSyntaxError on broken parts
        detail = re.sub(r"file '<_io\.BytesIO object at 0x[0-9a-f]+>'", "the file", str(e))
        raise DocxParseError(
            f"Word document not readable as .docx ({type(e).__name__}: {detail})", format
        ) from e
    notes: list[str] = []
    body = wd.element.body
    blocks = list(body_blocks(body, notes))
    if not blocks and _has_pictures(body):
        raise UnreadableDocument(
            "image-only Word document: no text, only pictures (a scan?); needs OCR", format
        )
    # Core properties are kept under "core.*", not "title": a report made from last year's file keeps last
    # year's title there, so it must never stand in for the printed title.
    meta: dict[str, str] = {}
    cp = wd.core_properties
    for key, value in (("title", cp.title), ("author", cp.author), ("subject", cp.subject)):
        if value:
            meta[f"core.{key}"] = str(value).strip()
    if cp.created:
        meta["core.created"] = cp.created.isoformat()
    if cp.modified:
        meta["core.modified"] = cp.modified.isoformat()
    return Document(format=format, blocks=blocks, meta=meta, notes=notes)
