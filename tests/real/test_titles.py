"""Year and agency from any title order, from the statistical period, from the prose where no title exists."""

from __future__ import annotations

import pytest

from crawler.reading.documents.model import Document, Paragraph
from crawler.reading.metadata import read_metadata
from domain.titles import agency_from_title, find_title, year_from_title


@pytest.mark.parametrize(
    ("title", "year", "agency"),
    [
        ("2019年上海市人民政府办公厅政府信息公开工作年度报告", 2019, "上海市人民政府办公厅"),
        ("2020年上海市政府信息公开工作年度报告", 2020, "上海市"),
        ("2024 年上海市科委政府信息公开工作年度报告", 2024, "上海市科委"),
        ("淄川区招商局2022年政府信息公开工作年度报告", 2022, "淄川区招商局"),
        ("平潭综合实验区2021年度政府信息公开工作年度报告", 2021, "平潭综合实验区"),
        ("关于2022年度政府信息公开情况的报告", 2022, None),
        ("正文2024年上海市科委政府信息公开工作年度报告", 2024, "上海市科委"),
    ],
)
def test_titles_in_either_order(title, year, agency):
    squeezed = title.replace(" ", "")
    found = find_title(squeezed)
    assert found is not None and (found.year, found.agency) == (year, agency)
    assert year_from_title(title) == year
    assert agency_from_title(title) == agency


def _doc(*lines: str) -> Document:
    return Document(format="text", blocks=[Paragraph(line) for line in lines])


def test_the_year_first_title_of_a_document():
    md = read_metadata(
        _doc("2019年上海市人民政府办公厅政府信息公开工作年度报告", "一、总体情况", "2019年，本市…")
    )
    assert (md.year, md.year_source, md.agency) == (2019, "title", "上海市人民政府办公厅")


def test_no_title_the_period_says_the_year():
    md = read_metadata(
        _doc(
            "本年度报告中所列数据统计期限从2020年1月1日到12月31日止。",  # the end date without its year
            "一、总体情况",
            "本年度，市政府办公厅……",
        )
    )
    assert md.title is None
    assert (md.year, md.year_source, md.period) == (2020, "period", ("2020-01-01", "2020-12-31"))


def test_no_title_no_period_the_prose_says_the_year_and_who_compiled_it():
    md = read_metadata(
        _doc(
            "本报告由淮安市洪泽区人民政府办公室根据《中华人民共和国政府信息公开条例》要求编制。",
            "一、总体情况",
            "2023年，洪泽区人民政府坚持……2023年全区受理政府信息公开申请21件。2024年1月起将……",
        )
    )
    assert (md.year, md.year_source) == (2023, "prose")
    assert md.agency == "淮安市洪泽区人民政府办公室"


def test_prose_that_names_two_years_as_often_gives_no_year():
    md = read_metadata(_doc("一、总体情况", "2022年完成……2023年计划……"))
    assert md.year is None
