"""Portals that go quiet: a complete read of a listing that is no proof of absence all the same.

A read is *complete* when every listing page the portal led to was fetched and read. That proves an agency's
report absent only if the pages were the listing as it usually is. When a portal whose listing used to
show report links suddenly shows none — or far fewer — or serves one and the same page for every listing URL,
the likelier story is the crawler's, not the agencies': a CMS change that moved the column, a soft block
that answers every request with one template page, a listing truncated by an error page served with 200.
Such a read is *quiet*: it counts as incomplete (``end_reason`` ``quiet``), so no agency is judged
``missing`` (or late from absence) on it, and its agencies stay ``unknown`` until the portal is read properly
again; the operator is told (``monitor.alerts.operator``).

Pure functions of the reads' shapes (``ReadShape``), gathered by ``monitor.status.facts``. A portal's *usual*
is the median number of report links of its last ``HISTORY`` proper (complete, not quiet) reads: quiet reads
never become the usual, so a portal stays quiet until a read looks like its past again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

HISTORY = 5  # proper reads the usual is taken from
FAR_FEWER = 0.5  # fewer than this share of the usual links is quiet …
FAR_FEWER_FROM = 4  # … once the usual is at least this many (1 of 2 may be a real change)
ONE_PAGE_FROM = 3  # this many listing pages or more, all the same bytes: one template for every URL

REASONS = ("no_links", "far_fewer", "one_page")


@dataclass(frozen=True)
class ReadShape:
    """What one complete read of a portal's listing looked like."""

    run_id: int
    started_at: datetime
    report_links: int
    pages: int = 0  # listing pages snapshotted in the read
    distinct_pages: int = 0  # distinct bodies (sha256) among them


def usual_links(earlier: Sequence[ReadShape]) -> float | None:
    """The median report links of the last ``HISTORY`` proper reads (None: no history yet)."""
    recent = [r.report_links for r in earlier[-HISTORY:]]
    return median(recent) if recent else None


def quiet_reason(read: ReadShape, earlier: Sequence[ReadShape]) -> str | None:
    """Why a complete read proves nothing (one of ``REASONS``), or None when it is a proper read.

    ``earlier``: the portal's proper reads before it, oldest first."""
    if read.pages >= ONE_PAGE_FROM and read.distinct_pages == 1:
        return "one_page"
    usual = usual_links(earlier)
    if usual is None or usual < 1:
        return None
    if read.report_links == 0:
        return "no_links"
    if usual >= FAR_FEWER_FROM and read.report_links < FAR_FEWER * usual:
        return "far_fewer"
    return None


def judge(history: Iterable[ReadShape]) -> dict[int, tuple[str, float | None]]:
    """Every quiet read of one portal's history (any order): run id → (reason, the usual it fell from)."""
    proper: list[ReadShape] = []
    quiet: dict[int, tuple[str, float | None]] = {}
    for read in sorted(history, key=lambda r: (r.started_at, r.run_id)):
        reason = quiet_reason(read, proper)
        if reason is None:
            proper.append(read)
        else:
            quiet[read.run_id] = (reason, usual_links(proper))
    return quiet
