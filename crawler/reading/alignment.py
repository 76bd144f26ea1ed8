"""Which printed cells of a 表三 row are its seven numbers: alignment by content, count and arithmetic.

Grid position alone misreads real tables. Word exports put 表三 on a wider grid than it looks (平潭 2021:
11 columns, 商业企业's figures in colspan-2 cells over an empty one, so the last seven cells of a row start one
column early); markdown extracted from a PDF prints a row's label in one or two cells and leaves a trailing
empty cell (上海科委 2024). So a table's rows are aligned by what the template knows:

* the row's **label** is every cell up to the last one that cannot stand in a number cell; its **region**
  is the rest;
* candidate alignments: the last seven cells (*right*, the plain reading); the columns the header row
  names (自然人 … 总计, *header*); the region without the columns that are empty in every row (*dense*);
  the first seven cells of a region whose overflow is empty (*left*);
* they are tried only where some row prints a figure outside its last seven cells — the pattern a shifted
  grid leaves — and the table's own arithmetic chooses: in each row 总计 = the sum of the six applicant
  columns. The table takes the alignment whose rows add up best (the header's on a tie: the labels support
  it); a row whose region is longer than seven takes the window that adds up.

A reading that differs from the plain one is marked ``realigned``, and is *sure* only where the arithmetic
confirms it: the alignment adds up in more rows than the plain reading and in at least three times as many
as it fails in (so a real error in one row stays an error), or, for one row, it is the only window that
adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from crawler.reading.labels import match_s3_row, norm
from crawler.reading.values import clean, looks_like_value, parse_cell

S3_WIDTH = 7
# 表三's column headers as printed (normalized), in the template's column order.
_HEADERS = (
    ("natural_person", ("自然人",)),
    ("business", ("商业企业",)),
    ("research", ("科研机构",)),
    ("nonprofit", ("社会公益组织", "公益组织")),
    ("legal_services", ("法律服务机构",)),
    ("other_org", ("其他",)),
    ("total", ("总计", "合计")),
)


@dataclass(frozen=True, slots=True)
class Aligned:
    """One row of a table read as 表三's seven numbers."""

    label: str  # the label cells joined (as printed)
    values: tuple[str, ...]  # the seven texts, in the template's column order
    how: str = ""  # "" (read in place) | "realigned"
    sure: bool = True
    exact: bool = True  # every printed figure of the region is one of the seven (none left over)


@lru_cache(maxsize=16384)
def _value_like(text: str) -> bool:
    return looks_like_value(text)


def _filled(text: str) -> bool:
    """Whether a cell prints anything (spaces of every kind do not count)."""
    return bool(text) and (text.isalnum() or bool(clean(text)))


def _blank(text: str) -> bool:
    return not _filled(text)


def label_end(row: Sequence[str]) -> int:
    """The index after the row's last cell that cannot stand in a number cell (its label)."""
    i = len(row)
    while i > 0 and _value_like(row[i - 1]):
        i -= 1
    return i


def row_sum_holds(values: Sequence[str]) -> bool | None:
    """Whether 总计 (the seventh) is the sum of the six applicant columns; None when one is unreadable."""
    nums = []
    for text in values:
        v = parse_cell(text).value
        if v is None:
            return None
        nums.append(v)
    return abs(sum(nums[:-1]) - nums[-1]) < 1e-6


def _header_columns(rows: list[list[str]], first_data: int) -> tuple[int, tuple[int, ...]] | None:
    """(grid width, the column index of each of the seven columns) from the header rows above the data."""
    found: dict[str, int] = {}
    width = 0
    for row in rows[:first_data]:
        for c, text in enumerate(row):
            t = norm(text)
            if not t:
                continue
            for key, names in _HEADERS:
                if key not in found and any(t == n for n in names):
                    found[key] = c
                    width = len(row)
    if len(found) < S3_WIDTH:
        return None
    cols = tuple(found[key] for key, _ in _HEADERS)
    if any(b <= a for a, b in zip(cols, cols[1:], strict=False)):
        return None  # not in the template's order: a header this reading does not understand
    return width, cols


def _dense_columns(
    rows: list[list[str]], data: list[int], ends: list[int]
) -> tuple[int, tuple[int, ...]] | None:
    """(grid width, the region's columns that are not empty in every data row), when that leaves seven."""
    widths = [len(rows[i]) for i in data]
    width = max(set(widths), key=widths.count)
    same = [i for i in data if len(rows[i]) == width]
    start = min(ends[i] for i in same)
    keep = tuple(c for c in range(start, width) if any(not _blank(rows[i][c]) for i in same if c >= ends[i]))
    if len(keep) != S3_WIDTH or keep == tuple(range(width - S3_WIDTH, width)):
        return None
    if any(ends[i] > keep[0] for i in same):
        return None  # a label reaches into the kept columns
    return width, keep


