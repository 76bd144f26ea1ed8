"""What a report's title (or a link's text, or a URL) says about the report: the year it covers and the
agency it names. Pure text functions shared by the portal stage (is this link a report, of which year?) and
the reading stage (which agency and year does this report stand for?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年度?")
_TITLE_AGENCY = re.compile(
    r"^\s*(?:关于)?(.{2,40}?)\s*[（(]?\s*(?:19|20)\d{2}\s*年度?.*?(?:政府)?信息公开.*?报告"
)
# The year first, then the agency: "2019年上海市人民政府办公厅政府信息公开工作年度报告". The agency is the
# shortest run before the report words (信息公开 is part of them, so an agency ending in 政府 keeps it only
# when 政府 is printed twice: 上海市人民政府办公厅 | 政府信息公开…).
_YEAR_FIRST = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s*年\s*度?\s*(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)\s*"
    r"(?P<rest>(?:政府|政务)?(?:信息公开|政务公开)[\u4e00-\u9fff]{0,8}?报告)"
)
# The agency first (the standard form), an optional 关于: "淄川区招商局2022年政府信息公开工作年度报告".
_AGENCY_FIRST = re.compile(
    r"(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)?\s*(?:关于)?(?P<year>(?:19|20)\d{2})\s*年\s*度?\s*"
    r"(?P<rest>(?:政府|政务)?(?:信息公开|政务公开)[\u4e00-\u9fff]{0,8}?报告)"
)
_LEADING_NOISE = re.compile(r"^(?:正文|全文|附件\d*[:：]?|关于|标题[:：]?)+")
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
    """The agency a report title names, before or after its year: "XX局2023年…年度报告" → "XX局",
    "2019年上海市人民政府办公厅政府信息公开工作年度报告" → "上海市人民政府办公厅"."""
    if not title:
        return None
    m = _TITLE_AGENCY.search(title)
    if m:
        name = _clean_agency(m.group(1))
        if name and not re.search(r"(?:19|20)\d{2}\s*年", name):
            return name
    found = find_title(squeeze_name(title))
    return found.agency if found else None


@dataclass(frozen=True)
class TitleParts:
    title: str  # the title as found (from the agency, or the year, to 报告)
    agency: str | None
    year: int
    start: int  # where it starts in the text searched


def _clean_agency(name: str | None) -> str | None:
    if not name:
        return None
    name = _LEADING_NOISE.sub("", squeeze_name(name)).strip("（）() ·").rstrip("的")
    return name or None


def find_title(text: str | None) -> TitleParts | None:
    """The first report title in ``text``, in either order (agency then year, or year then agency).

    Where both orders match, the one that starts first wins; at the same place the standard order. The text
    should already be free of the spaces PDF extraction puts between characters (``squeeze``).
    """
    if not text:
        return None
    best: TitleParts | None = None
    for pattern in (_AGENCY_FIRST, _YEAR_FIRST):
        m = pattern.search(text)
        if m is None:
            continue
        start = m.start("agency") if m.group("agency") and pattern is _AGENCY_FIRST else m.start()
        if best is not None and start >= best.start:
            continue
        agency = _clean_agency(m.group("agency"))
        title = (
            m.group(0)
            if pattern is _YEAR_FIRST or agency is None
            else agency + text[m.end("agency") : m.end()]
        )
        best = TitleParts(title.strip(), agency, int(m.group("year")), start)
    return best
