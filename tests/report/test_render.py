"""The renderers print what real reports print: every label of the template, merged cells where the national
forms merge them, the right encoding, escaped text — checked on the documents themselves, not via the parser."""

from __future__ import annotations

import io
from dataclasses import replace

import lxml.html
import pytest

from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, SECTIONS, get_template
from testbed.render import (
    S3_RESULTS,
    grid_slots,
    html_body,
    render,
    render_docx,
    render_html,
    render_text,
    render_xlsx,
    report_blocks,
)
from tests.report.roundtrip_helpers import fixed_spec

TEMPLATES = ("2019", "2021")


def every_label(template: str) -> list[str]:
    t = get_template(template)
    labels = [i.label for i in t.s2] + [c.label for i in t.s2 for c in i.columns] + [i.article for i in t.s2]
    labels += [r.label for r in t.s3] + [r.group for r in t.s3 if r.group] + [c.label for c in S3_COLUMNS]
    labels += [c.label for c in S4_COLUMNS] + [g.label.split("·")[-1] for g in S4_GROUPS]
    labels += [f"{n}、{name}" for n, name in SECTIONS]
    return labels


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("fmt", ["html", "text"])
def test_every_template_label_is_printed(template, fmt):
    spec = fixed_spec(template, 1)
    text = render(spec, fmt).decode("utf-8")
    for label in every_label(template):
        assert label in text, label


def html_tables(data: bytes, encoding: str = "utf-8") -> list:
    return lxml.html.document_fromstring(data.decode(encoding)).findall(".//table")


def occupied_widths(table) -> list[int]:
    """The grid width each <tr> covers, counting cells that span into it from rows above."""
    taken: set[tuple[int, int]] = set()
    for r, tr in enumerate(table.findall(".//tr")):
        col = 0
        for td in tr.findall("td"):
            while (r, col) in taken:
                col += 1
            span, rows = int(td.get("colspan", 1)), int(td.get("rowspan", 1))
            taken |= {(r + dr, c) for dr in range(rows) for c in range(col, col + span)}
            col += span
    rows = {r for r, _ in taken}
    return [max(c for rr, c in taken if rr == r) + 1 for r in sorted(rows)]


@pytest.mark.parametrize("template", TEMPLATES)
def test_html_tables_span_like_the_national_form(template):
    t = get_template(template)
    s2, s3, s4 = html_tables(render_html(fixed_spec(template, 2)))
    assert set(occupied_widths(s2)) == {1 + max(len(i.columns) for i in t.s2)}
    assert set(occupied_widths(s3)) == {3 + len(S3_COLUMNS)}
    assert set(occupied_widths(s4)) == {len(S4_GROUPS) * len(S4_COLUMNS)}
    spans = {td.text_content(): int(td.get("rowspan", 1)) for td in s3.iter("td")}
    outcome_rows = len(t.s3_outcome_rows) + 1  # and （七）总计
    assert spans[S3_RESULTS] == outcome_rows
    for group in {r.group for r in t.s3 if r.group}:
        assert spans[group] == sum(1 for r in t.s3 if r.group == group)


@pytest.mark.parametrize("template", TEMPLATES)
def test_grid_slots_cover_every_row_exactly(template):
    for block in report_blocks(fixed_spec(template, 3)):
        if hasattr(block, "width"):
            for row in grid_slots(block):
                assert sum(cell.colspan for cell, _, _ in row) == block.width
                assert [col for _, _, col in row] == sorted(col for _, _, col in row)


def test_html_escapes_untrusted_text_and_keeps_the_encoding():
    evil = "<script>alert(1)</script>局"
    spec = replace(fixed_spec("2021", 4), agency=evil, cell_text={"s3.granted.total": "<b>1</b>"})
    meta = {"ArticleTitle": 'x"><script>', "PubDate": "2022-01-20 09:30"}
    data = render_html(spec, encoding="gbk", chrome=True, meta=meta, declared_charset="gb2312")
    text = data.decode("gbk")
    assert "<script>" not in text and "<b>1</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;局" in text
    assert "charset=gb2312" in text
    assert '<meta name="PubDate" content="2022-01-20 09:30">' in text
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_chrome_wraps_the_report_in_portal_navigation():
    spec = fixed_spec("2019", 5)
    bare, page = render_html(spec), render_html(spec, chrome=True, meta={"SiteName": "淄川区人民政府"})
    assert "当前位置" not in bare.decode() and "网站标识码" not in bare.decode()
    tree = lxml.html.document_fromstring(page.decode())
    assert tree.findtext(".//h1") == spec.full_title
    assert "当前位置" in page.decode() and "网站标识码" in page.decode() and "淄川区人民政府" in page.decode()


def test_text_prints_one_cell_per_line_like_the_samples():
    spec = fixed_spec("2019", 6)
    lines = render_text(spec).decode("utf-8").splitlines()
    assert lines[:2] == [spec.agency, spec.full_title.removeprefix(spec.agency)]
    i = lines.index("\t（一）予以公开")
    assert lines[i - 1] == "\t" + S3_RESULTS
    assert lines[i + 1 : i + 8] == ["\t" + str(spec.cells[f"s3.granted.{c.key}"]) for c in S3_COLUMNS]
    j = lines.index("\t2.其他法律行政法规禁止公开")
    assert lines[j - 2 : j] == ["\t", "\t"]  # continuations of 三、本年度办理结果 and （三）不予公开


