"""The status table as CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and XLSX (openpyxl).

A spreadsheet treats a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula; crawled text (agency
names, URLs) is untrusted, so such text is prefixed with ``'`` (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from monitor.status.verdict import CONTRACT_KEYS

HEADER = CONTRACT_KEYS[:3] + ("kind",) + CONTRACT_KEYS[3:] + ("due_reason",)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _record(row: dict[str, Any]) -> list[Any]:
    return [_cell(row.get(k)) for k in HEADER]


def csv_chunks(rows: Iterable[dict[str, Any]], batch: int = 500) -> Iterator[bytes]:
    """Streamed CSV bytes: the BOM and header first, then rows in batches."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    yield "\ufeff".encode() + buf.getvalue().encode("utf-8")
    buf.seek(0)
    buf.truncate()
    n = 0
    for row in rows:
        w.writerow(_record(row))
        n += 1
        if n % batch == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("status")
    ws.append(list(HEADER))
    for row in rows:
        ws.append(_record(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
