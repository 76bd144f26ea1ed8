"""The status table as files a watchdog can publish: CSV (UTF-8 with BOM, so Excel opens Chinese correctly)
and XLSX (openpyxl: real dates, column widths, a frozen header row, an autofilter).

The columns and their values are ``monitor.status.table.EXPORT_COLUMNS`` — the same for
``gkwatch status --format csv`` — Chinese headers, Chinese words for every code (rule ids aside), dates as
dates and the first sight in Beijing time, the findings with their numbers and the evidence summarized.
A spreadsheet treats a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula; crawled text (agency
names, URLs) is untrusted, so such text is prefixed with ``'`` (OWASP "CSV injection") by the same function.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from monitor.status.table import EXPORT_COLUMNS, csv_lines, export_values

HEADER = tuple(c.header for c in EXPORT_COLUMNS)


def csv_chunks(rows: Iterable[dict[str, Any]], batch: int = 500) -> Iterator[bytes]:
    """Streamed CSV bytes: the BOM and header first, then rows in batches."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    lines = csv_lines(rows)
    w.writerow(next(lines))
    yield "\ufeff".encode() + buf.getvalue().encode("utf-8")
    buf.seek(0)
    buf.truncate()
    n = 0
    for cells in lines:
        w.writerow(cells)
        n += 1
        if n % batch == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


def xlsx_bytes(rows: Iterable[dict[str, Any]], title: str = "年度报告发布情况") -> bytes:
    """One sheet: a bold, frozen, filterable header; widths per column; dates as dates."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    for i, c in enumerate(EXPORT_COLUMNS, start=1):
        ws.column_dimensions[_column_letter(i)].width = c.width
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    header = []
    for c in EXPORT_COLUMNS:
        cell = WriteOnlyCell(ws, value=c.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        header.append(cell)
    ws.append(header)
    kinds = [c.kind for c in EXPORT_COLUMNS]
    n = 0
    for row in rows:
        values = export_values(row)
        out: list[Any] = []
        for kind, v in zip(kinds, values, strict=True):
            if v is None or kind == "text" or kind == "int":
                out.append(v)
            else:
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = "yyyy-mm-dd" if kind == "date" else "yyyy-mm-dd hh:mm"
                out.append(cell)
        ws.append(out)
        n += 1
    ws.auto_filter.ref = f"A1:{_column_letter(len(EXPORT_COLUMNS))}{n + 1}"
    out_bytes = io.BytesIO()
    wb.save(out_bytes)
    return out_bytes.getvalue()
