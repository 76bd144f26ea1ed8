"""A real portal: 平潭综合实验区's 政府信息公开年报 column (TRS WCM), replayed from
``tests/fixtures/real-portals/pingtan`` (a copy of ``../shared/real-portals/pingtan``; README there).

Served as the manifest says on 127.0.0.1 (the column's directory URL answers with its ``index.htm``), crawled
by the portal stage with a config for it. What the portal stage owns is asserted: the listing read
completely, every report 2019–2025 found at its URL with its title, its publication time as the page prints
it and the listing's date beside the link, its bytes archived exactly; the 2016–2018 items the replay does
not serve recorded as unreachable with their link text. (How each report then reads is the reader's.)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from sqlmodel import Session, select

from domain.titles import year_from_title
from storage.archive import Archive
from storage.db import make_engine
from storage.models import CrawlProblem, Fetch, ListingSnapshot, PortalRead, Report, ReportVersion
from testbed.loopback import LoopbackServer
from tests.integration.cli import ROOT

PINGTAN = Path(__file__).resolve().parents[1] / "fixtures" / "real-portals" / "pingtan"
COLUMN = "/zwgk/zfxxgk/zfxxgknb/"

pytestmark = pytest.mark.slow


class Replay(LoopbackServer):
    """Serve the folder by its manifest: URL path → file and Content-Type; the column's directory URL
    answers with its index.htm; everything else 404."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1")
        manifest = json.loads((PINGTAN / "manifest.json").read_text(encoding="utf-8"))
        self.pages = manifest["pages"]
        self.pages[COLUMN] = self.pages[COLUMN + "index.htm"]
        self.hits: list[str] = []

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        self.hits.append(path)
        entry = self.pages.get(path)
        body = (PINGTAN / entry["file"]).read_bytes() if entry else b"<html>404</html>"
        h.send_response(200 if entry else 404)
        h.send_header("Content-Type", entry["type"] if entry else "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def reports(self) -> dict[str, dict]:
        """URL path → manifest entry of each report page (the ones with a report year)."""
        return {path: e for path, e in self.pages.items() if e.get("report_year")}


def config_for(data: Path, base: str) -> Path:
    cfg = {
        "database": {"url": f"sqlite:///{data / 'gkwatch.db'}"},
        "archive": {"dir": str(data / "archive")},
        "crawl": {"delay_seconds": 0, "timeout_seconds": 5, "retries": 0, "log_level": "WARNING"},
        "portals": [{"id": "pingtan", "name": "平潭综合实验区党工委管委会", "start_urls": [base + COLUMN]}],
        "agencies": [
            {
                "id": "pingtan",
                "name": "平潭综合实验区",
                "kind": "government",
                "region": "福建省/平潭综合实验区",
                "portal": "pingtan",
            }
        ],
    }
    path = data / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    data = tmp_path_factory.mktemp("pingtan")
    replay = Replay().start()
    try:
        cfg = config_for(data, replay.base)
        done = subprocess.run(
            [sys.executable, "-m", "crawler.portal", "--config", str(cfg)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        yield replay, data, done
    finally:
        replay.close()


def test_the_fixture_is_a_faithful_copy_of_the_shared_replay():
    manifest = json.loads((PINGTAN / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["pages"].values():
        body = (PINGTAN / entry["file"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["file"]
    size = sum(f.stat().st_size for f in PINGTAN.rglob("*") if f.is_file())
    assert size < 400_000  # small enough to travel with every clone


def test_the_column_is_read_completely(crawled):
    replay, data, done = crawled
    assert done.returncode == 0, done.stderr[-3000:]
    engine = make_engine(f"sqlite:///{data / 'gkwatch.db'}")
    with Session(engine) as s:
        (read,) = s.exec(select(PortalRead)).all()
        (snap,) = s.exec(select(ListingSnapshot)).all()
    assert (read.complete, read.end_reason, read.listing_pages, read.failed_pages) == (True, "finished", 1, 0)
    assert read.report_links == 10 and len(snap.report_urls) == 10  # 2016–2025 as the column lists them
    assert snap.run_id == read.run_id


def test_every_report_2019_to_2025_is_found_with_its_date_and_evidence(crawled):
    replay, data, _ = crawled
    engine = make_engine(f"sqlite:///{data / 'gkwatch.db'}")
    archive = Archive(data / "archive")
    expected = replay.reports()
    with Session(engine) as s:
        reports = {urlsplit(r.url).path: r for r in s.exec(select(Report))}
        for path, entry in sorted(expected.items()):
            report = reports[path]
            year = entry["report_year"]
            assert report.title == f"平潭综合实验区{year}年度政府信息公开工作年度报告"
            assert year_from_title(report.title) == year
            assert report.link_text == report.title  # the listing's words, kept for attribution
            assert report.pub_meta == entry["published"]  # the PubDate meta, as printed
            assert report.pub_text == entry["published"][:10]  # the visible 时间： line's date
            assert report.crawl_problem is None and report.listing_url == replay.base + COLUMN
            version = s.get(ReportVersion, report.current_version_id)
            assert version.sha256 == entry["sha256"]  # the page itself is the document, archived as served
            assert archive.get(version.sha256) == (PINGTAN / entry["file"]).read_bytes()
            fetch = s.get(Fetch, version.fetch_id)
            assert (fetch.http_status, fetch.url) == (200, replay.base + path)
    assert {e["report_year"] for e in expected.values()} == set(range(2019, 2026))


def test_the_reports_the_replay_does_not_serve_are_recorded_with_their_link_text(crawled):
    replay, data, _ = crawled
    engine = make_engine(f"sqlite:///{data / 'gkwatch.db'}")
    with Session(engine) as s:
        problems = s.exec(select(CrawlProblem)).all()
        failed = s.exec(select(Report).where(Report.crawl_problem.is_not(None))).all()
    assert {p.kind for p in problems} == {"unreachable"} and all("HTTP 404" in p.detail for p in problems)
    assert {r.link_text for r in failed} == {
        f"平潭综合实验区{y}年度政府信息公开工作年度报告" for y in (2016, 2017, 2018)
    }
    for r in failed:  # the date the listing prints beside each link (here the same day as its URL's)
        day = urlsplit(r.url).path.rsplit("/t", 1)[1][:8]
        assert (r.listing_date, r.pub_text) == (f"{day[:4]}-{day[4:6]}-{day[6:]}", None)
