"""OCR's limits in this process: whether it runs, how many pages it reads, how long it may take.

``config.ocr`` (``enabled``, ``max_pages``, ``seconds_per_page``) sets them; the reader worker processes
get them from the pool that starts them (``configure`` runs in each worker), and a process nobody
configured (``gkwatch parse``, tests) uses the defaults. The worker pool's per-document time cap stays the
hard limit behind them: one page's recognition cannot be interrupted, so the budget is checked between pages.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class OcrSettings:
    enabled: bool = True
    max_pages: int = 20  # pages OCR reads of one document (a report's tables are in its first pages)
    seconds_per_page: float = 30.0  # the document's budget is this times its pages read
    # The reader pool's hard time cap per document (its worker is killed then): OCR starts no page after
    # 80 % of it, so a long scan ends with the pages read instead of with nothing.
    deadline_seconds: float | None = None


_CURRENT = OcrSettings()


def configure(settings: Any | None, *, deadline_seconds: float | None = None) -> OcrSettings:
    """Use ``settings`` (an ``OcrSettings``, ``config.ocr`` or any object with those attributes, or a
    mapping; None: the ones in force) in this process, with the pool's time cap ``deadline_seconds``.
    Returns what is in force."""
    global _CURRENT
    base = _CURRENT if settings is None else settings
    if isinstance(base, OcrSettings):
        values = {f.name: getattr(base, f.name) for f in fields(OcrSettings)}
    else:
        get = base.get if isinstance(base, dict) else lambda k, d: getattr(base, k, d)
        values = {f.name: get(f.name, getattr(OcrSettings(), f.name)) for f in fields(OcrSettings)}
    if deadline_seconds is not None:
        values["deadline_seconds"] = deadline_seconds
    deadline = values["deadline_seconds"]
    _CURRENT = OcrSettings(
        enabled=bool(values["enabled"]),
        max_pages=max(1, int(values["max_pages"])),
        seconds_per_page=max(1.0, float(values["seconds_per_page"])),
        deadline_seconds=float(deadline) if deadline else None,
    )
    return _CURRENT


def current() -> OcrSettings:
    return _CURRENT
