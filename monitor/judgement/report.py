"""A report read and judged on its own: what ``gkwatch parse`` prints (contract: "gkwatch parse output").

Reading (``crawler.reading``) and judging (``judge``) stay apart everywhere else; a person parsing a file
wants both at once, and so do the tests and benchmarks of the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.reading.model import Reading
from crawler.reading.read import read_bytes, read_many
from monitor.judgement import judge


@dataclass
class ParsedReport:
    """A reading with its single-report findings."""

    reading: Reading
    findings: list[dict[str, Any]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:  # file, format, template, year, agency, title, error, prose …
        if name == "reading":
            raise AttributeError(name)
        return getattr(self.reading, name)

    @property
    def cells(self) -> dict[str, int | float | None]:
        return self.reading.values

    def to_json(self) -> dict[str, Any]:
        """The contract's ``gkwatch parse`` object."""
        r = self.reading
        return {
            "file": r.file,
            "format": r.format,
            "template": r.template,
            "year": r.year,
            "agency": r.agency,
            "title": r.title,
            "cells": r.values,
            "findings": self.findings,
            "error": r.error,
        }


def judged(reading: Reading) -> ParsedReport:
    return ParsedReport(reading, judge(reading))


def parse_bytes(data: bytes, filename: str | None = None, *, converter: Any = None) -> ParsedReport:
    """Read and judge one document. Never raises for bad input."""
    return judged(read_bytes(data, filename, converter=converter))


def parse_many(items: list[tuple[str, bytes]]) -> list[ParsedReport]:
    """Read (LibreOffice formats in one batch) and judge several documents."""
    return [judged(r) for r in read_many(items)]
