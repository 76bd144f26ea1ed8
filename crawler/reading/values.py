"""Reading one printed cell as a number, the way real reports write them.

Real reports write zero as a blank, ``——``, ``/`` or ``无``; write ``00``; use full-width digits; put units in
cells (``26.8万元``, ``1.795（万元）``, ``251000元``); sign changes (``减1237``, ``+2``, ``增3``). A cell is
read as a number only when the number is certain; otherwise it is ``None`` with a note saying why, and never
a guessed 0. The note becomes a ``cell.*`` finding.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Marks that people print for "nothing" in a numeric cell.
NOT_NUMBER_MARKS = frozenset(
    {
        "—",
        "——",
        "———",
        "-",
        "--",
        "－",
        "－－",
        "–",
        "/",
        "／",
        "\\",
        "无",
        "空",
        "暂无",
        "×",
        "x",
        "X",
        "*",
        "…",
        "……",
    }
)

_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u3000\ufeff]+")
_UNIT = re.compile(r"^(?P<num>.*?)[(（]?(?P<unit>亿元|万元|元|件|个|项|条|次|份|宗|人次|家)[)）]?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


@dataclass(frozen=True)
class CellValue:
    value: int | float | None
    note: str | None = None  # None | "blank" | "not_number" | "format"
    detail: str = ""  # why, in Chinese words: "全角数字", "单元格内带单位“万元”" …


def clean(text: str | None) -> str:
    """Strip every kind of space (including ideographic and zero-width ones)."""
    return _SPACES.sub("", text or "")


@lru_cache(maxsize=16384)  # the same printed cells recur in every report; CellValue is immutable
def parse_cell(text: str | None, *, money: bool = False) -> CellValue:
    """Read a printed cell. ``money`` cells are 万元 and come back as float."""
    raw = clean(text)
    if not raw:
        return CellValue(None, "blank", "空白")
    if raw in NOT_NUMBER_MARKS:
        return CellValue(None, "not_number", f"填了「{raw}」而不是数字")

    irregular: list[str] = []
    t = unicodedata.normalize("NFKC", raw)
    if t != raw and any("０" <= ch <= "９" for ch in raw):
        irregular.append("全角数字")

    sign = 1
    if t[0] in "减-":
        sign, t = -1, t[1:]
    elif t[0] in "增+":
        t = t[1:]
    if t.startswith("少"):  # 减少12 → -12
        sign, t = -1, t[1:]

    factor = 1.0
    m = _UNIT.match(t)
    if m and m.group("num"):
        unit = m.group("unit")
        t = m.group("num")
        if unit == "元":
            if money:
                factor = 1 / 10000
                irregular.append("以“元”填写，已换算为万元")
            else:
                irregular.append("数量单元格内带单位“元”")
        elif unit == "亿元":
            factor = 10000.0
            irregular.append("以“亿元”填写，已换算为万元")
        else:
            irregular.append(f"单元格内带单位“{unit}”")

    if _THOUSANDS.match(t):
        t = t.replace(",", "")
        irregular.append("带千位分隔符")
    if not _NUMBER.match(t):
        return CellValue(None, "not_number", f"「{raw}」不是数字")

    if len(t) > 1 and t[0] == "0" and t[1] != ".":
        irregular.append(f"数字前有多余的 0「{raw}」")

    if money:
        value: int | float = round(sign * float(t) * factor, 6)
    else:
        f = float(t) * factor
        if f != int(f):
            return CellValue(None, "not_number", f"「{raw}」不是整数")
        value = sign * int(f)
    if irregular:
        return CellValue(value, "format", "；".join(irregular))
    return CellValue(value)


@lru_cache(maxsize=16384)  # the same printed cells recur in every report; CellValue is immutable
def looks_like_value(text: str | None) -> bool:
    """True for what may stand in a number cell: a number (in any printed form), a dash mark or a blank."""
    raw = clean(text)
    if not raw:
        return True
    c = parse_cell(raw, money=True)
    return c.value is not None or raw in NOT_NUMBER_MARKS
