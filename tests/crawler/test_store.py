"""The storage pipeline into a real SQLite database and a real archive: upserts, versions, evidence."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from crawler.portal.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.portal.pipelines import ReportStore
from crawler.reading.stage import read_pending
from domain.config import AgencyConfig, Config, PortalConfig
from storage.archive import Archive
from storage.db import init_db, make_engine
from storage.models import CrawlProblem, Fetch, ListingSnapshot, Reading, Report, ReportVersion
from testbed.render import ReportSpec, render_docx, render_html
from testbed.synthetic import consistent_cells

BASE = "http://127.0.0.2:8080/zwgk/zfxxgknb/"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    cfg = Config(
        path=tmp_path / "config.yaml",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        archive_dir=tmp_path / "archive",
        portals=[PortalConfig(id="zichuan", name="淄川区人民政府", start_urls=[BASE + "index.html"])],
        agencies=[AgencyConfig(id="zc-zsj", name="淄川区招商局", aliases=["区招商局"], portal="zichuan")],
    )
    engine = make_engine(cfg.database_url)
    init_db(engine)
    return ReportStore(engine, Archive(cfg.archive_dir), cfg, run_id=7)


def _spec(agency: str = "淄川区招商局", seed: int = 1) -> ReportSpec:
    return ReportSpec(
        template="2021", year=2024, agency=agency, cells=consistent_cells("2021", random.Random(seed))
    )


def _fetched(url: str, body: bytes, **headers: str) -> Fetched:
    return Fetched(
        url=url, final_url=url, status=200, headers={"Content-Type": "text/html", **headers}, body=body
    )


def _store(store: ReportStore, item: ReportItem) -> None:
    """Store as the crawl does, then read as the reading stage after it does (in this process)."""
    store.store_report(item)
    read_pending(store.engine, store.archive, store.config, processes=0, seen_since=EPOCH)


def _reading(s: Session, version: ReportVersion) -> Reading:
    return s.exec(select(Reading).where(Reading.sha256 == version.sha256)).one()


def test_page_with_tables_is_stored_with_evidence_and_parsed(store):
    spec = _spec()
    body = render_html(spec, encoding="gbk", chrome=True, meta={"PubDate": "2025-01-20 09:30"})
    page = _fetched(
        BASE + "202501/t20250120_1.html", body, **{"Last-Modified": "Wed, 05 Mar 2025 01:00:00 GMT"}
    )
    item = ReportItem(
        portal_id="zichuan",
        url=page.url,
        listing_url=BASE + "index.html",
        title=spec.full_title,
        content_source="区招商局",
        pub_meta="2025-01-20 09:30",
        pub_text="2025-01-20",
        page=page,
        document=page,
    )
    _store(store, item)
    with Session(store.engine) as s:
        rep = s.exec(select(Report)).one()
        assert (rep.agency_id, rep.agency_name, rep.year) == ("zc-zsj", "淄川区招商局", 2024)
        assert rep.attributed_by == "title" and rep.content_source == "区招商局"
        assert (rep.pub_meta, rep.pub_text) == ("2025-01-20 09:30", "2025-01-20")
        assert rep.pub_header is None  # an HTML page's Last-Modified is not evidence
        v = s.get(ReportVersion, rep.current_version_id)
        r = _reading(s, v)
        assert (r.format, r.template, r.error) == ("html", "2021", None)
        from crawler.reading.model import Reading as Read

        assert Read.from_row(r).values["s3.new_received.total"] == spec.cells["s3.new_received.total"]
        f = s.exec(select(Fetch)).one()
        assert store.archive.get(f.sha256) == body and f.run_id == 7 and f.headers["Last-Modified"]
        assert rep.crawl_problem is None


def test_rerun_adds_nothing_and_changed_bytes_make_a_new_version(store):
    att_url = BASE + "202501/P0201.docx"
    page = _fetched(BASE + "202501/t20250120_2.html", b"<html><body>page</body></html>")

    def item(doc_bytes: bytes) -> ReportItem:
        doc = _fetched(att_url, doc_bytes, **{"Last-Modified": "Mon, 20 Jan 2025 01:00:00 GMT"})
        return ReportItem(
            portal_id="zichuan", url=page.url, title="区招商局2024年政府信息公开工作年度报告",
            page=page, document=doc, attachment_urls=[att_url],
        )  # fmt: skip

    first = render_docx(_spec(seed=1))
    _store(store, item(first))
    _store(store, item(first))
    with Session(store.engine) as s:
        assert len(s.exec(select(Report)).all()) == 1
        assert len(s.exec(select(ReportVersion)).all()) == 1
        rep = s.exec(select(Report)).one()
        assert rep.last_changed is None
        assert rep.pub_header == "Mon, 20 Jan 2025 01:00:00 GMT"  # an attachment's Last-Modified is kept
        old_version = rep.current_version_id
    _store(store, item(render_docx(_spec(seed=2))))
    with Session(store.engine) as s:
        rep = s.exec(select(Report)).one()
        versions = s.exec(select(ReportVersion)).all()
        assert len(versions) == 2 and rep.current_version_id != old_version
        assert rep.last_changed is not None
        assert {_reading(s, v).format for v in versions} == {"docx"}
    assert store.counts["reports_new"] == 1 and store.counts["reports_changed"] == 1


def test_unreadable_document_keeps_report_and_its_reading_says_why(store):
    doc = _fetched(BASE + "bad.docx", b"PK\x03\x04 this is not really a docx")
    item = ReportItem(
        portal_id="zichuan", url=doc.url, title="龙泉镇2024年政府信息公开工作年度报告", document=doc
    )
    _store(store, item)
    with Session(store.engine) as s:
        rep = s.exec(select(Report)).one()
        assert rep.agency_id is None and rep.agency_name == "龙泉镇"  # discovered
        assert rep.crawl_problem is None  # fetched fine: the trouble is the reading's
        v = s.get(ReportVersion, rep.current_version_id)
        assert "damaged" in _reading(s, v).error
        assert s.exec(select(CrawlProblem)).all() == []


def test_listing_snapshot_and_problem_rows(store):
    page = _fetched(BASE + "index.html", "<html>列表</html>".encode())
    store.store_listing(
        ListingItem("zichuan", page, [BASE + "a.html", BASE + "a.html", BASE + "b.pdf"], "trs")
    )
    store.store_problem(ProblemItem("zichuan", "blocked", BASE + "x.html", "HTTP 403"))
    with Session(store.engine) as s:
        snap = s.exec(select(ListingSnapshot)).one()
        assert snap.report_urls == [BASE + "a.html", BASE + "b.pdf"]
        assert store.archive.get(snap.sha256) == page.body
        prob = s.exec(select(CrawlProblem)).one()
        assert (prob.kind, prob.portal_id, prob.run_id) == ("blocked", "zichuan", 7)
