"""Reading printed cells the way real reports print them (contract: "Values")."""

import pytest

from crawler.reading.values import looks_like_value, parse_cell


@pytest.mark.parametrize(
    ("text", "money", "value", "note"),
    [
        ("0", False, 0, None),
        ("12", False, 12, None),
        ("", False, None, "blank"),
        ("  \u3000 ", False, None, "blank"),
        ("——", False, None, "not_number"),
        ("/", False, None, "not_number"),
        ("无", False, None, "not_number"),
        ("-", False, None, "not_number"),
        ("00", False, 0, "format"),
        ("０３", False, 3, "format"),
        ("１２", False, 12, "format"),
        ("减1237", False, -1237, None),
        ("+2", False, 2, None),
        ("增3", False, 3, None),
        ("-5", False, -5, None),
        ("26.8万元", True, 26.8, "format"),
        ("1.795（万元）", True, 1.795, "format"),
        ("251000元", True, 25.1, "format"),
        ("3亿元", True, 30000.0, "format"),
        ("96171.6", True, 96171.6, None),
        ("0", True, 0.0, None),
        ("5件", False, 5, "format"),
        ("1,234", False, 1234, "format"),
        ("3.5", False, None, "not_number"),
        ("约5", False, None, "not_number"),
        ("5 件", False, 5, "format"),
    ],
)
def test_parse_cell(text, money, value, note):
    c = parse_cell(text, money=money)
    assert c.value == value
    assert type(c.value) is type(value)
    assert c.note == note


def test_money_is_float_and_counts_are_int():
    assert isinstance(parse_cell("3", money=True).value, float)
    assert isinstance(parse_cell("3").value, int)


def test_looks_like_value():
    assert looks_like_value("12") and looks_like_value("——") and looks_like_value("")
    assert not looks_like_value("规章") and not looks_like_value("结果维持")
