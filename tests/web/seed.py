"""A small, varied web database: what the route and browser tests read.

Rows are written straight into the model tables (no crawl), including hostile crawled text: an agency
named ``<script>alert(1)</script>``, a right-to-left override and a zero-width space, a ``javascript:``
report URL, and a name that a spreadsheet would take for a formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy.engine import Engine

from crawler.reading.model import CellReading
from crawler.reading.model import Reading as Read
from domain.config import Config, WebConfig
from domain.template import cell_keys
from monitor.web.auth import hash_password
from storage.archive import Archive
from storage.db import init_db, make_engine, session_scope
from storage.models import Agency, AgencyYearStatus, Fetch, Reading, Report, ReportVersion

HOSTILE = "<script>alert(1)</script>"
RTL = "\u202e局业商\u200b区川淄"  # RTL override + zero-width space
FORMULA = '=HYPERLINK("http://evil.example","x")'
PASSWORD = "correct horse 电池 staple"
REPORT_HTML = b"<html><body><script>alert('archived')</script>report</body></html>"


@dataclass
class Seeded:
    config: Config
    engine: Engine
    archive_sha: str


def web_section(users: bool) -> WebConfig:
    """The ``web:`` config section of the tests (one operator, alice, unless ``users`` is False)."""
    web: dict = {"secret_key": "test-secret", "page_size": 50}
    if users:
        web["users"] = [{"username": "alice", "password_hash": password_hash()}]
    return WebConfig.model_validate(web)


@cache
def password_hash() -> str:
    """scrypt is slow on purpose: hash the test password once per session."""
    return hash_password(PASSWORD)


def _status(agency: Agency, year: int, status: str, **kw) -> AgencyYearStatus:  # noqa: ANN003
    due = kw.setdefault("due", date(year + 1, 1, 31))
    if status == "late" and kw.get("published"):  # as gkwatch check stores it
        kw["days_late"] = (kw["published"] - due).days
    return AgencyYearStatus(
        agency_id=agency.id,
        year=year,
        agency=agency.name,
        region=agency.region,
        kind=agency.kind,
        status=status,
        due=kw.pop("due"),
        due_reason=kw.pop("due_reason", "department, 条例 art. 49"),
        **kw,
    )


def seed(tmp_path: Path, *, users: bool = True, db_url: str | None = None) -> Seeded:
    """Fill a fresh database (SQLite in ``tmp_path`` unless ``db_url`` names another, empty one)."""
    db = tmp_path / "web.db"
    archive_dir = tmp_path / "archive"
    config = Config(
        path=tmp_path / "config.yaml",
        database_url=db_url or f"sqlite:///{db}",
        archive_dir=archive_dir,
        web=web_section(users),
    )
    engine = make_engine(config.database_url)
    init_db(engine)
    archive = Archive(archive_dir)
    sha = archive.put(REPORT_HTML)

    agencies = [
        Agency(
            id="zichuan-zsj",
            name="淄川区招商局",
            aliases=["区招商局", "淄川招商"],
            region="山东省/淄博市/淄川区",
            kind="department",
        ),
        Agency(id="zichuan-gov", name="淄川区人民政府", region="山东省/淄博市/淄川区", kind="government"),
        Agency(id="zhangdian-jyj", name="张店区教育局", region="山东省/淄博市/张店区", kind="department"),
        Agency(id="jinan-town", name="历城区港沟街道办事处", region="山东省/济南市/历城区", kind="township"),
        Agency(id="huaihua-cz", name="怀化市财政局", region="湖南省/怀化市", kind="department"),
        Agency(id="hostile", name=HOSTILE, region="湖南省/怀化市/鹤城区", kind="department"),
        Agency(id="rtl", name=RTL, region="湖南省/怀化市/鹤城区", kind="department"),
        Agency(id="formula", name=FORMULA, region="湖南省/怀化市/鹤城区", kind="department"),
        Agency(id="percent", name="100%_测试局", region="山东省/淄博市2", kind="department"),
    ]
    cells = {k: 0 for k in cell_keys("2021")}
    cells["s3.new_received.natural_person"] = 5
    cells["s3.new_received.total"] = 6
    cells["s3.carried_over.total"] = None
    findings = [
        {
            "rule": "s3.row_total",
            "severity": "error",
            "cells": ["s3.new_received.natural_person", "s3.new_received.total"],
            "message": "一、本年新收: 总计 6 ≠ 5",
        },
        {"rule": "cell.blank", "severity": "warning", "cells": ["s3.carried_over.total"], "message": "空"},
    ]
    seen = datetime(2022, 2, 4, 2, 13, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add_all(agencies)
        a = {x.id: x for x in agencies}
        report = Report(
            url="http://www.zichuan.gov.cn/xxgk/2021nb.html",
            portal_id="zichuan",
            agency_id="zichuan-zsj",
            year=2021,
            title=f"淄川区招商局2021年政府信息公开工作年度报告{HOSTILE}",
            pub_meta="2022-02-03 09:00:00",
            first_seen=seen,
            last_seen=seen,
        )
        s.add(report)
        s.flush()
        version = ReportVersion(report_id=report.id, sha256=sha, fetched_at=seen)
        s.add(version)
        reading = Read(
            format="html",
            template="2021",
            year=2021,
            title=report.title,
            cells={
                k: CellReading(v, "" if v is None else str(v), "blank" if v is None else None)
                for k, v in cells.items()
            },
        )
        s.add(Reading(**reading.to_row(sha, seen)))
        s.add(
            Fetch(
                url=report.url, sha256=sha, size=len(REPORT_HTML), content_type="text/html", fetched_at=seen
            )
        )
        s.flush()
        report.current_version_id = version.id
        hostile_report = Report(
            url="javascript:alert(2)", portal_id="huaihua", agency_id="hostile", year=2021, title=HOSTILE
        )
        s.add(hostile_report)
        s.flush()
        rows = [
            _status(
                a["zichuan-zsj"],
                2021,
                "late",
                published=date(2022, 2, 3),
                published_evidence="page_meta",
                first_seen=seen,
                inconsistent=True,
                findings=["cell.blank", "s3.row_total"],
                details=findings,
                report_id=report.id,
                version_id=version.id,
                report_url=report.url,
            ),
            _status(
                a["zichuan-zsj"],
                2020,
                "on_time",
                published=date(2021, 1, 20),
                published_evidence="page_text",
                inconsistent=False,
                report_url="http://www.zichuan.gov.cn/xxgk/2020nb.html",
            ),
            _status(
                a["zichuan-gov"],
                2021,
                "on_time",
                due=date(2022, 3, 31),
                due_reason="government's own report",
                published=date(2022, 3, 1),
                published_evidence="page_meta",
                inconsistent=False,
            ),
            _status(a["zhangdian-jyj"], 2021, "missing"),
            _status(a["jinan-town"], 2021, "unknown", crawl_problem="unreachable"),
            _status(
                a["huaihua-cz"],
                2021,
                "on_time",
                published=date(2022, 1, 10),
                published_evidence="http_header",
                inconsistent=None,
            ),
            _status(
                a["hostile"],
                2021,
                "late",
                published=date(2022, 2, 20),
                published_evidence="first_seen",
                report_id=hostile_report.id,
                report_url="javascript:alert(2)",
                inconsistent=True,
                findings=["s4.total"],
            ),
            _status(a["rtl"], 2021, "missing"),
            _status(a["formula"], 2021, "missing"),
            _status(a["percent"], 2021, "not_due"),
        ]
        s.add_all(rows)
    return Seeded(config=config, engine=engine, archive_sha=sha)
