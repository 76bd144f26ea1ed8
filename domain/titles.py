"""What a report's title (or a link's text, or a URL) says about the report: the year it covers and the
agency it names. Pure text functions shared by the portal stage (is this link a report, of which year?) and
the reading stage (which agency and year does this report stand for?).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年度?")
_TITLE_AGENCY = re.compile(
    r"^\s*(?:关于)?(.{2,40}?)\s*[（(]?\s*(?:19|20)\d{2}\s*年度?.*?(?:政府)?信息公开.*?报告"
)
_NOISE = re.compile(r"[\s《》“”\"'【】\[\]]")


def year_from_title(text: str | None) -> int | None:
    """The year a report covers, from its title: the year written before 年/年度, not a publication date.

    "淄川区招商局2022年政府信息公开工作年度报告（2023-01-20）" → 2022: years that are part of a date
    (followed by -, /, . or 年N月) are skipped.
    """
    if not text:
        return None
    for m in _YEAR_IN_TITLE.finditer(text):
        after = text[m.end() : m.end() + 3]
        if re.match(r"\s*\d{1,2}\s*月", after):
            continue
        return int(m.group(1))
    return None


def year_from_url(url: str) -> int | None:
    """A year named in a URL path segment like /2023/ or /nb2023/ (not t20240120_… publication stamps)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for m in re.finditer(r"(?<![\d])((?:19|20)\d{2})(?![\d])", path):
        return int(m.group(1))
    return None


def squeeze_name(s: str | None) -> str:
    """A name without spaces, quotes and brackets: how names are compared."""
    return _NOISE.sub("", s or "")


def agency_from_title(title: str | None) -> str | None:
    """The agency a report title names before its year: "XX局2023年…年度报告" → "XX局"."""
    if not title:
        return None
    m = _TITLE_AGENCY.search(title)
    if not m:
        return None
    name = squeeze_name(m.group(1)).rstrip("的")
    return name or None