def align_table(rows: list[list[str]]) -> tuple[list[Aligned | None], list[str]]:
    """Every row of one table as 表三's seven numbers (None: not such a row), and notes on the alignment.

    The plain reading (the last seven cells) stands unless a row prints figures outside its last seven
    cells — the pattern a shifted grid leaves (平潭 2021: ``64`` left over, 商业企业 read blank). Only then
    are the header's and the dense alignment tried and the arithmetic asked: so a well-formed table costs
    one pass, and a real error in one row never moves a column.
    """
    ends = [label_end(r) for r in rows]
    out: list[Aligned | None] = [None] * len(rows)
    data: list[int] = []
    shifted = False  # some row prints a figure outside its last seven cells
    for i, r in enumerate(rows):
        end = ends[i]
        if len(r) - end < S3_WIDTH:
            continue
        region = r[end:]
        filled = [_filled(t) for t in region]
        count = sum(filled)
        if not count and not match_s3_row(norm("".join(r[:end]))):
            continue  # a header row over empty cells is no data row; a labelled row left blank is
        data.append(i)
        if count <= S3_WIDTH and any(filled[: len(region) - S3_WIDTH]):
            shifted = True  # (a row of more figures, 表四's fifteen, is no shifted 表三 row)
    if not data:
        return out, []
    chosen, layout, confirmed = "right", None, False
    if shifted:
        chosen, layout, confirmed = _choose_layout(rows, data, ends)

    moved = 0
    for i in data:
        r = rows[i]
        label = "".join(r[: ends[i]])
        vals = _by_columns(r, ends[i], layout) if layout is not None else None
        if vals is None:
            a = _align_row(label, r[ends[i] :]) if shifted else Aligned(label, tuple(r[-S3_WIDTH:]))
        else:
            used = set(layout[1])  # type: ignore[index]
            leftover = any(_filled(r[c]) for c in range(ends[i], len(r)) if c not in used)
            realigned = vals != tuple(r[-S3_WIDTH:])
            how = "realigned" if realigned else ""
            a = Aligned(label, vals, how, confirmed or not realigned, not leftover)
        out[i] = a
        moved += a.how == "realigned"
    notes = []
    if moved:
        why = {"header": "按表头列位", "dense": "去掉整列空白的列后", "right": "按行内数字个数"}[chosen]
        notes.append(f"表三：{moved} 行的数值{why}对齐到各列（按网格位置读会错位），并经表格自身勾稽关系核对")
    return out, notes


Layout = tuple[int, tuple[int, ...]]  # (grid width, the column index of each of the seven columns)


def _by_columns(row: list[str], end: int, layout: Layout | None) -> tuple[str, ...] | None:
    if layout is None:
        return None
    width, cols = layout
    if len(row) != width or end > cols[0]:
        return None
    return tuple(row[c] for c in cols)


def _choose_layout(
    rows: list[list[str]], data: list[int], ends: list[int]
) -> tuple[str, Layout | None, bool]:
    """The alignment the table's arithmetic supports best: (name, layout, confirmed). The header's wins a tie
    (its labels support it); the dense one needs the arithmetic. Confirmed: it adds up in more rows than the
    plain reading, and in at least three times as many rows as it fails in (a row that fails is then the
    report's error, not the alignment's)."""

    def tally(layout: Layout | None) -> tuple[int, int]:  # (rows that add up, rows that do not)
        ok = bad = 0
        for i in data:
            vals = _by_columns(rows[i], ends[i], layout) or tuple(rows[i][-S3_WIDTH:])
            h = row_sum_holds(vals)
            ok += h is True
            bad += h is False
        return ok, bad

    plain_ok, plain_bad = tally(None)
    chosen, chosen_layout, best = "right", None, (plain_ok - plain_bad, 0)
    tallies: dict[str, tuple[int, int]] = {}
    for name, layout in (
        ("header", _header_columns(rows, data[0])),
        ("dense", _dense_columns(rows, data, ends)),
    ):
        if layout is None:
            continue
        tallies[name] = ok_bad = tally(layout)
        rank = (ok_bad[0] - ok_bad[1], 1 if name == "header" else -1)
        if rank > best:
            chosen, chosen_layout, best = name, layout, rank
    if chosen_layout is None:
        return chosen, None, False
    ok, bad = tallies[chosen]
    return chosen, chosen_layout, ok > plain_ok and ok >= 3 * max(bad, 1)


def _align_row(label: str, region: list[str]) -> Aligned:
    """One row on its own: the last seven cells, or — where the region is longer and its overflow empty —
    the window that adds up."""
    plain = tuple(region[-S3_WIDTH:])
    extra = len(region) - S3_WIDTH
    filled = sum(1 for t in region if not _blank(t))
    if extra <= 0:
        return Aligned(label, plain)
    windows = [plain]
    for start in range(extra - 1, -1, -1):  # right to left: the plain reading first
        w = tuple(region[start : start + S3_WIDTH])
        if sum(1 for t in w if not _blank(t)) == filled:
            windows.append(w)
    holding = [w for w in dict.fromkeys(windows) if row_sum_holds(w)]
    if len(holding) == 1 and holding[0] != plain:
        return Aligned(label, holding[0], "realigned", True, True)
    plain_exact = sum(1 for t in plain if not _blank(t)) == filled
    return Aligned(label, plain, "", True, plain_exact)
