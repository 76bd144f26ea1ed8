"""The single-report rules on cells: consistent tables pass, one broken cell breaks exactly its rules."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.reading.model import CellReading as CellValue
from crawler.reading.model import Reading
from domain.template import S3_COLUMNS, cell_keys, get_template
from monitor.judgement import judge
from monitor.judgement.arithmetic import arithmetic_findings
from monitor.judgement.cells import cell_findings
from testbed.synthetic import consistent_cells


def check_report(
    *, template, year, readings, sections_present, missing, prose, period=None, prose_years=None
):
    """The single-report rules over a reading made of these parts."""
    reading = Reading(
        template=template,
        year=year,
        cells=dict(readings),
        sections_present=sections_present,
        missing=missing,
        prose=prose,
        period=period,
        prose_years=prose_years or [],
    )
    return judge(reading)


BALANCE_ROWS = {"new_received", "carried_over", "results_total", "carried_forward"}


def expected_rules(template: str, key: str) -> set[str]:
    """Which arithmetic rules a cell takes part in, written out from domain.md independently of the code."""
    section, row, col = key.split(".")
    if section == "s2":
        return set()
    if section == "s4":
        return {"s4.total"}
    outcome = {r.key for r in get_template(template).s3_outcome_rows}
    rules = {"s3.row_total"}
    if row in outcome or row == "results_total":
        rules.add("s3.results_total")
    if row in BALANCE_ROWS:
        rules.add("s3.balance")
    return rules


@settings(max_examples=300, deadline=None)
@given(
    template=st.sampled_from(["2019", "2021"]),
    seed=st.integers(0, 2**32 - 1),
    pick=st.integers(0, 10_000),
    delta=st.integers(1, 50),
)
def test_one_broken_cell_breaks_exactly_its_rules(template, seed, pick, delta):
    cells = consistent_cells(template, random.Random(seed))
    assert arithmetic_findings(template, cells) == []
    key = cell_keys(template)[pick % len(cell_keys(template))]
    broken = dict(cells)
    broken[key] = cells[key] + delta
    findings = arithmetic_findings(template, broken)
    assert {f["rule"] for f in findings} == expected_rules(template, key)
    for f in findings:
        assert key in f["cells"], f
    # and each rule fires once: one row, one column, one group
    assert len(findings) == len(expected_rules(template, key))


def test_contract_example_row_total():
    cells = consistent_cells("2019", random.Random(1))
    for c in S3_COLUMNS:
        cells[f"s3.granted.{c.key}"] = 0
    cells["s3.granted.natural_person"] = 5
    f = [x for x in arithmetic_findings("2019", cells) if x["rule"] == "s3.row_total"]
    assert f == [
        {
            "rule": "s3.row_total",
            "severity": "error",
            "cells": ["s3.granted.natural_person", "s3.granted.total"],
            "message": "（一）予以公开：总计 0，而六类申请人之和为 5",
            "data": {"total": 0, "sum": 5},
        }
    ]


def test_a_failed_sum_on_an_unsure_cell_is_a_warning_that_names_the_rule():
    """A misread must announce itself: the same failure, on a cell read by order, accuses nothing."""
    cells = consistent_cells("2021", random.Random(1))
    cells["s3.granted.natural_person"] += 5
    sure = arithmetic_findings("2021", cells)
    assert {f["rule"] for f in sure} == {"s3.row_total", "s3.results_total"}
    unsure = arithmetic_findings("2021", cells, frozenset({"s3.granted.natural_person"}))
    assert {f["rule"] for f in unsure} == {"reading.unsure"}
    assert {f["data"]["rule_of"] for f in unsure} == {"s3.row_total", "s3.results_total"}
    assert all(f["severity"] == "warning" for f in unsure)
    # a cell elsewhere being unsure changes nothing about sums it is not part of
    other = arithmetic_findings("2021", cells, frozenset({"s4.review.total"}))
    assert [f["rule"] for f in other] == [f["rule"] for f in sure]


def test_unknown_term_is_not_judged_but_reported_blank():
    cells = consistent_cells("2021", random.Random(2))
    readings = {k: CellValue(v) for k, v in cells.items()}
    readings["s3.granted.research"] = CellValue(None, "", "blank", "empty cell")
    readings["s3.granted.total"] = CellValue(cells["s3.granted.total"] + 7)  # would be wrong if judged
    values = {k: r.value for k, r in readings.items()}
    rules = {f["rule"] for f in arithmetic_findings("2021", values)}
    assert "s3.row_total" not in rules  # the granted row has an unknown term
    assert "s3.results_total" in rules  # the total column is fully known and now off by 7
    blank = [f for f in cell_findings("2021", readings) if f["rule"] == "cell.blank"]
    assert blank and blank[0]["cells"] == ["s3.granted.research"] and blank[0]["severity"] == "warning"


def test_negative_count_is_an_error_but_a_signed_change_is_not():
    cells = consistent_cells("2019", random.Random(3))
    readings = {k: CellValue(v) for k, v in cells.items()}
    readings["s2.licensing.change"] = CellValue(-12)
    readings["s4.review.pending"] = CellValue(-1)
    neg = [f for f in cell_findings("2019", readings) if f["rule"] == "cell.negative"]
    assert [f["cells"] for f in neg] == [["s4.review.pending"]]
    assert neg[0]["severity"] == "error"


def test_outdated_template_and_missing_section():
    cells = consistent_cells("2019", random.Random(4))
    readings = {k: CellValue(v) for k, v in cells.items()}
    findings = check_report(
        template="2019",
        year=2022,
        readings=readings,
        sections_present=["一", "二", "三", "四", "六"],
        missing=[],
        prose="",
    )
    rules = [f["rule"] for f in findings]
    assert "template.outdated" in rules
    assert [f["message"] for f in findings if f["rule"] == "template.missing_section"] == [
        "缺少第五部分「存在的主要问题及改进情况」"
    ]
    ok = check_report(
        template="2019",
        year=2020,
        readings=readings,
        sections_present=list("一二三四五六"),
        missing=[],
        prose="",
    )
    assert ok == []
