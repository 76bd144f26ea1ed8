"""Crawl the sample portals (``testbed.simulator``) over real HTTP with ``gkwatch crawl`` in a subprocess,
and hold the database to what the scenario says a correct crawl must find."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlmodel import Session, select

from domain.clock import today_shanghai
from monitor.status.publication import publication
from storage.archive import Archive
from storage.db import make_engine
from storage.models import CrawlProblem, CrawlRun, Fetch, ListingSnapshot, Reading, Report, ReportVersion
from tests.integration.cli import gkwatch
from tests.integration.evidence import evidence_gaps, status_mismatches

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"),
]


@pytest.fixture(scope="module")
def sim_crawl(tmp_path_factory):
    from testbed.simulator import SamplePortals

    data = tmp_path_factory.mktemp("sim")
    # the slow trap hangs 3 s, so the config times out after 1.5 s (the default 6 s makes each crawl wait 9 s)
    with SamplePortals(faults=True, slow_seconds=3.0) as sim:
        cfg = sim.write_config(data)
        first = gkwatch(cfg, "crawl")
        second = gkwatch(cfg, "crawl")
        expected = sim.expected(today_shanghai())
        yield sim, cfg, expected, first, second


def _engine(cfg: Path):
    from domain.config import load_config

    config = load_config(cfg)
    return make_engine(config.database_url), Archive(config.archive_dir)


def test_crawl_succeeds_with_a_summary(sim_crawl):
    _, _, _, first, second = sim_crawl
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    assert "crawl finished: 6 portal(s)" in first.stderr
    assert "portals not read: fuyuan (robots), tongjiang (blocked)" in first.stderr
    assert "progress: portals done 6/6" in first.stderr  # every portal's requests came to an end
    assert "Traceback" not in first.stderr  # no callback crashed on any page


def test_every_agency_year_has_its_report_year_date_and_evidence(sim_crawl):
    _, cfg, expected, _, _ = sim_crawl
    engine, _ = _engine(cfg)
    with Session(engine) as s:
        reports = s.exec(select(Report).where(Report.agency_id.is_not(None))).all()
        versions = {v.id: v for v in s.exec(select(ReportVersion))}
        readings = {r.sha256: r for r in s.exec(select(Reading))}
    by_key: dict[tuple[str, int], list[Report]] = {}
    for r in reports:
        by_key.setdefault((r.agency_id, r.year), []).append(r)
    for key, e in expected.items():
        found = by_key.get(key, [])
        if e.report_format is None:
            assert not found, (key, e, [r.url for r in found])
            continue
        assert len(found) == 1, (key, e, [r.url for r in found])
        (r,) = found
        pub = publication(
            pub_meta=r.pub_meta,
            pub_text=r.pub_text,
            listing_date=r.listing_date,
            pub_header=r.pub_header,
            first_seen=r.first_seen,
            report_year=r.year,
        )
        if e.published_evidence != "first_seen":  # the portal's own date (or none: undated)
            assert (pub.date, pub.evidence) == (e.published, e.published_evidence), (key, r.url)
        v = versions.get(r.current_version_id)
        reading = readings.get(v.sha256) if v else None
        assert reading is not None and reading.format == e.report_format, (key, reading and reading.format)
        assert r.crawl_problem is None, key  # every document was fetched
        if e.crawl_problem == "parse_failed":
            assert reading.error, key
        else:
            assert reading.error is None, (key, reading.error)
    assert set(by_key) <= set(expected), set(by_key) - set(expected)


def test_unregistered_agency_kept_as_discovered(sim_crawl):
    sim, cfg, _, _, _ = sim_crawl
    engine, _ = _engine(cfg)
    registered = {a["name"] for a in sim.config(Path("/nonexistent"))["agencies"]}
    with Session(engine) as s:
        discovered = s.exec(select(Report).where(Report.agency_id.is_(None))).all()
    names = {r.agency_name for r in discovered if r.crawl_problem is None}
    assert names and not (names & registered)
    assert all(r.year for r in discovered if r.crawl_problem is None)


def test_evidence_archived_and_listings_snapshotted(sim_crawl):
    sim, cfg, _, _, _ = sim_crawl
    engine, archive = _engine(cfg)
    with Session(engine) as s:
        fetches = s.exec(select(Fetch)).all()
        snaps = s.exec(select(ListingSnapshot)).all()
        reports = s.exec(select(Report)).all()
    assert fetches
    for f in fetches:
        assert archive.has(f.sha256) and len(archive.get(f.sha256)) == f.size
        assert f.fetched_at.tzinfo is not None and f.headers
    readable = {"zichuan", "linzi", "hecheng", "fujin"}
    assert readable <= {snap.portal_id for snap in snaps}
    assert not {"tongjiang", "fuyuan"} & {snap.portal_id for snap in snaps}
    shown = {u for snap in snaps for u in snap.report_urls}
    assert {r.url for r in reports} <= shown  # every report was seen on a listing (the backdating evidence)


def test_problems_by_kind_for_blocked_robots_and_faults(sim_crawl):
    _, cfg, expected, _, _ = sim_crawl
    engine, _ = _engine(cfg)
    with Session(engine) as s:
        first_run = s.exec(select(CrawlRun).order_by(CrawlRun.id)).first()
        probs = s.exec(select(CrawlProblem).where(CrawlProblem.run_id == first_run.id)).all()
    kinds = {(p.portal_id, p.kind) for p in probs}
    assert ("tongjiang", "blocked") in kinds and ("fuyuan", "robots") in kinds
    fault_details = " | ".join(p.detail for p in probs if p.portal_id == "fujin")
    for needle in (
        "Timeout",
        "ConnectionLost",
        "DataLoss",
        "allowed_domains",
        "larger than crawl.max_document_bytes",
    ):
        assert needle in fault_details, needle
    assert not {p.portal_id for p in probs} & {"zichuan", "linzi", "hecheng"}  # healthy portals: no trouble


def test_second_run_adds_no_duplicates(sim_crawl):
    _, cfg, _, _, second = sim_crawl
    engine, _ = _engine(cfg)
    with Session(engine) as s:
        urls = s.exec(select(Report.url)).all()
        pairs = s.exec(select(ReportVersion.report_id, ReportVersion.sha256)).all()
        changed = s.exec(select(Report).where(Report.last_changed.is_not(None))).all()
        runs = s.exec(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert len(urls) == len(set(urls)) and len(pairs) == len(set(pairs))
    assert changed == []
    assert [r.status for r in runs] == ["finished", "finished"]
    assert runs[1].stats.get("reports_new", 0) == 0 and runs[1].stats.get("versions_new", 0) == 0


def test_statuses_after_check_match_the_scenario(sim_crawl):
    pytest.importorskip("monitor.status.check")
    _, cfg, expected, _, _ = sim_crawl
    done = gkwatch(cfg, "check")
    assert done.returncode == 0, done.stderr[-3000:]
    out = gkwatch(cfg, "status", "--format", "json")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {(r["agency_id"], r["year"]): r for r in json.loads(out.stdout)}
    wrong = status_mismatches(rows, expected)
    assert not wrong, wrong


def test_every_accusation_carries_its_proof(sim_crawl):
    """No agency-year is late or missing without the evidence the contract names."""
    _, cfg, _, _, _ = sim_crawl
    assert gkwatch(cfg, "check").returncode == 0
    rows = json.loads(gkwatch(cfg, "status", "--format", "json").stdout)
    gaps = {(r["agency_id"], r["year"]): g for r in rows if (g := evidence_gaps(r))}
    assert not gaps, gaps
    assert {r["status"] for r in rows} >= {"late", "missing", "unknown"}  # the walk saw every kind
