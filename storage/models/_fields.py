"""Column helpers shared by the table modules: JSON columns and timezone-aware UTC datetimes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from storage.types import UTCDateTime, utcnow


def json_field(default_factory=list) -> Any:  # noqa: ANN001
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def utc_field(nullable: bool = True, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=index))
