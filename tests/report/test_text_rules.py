"""Prose against tables: the same quantity only, never a number near similar words."""

from monitor.judgement.text import text_findings

CELLS = {
    "s3.new_received.total": 3119,
    "s3.carried_over.total": 34,
    "s4.review.total": 351,
    "s4.litigation_direct.total": 26,
    "s4.litigation_after_review.total": 20,
}


def run(prose, cells=CELLS):
    return text_findings(prose, cells, lambda k: k)


def test_agreeing_prose_gives_nothing():
    prose = (
        "2024年，全市共受理政府信息公开申请 3119 件，答复 3050 件（含上年度结转申请 34 件）。"
        "政府信息公开行政复议 351 件，其中结果维持 72 件；政府信息公开行政诉讼 46 件。"
    )
    assert run(prose) == []


def test_contradicting_prose_names_the_cell():
    f = run("2024年共受理政府信息公开申请3000件。")
    assert len(f) == 1
    assert f[0]["rule"] == "text.table_mismatch" and f[0]["cells"] == ["s3.new_received.total"]
    assert "3000" in f[0]["message"] and "3119" in f[0]["message"]


def test_number_before_the_noun():
    assert run("2020年共受理1件政府信息公开申请，为自然人提交。", {"s3.new_received.total": 1}) == []
    assert len(run("2020年共受理2件政府信息公开申请。", {"s3.new_received.total": 1})) == 1


def test_other_quantities_near_the_same_words_do_not_match():
    prose = (
        "全年共受理行政许可申请 500 件。报送规范性文件备案审查 12 件。"
        "收到人大代表建议 8 件。行政复议、行政诉讼案件0件。"
    )
    assert run(prose) == []


def test_none_received_is_zero():
    assert len(run("本年度未收到政府信息公开申请。")) == 1
    assert run("本年度未收到政府信息公开申请。", {"s3.new_received.total": 0}) == []


def test_blank_table_cell_is_not_judged():
    assert run("共受理政府信息公开申请5件。", {"s3.new_received.total": None}) == []
