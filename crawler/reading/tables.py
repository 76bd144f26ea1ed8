"""Finding 表二, 表三 and 表四 in a document and reading every cell of the template.

The readers hand over grids of cell text whose shape varies with the source: merged cells repeated (HTML
rowspan) or blank (Word continuation), label cells broken over lines, a table split over PDF pages, or no
grid at all (plain text, PDF without ruling — ``Document.loose_text``). Rows are therefore recognized by their
label and read from the right: 表三's seven numbers are the last seven cells of its row, 表四's fifteen the
last fifteen of its number row, 表二's numbers follow the item's label cell in the order of the nearest
column header. Table rows are tried first; paragraph lines split into "label … numbers" fill what is left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from crawler.reading.documents.model import Document, Paragraph, Table
from crawler.reading.labels import match_s2_column, match_s2_item, match_s3_row, norm
from crawler.reading.model import MISSING, CellReading
from crawler.reading.values import clean, looks_like_value, parse_cell
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, Template

S3_WIDTH = len(S3_COLUMNS)
S4_WIDTH = len(S4_GROUPS) * len(S4_COLUMNS)
_PAGE_NUMBER = re.compile(r"^[-—–－]\s*\d+\s*[-—–－]$|^第\s*\d+\s*页")


@dataclass
class TableReading:
    """What was read: every cell key of the template → its reading (value, printed text, remarks)."""

    cells: dict[str, CellReading] = field(default_factory=dict)
    # (section, row key, message) for rows/columns of the template that were not found or not aligned.
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    found_sections: set[str] = field(default_factory=set)  # of "s2", "s3", "s4"
    notes: list[str] = field(default_factory=list)  # how the tables were read, where not plainly


def _rows_from_tables(doc: Document) -> list[list[str]]:
    rows: list[list[str]] = []
    for b in doc.blocks:
        if isinstance(b, Table):
            rows.extend([c if c is not None else "" for c in r] for r in b.rows)
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


class _Reader:
    def __init__(self, template: Template):
        self.t = template
        self.out = TableReading()

    def put(self, key: str, text: str, money: bool = False, **how: object) -> None:
        v = parse_cell(text, money=money)
        self.out.cells[key] = CellReading(v.value, text, v.note, v.detail, **how)  # type: ignore[arg-type]

    # --- 表三 ---------------------------------------------------------------------------------------
    def read_s3(self, rows: list[list[str]], loose: bool) -> None:
        wanted = {r.key for r in self.t.s3}
        done = {k.split(".")[1] for k in self.out.cells if k.startswith("s3.")}
        for row in rows:
            if loose:  # [label with the broken lines before it, the line's own label, values…]
                values = row[2:]
                key = match_s3_row(norm(row[0])) or match_s3_row(norm(row[1]))
            else:  # a grid row
                if len(row) < S3_WIDTH + 1:
                    continue
                values = row[-S3_WIDTH:]
                key = match_s3_row(norm("".join(row[:-S3_WIDTH])))
            # A row of the other format (（六）'s 2021 sub-rows in a 2019 report) is not this template's.
            if key is None or key in done or key not in wanted:
                continue
            if len(values) < S3_WIDTH:
                continue  # a line broken mid-row (loose text); a later line may carry the whole row
            values = values[-S3_WIDTH:]
            done.add(key)
            self.out.found_sections.add("s3")
            for col, text in zip(S3_COLUMNS, values, strict=True):
                self.put(f"s3.{key}.{col.key}", text)

    # --- 表二 ---------------------------------------------------------------------------------------
    def read_s2(self, rows: Sequence[Sequence[str]]) -> None:
        items = {i.key: i for i in self.t.s2}
        done = {k.split(".")[1] for k in self.out.cells if k.startswith("s2.")}
        header: list[str | None] | None = None  # column key per cell position after the label cell
        for row in rows:
            if len(done) == len(items):
                return  # every item read: the rows left are 表三's and 表四's
            normed = [norm(c) for c in row]
            cols = [match_s2_column(c) for c in normed]
            if sum(1 for c in cols if c) >= 1 and not any(match_s2_item(c) for c in normed):
                # A header row: 信息内容 | 本年新制作数量 | … ; keep the keys after the first cell.
                header = cols[1:] if len(cols) > 1 else cols
                continue
            for i, cell in enumerate(normed):
                key = match_s2_item(cell)
                if key is None:
                    continue
                if key not in items or key in done:
                    break
                item = items[key]
                values = row[i + 1 :]
                ordered = self._s2_align(item.columns, values, header)
                if ordered is None:
                    break
                done.add(key)
                self.out.found_sections.add("s2")
                for col, text in zip(item.columns, ordered, strict=True):
                    self.put(f"s2.{key}.{col.key}", text, money=col.money)
                break

    @staticmethod
    def _s2_align(columns, values: list[str], header: list[str | None] | None) -> list[str] | None:
        """The printed text for each of the item's columns, by header position where one is known."""
        if header:
            by_key: dict[str, str] = {}
            for pos, hk in enumerate(header):
                if hk and pos < len(values) and hk not in by_key:
                    by_key[hk] = values[pos]
            if all(c.key in by_key for c in columns):
                return [by_key[c.key] for c in columns]
        values = [v for v in values]
        if len(values) < len(columns):
            return None
        return values[: len(columns)]

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


def read_tables(doc: Document, template: Template) -> TableReading:
    """Read every cell of ``template`` from ``doc``; unread cells are reported in ``missing``."""
    r = _Reader(template)
    grid = _rows_from_tables(doc)
    r.read_s2(grid)
    r.read_s3(grid, loose=False)
    r.read_s4(grid, loose=False)

    needs_loose = doc.loose_text or not grid or len(r.out.found_sections) < 3
    if needs_loose:
        lines = _paragraph_lines(doc)
        lrows = loose_rows(lines)
        # 表二 cells are short: a line's own tokens are its cells ("规章 1 0 11"), else its own label.
        r.read_s2([_tokens(line) for line in lines])
        r.read_s2([[lr.head, *lr.values] for lr in lrows])
        r.read_s3([[lr.label, lr.head, *lr.values] for lr in lrows], loose=True)
        r.read_s4([[lr.label, *lr.values] for lr in lrows], loose=True)

    _fill_missing(r, template)
    return r.out


def _fill_missing(r: _Reader, template: Template) -> None:
    out = r.out
    for item in template.s2:
        if f"s2.{item.key}.{item.columns[0].key}" not in out.cells:
            out.missing.append(("s2", item.key, f"表二 row 「{item.label}」 not found"))
            for c in item.columns:
                out.cells[f"s2.{item.key}.{c.key}"] = MISSING
    for row in template.s3:
        if f"s3.{row.key}.total" not in out.cells:
            out.missing.append(("s3", row.key, f"表三 row 「{row.label}」 not found"))
            for c in S3_COLUMNS:
                out.cells[f"s3.{row.key}.{c.key}"] = MISSING
    if not any(k.startswith("s4.") for k in out.cells):
        out.missing.append(("s4", "*", "表四 (行政复议、行政诉讼) numbers not found"))
        for g in S4_GROUPS:
            for c in S4_COLUMNS:
                out.cells[f"s4.{g.key}.{c.key}"] = MISSING
