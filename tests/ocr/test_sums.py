"""The table's own sums find and mend OCR misreads — and never mend a figure the report printed wrong."""

from __future__ import annotations

import random

import pytest

from crawler.reading.ocr.sums import equations, failing, mend, one_slip
from domain.template import get_template
from testbed.synthetic import consistent_cells


@pytest.fixture
def cells() -> dict:
    return consistent_cells("2021", random.Random(5), scale=300)


def printed(cells: dict) -> dict[str, str]:
    return {k: str(v) for k, v in cells.items()}


def test_consistent_cells_satisfy_every_equation(cells):
    assert failing("2021", cells) == []
    rows = len(get_template("2021").s3)
    assert len(equations("2021")) == rows + 7 + 7 + 3  # row totals, column totals, balances, 表四 groups


@pytest.mark.parametrize(
    ("printed_text", "value", "slip"),
    [("18", 13, True), ("3", 8, True), ("12", 2, True), ("2", 12, True), ("1001", 101, True),
     ("18", 81, False), ("13", 13, False), ("25", 3, False), ("", 1, False)],
)  # fmt: skip
def test_one_slip_is_one_digit_changed_dropped_or_added(printed_text, value, slip):
    assert one_slip(printed_text, value) is slip


def _pick(cells: dict, prefix: str = "s3.") -> str:
    """A 表三 applicant cell above 10 (its misread below is a slip of one digit)."""
    return next(k for k, v in cells.items() if k.startswith(prefix) and not k.endswith(".total") and v >= 10)


def test_a_misread_cell_that_alone_mends_every_sum_is_corrected(cells):
    key = _pick(cells)
    true = cells[key]
    text = str(true)[:-1] + str((int(str(true)[-1]) + 5) % 10)  # last digit misread
    read = dict(cells, **{key: int(text)})
    shown = dict(printed(cells), **{key: text})
    fixes, left = mend("2021", read, shown, mendable={key})
    assert [(f.key, f.printed, f.value) for f in fixes] == [(key, text, true)]
    assert left == []


def test_a_sure_cell_is_never_corrected(cells):
    """The demo's row_total report: a 总计 printed 3 too high and read with full confidence."""
    key = "s3.granted.total"
    read = dict(cells, **{key: cells[key] + 3})
    fixes, left = mend("2021", read, dict(printed(cells), **{key: str(read[key])}), mendable=set())
    assert fixes == []
    assert left and any(k == key for eq in left[0] for k, _ in eq)


def test_no_correction_when_the_value_is_more_than_one_slip_away(cells):
    key = _pick(cells)
    read = dict(cells, **{key: cells[key] + 111})  # three digits off: not a misread OCR makes
    fixes, left = mend("2021", read, dict(printed(cells), **{key: str(read[key])}), mendable={key})
    assert fixes == [] and len(left) == 1


def test_two_misreads_in_one_row_are_left_alone(cells):
    row = "s3.new_received"
    a, b = f"{row}.natural_person", f"{row}.business"
    read = dict(cells, **{a: cells[a] + 1, b: cells[b] + 1})
    fixes, left = mend("2021", read, printed(read), mendable={a, b})
    assert fixes == [] and left


def test_a_row_total_and_a_part_that_could_each_mend_are_ambiguous():
    """表四: a group's total off by one with every part zero but one — either cell would do."""
    cells = consistent_cells("2021", random.Random(1), scale=20)
    for c in ("upheld", "corrected", "other", "pending"):
        cells[f"s4.review.{c}"] = 0
    cells["s4.review.upheld"] = 4
    cells["s4.review.total"] = 5  # 4 ≠ 5: the total or 维持 could be misread …
    fixes, left = mend("2021", cells, printed(cells), mendable={"s4.review.total", "s4.review.upheld"})
    assert fixes == [] and len(left) == 1  # … so neither is changed
