"""A report published as page images in the article: crawled, each image archived, read by OCR, judged.

A portal on loopback lists one report whose page holds nothing but the report's scanned pages as ``<img>``
(and a logo in its footer, which is not a page). ``gkwatch crawl`` fetches every page image — each kept
as evidence — and archives them in page order as the report's document (an image bundle); the reading
stage reads that bundle by OCR in its worker processes; ``gkwatch status`` judges it. The report is the
demo's ``row_total`` report: it must come out published on time and inconsistent.
"""

from __future__ import annotations

import json
import random

import pytest
import yaml
from sqlmodel import Session, select

from crawler.portal.images import BUNDLE_FRAGMENT
from crawler.reading.documents.ocr import available
from domain.image_bundle import read_image_bundle
from storage.archive import Archive
from storage.db import make_engine
from storage.models import Fetch, Reading, Report, ReportVersion
from testbed.render import ReportSpec, render
from testbed.scan import Damage, image_page, scan_pdf
from testbed.synthetic import consistent_cells
from tests.integration.cli import gkwatch
from tests.integration.localsite import LocalSite, page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(not available(), reason="OCR not installed (pip install 'gkwatch[ocr]')"),
]

NB = "/zwgk/zfxxgknb/"
AGENCY = "淄川区招商局"
TITLE = f"{AGENCY}2020年政府信息公开工作年度报告"


def seed_style() -> ReportSpec:
    cells = consistent_cells("2019", random.Random(8), scale=30)
    cells["s3.granted.total"] += 3  # type: ignore[operator]
    return ReportSpec(template="2019", year=2020, agency=AGENCY, cells=cells)


def listing() -> str:
    return (
        '<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head><body>'
        f'<ul class="list"><li><a href="{NB}t20210120_1.html" title="{TITLE}">{TITLE}</a>'
        '<span class="date">2021-01-20</span></li></ul></body></html>'
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    data = tmp_path_factory.mktemp("images")
    pages = scan_pdf(render(seed_style(), "pdf"), Damage(dpi=180, angle=0.7, jpeg_quality=80), seed=2)
    names = [f"{NB}W020210120_{i}.jpg" for i in range(1, len(pages) + 1)]
    article = image_page(TITLE, names, date="2021-01-20").replace(
        b'<div class="footer">', b'<div class="footer"><img src="/images/logo.png" width="120">'
    )
    routes = {
        "/robots.txt": page("User-agent: *\nAllow: /\n", "text/plain"),
        NB + "index.html": page(listing()),
        NB + "t20210120_1.html": page(article),
        "/images/logo.png": page(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
        **{name: page(body, "image/jpeg") for name, body in zip(names, pages, strict=True)},
    }
    with LocalSite("127.0.0.1", routes) as site:
        config = {
            "database": {"url": f"sqlite:///{data / 'gkwatch.db'}"},
            "archive": {"dir": str(data / "archive")},
            "crawl": {"delay_seconds": 0, "timeout_seconds": 5, "retries": 0, "contact": "ops@example.org"},
            "ocr": {"enabled": True, "max_pages": 10, "seconds_per_page": 60},
            "portals": [{"id": "zc", "name": "淄川区人民政府", "start_urls": [site.base + NB + "index.html"],
                         "allowed_domains": [site.host]}],
            "agencies": [{"id": "zc-zsj", "name": AGENCY, "portal": "zc"}],
        }  # fmt: skip
        path = data / "config.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        result = gkwatch(path, "crawl", timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        yield data, path, site, names, pages


def test_every_page_image_is_archived_and_the_document_is_their_bundle(crawled):
    data, _path, site, names, pages = crawled
    with Session(make_engine(f"sqlite:///{data / 'gkwatch.db'}")) as s:
        fetches = {f.url: f for f in s.exec(select(Fetch))}
        report = s.exec(select(Report)).one()
        version = s.exec(select(ReportVersion).where(ReportVersion.report_id == report.id)).one()
    for name, body in zip(names, pages, strict=True):
        assert fetches[site.base + name].size == len(body)  # each image, as evidence
    assert site.base + "/images/logo.png" not in fetches  # the footer's logo is not a page
    assert version.document_url.endswith(BUNDLE_FRAGMENT)
    page_url, images = read_image_bundle(Archive(data / "archive").get(version.sha256))
    assert page_url == report.url
    assert [i.data for i in images] == pages and [i.url for i in images] == [site.base + n for n in names]


def test_the_bundle_is_read_by_ocr_and_the_report_judged(crawled):
    data, path, *_ = crawled
    with Session(make_engine(f"sqlite:///{data / 'gkwatch.db'}")) as s:
        version = s.exec(select(ReportVersion)).one()
        reading = s.exec(select(Reading).where(Reading.sha256 == version.sha256)).one()
    assert reading.error is None, reading.error
    assert (reading.format, reading.template, reading.year) == ("image", "2019", 2020)
    assert any(n.startswith("OCR：识别了") for n in reading.notes)
    status = gkwatch(path, "status", "--year", "2020", "--format", "json")
    assert status.returncode == 0, status.stderr[-2000:]
    (row,) = [r for r in json.loads(status.stdout) if r["agency_id"] == "zc-zsj"]
    assert (row["status"], row["published"]) == ("on_time", "2021-01-20"), row
    assert row["inconsistent"] is True and "s3.row_total" in row["findings"], row
