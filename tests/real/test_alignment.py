"""Tables read by what the template knows: columns aligned by content, count and arithmetic; rows named by
their label, a misprinted label or the template's order — and every guess marked as one."""

from __future__ import annotations

import pytest

from crawler.reading.alignment import align_table
from crawler.reading.placement import Candidate, place
from crawler.reading.read import read_bytes
from crawler.reading.tables import _s2_align
from domain.template import S3_COLUMNS, get_template
from monitor.judgement import judge
from tests.real.builders import cells, page


def s3_cells(reading) -> dict:
    return {k: c for k, c in reading.cells.items() if k.startswith("s3.")}


def errors(findings) -> set[str]:
    return {f["rule"] for f in findings if f["severity"] == "error"}


# --- columns -------------------------------------------------------------------------------------------


def test_word_grid_is_realigned_by_its_header_and_sure():
    values = cells()
    r = read_bytes(page(values), "word.html")
    assert r.values == values
    moved = {k for k, c in s3_cells(r).items() if c.how == "realigned"}
    assert moved and all(r.cells[k].sure for k in moved)
    assert any("表头" in n for n in r.notes)
    assert not [f for f in judge(r) if f["severity"] != "info"]


def test_word_grid_with_a_real_error_still_accuses():
    """The header and the other rows confirm the alignment: the one row that does not add up is the report's
    error, not a reason to doubt the reading."""
    values = cells()
    values["s3.granted.natural_person"] += 1
    r = read_bytes(page(values), "word.html")
    assert r.values == values
    findings = judge(r)
    assert {"s3.row_total", "s3.results_total"} <= errors(findings)
    assert not [f for f in findings if f["rule"] == "reading.unsure"]


def test_plain_grid_is_read_in_place():
    values = cells(seed=3)
    r = read_bytes(page(values, s3="plain"), "plain.html")
    assert r.values == values
    assert not [c for c in r.cells.values() if c.how or not c.sure]
    assert not any("表三" in n for n in r.notes)


def test_a_trailing_empty_cell_is_not_a_column():
    """上海科委 2024: label, seven figures, an empty cell — the last seven cells would shift every figure."""
    rows = [
        ["业", "构", "益组织", "务机构", "", "", "", "", ""],
        ["一、本年新收政府信息公开申请数量", "32", "2", "0", "0", "0", "0", "34", ""],
        ["三、", "（一）予以公开", "9", "0", "0", "0", "0", "0", "9"],
    ]
    aligned, _notes = align_table(rows)
    assert aligned[1].values == ("32", "2", "0", "0", "0", "0", "34") and aligned[1].how == "realigned"
    assert aligned[1].sure
    assert aligned[2].values == ("9", "0", "0", "0", "0", "0", "9") and aligned[2].how == ""


def test_a_window_that_does_not_add_up_is_not_taken():
    rows = [["一、本年新收政府信息公开申请数量", "32", "2", "0", "0", "0", "0", "30", ""]]  # 32 + 2 ≠ 30
    aligned, _ = align_table(rows)
    assert aligned[0].values == ("2", "0", "0", "0", "0", "30", "") and aligned[0].how == ""


def test_s2_header_spans_over_shifted_data_cells():
    """上海 2020: header cells 1,1,2,1 over data cells 1,2,1,1 — 本年增/减 sits in its header's span."""
    cols = get_template("2019").s2[2].columns  # 行政许可: prior, change, decisions
    header = [("prior", False), ("change", False), (None, True), ("decisions", False)]
    assert _s2_align(cols, ["893", "", "-183", "12854581"], header) == (["893", "-183", "12854581"], "", True)
    fee_cols = get_template("2019").s2[6].columns  # 行政事业性收费: prior, change
    fee_header = [("prior", False), (None, True), ("change", False), (None, True)]
    assert _s2_align(fee_cols, ["49", "", "-1", ""], fee_header) == (["49", "-1"], "", True)
    # No header: as many figures as columns, in order — but not sure.
    assert _s2_align(cols, ["893", "", "-183", "12854581"], None) == (
        ["893", "-183", "12854581"],
        "realigned",
        False,
    )


