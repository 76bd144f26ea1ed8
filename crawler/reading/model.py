"""A ``Reading``: what the readers made of one document, and how sure they are of each cell.

Reading is apart from judging (docs/layout.md): a reading holds every cell of the report's template with
the text it printed and how it was read, the rows not found, the sections present, the statistical period,
the years the prose names and the prose itself — everything the rules need — and no finding. The rules
(``monitor.judgement``) run over stored readings at every ``gkwatch check``, so a new rule reaches every
report already stored, and ``gkwatch reparse`` brings a better reader's readings to the archive.

*A misread must announce itself.* A cell the reader is unsure of says so (``sure=False``) and how it was
placed (``how``): by the template's row order rather than its label, by a fuzzy label, by an alignment the
table's arithmetic chose, by OCR below its confidence threshold. No error-severity finding may rest on such
a cell (``monitor.judgement``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.template import cell_keys

# Bump when a reader changes what it reads: stored readings say which version read them (``gkwatch
# reparse`` re-reads every document whatever its version; this is for people comparing readings).
READER_VERSION = "2026.12.2"

# How a cell came to be read, when not plainly in its own labelled row and column.
HOW = {
    "order": "按模板行序定位（标签未识别）",
    "fuzzy_label": "行标签与模板不完全一致（模糊匹配）",
    "realigned": "按表格自身的勾稽关系重新对齐列",
    "wrapped": "单元格内数字折行，已拼接",
    "ocr": "OCR 识别",
    "ocr_corrected": "OCR 识别后按表格勾稽关系校正",
}


@dataclass(frozen=True, slots=True)
class CellReading:
    """One cell: its value (``None`` where blank or unreadable, never a guessed 0) and how it was read."""

    value: int | float | None
    raw: str | None = None  # the text as printed; None: the cell was not found
    note: str | None = None  # None | blank | not_number | format | missing
    detail: str = ""  # why, in words
    sure: bool = True  # False: the reader is unsure of this cell (see ``how``)
    how: str = ""  # "" (read in place) or a key of ``HOW``
    confidence: float | None = None  # OCR's confidence, 0 … 1

    def mark(self) -> dict[str, Any] | None:
        """What is stored beside the value and raw text: only for a cell read with a remark."""
        if self.note is None and self.sure and not self.how and self.confidence is None:
            return None
        out: dict[str, Any] = {}
        if self.note is not None:
            out["note"] = self.note
        if self.detail:
            out["detail"] = self.detail
        if not self.sure:
            out["sure"] = False
        if self.how:
            out["how"] = self.how
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 4)
        return out

    @classmethod
    def from_stored(cls, value: Any, raw: str | None, mark: dict[str, Any] | None) -> CellReading:
        if not mark:
            return cls(value, raw)
        return cls(
            value,
            raw,
            mark.get("note"),
            mark.get("detail", ""),
            mark.get("sure", True),
            mark.get("how", ""),
            mark.get("confidence"),
        )


MISSING = CellReading(None, None, "missing")


class StoredCells(Mapping[str, CellReading]):
    """The cells of a stored reading, made on demand.

    ``gkwatch check`` judges every stored reading every time: the rules need the values (in the template's
    order) and the few cells read with a remark, not 200 objects per report — so a reading loaded from the
    database keeps its columns as they are and makes a ``CellReading`` only when one is asked for.
    """

    __slots__ = ("keys_", "values_", "raws_", "marks_", "_index")

    def __init__(self, keys: tuple[str, ...], values: list, raws: list | None, marks: dict[str, dict]):
        self.keys_, self.values_, self.raws_, self.marks_ = keys, values, raws, marks
        self._index = _key_index(keys)

    def __getitem__(self, key: str) -> CellReading:
        i = self._index[key]
        value = self.values_[i] if i < len(self.values_) else None
        raw = self.raws_[i] if self.raws_ and i < len(self.raws_) else None
        return CellReading.from_stored(value, raw, self.marks_.get(key))

    def __iter__(self):  # noqa: ANN204
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


_KEY_INDEXES: dict[tuple[str, ...], dict[str, int]] = {}


def _key_index(keys: tuple[str, ...]) -> dict[str, int]:
    index = _KEY_INDEXES.get(keys)
    if index is None:
        index = _KEY_INDEXES[keys] = {k: i for i, k in enumerate(keys)}
    return index


@dataclass
class Reading:
    """Everything read from one document. ``template`` None: not a report (or not readable: ``error``)."""

    file: str | None = None
    format: str | None = None  # html | docx | doc | wps | pdf | xls | xlsx | text
    template: str | None = None  # "2019" | "2021" | None
    year: int | None = None  # the year the report covers
    year_source: str | None = None  # title | meta | period | prose
    agency: str | None = None
    title: str | None = None
    cells: Mapping[str, CellReading] = field(default_factory=dict)  # every key of the template
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # (section, row, message)
    sections_present: list[str] = field(default_factory=list)  # of 一 … 六
    period: tuple[str, str] | None = None  # the printed statistical period, ISO dates
    prose_years: list[int] = field(default_factory=list)  # years the section 一 prose names
    prose: str = ""  # the report's words, not its tables
    notes: list[str] = field(default_factory=list)  # how the document was read
    error: str | None = None
    reader_version: str = READER_VERSION

    def keys(self) -> tuple[str, ...]:
        return cell_keys(self.template) if self.template else ()

    def ordered_values(self) -> list[int | float | None]:
        """Every cell's value in the template's key order (what the rules index)."""
        if isinstance(self.cells, StoredCells):
            return self.cells.values_
        return [self.cells.get(k, MISSING).value for k in self.keys()]

    def remarked(self) -> dict[str, CellReading]:
        """The cells read with a remark (a note, unsure, placed some way, OCR): few, where most are plain."""
        cells = self.cells
        if isinstance(cells, StoredCells):
            return {k: cells[k] for k in cells.marks_}
        return {k: c for k, c in cells.items() if c.mark() is not None}

    @property
    def values(self) -> dict[str, int | float | None]:
        return dict(zip(self.keys(), self.ordered_values(), strict=False))

    @property
    def raw(self) -> dict[str, str]:
        return {k: c.raw for k, c in self.cells.items() if c.raw is not None}

    @property
    def unsure(self) -> frozenset[str]:
        """The cells the reader is unsure of."""
        return frozenset(k for k, c in self.remarked().items() if not c.sure)

    # --- storage (storage.models.Reading) ----------------------------------------------------------

    def to_row(self, sha256: str, read_at: datetime) -> dict[str, Any]:
        """The columns of ``storage.models.Reading`` (without ``id``)."""
        keys = cell_keys(self.template) if self.template else ()
        cells = [self.cells.get(k, MISSING) for k in keys]
        marks = {k: m for k, c in zip(keys, cells, strict=True) if (m := c.mark()) is not None}
        return {
            "sha256": sha256,
            "reader_version": self.reader_version,
            "read_at": read_at,
            "filename": self.file,
            "format": self.format,
            "template": self.template,
            "year": self.year,
            "year_source": self.year_source,
            "agency": self.agency,
            "title": self.title,
            "cell_values": [c.value for c in cells],
            "cell_raw": [c.raw for c in cells],
            "cell_marks": marks,
            "missing": [list(m) for m in self.missing],
            "sections": list(self.sections_present),
            "period": list(self.period) if self.period else None,
            "prose_years": list(self.prose_years),
            "prose": self.prose or None,
            "notes": list(self.notes),
            "error": self.error,
        }

    @classmethod
    def from_row(cls, row: Any) -> Reading:
        """From a ``storage.models.Reading`` row (or a mapping with its columns; ``cell_raw`` may be left
        out where the printed texts are not wanted, as when ``gkwatch check`` judges 100,000 readings)."""
        get = row.get if isinstance(row, dict) else lambda k: getattr(row, k, None)
        template = get("template")
        keys = cell_keys(template) if template else ()
        values, raws, marks = get("cell_values") or [], get("cell_raw"), get("cell_marks") or {}
        cells = StoredCells(keys, values, raws or None, marks) if keys else {}
        period = get("period")
        return cls(
            file=get("filename"),
            format=get("format"),
            template=template,
            year=get("year"),
            year_source=get("year_source"),
            agency=get("agency"),
            title=get("title"),
            cells=cells,
            missing=[tuple(m) for m in get("missing") or []],  # type: ignore[misc]
            sections_present=list(get("sections") or []),
            period=tuple(period) if period else None,  # type: ignore[arg-type]
            prose_years=list(get("prose_years") or []),
            prose=get("prose") or "",
            notes=list(get("notes") or []),
            error=get("error"),
            reader_version=get("reader_version") or "",
        )

    def same_as(self, other: Reading) -> bool:
        """Whether two readings say the same (``gkwatch reparse`` stores a new reading only where not)."""
        a, b = self.to_row("", datetime.min), other.to_row("", datetime.min)
        for k in ("read_at", "reader_version", "filename"):
            a.pop(k), b.pop(k)
        return a == b
