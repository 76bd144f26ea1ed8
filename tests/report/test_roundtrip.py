"""Round trips: a table of cells, printed in every format portals publish, parses back to exactly itself.

Why property tests: real reports vary in size (township zeros to a city's thousands), template and year; a
parser that reads one sample right can still shift a column when a number gets wider or a row goes blank.
The generated tables are consistent, so any finding on a read-back is the parser's fault — and breaking one
cell must fire exactly the arithmetic rules that cell takes part in.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.template import S3_APPLICANT_COLUMNS, cell_keys, column_of, get_template
from monitor.judgement.report import parse_bytes
from testbed.render import ReportSpec, format_value, render, render_many
from tests.report.roundtrip_helpers import assert_read_back, filename, fixed_spec, report_specs

# Hypothesis tests that are also parametrized run their @given function inside the test: pytest-twisted
# wraps every test function, and wrapping the one function hypothesis shares between parameters nests it.
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PAGE_META = {"SiteName": "淄川区人民政府", "ColumnName": "政府信息公开年报", "PubDate": "2021-01-28 09:30"}

# (format, keyword arguments of the renderer): the direct renderers, HTML both bare and as a GBK portal page.
DIRECT = [
    ("html", {}),
    ("html", {"encoding": "gbk", "chrome": True, "meta": PAGE_META, "declared_charset": "gb2312"}),
    ("html", {"encoding": "gb18030", "chrome": True}),
    ("html", {"encoding": "gbk", "declared_charset": "utf-8"}),  # a page whose <meta charset> lies
    ("text", {}),
    ("docx", {}),
    ("xlsx", {}),
]


def parse_rendered(spec: ReportSpec, fmt: str, **kw):
    return parse_bytes(render(spec, fmt, **kw), filename(fmt))


@pytest.mark.parametrize(
    ("fmt", "kw"),
    DIRECT,
    ids=[f"{f}-{kw.get('encoding', 'utf-8')}-{kw.get('declared_charset', '')}" for f, kw in DIRECT],
)
def test_direct_formats_read_back_exactly(fmt, kw):
    @SETTINGS
    @given(spec=report_specs())
    def reads_back(spec):
        assert_read_back(parse_rendered(spec, fmt, **kw), spec, fmt)

    reads_back()


@SETTINGS
@given(spec=report_specs())
def test_page_meta_names_the_page_not_the_report(spec):
    """<meta name="ArticleTitle"> of a page whose body carries the title: the body's title wins."""
    meta = {**PAGE_META, "ArticleTitle": spec.full_title, "ContentSource": spec.agency}
    pr = parse_rendered(spec, "html", chrome=True, meta=meta)
    assert_read_back(pr, spec, "html")


# --- one broken cell ---------------------------------------------------------------------------------


def rules_a_cell_takes_part_in(template: str, key: str) -> set[str]:
    """The arithmetic rules of domain.md that read ``key``."""
    section, row, col = key.split(".")
    if section == "s4":
        return {"s4.total"}
    if section != "s3":
        return set()
    t = get_template(template)
    rules = {"s3.row_total"}
    if row == "results_total" or row in {r.key for r in t.s3_outcome_rows}:
        rules.add("s3.results_total")
    if row in ("new_received", "carried_over", "results_total", "carried_forward"):
        rules.add("s3.balance")
    return rules


@st.composite
def one_broken_cell(draw):
    spec = draw(report_specs())
    key = draw(st.sampled_from(cell_keys(spec.template)))
    delta = draw(st.integers(1, 9))
    value = spec.cells[key]
    broken = round(value + delta, 1) if isinstance(value, float) else value + delta
    return spec, key, replace(spec, cells={**spec.cells, key: broken})


@pytest.mark.parametrize("fmt", ["html", "text", "docx"])
def test_one_changed_cell_fires_exactly_its_rules(fmt):
    @SETTINGS
    @given(case=one_broken_cell())
    def fires_its_rules(case):
        check_broken_cell(fmt, *case)

    fires_its_rules()


def check_broken_cell(fmt: str, spec: ReportSpec, key: str, broken: ReportSpec) -> None:
    pr = parse_rendered(broken, fmt)
    assert pr.cells[key] == broken.cells[key]
    errors = [f for f in pr.findings if f["severity"] == "error"]
    assert {f["rule"] for f in errors} == rules_a_cell_takes_part_in(spec.template, key)
    for f in errors:
        assert key in f["cells"], f