# --- rows ---------------------------------------------------------------------------------------------


def test_misprinted_label_is_placed_between_its_neighbours():
    values = cells(seed=11)
    labels = {"denied_prohibited_by_law": "（三）不予公开 2.其他法律行政止公开"}  # 洪泽 2023/2024
    r = read_bytes(page(values, s3="plain", labels=labels), "p.html")
    assert r.values == values
    row = [r.cells[f"s3.denied_prohibited_by_law.{c.key}"] for c in S3_COLUMNS]
    assert {c.how for c in row} == {"fuzzy_label"}
    assert all(c.sure for c in row), "unambiguous, in order, and the table adds up"
    assert any("印错" in n for n in r.notes)


def test_misprinted_label_on_a_row_that_does_not_add_up_is_unsure():
    values = cells(seed=11)
    values["s3.denied_prohibited_by_law.total"] = (values["s3.denied_prohibited_by_law.total"] or 0) + 5
    labels = {"denied_prohibited_by_law": "2.其他法律行政止公开"}
    r = read_bytes(page(values, s3="plain", labels=labels), "p.html")
    assert not r.cells["s3.denied_prohibited_by_law.total"].sure
    findings = judge(r)
    assert "reading.unsure" in {f["rule"] for f in findings}
    assert not any(
        "s3.denied_prohibited_by_law.total" in f["cells"] for f in findings if f["severity"] == "error"
    ), "an unsure cell is never part of an accusation"


def test_rows_without_labels_are_placed_by_order_where_the_count_fits():
    values = cells(seed=5)
    blank = ("unavailable_not_held", "unavailable_needs_creation", "unavailable_unclear")
    r = read_bytes(page(values, s3="plain", labels=dict.fromkeys(blank, "")), "p.html")
    assert r.values == values
    for key in blank:
        row = [r.cells[f"s3.{key}.{c.key}"] for c in S3_COLUMNS]
        assert {c.how for c in row} == {"order"} and not any(c.sure for c in row)
    assert any("模板行序" in n for n in r.notes)


def test_rows_are_not_placed_by_order_where_the_count_does_not_fit():
    def cand(label: str, n: int) -> Candidate:
        return Candidate(label, (str(n),) * 6 + (str(6 * n),))

    rows = [r.key for r in get_template("2021").s3]
    printed = [
        cand("（一）予以公开", 1),
        cand("", 2),
        cand("", 3),
        cand("1.属于国家秘密", 4),
    ]  # two rows, one gap
    placed = place(printed, rows, "2021", set())
    assert {c.key for c in placed} == {"granted", "denied_state_secret"}
    fits = [cand("（一）予以公开", 1), cand("", 2), cand("1.属于国家秘密", 4)]
    placed = place(fits, rows, "2021", set())
    assert {(c.key, c.placed) for c in placed} >= {("partially_granted", "order")}


def test_a_prose_line_is_never_taken_for_a_row():
    """No fuzzy score places a sentence: 受理政府信息公开申请 resembles two rows equally."""
    rows = [r.key for r in get_template("2021").s3]
    prose = Candidate("2023年全区受理政府信息公开申请", ("21",) * 7)
    assert place([prose], rows, "2021", set()) == []


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("2.其他法律行政止公开", "denied_prohibited_by_law"),
        ("5.属于三类内部事物信息", "denied_internal_affairs"),
        ("1.本机关不掌握相关政府信", "unavailable_not_held"),
        ("4.无正当理由大量反复 申请", "rejected_excessive"),
        ("８．属于行政查询事", "denied_inquiry"),
    ],
)
def test_misprints_score_their_row_first(label, key):
    from crawler.reading.labels import fuzzy_s3_row, norm

    hit = fuzzy_s3_row(norm(label), "2021")
    assert hit is not None and hit[0] == key and hit[2]
