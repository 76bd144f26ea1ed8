"""When a report was published, and what proves it — or that it cannot be proven.

The portal's own evidence, strongest first (contract, "Status object"): the page's ``PubDate`` meta
(``page_meta``); the date printed on the page (``page_text``); the date beside its link in the listing
(``listing_date``); an attachment's HTTP ``Last-Modified`` (``http_header`` — never an HTML page's, which only
says when the CMS last re-rendered it). A printed date is *credible* only if it could be true: not after the
day gkwatch first saw the page (a date in the future), not before the year the report covers had ended. A
date that is not credible is set aside and shown as such, never used.

Where the portal gives no credible date at all, gkwatch's own observations decide, and only what they prove:

* ``first_seen`` — gkwatch saw the report on or before the due date: it was on time;
* ``listing_absent`` — a complete read of the portal's listing *after* the due date did not have the report,
  and a later read did: it was late, and the first sight is its date (the read that lacked it is the proof);
* otherwise nothing is proven: ``undated`` (published; whether on time cannot be shown; never counted late).

Dates are calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.clock import SHANGHAI, shanghai_date

_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_COMPACT = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})")


@lru_cache(maxsize=8192)
def parse_date(raw: str | None) -> date | None:
    """A calendar date from what portals print: 2025-01-20 09:30, 2025年1月20日, 2025/01/20, 20250120."""
    if not raw:
        return None
    s = raw.strip()
    m = _DATE.search(s) or _COMPACT.search(s)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_http_date(raw: str | None) -> date | None:
    """An HTTP date (Last-Modified) as the calendar day it was in Shanghai."""
    if not raw:
        return None
    try:
        dt = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo("UTC"))
    return dt.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Printed:
    """A date as the portal printed it, and where."""

    evidence: str  # page_meta | page_text | listing_date | http_header
    raw: str  # the portal's own words
    date: date | None
    source: str | None = None  # the URL it was read on
    why_not: str | None = None  # set when the date is not credible: why it is set aside

    def to_json(self) -> dict:
        return {
            "evidence": self.evidence,
            "quote": self.raw,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "set_aside": self.why_not,
        }


@dataclass(frozen=True)
class Publication:
    """The portal's own credible date of a report (or none), with the words it rests on."""

    date: date | None
    evidence: str | None
    quote: str | None = None
    source: str | None = None
    printed: tuple[Printed, ...] = field(default_factory=tuple)  # every date printed, credible or set aside


_READERS = {
    "page_meta": parse_date,
    "page_text": parse_date,
    "listing_date": parse_date,
    "http_header": parse_http_date,
}


def credibility(d: date, report_year: int | None, first_seen: datetime) -> str | None:
    """Why a printed date cannot be true (None: it can)."""
    if d > shanghai_date(first_seen):
        return f"日期 {d} 晚于本系统首次看到该报告的日期 {shanghai_date(first_seen)}（未来日期）"
    if report_year is not None and d.year <= report_year:
        return f"日期 {d} 早于 {report_year} 年度结束（报告不可能在所述年度结束前发布）"
    return None


def publication(
    *,
    pub_meta: str | None,
    pub_text: str | None,
    listing_date: str | None = None,
    pub_header: str | None,
    first_seen: datetime,
    report_year: int | None = None,
    page_url: str | None = None,
    listing_url: str | None = None,
    document_url: str | None = None,
) -> Publication:
    """The strongest credible date the portal printed (``pub_header`` must only ever be an attachment's)."""
    printed: list[Printed] = []
    for evidence, raw, source in (
        ("page_meta", pub_meta, page_url),
        ("page_text", pub_text, page_url),
        ("listing_date", listing_date, listing_url),
        ("http_header", pub_header, document_url),
    ):
        if not raw:
            continue
        d = _READERS[evidence](raw)
        why = credibility(d, report_year, first_seen) if d else "读不出日期"
        printed.append(Printed(evidence, raw.strip()[:200], d, source, why))
    best = next((p for p in printed if p.why_not is None), None)
    if best is None:
        return Publication(None, None, printed=tuple(printed))
    return Publication(best.date, best.evidence, best.raw, best.source, tuple(printed))


def _same_dates(kept: dict, current: dict) -> bool:
    return all(kept.get(k) == v for k, v in current.items())


def _seen(dates: dict, first_seen: datetime) -> datetime:
    """When a set of printed dates was first seen (never before the report itself was)."""
    seen = dates.get("seen")
    return max(datetime.fromisoformat(seen), first_seen) if seen else first_seen


def earliest_publication(
    history: list[dict],
    *,
    pub_meta: str | None,
    pub_text: str | None,
    listing_date: str | None,
    pub_header: str | None,
    first_seen: datetime,
    report_year: int | None = None,
    page_url: str | None = None,
    listing_url: str | None = None,
    document_url: str | None = None,
) -> Publication:
    """The earliest credible date among every set of dates the portal has printed for a report.

    A report re-uploaded after the deadline with a new date keeps its first date on record (``pub_history``,
    each set with when gkwatch first saw it — a date is credible only if it is not after that day). Every
    printed date is shown, the ones set aside with why.
    """
    urls = {"page_url": page_url, "listing_url": listing_url, "document_url": document_url}
    current = {
        "pub_meta": pub_meta,
        "pub_text": pub_text,
        "listing_date": listing_date,
        "pub_header": pub_header,
    }
    sets = [dict(s) for s in history or []]
    if not sets or not _same_dates(sets[-1], current):
        sets.append({**current, "seen": None})
    if len(sets) == 1:  # one set of dates ever printed (nearly every report): no history to weigh
        return publication(**current, first_seen=_seen(sets[0], first_seen), report_year=report_year, **urls)
    found = [
        publication(
            pub_meta=s.get("pub_meta"),
            pub_text=s.get("pub_text"),
            listing_date=s.get("listing_date"),
            pub_header=s.get("pub_header"),
            first_seen=_seen(s, first_seen),
            report_year=report_year,
            **urls,
        )
        for s in sets
    ]
    printed = tuple(dict.fromkeys(p for pub in found for p in pub.printed))
    dated = [p for p in found if p.date is not None]
    if not dated:
        return Publication(None, None, printed=printed)
    best = min(dated, key=lambda p: p.date)  # type: ignore[arg-type,return-value]
    return Publication(best.date, best.evidence, best.quote, best.source, printed)