def test_cell_text_and_blanks_are_printed_as_given():
    spec = fixed_spec("2021", 7)
    spec = replace(
        spec, cells={**spec.cells, "s4.review.total": None}, cell_text={"s2.fees.amount": "26.8万元"}
    )
    s2, _, s4 = html_tables(render_html(spec))
    assert "26.8万元" in s2.text_content()
    numbers = [td.text_content().strip() for td in s4.findall(".//tr")[-1].findall("td")]
    assert numbers[4] == "" and numbers[0] == str(spec.cells["s4.review.upheld"])


@pytest.mark.parametrize("numeral", ["五", "六", "四"])
def test_omitted_section_is_not_printed(numeral):
    spec = replace(fixed_spec("2021", 8), omit_sections=(numeral,))
    text = render_text(spec).decode()
    name = dict(SECTIONS)[numeral]
    assert f"{numeral}、{name}" not in text
    if numeral == "四":
        assert "行政复议" not in text  # neither the table nor the prose about it


def test_default_prose_states_the_table_figures():
    spec = fixed_spec("2021", 9)
    text = render_text(spec).decode()
    assert f"新收政府信息公开申请{spec.cells['s3.new_received.total']}件" in text
    assert f"上年结转政府信息公开申请{spec.cells['s3.carried_over.total']}件" in text
    assert f"行政复议{spec.cells['s4.review.total']}件" in text
    assert f"统计期限自{spec.year}年1月1日至{spec.year}年12月31日" in text


def test_given_prose_and_title_replace_the_defaults():
    spec = replace(
        fixed_spec("2019", 10), prose="今年无事。\n第二段。", title="关于2020年度政府信息公开情况的报告"
    )
    text = render_text(spec).decode()
    assert "今年无事。\n第二段。" in text and "（二）申请办理" not in text
    assert text.splitlines()[0] == "关于2020年度政府信息公开情况的报告"


@pytest.mark.parametrize("template", TEMPLATES)
def test_docx_merges_cells_as_word_does(template):
    import docx

    spec = fixed_spec(template, 11)
    d = docx.Document(io.BytesIO(render_docx(spec)))
    assert d.core_properties.title == spec.full_title
    assert len(d.tables) == 3
    s3 = d.tables[1]._tbl
    restarts = s3.xpath(".//w:vMerge[@w:val='restart']")
    groups = {r.group for r in get_template(template).s3 if r.group}
    # 勾稽 note, 自然人, 总计, 三、本年度办理结果 and one per group label.
    assert len(restarts) == 4 + len(groups)
    assert s3.xpath(".//w:gridSpan[@w:val='3']") and s3.xpath("count(.//w:tr)") == 3 + len(
        get_template(template).s3
    )
    first_row = [c.text for c in d.tables[2].rows[-1].cells]
    assert first_row == [str(spec.cells[f"s4.{g.key}.{c.key}"]) for g in S4_GROUPS for c in S4_COLUMNS]


def test_xlsx_stores_numbers_and_merged_ranges():
    import openpyxl

    spec = fixed_spec("2021", 12)
    ws = openpyxl.load_workbook(io.BytesIO(render_xlsx(spec))).active
    assert ws["A1"].value == spec.full_title
    values = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    label = values["（一）予以公开"]
    numbers = [ws.cell(row=label.row, column=label.column + 2 + i).value for i in range(len(S3_COLUMNS))]
    assert numbers == [spec.cells[f"s3.granted.{c.key}"] for c in S3_COLUMNS]
    assert all(isinstance(n, int) for n in numbers)
    results = values[S3_RESULTS]
    ranges = {str(r) for r in ws.merged_cells.ranges}
    outcome_rows = len(get_template("2021").s3_outcome_rows) + 1
    assert f"{results.coordinate}:{results.column_letter}{results.row + outcome_rows - 1}" in ranges


def test_bad_specs_are_refused_with_a_clear_error():
    spec = fixed_spec("2019", 13)
    with pytest.raises(ValueError, match="s3.other_other.total"):
        render_text(replace(spec, cells={**spec.cells, "s3.other_other.total": 1}))
    with pytest.raises(ValueError, match="count"):
        render_text(replace(spec, cells={**spec.cells, "s3.granted.total": 1.5}))
    with pytest.raises(ValueError, match="unknown format"):
        render(spec, "odt")


def test_bare_page_wraps_exactly_the_body_fragment():
    """The sample-portal simulator embeds ``html_body`` (or cuts it out of the bare page) in its own pages."""
    spec = fixed_spec("2019", 14)
    page = render_html(spec).decode()
    body = html_body(spec)
    assert f'<div class="content">\n{body}\n</div>\n</body>' in page
    assert body.count("<table") == 3 and spec.full_title in body


def test_office_files_render_to_the_same_bytes_every_time():
    """A re-crawl of a page that did not change must find the bytes it archived: ZIP entry times and the
    workbook's saved-at date would otherwise make each rendering (two seconds apart) a new version."""
    import time

    spec = fixed_spec("2021", 1)
    first = render_docx(spec), render_xlsx(spec)
    time.sleep(2.1)  # ZIP times have a resolution of two seconds
    assert (render_docx(spec), render_xlsx(spec)) == first
