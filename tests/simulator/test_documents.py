"""Every report the portals serve parses back (``parse_bytes``) to the cells the scenario intended, with
the template, year and agency it claims, and exactly the single-report defects planted in it."""

from __future__ import annotations

import pytest

from monitor.judgement.report import ParsedReport, parse_bytes, parse_many
from testbed.simulator.content import expected_cells
from testbed.simulator.expected import DEFECT_RULES
from testbed.simulator.scenario import CORRUPT, LIBREOFFICE_FORMATS, ReportEntry
from tests.simulator.conftest import fetch

SINGLE_REPORT_RULES = {"s3.row_total", "cell.not_number", "template.outdated"}
ERROR_RULES = {"s3.row_total", "s3.results_total", "s3.balance", "s4.total", "cell.negative"}


def served_document(sim, r: ReportEntry) -> tuple[bytes, str]:  # noqa: ANN001
    """The bytes holding the report's tables, fetched over HTTP, and a file name for them."""
    portal = sim.scenario.portal_of(r).id
    site = sim.sites[portal]
    base = sim.base_url(portal)
    if r.fmt == "html":
        path = site.article_path(r)
    else:
        path = site.attachment_path(r) if hasattr(site, "attachment_path") else site.article_path(r)
    if sim.hosts[portal].state != "ok":  # a blocked portal still holds its reports behind the captcha
        return site.handle("GET", path, {}).body, path.rsplit("/", 1)[-1]
    for _ in range(3):  # the retry page fails twice first
        got = fetch(base + path)
        if got.status == 200:
            return got.body, path.rsplit("/", 1)[-1]
    raise AssertionError(f"{path}: {got.status}")


def check_parsed(sim, r: ReportEntry, parsed: ParsedReport) -> None:  # noqa: ANN001
    label = f"{r.agency_id or r.agency_name} {r.year} {r.fmt}"
    if CORRUPT in r.defects:
        assert parsed.error, label
        return
    assert parsed.error is None, f"{label}: {parsed.error}"
    assert parsed.format == r.fmt, label
    assert (parsed.template, parsed.year, parsed.agency) == (
        r.template,
        r.year,
        sim.scenario.printed_name(r),
    ), label
    want = expected_cells(sim.scenario, r)
    wrong = {k: (want[k], parsed.cells.get(k)) for k in want if parsed.cells.get(k) != want[k]}
    assert not wrong, f"{label}: {dict(list(wrong.items())[:5])}"
    rules = {f["rule"] for f in parsed.findings}
    planted = set().union(*(DEFECT_RULES.get(d, set()) for d in r.defects)) & SINGLE_REPORT_RULES
    assert planted <= rules, label
    assert rules & SINGLE_REPORT_RULES == planted, label  # nothing planted, nothing found
    if "s3.row_total" not in planted:
        assert not rules & ERROR_RULES, f"{label}: {rules}"


def reports(sim, libreoffice: bool) -> list[ReportEntry]:  # noqa: ANN001
    return [r for r in sim.scenario.reports if (r.fmt in LIBREOFFICE_FORMATS) == libreoffice]


def test_html_docx_xlsx_reports_parse_back(sim):
    checked = reports(sim, libreoffice=False)
    assert {r.fmt for r in checked} == {"html", "docx", "xlsx"}
    for r in checked:
        data, name = served_document(sim, r)
        check_parsed(sim, r, parse_bytes(data, name))


@pytest.fixture(scope="module")
def libreoffice_parsed(sim) -> dict[str, list[tuple[ReportEntry, ParsedReport]]]:  # noqa: ANN001
    """Every LibreOffice-format report, fetched and parsed in ONE conversion batch (seconds, not minutes)."""
    import shutil

    if not shutil.which("soffice"):
        pytest.skip("LibreOffice (soffice) is not installed")
    checked = reports(sim, libreoffice=True)
    fetched = [served_document(sim, r) for r in checked]
    parsed = parse_many([(name, data) for data, name in fetched])
    out: dict[str, list[tuple[ReportEntry, ParsedReport]]] = {}
    for r, p in zip(checked, parsed, strict=True):
        out.setdefault(r.fmt, []).append((r, p))
    return out


@pytest.mark.libreoffice
@pytest.mark.slow
@pytest.mark.parametrize("fmt", LIBREOFFICE_FORMATS)
def test_libreoffice_reports_parse_back(sim, libreoffice_parsed, fmt):
    assert libreoffice_parsed.get(fmt), f"the scenario serves no .{fmt} report"
    for r, parsed in libreoffice_parsed[fmt]:
        check_parsed(sim, r, parsed)
