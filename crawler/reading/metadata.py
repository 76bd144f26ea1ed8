"""What a report says about itself: its title, the agency, the year it covers, its sections.

The standard title is ``<agency><year>年政府信息公开工作年度报告``, often broken over two lines (``…科技局2020年政府``
/ ``信息公开工作年度报告``) or with spaces (``2024 年``). Variants exist: the year first
(``2019年上海市人民政府办公厅政府信息公开工作年度报告``), ``关于2022年度政府信息公开情况的报告``, and some documents
have no title at all — then the page around it (``<meta name="ArticleTitle">``, ``ContentSource``) is the
next witness, then the statistical period (``统计期限从2020年1月1日到12月31日止``), then the prose (the year
section 一 names most; the agency in ``本报告由…编制``). Where none says, the field stays ``None``, not a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.reading.documents.model import Document, Paragraph
from crawler.reading.labels import norm_text
from domain.template import SECTIONS
from domain.titles import find_title as _find_title

# Spaces between CJK characters or digits. The pattern starts with the space class and checks the character
# before it with a lookbehind afterwards: a pattern that starts with a lookbehind is tried at every position
# of the text, one that starts with a character class is not (twice as fast over a whole report).
_CJK_SPACE = re.compile(
    r"[ \t\u3000\u00a0](?<=[\d\u4e00-\u9fff][ \t\u3000\u00a0])[ \t\u3000\u00a0]*(?=[\d\u4e00-\u9fff])"
)
# The statistical period; the end date may leave its year out ("从2020年1月1日到12月31日止").
_PERIOD = re.compile(
    r"(?:统计期限|统计时间|统计时限|统计周期|统计区间|统计期|时间段|期限)[^。]{0,12}?"
    r"(?P<y1>20\d{2})年(?P<m1>\d{1,2})月(?P<d1>\d{1,2})日\s*(?:起)?\s*"
    r"(?:至|到|—|-|~|－)\s*(?:(?P<y2>20\d{2})年)?(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日"
)
# Who compiled the report, in its opening words: "本报告由淮安市洪泽区人民政府办公室根据《条例》…编制".
_COMPILED_BY = re.compile(
    r"本(?:年度)?报告由(?P<agency>[\u4e00-\u9fff（）()]{2,30}?)(?:根据|依据|按照|依照|编制|综合)"
)
_YEAR_IN_PROSE = re.compile(r"(?<!\d)(20\d{2})\s*年")
_YEAR_NOT_DATE = re.compile(r"(?<!\d)(20\d{2})年(?!\d{1,2}月)")  # squeezed text: not a date's year


@dataclass
class ReportMetadata:
    title: str | None = None
    agency: str | None = None
    year: int | None = None
    year_source: str | None = None  # title | meta | period | prose
    period: tuple[str, str] | None = None  # the printed statistical period, ISO dates
    sections_present: list[str] = field(default_factory=list)  # of 一 … 六
    prose_years: list[int] = field(default_factory=list)  # years the section 一 prose names, in order


def squeeze(text: str) -> str:
    """Remove the spaces PDF extraction puts between CJK characters and digits (``2024 年`` → ``2024年``)."""
    return _CJK_SPACE.sub("", text)


def _head_text(doc: Document, lines: int = 6) -> str:
    """The first few lines of the document, joined: where the title stands, however it is broken."""
    out: list[str] = []
    for b in doc.blocks:
        if not isinstance(b, Paragraph):
            break
        for line in b.text.splitlines():
            line = line.strip()
            if not line:
                continue
            if re.match(r"^[一1][、.．]?\s*总体情况", line):
                return "".join(out)
            out.append(line)
            if len(out) >= lines:
                return "".join(out)
    return "".join(out)


def _clean_agency(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"^(关于|附件\d*[:：]?)", "", name).strip("（）() ·")
    return name or None


def find_title(text: str) -> tuple[str, str | None, int] | None:
    """(title, agency, year) of the first report title in ``text``, in either order of agency and year."""
    found = _find_title(squeeze(text))
    if found is None:
        return None
    return found.title, found.agency, found.year


def read_metadata(doc: Document, text: str | None = None, normalized: str | None = None) -> ReportMetadata:
    """``text`` and ``normalized`` are ``doc.text()`` and ``norm_text(doc.text())`` when the caller has them
    (``norm_text`` drops the spaces ``squeeze`` drops, so the squeezed text normalizes the same)."""
    md = ReportMetadata()
    head = squeeze(_head_text(doc))
    found = find_title(head)
    meta_title = (doc.meta.get("ArticleTitle") or doc.meta.get("title") or "").strip()
    if found is None and meta_title:
        found = find_title(meta_title)
        if found:
            md.year_source = "meta"
    if found:
        md.title, md.agency, md.year = found
        md.year_source = md.year_source or "title"
        # A title with the agency on the line before: keep the whole standard form.
        if md.agency is None:
            md.agency = _clean_agency(doc.meta.get("ContentSource"))
            if md.agency and md.title and not md.title.startswith(md.agency):
                md.title = md.agency + md.title
    elif meta_title:
        md.title = meta_title
    if md.agency is None and doc.meta.get("ContentSource"):
        md.agency = _clean_agency(doc.meta.get("ContentSource"))

    text = squeeze(doc.text() if text is None else text)
    p = _PERIOD.search(text)
    if p:
        md.period = (
            f"{p['y1']}-{int(p['m1']):02d}-{int(p['d1']):02d}",
            f"{p['y2'] or p['y1']}-{int(p['m2']):02d}-{int(p['d2']):02d}",
        )
        if md.year is None and (p["y2"] is None or p["y1"] == p["y2"]):
            md.year, md.year_source = int(p["y1"]), "period"

    prose = squeeze(doc.prose())
    body = prose.split("总体情况", 1)[1] if "总体情况" in prose else prose
    md.prose_years = [int(y) for y in _YEAR_IN_PROSE.findall(body[:3000])]
    if md.year is None and md.prose_years:
        # No title and no period: the year section 一 names most (a report about Y speaks of Y).
        named = [int(y) for y in _YEAR_NOT_DATE.findall(body[:3000])]
        counts = {y: named.count(y) for y in named}
        top = max(counts.values(), default=0)
        if top and list(counts.values()).count(top) == 1:
            md.year, md.year_source = max(counts, key=counts.__getitem__), "prose"
    if md.agency is None:
        m = _COMPILED_BY.search(prose[:2000])
        if m:
            md.agency = _clean_agency(m.group("agency"))

    if normalized is None:
        normalized = norm_text(text)
    for numeral, _name in SECTIONS:
        # The heading's key words suffice: numbering styles and small wordings vary (及/和改进情况).
        if all(any(k in normalized for k in alternatives) for alternatives in SECTION_KEYS[numeral]):
            md.sections_present.append(numeral)
    return md


# Per section: every group must be present, any word of a group will do.
SECTION_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "一": (("总体情况", "总体概况", "基本情况"),),
    "二": (("主动公开政府信息情况", "主动公开情况"),),
    "三": (("收到和处理政府信息公开申请", "依申请公开"),),
    "四": (("行政复议",), ("行政诉讼",)),
    "五": (("存在的主要问题", "存在问题", "主要问题"),),
    "六": (("其他需要报告", "其他事项"),),
}
