"""The publication date of a report and the evidence for it.

The contract's order, strongest first: the page's ``PubDate`` meta (page_meta); the date printed on the
page or beside its link in the listing (page_text); an attachment's HTTP ``Last-Modified``
(http_header — never an HTML page's, which only says when the CMS last re-rendered it); and failing all,
the time gkwatch first saw the report (first_seen). Dates are calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from domain.clock import SHANGHAI, shanghai_date

_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_COMPACT = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})")


@dataclass(frozen=True)
class PubDate:
    published: date | None
    evidence: str | None  # page_meta | page_text | http_header | first_seen


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


def choose_pubdate(
    *,
    pub_meta: str | None,
    pub_text: str | None,
    pub_header: str | None,
    first_seen: datetime,
) -> PubDate:
    """The strongest evidence that can be read; ``pub_header`` must only ever be an attachment's."""
    for raw, evidence, reader in (
        (pub_meta, "page_meta", parse_date),
        (pub_text, "page_text", parse_date),
        (pub_header, "http_header", parse_http_date),
    ):
        d = reader(raw)
        if d is not None:
            return PubDate(d, evidence)
    return PubDate(shanghai_date(first_seen), "first_seen")
