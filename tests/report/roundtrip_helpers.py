"""What the round-trip tests share: generated report specs and the checks on a parsed report."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from domain.template import TEMPLATES
from testbed.render import EXTENSIONS, ReportSpec
from testbed.synthetic import consistent_cells

PLACES = ("淄川区", "临淄区", "同江市", "淮安市", "博山区", "沂源县", "周村区", "张店区")
UNITS = (
    "招商局",
    "人民政府",
    "工业信息化科技局",
    "人民政府稷下街道办事处",
    "市场监督管理局",
    "教育和体育局",
    "自然资源局",
    "人民政府办公室",
)
# Findings a consistent report may still carry: they judge plausibility (规章 of a county bureau …), not
# whether the document was read right.
TOLERATED = ("plausibility.regulations", "plausibility.s2_")


def years_for(template: str) -> st.SearchStrategy[int]:
    return st.integers(2019, 2020) if template == "2019" else st.integers(2021, 2025)


@st.composite
def report_specs(draw, templates: tuple[str, ...] = TEMPLATES) -> ReportSpec:
    """A consistent report of a random agency: small township numbers up to city-sized ones."""
    template = draw(st.sampled_from(templates))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from((2, 20, 300, 20000)))
    agency = draw(st.sampled_from(PLACES)) + draw(st.sampled_from(UNITS))
    return ReportSpec(
        template=template,
        year=draw(years_for(template)),
        agency=agency,
        cells=consistent_cells(template, random.Random(seed), scale=scale),
    )


def fixed_spec(
    template: str, seed: int, *, year: int | None = None, agency: str = "淄川区招商局"
) -> ReportSpec:
    rng = random.Random(seed)
    return ReportSpec(
        template=template,
        year=year or (2020 if template == "2019" else 2022),
        agency=agency,
        cells=consistent_cells(template, rng, scale=20),
    )


def filename(fmt: str) -> str:
    return f"report.{EXTENSIONS[fmt]}"


def cell_differences(expected: dict, got: dict) -> dict[str, tuple]:
    """Cells whose parsed value differs from the printed one (a float money cell equal to an int is equal)."""
    return {
        k: (v, got.get(k))
        for k, v in expected.items()
        if got.get(k) != v or (v is None) != (got.get(k) is None)
    }


def assert_read_back(pr, spec: ReportSpec, fmt: str) -> None:
    """The parsed report is exactly the rendered one, and a consistent table raises no finding."""
    assert pr.error is None, pr.error
    assert pr.format == fmt
    assert pr.template == spec.template
    assert pr.year == spec.year
    assert pr.agency == spec.agency
    assert pr.title == spec.full_title
    assert set(pr.cells) == set(spec.cells)
    assert cell_differences(spec.cells, pr.cells) == {}
    unexpected = [f for f in pr.findings if not f["rule"].startswith(TOLERATED)]
    assert unexpected == []
