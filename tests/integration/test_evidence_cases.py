"""The evidence cases of the sample portals (``SamplePortals(cases=True)``: 桦川 and 桦南), end to end.

Two real crawls over HTTP with ``gkwatch crawl``, then ``gkwatch check`` and ``gkwatch status``: before and after
the hooks ``reveal`` (a report that a complete read after its due date lacked appears) and ``reupload`` (a
report published again with a later date). Every row must equal what ``testbed.simulator.expected`` derives
from the scenario tables, carry the evidence the contract names, and each case must show the facts behind it.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.clock import today_shanghai
from testbed.simulator.expected import deadline_engine
from tests.integration.cli import gkwatch
from tests.integration.evidence import evidence_gaps, status_mismatches

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"),
]

REUPLOADED_AT = datetime(2026, 3, 10, 9, 0)  # after the 31 January deadline of departments


def _crawl_and_check(cfg: Path, *as_of: str) -> dict[tuple[str, int], dict[str, Any]]:
    crawl = gkwatch(cfg, "crawl")
    # a report page that fails, or a listing page that does, is recorded; the crawl itself finished
    assert crawl.returncode == 0 and "Traceback" not in crawl.stderr, crawl.stderr[-3000:]
    return _statuses(cfg, *as_of)


def _statuses(cfg: Path, *as_of: str) -> dict[tuple[str, int], dict[str, Any]]:
    extra = ("--as-of", as_of[0]) if as_of else ()
    check = gkwatch(cfg, "check", *extra)
    assert check.returncode == 0, check.stderr[-3000:]
    out = gkwatch(cfg, "status", "--format", "json", *extra)
    assert out.returncode == 0, out.stderr[-3000:]
    return {(r["agency_id"], r["year"]): r for r in json.loads(out.stdout)}


@pytest.fixture(scope="module")
def phases(tmp_path_factory):
    from testbed.simulator import SamplePortals

    data = tmp_path_factory.mktemp("cases")
    with SamplePortals(cases=True) as sim:
        cfg = sim.write_config(data)
        # every known page is asked again on each crawl (the default waits days): the re-upload is seen
        settings = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        settings["crawl"]["revalidate_known_after_days"] = 0
        cfg.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        first_day = today_shanghai()
        before = _crawl_and_check(cfg)
        expected_before = sim.expected(first_day)
        sim.reveal("huachuan-yjj", 2025)
        sim.reupload("huachuan-wlj", 2025, REUPLOADED_AT)
        after = _crawl_and_check(cfg)
        expected_after = sim.expected_after_hooks(first_day, today_shanghai())
        # 桦南's extended deadline, a day after it passes: judged from what is stored (no crawl)
        extended = deadline_engine(sim.scenario, first_day).deadline(
            "department", "黑龙江省/佳木斯市/桦南县", 2025
        )
        later_day = extended.due + timedelta(days=1)
        later = _statuses(cfg, later_day.isoformat())
        expected_later = sim.expected_after_hooks(first_day, later_day)
        yield {
            "sim": sim,
            "before": (before, expected_before),
            "after": (after, expected_after),
            "later": (later, expected_later),
        }


@pytest.mark.parametrize("phase", ["before", "after", "later"])
def test_every_row_is_what_the_scenario_says_and_carries_its_proof(phases, phase):
    rows, expected = phases[phase]
    assert not status_mismatches(rows, expected)
    gaps = {key: g for key, r in rows.items() if (g := evidence_gaps(r))}
    assert not gaps, gaps


def test_a_blocked_page_names_one_agency_while_the_others_are_missing(phases):
    sim = phases["sim"]
    rows, _ = phases["before"]
    blocked, missing = rows[("huachuan-sfj", 2025)], rows[("huachuan-rsj", 2025)]
    page_url = sim.report_urls("huachuan-sfj", 2025)[0]
    assert (blocked["status"], blocked["crawl_problem"]) == ("unknown", "blocked")
    problem = blocked["evidence"]["problem"]
    assert problem["url"] == page_url and "403" in problem["detail"] and problem["at"]
    # the same read was complete: the agency with nothing listed is missing, on that read's proof
    assert missing["status"] == "missing"
    absence = missing["evidence"]["absence"]
    assert absence["complete"] and absence["failed_pages"] == 0
    assert sim.start_urls("huachuan")[0] in absence["listing_urls"]
    assert len(absence["listing_urls"]) == absence["listing_pages"] > 1  # every page of the listing


def test_a_page_gone_after_being_listed_is_unknown_with_its_404(phases):
    sim = phases["sim"]
    row = phases["before"][0][("huachuan-nyj", 2025)]
    assert (row["status"], row["crawl_problem"]) == ("unknown", "unreachable")
    assert row["evidence"]["problem"]["url"] == sim.report_urls("huachuan-nyj", 2025)[0]
    assert "404" in row["evidence"]["problem"]["detail"]


@pytest.mark.parametrize(
    ("agency", "printed"), [("huachuan-scj", "2062-01-26"), ("huachuan-zjj", "2025-01-26")]
)
def test_a_date_that_cannot_be_true_is_set_aside_and_shown(phases, agency, printed):
    row = phases["before"][0][(agency, 2025)]
    assert row["status"] == "undated" and row["published"] is None
    shown = row["evidence"]["published"]["printed"]
    set_aside = [p for p in shown if p["date"] == printed]
    assert set_aside and all(p["set_aside"] for p in set_aside)
    assert any(printed in p["quote"] for p in set_aside)  # the page's own words


def test_two_pages_for_one_report_take_the_earliest_and_show_both(phases):
    sim = phases["sim"]
    row = phases["before"][0][("huachuan-jtj", 2025)]
    first = sim.report_entry("huachuan-jtj", 2025)
    (repost_url,) = sim.repost_urls("huachuan-jtj", 2025)
    assert row["report_url"] == sim.report_urls("huachuan-jtj", 2025)[0]
    assert (row["status"], row["published"]) == ("on_time", first.published.date().isoformat())
    others = row["evidence"]["other_reports"]
    assert [o["report_url"] for o in others] == [repost_url]
    assert others[0]["published"] > row["due"]  # the later page alone would have made it late


def test_a_government_report_published_by_its_office_is_the_governments(phases):
    sim = phases["sim"]
    rows, _ = phases["before"]
    gov, office = rows[("huachuan-gov", 2025)], rows[("huachuan-bgs", 2025)]
    assert gov["report_url"] == sim.report_urls("huachuan-gov", 2025)[0]
    assert office["report_url"] == sim.report_urls("huachuan-bgs", 2025)[0]
    assert gov["due"] == "2026-03-31" and gov["status"] == "on_time"  # judged by a government's deadline


def test_a_listing_read_without_the_report_then_with_it_proves_it_late(phases):
    before, _ = phases["before"]
    after, _ = phases["after"]
    assert before[("huachuan-yjj", 2025)]["status"] == "missing"
    row = after[("huachuan-yjj", 2025)]
    assert (row["status"], row["published_evidence"]) == ("late", "listing_absent")
    proof = row["evidence"]["absence"]
    assert proof == before[("huachuan-yjj", 2025)]["evidence"]["absence"]  # the first read is the proof
    assert datetime.fromisoformat(proof["started_at"]) < datetime.fromisoformat(row["first_seen"])
    assert (
        row["days_late"]
        == (datetime.fromisoformat(row["published"]).date() - datetime.fromisoformat(row["due"]).date()).days
    )


def test_a_report_re_uploaded_after_the_deadline_keeps_its_first_date_and_shows_both(phases):
    before, _ = phases["before"]
    after, _ = phases["after"]
    was, row = before[("huachuan-wlj", 2025)], after[("huachuan-wlj", 2025)]
    assert (row["status"], row["published"]) == ("on_time", was["published"])
    dates = {p["date"] for p in row["evidence"]["published"]["printed"]}
    assert {was["published"], REUPLOADED_AT.date().isoformat()} <= dates


def test_a_listing_that_breaks_halfway_proves_no_absence(phases):
    sim = phases["sim"]
    rows, _ = phases["before"]
    for year in (2023, 2024, 2025):
        row = rows[("huanan-hnz", year)]
        assert (row["status"], row["crawl_problem"]) == ("unknown", "unreachable")
        assert row["evidence"]["last_read"]["complete"] is False
        assert row["evidence"]["problem"]["url"].endswith("/list_2.html")
        assert "500" in row["evidence"]["problem"]["detail"]
    seen = rows[("huanan-gov", 2025)]  # what the first page showed is judged as usual
    assert seen["status"] == "on_time" and seen["report_url"] == sim.report_urls("huanan-gov", 2025)[0]


def test_an_undated_report_first_seen_before_its_due_date_is_on_time(phases):
    now, _ = phases["before"]
    later, _ = phases["later"]
    row = now[("huanan-mzj", 2025)]
    assert (row["status"], row["published_evidence"]) == ("not_due", "first_seen")
    done = later[("huanan-mzj", 2025)]
    assert (done["status"], done["published_evidence"]) == ("on_time", "first_seen")
    assert done["published"] <= done["due"] and done["first_seen"] == row["first_seen"]
