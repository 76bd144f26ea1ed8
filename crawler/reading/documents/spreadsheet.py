"""Spreadsheets (.xls, .xlsx, Kingsoft .et): every sheet becomes one table.

python-calamine reads both the old binary and the new XML workbooks without evaluating anything; a workbook
it cannot read (an .et that is not quite BIFF) is converted to .xlsx by LibreOffice and read again.
"""

from __future__ import annotations

import io
import re
from typing import Any

from crawler.reading.documents.detect import ZIP_MAGIC
from crawler.reading.documents.limits import MAX_TABLE_CELLS, MAX_TABLE_ROWS, check_zip
from crawler.reading.documents.model import Document, Paragraph, Table, UnreadableDocument


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return str(value)
    return str(value).strip()


_SENTENCE = re.compile(r"[，。；：,;:]|报告$")


def _flush(doc: Document, grid: list[list[str]]) -> None:
    """End the table being gathered: cut it to its own width (the sheet's is that of its widest table, so a
    narrower table's rows would end in blanks that are not its cells — yet a blank 总计 inside it stays)."""
    if not grid:
        return
    width = max(max((i + 1 for i, t in enumerate(row) if t), default=0) for row in grid)
    doc.blocks.append(Table([row[:width] for row in grid]))
    grid.clear()


def _is_text_row(text: str, in_table: bool) -> bool:
    """Whether a row with a single filled cell is a line of text (title, heading, prose) rather than a table
    row whose other cells are blank (``规章`` with no figures, ``第二十条第（一）项``).

    Outside a table every such row is text (the title block, headings); inside one, only sentences and long
    lines are.
    """
    return not in_table or len(text) >= 20 or bool(_SENTENCE.search(text))


def _read(data: bytes, fmt: str) -> Document:
    from python_calamine import CalamineWorkbook

    if fmt == "xlsx" or data.startswith(ZIP_MAGIC):
        # calamine inflates the parts itself, trusting their headers: it only ever gets a checked container
        check_zip(data, fmt)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as e:  # calamine raises its own error types for broken workbooks
        raise UnreadableDocument(f"damaged {fmt} workbook: {e}", fmt) from e
    doc = Document(format=fmt)
    cells = 0
    for name in wb.sheet_names:
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=True)
        except Exception as e:
            doc.notes.append(f"sheet {name!r} could not be read: {e}")
            continue
        grid: list[list[str]] = []
        for row in rows[:MAX_TABLE_ROWS]:
            texts = [_text(v) for v in row]
            filled = [t for t in texts if t]
            if not filled:  # a blank row ends a table
                _flush(doc, grid)
                continue
            if len(filled) == 1 and _is_text_row(filled[0], in_table=bool(grid)):
                _flush(doc, grid)
                doc.blocks.append(Paragraph(filled[0]))
            else:
                grid.append(texts)
            cells += len(texts)
            if cells > MAX_TABLE_CELLS:
                doc.notes.append(f"workbook cut at {MAX_TABLE_CELLS} cells")
                break
        _flush(doc, grid)
        if len(rows) > MAX_TABLE_ROWS:
            doc.notes.append(f"sheet {name!r} cut at {MAX_TABLE_ROWS} rows")
    return doc


def read_spreadsheet(
    data: bytes,
    fmt: str,
    filename: str | None = None,
    *,
    converter: Any = None,
    conversion_seconds: float | None = None,
) -> Document:
    """Read a workbook; an .xls/.et calamine cannot read is converted to .xlsx by LibreOffice (within
    ``conversion_seconds``, default ``office.CONVERSION_SECONDS``) and read again."""
    try:
        return _read(data, fmt)
    except UnreadableDocument as first:
        if fmt != "xls":
            raise
        failure = first
    from crawler.reading.documents import source_extension
    from crawler.reading.documents.office import convert_bytes

    try:
        if converter is not None:
            converted, _ext = converter.convert(data, filename)
        else:
            converted = convert_bytes(
                data, source_extension(data, fmt, filename), "xlsx", timeout=conversion_seconds
            )
    except UnreadableDocument as e:
        raise UnreadableDocument(f"{failure}; LibreOffice could not convert it either: {e}", fmt) from e
    doc = _read(converted, "xlsx")
    doc.format = fmt
    doc.notes.append("converted to .xlsx with LibreOffice")
    return doc
