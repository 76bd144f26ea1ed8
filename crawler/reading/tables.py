"""Finding 表二, 表三 and 表四 in a document and reading every cell of the template.

The readers hand over grids of cell text whose shape varies with the source: merged cells repeated (HTML
rowspan) or blank (Word continuation), label cells broken over lines, a table split over PDF pages, or no
grid at all (plain text, PDF without ruling — ``Document.loose_text``). What the template knows decides:

* 表三 — a row's seven numbers are aligned to the columns by content, count and the table's own arithmetic
  (``crawler.reading.alignment``); its row by its label, a misprinted label or the template's row order
  (``crawler.reading.placement``);
* 表二 — an item's numbers go to the columns of the nearest header row, by the header cells' spans (a
  merged header cell covers the positions after it) and otherwise by count;
* 表四 — the fifteen numbers of the row under its header.

Table rows are tried first; paragraph lines split into "label … numbers" fill what is left. Every cell says
how it was read where that was not plainly in its own labelled row and column (``CellReading.how``) and
whether the reader is sure of it; a reading that had to choose says so in ``notes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from crawler.reading.alignment import S3_WIDTH, align_table
from crawler.reading.documents.model import Document, Paragraph, Table
from crawler.reading.labels import fuzzy_s2_item, match_s2_column, match_s2_item, match_s3_row, norm
from crawler.reading.model import MISSING, CellReading
from crawler.reading.placement import Candidate, place
from crawler.reading.values import clean, looks_like_value, parse_cell
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, Template

S4_WIDTH = len(S4_GROUPS) * len(S4_COLUMNS)
_PAGE_NUMBER = re.compile(r"^[-—–－]\s*\d+\s*[-—–－]$|^第\s*\d+\s*页")
# A number printed over two lines of its cell: digits, a line break (read as a space), more digits.
_WRAPPED = re.compile(r"\d[\s\u00a0\u3000]+\d")


@dataclass
class TableReading:
    """What was read: every cell key of the template → its reading (value, printed text, remarks)."""

    cells: dict[str, CellReading] = field(default_factory=dict)
    # (section, row key, message) for rows/columns of the template that were not found or not aligned.
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    found_sections: set[str] = field(default_factory=set)  # of "s2", "s3", "s4"
    notes: list[str] = field(default_factory=list)  # how the tables were read, where not plainly


def _tables(doc: Document) -> list[list[list[str]]]:
    out = []
    for b in doc.blocks:
        if isinstance(b, Table):
            rows = [[c if c is not None else "" for c in r] for r in b.rows]
            for at in sorted(b.breaks, reverse=True):
                if 0 < at < len(rows):
                    merged = continued_row(rows[at - 1], rows[at])
                    if merged is not None:
                        rows[at - 1 : at + 1] = [merged]
            out.append(rows)
    return out


_FIGURE = re.compile(r"^\d+(?:\.\d+)?$")
_DIGITS = re.compile(r"^\d+$")
_NUMBERED = re.compile(r"^\s*(\d+|[一二三四五六七八九十]+)\s*[.．、]|^\s*[（(]")


def _figure(text: str) -> bool:
    return bool(_FIGURE.match(text.replace(" ", "")))


def continued_row(last: list[str], first: list[str]) -> list[str] | None:
    """The row before a page break with the rest of its cells, when the next page starts with that rest:
    the ends of numbers that wrapped in their narrow cells (``3502`` / ``2``) and of a label that wrapped
    beside them (``二、上年结转政府信息公`` / ``开申请数量``) — not a new row (``行政强制 195``).

    The two pages' grids may differ in width (a merged label column split in three), so figures are
    matched from the right and each must land on a number of the row it continues; the words must name no
    row of their own. A number is rejoined with a space — the line break it was — so that it is read as
    wrapped (``CellReading.how``).
    """
    filled = [(i, t) for i, t in enumerate(first) if t]
    figures = [(i, t) for i, t in filled if _DIGITS.match(t.replace(" ", ""))]
    words = "".join(t for i, t in filled if not _DIGITS.match(t.replace(" ", "")))
    if not figures:
        return None
    if words:
        name = norm(words)
        if _NUMBERED.match(words) or match_s3_row(name) or match_s2_item(name) or re.search(r"\d", words):
            return None
    elif len(figures) >= sum(1 for t in last if _figure(t)):
        return None  # a whole row of figures without its label's rest: a row of its own
    merged = list(last)
    for i, text in figures:
        j = len(last) - (len(first) - i)
        if j < 0 or not _figure(last[j]) or last[j].startswith("0"):
            return None  # a figure under no number (or under a 0, which never wraps): not a continuation
        merged[j] = f"{last[j]} {text}"
    if words:
        label_at = [i for i, t in enumerate(last) if t and not _figure(t)]
        if not label_at:
            return None
        merged[label_at[-1]] += words
    return merged


def _rows_from_tables(doc: Document) -> list[list[str]]:
    return [row for table in _tables(doc) for row in table]


def _all_rows(doc: Document) -> list[list[str]]:
    """Table rows and paragraph lines (one cell each) in document order: a header printed as text above a
    grid (a PDF's or markdown's 表四) still heads it."""
    rows: list[list[str]] = []
    for b in doc.blocks:
        if isinstance(b, Table):
            rows.extend([c if c is not None else "" for c in r] for r in b.rows)
        else:
            rows.extend([line] for line in b.text.splitlines() if line.strip())
    return rows


_SPACE_RUN = re.compile(r"[\s\u3000\u00a0]+")


@lru_cache(maxsize=16384)  # the same lines (labels, small numbers) recur in every report
def _tokens(line: str) -> tuple[str, ...]:
    return tuple(t for t in _SPACE_RUN.split(line.strip()) if t)


@lru_cache(maxsize=16384)
def _value_token(token: str) -> bool:
    """A token that stands in a number cell (not one that is only invisible characters)."""
    return bool(clean(token)) and looks_like_value(token)


@dataclass
class LooseRow:
    label: str  # this line's label with the label-only lines just before it (labels broken over lines)
    head: str  # this line's own label
    values: list[str]


def loose_rows(lines: Iterable[str], carry_lines: int = 3) -> list[LooseRow]:
    """Turn text lines into rows of label and values.

    A line's trailing run of number-like tokens are its values, the rest its label. Labels broken over
    lines are joined (up to ``carry_lines`` label-only lines) to the values that follow them; values spread
    over several lines (one cell per line, as in text copied from a web page) are gathered under the label
    before them.
    """
    rows: list[LooseRow] = []
    carry: list[str] = []
    current: LooseRow | None = None

    for line in lines:
        line = line.strip()
        if not line or _PAGE_NUMBER.match(line):
            continue
        toks = _tokens(line)
        i = len(toks)
        while i > 0 and _value_token(toks[i - 1]):
            i -= 1
        head, tail = "".join(toks[:i]), toks[i:]
        if head:
            if current is not None:
                rows.append(current)
                current = None
            if not tail:
                carry = (carry + [head])[-carry_lines:]
                continue
            current = LooseRow("".join(carry) + head, head, list(tail))
            carry = []
        elif current is not None:
            current.values.extend(tail)
        elif carry:
            current = LooseRow("".join(carry), carry[-1], list(tail))
            carry = []
    if current is not None:
        rows.append(current)
    return rows


def _paragraph_lines(doc: Document) -> list[str]:
    lines: list[str] = []
    for b in doc.blocks:
        if isinstance(b, Paragraph):
            lines.extend(b.text.splitlines())
    return lines


def _wrapped(text: str) -> bool:
    return not text.isdigit() and bool(_WRAPPED.search(text))


@lru_cache(maxsize=16384)  # the same printed cells recur in every report; a CellReading is immutable
def _plain_reading(text: str, money: bool) -> CellReading:
    """A cell read in its own place: its value and remarks — ``wrapped`` where a number was printed over two
    lines (sure only where the arithmetic confirms it: ``_confirm``)."""
    v = parse_cell(text, money=money)
    how = "wrapped" if v.value is not None and _wrapped(text) else ""
    return CellReading(v.value, text, v.note, v.detail, True, how)


class _Reader:
    def __init__(self, template: Template):
        self.t = template
        self.out = TableReading()

    def put(self, key: str, text: str, money: bool = False, how: str = "", sure: bool = True) -> None:
        if not how and sure:
            self.out.cells[key] = _plain_reading(text, money)
            return
        v = parse_cell(text, money=money)
        self.out.cells[key] = CellReading(v.value, text, v.note, v.detail, sure, how)

    # --- 表三 ---------------------------------------------------------------------------------------
    def s3_done(self) -> set[str]:
        return {k.split(".")[1] for k in self.out.cells if k.startswith("s3.")}

    def read_s3_grid(self, tables: list[list[list[str]]]) -> None:
        cands: list[Candidate] = []
        for group, rows in enumerate(tables):
            aligned, notes = align_table(rows)
            self.out.notes += notes
            for a in aligned:
                if a is None:
                    continue
                cands.append(Candidate(a.label, a.values, group, a.how, a.sure, a.exact))
        self._place_s3(cands)

    def read_s3_loose(self, rows: list[LooseRow]) -> None:
        cands: list[Candidate] = []
        for lr in rows:
            if len(lr.values) < S3_WIDTH:
                continue  # a line broken mid-row; a later line may carry the whole row
            # The label with the broken lines before it, or the line's own where only that is recognized.
            label = lr.label if match_s3_row(norm(lr.label)) or not match_s3_row(norm(lr.head)) else lr.head
            exact = len(lr.values) == S3_WIDTH
            cands.append(Candidate(label, tuple(lr.values[-S3_WIDTH:]), -1, exact=exact))
        self._place_s3(cands)

    def _place_s3(self, cands: list[Candidate]) -> None:
        rows = [r.key for r in self.t.s3]
        placed = place(cands, rows, self.t.name, self.s3_done())
        by_how: dict[str, int] = {}
        for c in placed:
            self.out.found_sections.add("s3")
            how = c.placed or c.how
            sure = c.sure and c.placed != "order" and (c.placed != "fuzzy_label" or c.unambiguous)
            for col, text in zip(S3_COLUMNS, c.values, strict=True):
                self.put(f"s3.{c.key}.{col.key}", text, how=how, sure=sure)
            if c.placed:
                by_how[c.placed] = by_how.get(c.placed, 0) + 1
        if by_how.get("fuzzy_label"):
            self.out.notes.append(
                f"表三：{by_how['fuzzy_label']} 行的行标签与模板不完全一致（疑为印错），按字形与行序认定"
            )
        if by_how.get("order"):
            self.out.notes.append(f"表三：{by_how['order']} 行没有可识别的行标签，按模板行序定位（未必可靠）")

    # --- 表二 ---------------------------------------------------------------------------------------
    def read_s2(self, rows: Sequence[Sequence[str]], loose: bool = False) -> None:
        items = {i.key: i for i in self.t.s2}
        done = {k.split(".")[1] for k in self.out.cells if k.startswith("s2.")}
        header: list[tuple[str | None, bool]] | None = (
            None  # (column key, blank) per position after the label
        )
        for row in rows:
            if len(done) == len(items):
                return  # every item read: the rows left are 表三's and 表四's
            normed = [norm(c) for c in row]
            cols = [match_s2_column(c) for c in normed]
            if any(cols) and not any(match_s2_item(c) for c in normed):
                # A header row: 信息内容 | 本年新制作数量 | … ; the positions after the first cell.
                cells = list(zip(cols, (not c for c in normed), strict=True))
                header = cells[1:] if len(cells) > 1 else cells
                continue
            for i, cell in enumerate(normed):
                key = match_s2_item(cell)
                fuzzy = False
                if key is None and not loose and i == 0:
                    key = fuzzy_s2_item(cell, self.t.name)
                    fuzzy = key is not None
                if key is None:
                    continue
                if key not in items or key in done:
                    break
                item = items[key]
                values = list(row[i + 1 :])
                if loose and not all(_value_token(v) for v in values):
                    break  # a sentence that names an item (行政规范性文件 13 件；规划计划文件 2 件), not a row
                got = _s2_align(item.columns, values, header)
                if got is None:
                    break
                texts, how, sure = got
                if fuzzy:
                    how, sure = "fuzzy_label", False
                done.add(key)
                self.out.found_sections.add("s2")
                for col, text in zip(item.columns, texts, strict=True):
                    self.put(f"s2.{key}.{col.key}", text, money=col.money, how=how, sure=sure)
                if how == "realigned":
                    self.out.notes.append(
                        f"表二：「{item.label}」的数值按个数对齐到表头各列（网格位置与表头不一致）"
                    )
                break

    # --- 表四 ---------------------------------------------------------------------------------------
    def read_s4(self, rows: list[list[str]], loose: bool) -> None:
        if any(k.startswith("s4.") for k in self.out.cells):
            return
        seen_header = False
        # Loose text keeps only the last few header lines before the numbers: any 表四 header word will do.
        header_words = (
            ("行政复议", "复议后起诉", "行政诉讼", "审结", "结果维持")
            if loose
            else ("行政复议", "复议后起诉")
        )
        for row in rows:
            text = norm("".join(row[:1] if loose else row))
            if any(w in text for w in header_words):
                seen_header = True
            if not seen_header:
                continue
            cells = row[1:] if loose else row
            if len(cells) < S4_WIDTH:
                continue
            tail = cells[-S4_WIDTH:]
            if not all(looks_like_value(c) for c in tail):
                continue
            self.out.found_sections.add("s4")
            it: Iterator[str] = iter(tail)
            for g in S4_GROUPS:
                for c in S4_COLUMNS:
                    self.put(f"s4.{g.key}.{c.key}", next(it))
            return


def _s2_align(
    columns, values: list[str], header: list[tuple[str | None, bool]] | None
) -> tuple[list[str], str, bool] | None:
    """The printed text for each of the item's columns, and how it was placed: (texts, how, sure).

    By the header: a header cell covers its own position and the empty header positions after it (its
    colspan), so a number printed one position off inside that span is still under it (上海 2020: header
    1,1,2,1 over data 1,2,1,1). Otherwise by count: as many figures as the item has columns, in order.
    """
    keys = [c.key for c in columns]
    filled = [i for i, v in enumerate(values) if clean(v)]
    if header:
        spans: dict[str, list[int]] = {}
        current: str | None = None
        for pos, (hk, blank) in enumerate(header):
            if hk is not None:
                current = hk if hk not in spans else None
                if current is not None:
                    spans[current] = []
            elif not blank:
                current = None
            if current is not None:
                spans[current].append(pos)
        if all(k in spans for k in keys):
            texts: list[str] = []
            used: set[int] = set()
            for k in keys:
                inside = [p for p in spans[k] if p < len(values)]
                printed = [p for p in inside if clean(values[p])]
                if len(printed) > 1:
                    break
                pos = printed[0] if printed else (inside[0] if inside else None)
                if pos is None:
                    break
                used.add(pos)
                texts.append(values[pos])
            else:
                if all(p in used for p in filled):
                    return texts, "", True
    if len(filled) == len(keys) and len(values) > len(keys):
        texts = [values[p] for p in filled]
        plain = values[: len(keys)]
        if texts == plain:
            return plain, "", True
        return texts, "realigned", False
    if len(values) < len(keys):
        return None
    return list(values[: len(keys)]), "", True


def read_tables(doc: Document, template: Template) -> TableReading:
    """Read every cell of ``template`` from ``doc``; unread cells are reported in ``missing``."""
    r = _Reader(template)
    tables = _tables(doc)
    grid = [row for t in tables for row in t]
    r.read_s2(grid)
    r.read_s3_grid(tables)
    r.read_s4(_all_rows(doc), loose=False)

    needs_loose = doc.loose_text or not grid or len(r.out.found_sections) < 3
    if needs_loose:
        lines = _paragraph_lines(doc)
        lrows = loose_rows(lines)
        # 表二 cells are short: a line's own tokens are its cells ("规章 1 0 11"), else its own label.
        r.read_s2([_tokens(line) for line in lines], loose=True)
        r.read_s2([[lr.head, *lr.values] for lr in lrows], loose=True)
        r.read_s3_loose(lrows)
        r.read_s4([[lr.label, *lr.values] for lr in lrows], loose=True)

    _confirm(r.out.cells, template)
    _fill_missing(r, template)
    return r.out


def _confirm(cells: dict[str, CellReading], template: Template) -> None:
    """A number rejoined from two lines, or a row named by a misprinted label, is sure only where the
    table's arithmetic confirms it: its 表三 row adds up and no 表三 column sum it is part of fails, or its
    表四 group adds up. Otherwise it is unsure, and a failing sum on it is a question, not an accusation.
    (表二 has no sum to confirm a rejoined number: it stays unsure.)"""
    doubtful = [k for k, c in cells.items() if c.how and c.sure and c.how in ("wrapped", "fuzzy_label")]
    if not doubtful:
        return

    def value(key: str) -> float | None:
        c = cells.get(key)
        return None if c is None else c.value

    def adds_up(total: str, terms: list[str]) -> bool:
        vals = [value(k) for k in terms]
        t = value(total)
        return t is not None and None not in vals and abs(sum(vals) - t) < 1e-6  # type: ignore[arg-type]

    def column_fails(col: str) -> bool:
        terms = [f"s3.{r.key}.{col}" for r in template.s3_outcome_rows]
        vals = [value(k) for k in terms]
        t = value(f"s3.results_total.{col}")
        return t is not None and None not in vals and abs(sum(vals) - t) > 1e-6  # type: ignore[arg-type]

    for key in doubtful:
        section, row, _col = key.split(".")
        if section == "s3":
            ok = adds_up(f"s3.{row}.total", [f"s3.{row}.{c.key}" for c in S3_COLUMNS[:-1]]) and not any(
                column_fails(c.key) for c in S3_COLUMNS
            )
        elif section == "s4":
            ok = adds_up(f"s4.{row}.total", [f"s4.{row}.{c.key}" for c in S4_COLUMNS[:-1]])
        else:
            ok = False
        if not ok:
            c = cells[key]
            cells[key] = CellReading(c.value, c.raw, c.note, c.detail, False, c.how, c.confidence)


def _fill_missing(r: _Reader, template: Template) -> None:
    out = r.out
    for item in template.s2:
        if f"s2.{item.key}.{item.columns[0].key}" not in out.cells:
            out.missing.append(("s2", item.key, f"表二中未找到「{item.label}」这一行"))
            for c in item.columns:
                out.cells[f"s2.{item.key}.{c.key}"] = MISSING
    for row in template.s3:
        if f"s3.{row.key}.total" not in out.cells:
            out.missing.append(("s3", row.key, f"表三中未找到「{row.label}」这一行"))
            for c in S3_COLUMNS:
                out.cells[f"s3.{row.key}.{c.key}"] = MISSING
    if not any(k.startswith("s4.") for k in out.cells):
        out.missing.append(("s4", "*", "未找到表四（行政复议、行政诉讼）的数字"))
        for g in S4_GROUPS:
            for c in S4_COLUMNS:
                out.cells[f"s4.{g.key}.{c.key}"] = MISSING