# --- cells printed irregularly ------------------------------------------------------------------------


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in text)


def variants(template: str, key: str, value) -> list[tuple[str, object, str | None]]:
    """(printed text, value it must read as, the cell rule it must raise) for one cell."""
    col = column_of(template, key)
    out: list[tuple[str, object, str | None]] = [
        ("——", None, "cell.not_number"),
        ("/", None, "cell.not_number"),
    ]
    out.append(("无", None, "cell.not_number"))
    if col.money:
        out.append((f"{format_value(value)}万元", value, "cell.format"))
        out.append((f"{round(value * 10000)}元", value, "cell.format"))
    elif col.signed:
        out.append((f"减{-value}" if value < 0 else f"+{value}", value, None))
    else:
        out.append((f"0{value}", value, "cell.format"))
        out.append((fullwidth(str(value)), value, "cell.format"))
        out.append((f"{value}件", value, "cell.format"))
    return out


@pytest.mark.parametrize("fmt", ["html", "text", "docx"])
def test_irregular_cells_read_with_the_right_finding(fmt):
    @SETTINGS
    @given(spec=report_specs(), data=st.data())
    def reads_with_finding(spec, data):
        check_irregular_cell(fmt, spec, data)

    reads_with_finding()


def check_irregular_cell(fmt: str, spec: ReportSpec, data) -> None:
    key = data.draw(st.sampled_from(cell_keys(spec.template)))
    text, value, rule = data.draw(st.sampled_from(variants(spec.template, key, spec.cells[key])))
    pr = parse_rendered(replace(spec, cell_text={key: text}), fmt)
    got = pr.cells[key]
    if value is None:
        assert got is None
    else:
        assert got == pytest.approx(value)
    on_cell = {f["rule"] for f in pr.findings if key in f["cells"] and f["rule"].startswith("cell.")}
    assert on_cell == ({rule} if rule else set())
    assert [f for f in pr.findings if f["severity"] == "error"] == []
    # Every other cell is untouched.
    assert {k: v for k, v in pr.cells.items() if k != key} == {
        k: v for k, v in spec.cells.items() if k != key
    }


@pytest.mark.parametrize("fmt", ["html", "docx", "xlsx"])
def test_blank_cells_keep_their_place_in_a_grid(fmt):
    """Any set of blank cells (whole columns left empty happen): each reads as null where it was, and is
    flagged; no other cell moves and no arithmetic error is claimed on unknowns."""

    @SETTINGS
    @given(spec=report_specs(), data=st.data())
    def blanks_stay_put(spec, data):
        keys = data.draw(st.sets(st.sampled_from(cell_keys(spec.template)), min_size=1, max_size=15))
        pr = parse_rendered(replace(spec, cells={**spec.cells, **dict.fromkeys(keys)}), fmt)
        assert {k for k, v in pr.cells.items() if v is None} == keys
        assert {k: v for k, v in pr.cells.items() if k not in keys} == {
            k: v for k, v in spec.cells.items() if k not in keys
        }
        flagged = {k for f in pr.findings if f["rule"] == "cell.blank" for k in f["cells"]}
        assert flagged == keys
        assert [f for f in pr.findings if f["severity"] == "error"] == []

    blanks_stay_put()


def test_xlsx_row_ending_blank():
    """A blank 总计 at a sheet row's end keeps its place (the numbers before it do not shift)."""
    spec = fixed_spec("2021", 2)
    key = "s3.granted.total"
    pr = parse_rendered(replace(spec, cells={**spec.cells, key: None}), "xlsx")
    assert {k for k, v in pr.cells.items() if v is None} == {key}


def test_xlsx_row_left_blank():
    """A sheet row with only its label filled is still a table row (not a line of text)."""
    spec = fixed_spec("2019", 1)
    keys = {f"s3.granted.{c}" for c in (*S3_APPLICANT_COLUMNS, "total")}
    pr = parse_rendered(replace(spec, cells={**spec.cells, **dict.fromkeys(keys)}), "xlsx")
    assert {k for k, v in pr.cells.items() if v is None} == keys
    assert not any(f["rule"] == "template.missing_row" for f in pr.findings)


