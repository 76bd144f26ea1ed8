"""The reading stage: which agency-year a report stands for (title first), and ``reparse`` — readings stored
only where they differ, an interrupted pass resumed, reports attributed again where their reading changed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from crawler.reading.attribution import AgencyMatcher, ReportFacts, attribute
from crawler.reading.stage import read_pending, reparse, reparse_scope
from domain.config import AgencyConfig, Config, PortalConfig
from storage.archive import Archive
from storage.db import init_db, make_engine
from storage.models import Reading, ReadingPass, Report, ReportVersion
from storage.registry import sync_registry
from testbed.render import ReportSpec, render_html
from testbed.synthetic import consistent_cells

GOV = AgencyConfig(id="zc-gov", name="淄川区人民政府", kind="government", portal="zc")
OFFICE = AgencyConfig(id="zc-office", name="淄川区人民政府办公室", portal="zc")
ZSJ = AgencyConfig(id="zc-zsj", name="淄川区招商局", aliases=["区招商局"], portal="zc")


def test_the_title_decides_over_the_publishing_office():
    """A government's own report published by its office is the government's (issue 9)."""
    m = AgencyMatcher([GOV, OFFICE, ZSJ])
    facts = ReportFacts(
        "zc",
        "http://zc.example/2024/gov.html",
        title="淄川区人民政府2024年政府信息公开工作年度报告",
        content_source="淄川区人民政府办公室",
        column="本级政府",
    )
    a = attribute(facts, m)
    assert (a.agency_id, a.by, a.year, a.year_source) == ("zc-gov", "title", 2024, "title")
    # with no agency in the title, the document decides, then the page's 发布机构, then the column
    untitled = ReportFacts(
        "zc", "http://zc.example/x.html", title="2024年年度报告", content_source="淄川区人民政府办公室"
    )
    assert attribute(untitled, m).agency_id == "zc-office"
    by_doc = ReportFacts("zc", "http://zc.example/y.html", title="2024年年度报告", content_source="淄川区人民政府办公室",
                         document_agency="淄川区招商局")  # fmt: skip
    assert attribute(by_doc, m).agency_id == "zc-zsj"
    by_link = ReportFacts(
        "zc", "http://zc.example/z.html", link_text="区招商局2023年政府信息公开工作年度报告"
    )
    assert (attribute(by_link, m).agency_id, attribute(by_link, m).year) == ("zc-zsj", 2023)


@pytest.fixture
def archived(tmp_path):
    """Three report pages archived as a crawl leaves them, with no reading yet."""
    config = Config(
        path=tmp_path / "config.yaml",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        archive_dir=tmp_path / "archive",
        portals=[PortalConfig(id="zc", name="淄川区人民政府", start_urls=["http://zc.example/"])],
        agencies=[GOV, OFFICE, ZSJ],
    )
    engine = make_engine(config.database_url)
    init_db(engine)
    archive = Archive(config.archive_dir)
    now = datetime(2025, 2, 1, tzinfo=UTC)
    with Session(engine) as s:
        sync_registry(s, config)
        for i, agency in enumerate((GOV, OFFICE, ZSJ)):
            spec = ReportSpec(
                template="2021",
                year=2024,
                agency=agency.name,
                cells=consistent_cells("2021", random.Random(i)),
            )
            body = render_html(spec)
            r = Report(
                url=f"http://zc.example/{i}.html",
                portal_id="zc",
                link_text="年度报告",
                first_seen=now,
                last_seen=now,
            )
            s.add(r)
            s.flush()
            v = ReportVersion(report_id=r.id, sha256=archive.put(body), document_url=r.url, fetched_at=now)
            s.add(v)
            s.flush()
            r.current_version_id = v.id
        s.commit()
    yield engine, archive, config
    engine.dispose()


def test_reading_then_reparse_stores_only_what_differs(archived):
    engine, archive, config = archived
    first = read_pending(engine, archive, config, processes=0, seen_since=datetime(2000, 1, 1, tzinfo=UTC))
    assert (first.documents, first.new, first.unreadable) == (3, 3, 0)
    with Session(engine) as s:
        by_url = {r.url: (r.agency_id, r.year, r.attributed_by) for r in s.exec(select(Report))}
    assert by_url == {
        "http://zc.example/0.html": ("zc-gov", 2024, "document"),
        "http://zc.example/1.html": ("zc-office", 2024, "document"),
        "http://zc.example/2.html": ("zc-zsj", 2024, "document"),
    }
    again = reparse(engine, archive, config, processes=0)
    assert (again.documents, again.new, again.changed, again.attributed) == (3, 0, 0, 0)
    # a reading made by an older reader, different from today's: replaced, its report attributed again
    with Session(engine) as s:
        stale = s.exec(select(Reading)).first()
        stale.agency, stale.year = "淄川区财政局", 2020
        s.add(stale)
        s.commit()
    fixed = reparse(engine, archive, config, processes=0)
    assert (fixed.changed, fixed.new) == (1, 0)
    with Session(engine) as s:
        assert {r.year for r in s.exec(select(Reading))} == {2024}


def test_an_interrupted_reparse_resumes_where_it_stopped(archived):
    engine, archive, config = archived
    read_pending(engine, archive, config, processes=0)
    # a pass that started and re-read one document before it was stopped (no finished_at)
    started = datetime.now(UTC) - timedelta(minutes=5)
    with Session(engine) as s:
        s.add(ReadingPass(scope=reparse_scope([], None), started_at=started))
        done = s.exec(select(Reading)).first()
        done.read_at = started + timedelta(minutes=1)
        s.add(done)
        others = s.exec(select(Reading).where(Reading.id != done.id)).all()
        for r in others:
            r.read_at = started - timedelta(days=1)
            s.add(r)
        s.commit()
    resumed = reparse(engine, archive, config, processes=0)
    assert resumed.documents == 2  # the one already re-read is skipped
    with Session(engine) as s:
        passes = s.exec(select(ReadingPass)).all()
    assert len(passes) == 1 and passes[0].finished_at is not None and passes[0].documents == 2
    assert reparse(engine, archive, config, processes=0).documents == 3  # a new pass reads everything
