"""What the readers made of one document: the ``Reading`` of its bytes (by sha256).

Stored once per distinct document and rebuilt by ``gkwatch reparse`` whenever the readers improve; the
rules never run here — ``gkwatch check`` judges readings every time (``monitor.judgement``). The layout of a
row is ``crawler.reading.model.Reading``'s (``to_row`` / ``from_row``): values in the template's key order
(compact, fast to load for 100,000 reports), and only the cells read with a remark carry one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models._fields import json_field as _json
from storage.models._fields import utc_field as _utc


class Reading(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str  # the document's bytes (the archive file)
    reader_version: str = ""  # crawler.reading.READER_VERSION when it was read
    read_at: datetime = _utc(nullable=False)
    filename: str | None = None  # the name the reader was given (a hint beside the bytes)
    format: str | None = None
    template: str | None = None  # "2019" | "2021" | None (not a report)
    year: int | None = None
    year_source: str | None = None
    agency: str | None = None
    title: str | None = None
    cell_values: list = _json()  # the template's cells in key order (None: blank or unreadable)
    cell_raw: list = _json()  # the text each cell printed, same order (None: not found)
    cell_marks: dict = _json(
        dict
    )  # key -> {note, detail, sure, how, confidence} for cells read with a remark
    missing: list = _json()  # [section, row, message] of rows and columns not found
    sections: list = _json()  # the sections 一 … 六 present
    period: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # [start, end] ISO
    prose_years: list = _json()
    prose: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notes: list = _json()  # how the document was read: charset fallback, a realigned table, OCR …
    error: str | None = None  # the document could not be read at all


class ReadingPass(SQLModel, table=True):
    """One ``gkwatch reparse``: what it covers and how far it got, so that an interrupted one resumes.

    Every document it re-reads gets ``Reading.read_at`` at or after ``started_at``; a new ``reparse`` with the
    same ``scope`` finds the unfinished pass and skips those.
    """

    id: int | None = Field(default=None, primary_key=True)
    scope: str  # the filter, as text: "portals=a,b since=2025-01-01"
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc()
    documents: int = 0  # re-read so far
    changed: int = 0  # whose reading differs from the stored one