@pytest.mark.parametrize("fmt", ["html", "docx", "xlsx"])
def test_blank_cell_is_null_and_flagged(fmt):
    """A grid keeps an empty cell's place (plain text cannot: its empty line is indistinguishable)."""
    spec = fixed_spec("2021", 3)
    key = f"s3.granted.{S3_APPLICANT_COLUMNS[0]}"
    pr = parse_rendered(replace(spec, cells={**spec.cells, key: None}), fmt)
    assert pr.cells[key] is None
    assert any(f["rule"] == "cell.blank" and key in f["cells"] for f in pr.findings)
    assert [f for f in pr.findings if f["severity"] == "error"] == []


@pytest.mark.parametrize("fmt", ["html", "text", "docx"])
@pytest.mark.parametrize("numeral", ["五", "六"])
def test_omitted_section_is_reported(fmt, numeral):
    spec = replace(fixed_spec("2019", 5), omit_sections=(numeral,))
    pr = parse_rendered(spec, fmt)
    assert pr.cells == spec.cells
    missing = [f for f in pr.findings if f["rule"] == "template.missing_section"]
    assert len(missing) == 1 and numeral in missing[0]["message"]


def test_fullwidth_helper_changes_only_digits():
    assert fullwidth("12件") == "１２件"
    assert unicodedata.normalize("NFKC", fullwidth("305")) == "305"


# --- formats made by LibreOffice ---------------------------------------------------------------------

LIBREOFFICE_FORMATS = ("doc", "wps", "pdf", "xls")
LIBREOFFICE_CASES = [("2019", 11, 2020), ("2021", 12, 2023)]


@pytest.fixture(scope="module")
def converted_reports():
    """Every (format, case) rendered with one soffice run per target format (start-up is the cost)."""
    from crawler.reading.documents.office import soffice_path

    if soffice_path() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    items = [
        (fixed_spec(t, seed, year=year, agency="同江市工业信息化科技局"), fmt)
        for fmt in LIBREOFFICE_FORMATS
        for t, seed, year in LIBREOFFICE_CASES
    ]
    return list(zip(items, render_many(items), strict=True))


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_formats_read_back_exactly(converted_reports):
    from monitor.judgement.report import parse_many

    parsed = parse_many([(filename(fmt), data) for (_, fmt), data in converted_reports])
    for ((spec, fmt), _), pr in zip(converted_reports, parsed, strict=True):
        assert_read_back(pr, spec, fmt)


# --- the real samples, reprinted ---------------------------------------------------------------------

SAMPLE_FILES = (
    "zichuan_zsj_2020.txt",
    "linzi_jixia_2020.txt",
    "tongjiang_gxj_2020.txt",
    "huaian_city_2024.pdf",
)


@functools.cache
def parsed_sample(path: Path):
    """Each sample is parsed once for all formats (the PDF takes a while)."""
    return parse_bytes(path.read_bytes(), path.name)


@pytest.mark.parametrize("fmt", ["html", "text", "docx", "xlsx"])
@pytest.mark.parametrize("sample", SAMPLE_FILES)
def test_real_samples_reprinted_in_every_format_read_the_same(samples_dir, sample, fmt):
    """A real report's cells (irregular ones printed as the original printed them) survive every format."""
    original = parsed_sample(samples_dir / sample)
    assert original.error is None and original.template is not None
    irregular = {k for f in original.findings if f["rule"].startswith("cell.") for k in f["cells"]}
    spec = ReportSpec(
        template=original.template,
        year=original.year,
        agency=original.agency,
        cells=original.cells,
        cell_text={k: original.raw[k] for k in irregular},
    )
    again = parse_rendered(spec, fmt)
    assert again.error is None
    assert (again.template, again.year, again.agency) == (original.template, original.year, original.agency)
    assert again.cells == original.cells
    assert sorted(
        (f["rule"], f["cells"]) for f in again.findings if f["rule"].startswith(("cell.", "s3.", "s4."))
    ) == sorted(
        (f["rule"], f["cells"]) for f in original.findings if f["rule"].startswith(("cell.", "s3.", "s4."))
    )
