"""Portal A (TRS WCM): column → year sub-columns → createPageHTML pages → GBK articles with metas →
attachments with Last-Modified; one article with a lying charset header, one that fails twice first."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import lxml.html

from testbed.simulator.scenario import ALIAS, LYING_CHARSET, RETRY
from testbed.simulator.sites.common import SHANGHAI
from tests.simulator.conftest import fetch

PAGER = re.compile(r'createPageHTML\((\d+),\s*(\d+),\s*"index",\s*"html"\)')


def links(url: str, body: bytes, encoding: str) -> list[tuple[str, str]]:
    doc = lxml.html.fromstring(body.decode(encoding))
    return [(urljoin(url, a.get("href")), a.text_content().strip()) for a in doc.iter("a") if a.get("href")]


def crawl_listing(sim) -> dict[str, str]:  # noqa: ANN001
    """Walk the column like a crawler would: every year, every page. article URL -> link title."""
    column = sim.start_urls("zichuan")[0]
    top = fetch(column)
    assert top.status == 200
    years = [u for u, t in links(column, top.body, "utf-8") if t.endswith("年度")]
    assert len(years) == len(sim.scenario.years)
    found: dict[str, str] = {}
    for year_url in years:
        first = fetch(year_url)
        assert first.status == 200 and "charset=gbk" in first.content_type
        total, current = map(int, PAGER.search(first.body.decode("gbk")).groups())
        assert current == 0
        pages = [year_url] + [urljoin(year_url, f"index_{n}.html") for n in range(1, total)]
        for n, page_url in enumerate(pages):
            got = fetch(page_url) if n else first
            assert got.status == 200, page_url
            assert PAGER.search(got.body.decode("gbk")).groups() == (str(total), str(n))
            for u, t in links(page_url, got.body, "gbk"):
                if re.search(r"/t\d{8}_\d+\.html$", u):
                    found[u] = t
    return found


def test_every_report_is_reachable_through_the_pagination(sim):
    found = crawl_listing(sim)
    reports = sim.scenario.reports_on("zichuan")
    assert len(found) == len(reports)
    printed = {f"{sim.scenario.printed_name(r)}{r.year}年政府信息公开工作年度报告" for r in reports}
    assert set(found.values()) == printed
    assert any(t.startswith("区招商局") for t in found.values())  # listed under its alias


def test_articles_carry_the_guideline_metas_and_gbk_bytes(sim):
    site = sim.sites["zichuan"]
    base = sim.base_url("zichuan")
    for r in sim.scenario.reports_on("zichuan"):
        if RETRY in r.defects:
            continue
        got = fetch(base + site.article_path(r))
        assert got.status == 200
        with_lie = LYING_CHARSET in r.defects
        assert ("charset=utf-8" if with_lie else "charset=gbk") in got.content_type
        text = got.body.decode("gbk")
        if with_lie:  # the header lies: these bytes are not UTF-8
            try:
                got.body.decode("utf-8")
                raise AssertionError("a lying-charset page must not be valid UTF-8")
            except UnicodeDecodeError:
                pass
        doc = lxml.html.fromstring(text)
        metas = {m.get("name"): m.get("content") for m in doc.iter("meta") if m.get("name")}
        assert metas["PubDate"] == r.published.strftime("%Y-%m-%d %H:%M")
        assert metas["ContentSource"] == sim.scenario.printed_name(r)
        assert metas["SiteName"] == "淄川区人民政府" and metas["ColumnName"] == f"{r.year}年度"
        assert f"发布日期：{r.published:%Y-%m-%d}" in text
        if ALIAS in r.defects:
            assert metas["ContentSource"] == "区招商局"
        if r.fmt == "html":
            assert "<table" in text and "三、收到和处理政府信息公开申请情况" in text
        else:
            attachments = [
                u for u, _ in links(base + site.article_path(r), got.body, "gbk") if u.endswith(r.fmt)
            ]
            assert attachments == [base + site.attachment_path(r)]


def test_attachments_have_their_publication_as_last_modified(sim):
    site = sim.sites["zichuan"]
    base = sim.base_url("zichuan")
    for r in sim.scenario.reports_on("zichuan"):
        if r.fmt in ("html", "doc", "wps", "pdf", "xls"):  # LibreOffice formats: see test_documents
            continue
        got = fetch(base + site.attachment_path(r))
        assert got.status == 200 and len(got.body) == int(got.headers["Content-Length"])
        assert parsedate_to_datetime(got.headers["Last-Modified"]) == r.published.replace(tzinfo=SHANGHAI)
        assert got.body[:2] == b"PK"  # docx / xlsx are zip containers


def test_html_pages_last_modified_is_the_rendering_time_not_the_publication(sim):
    r = next(r for r in sim.scenario.reports_on("zichuan") if r.fmt == "html" and not r.defects)
    got = fetch(sim.base_url("zichuan") + sim.sites["zichuan"].article_path(r))
    assert parsedate_to_datetime(got.headers["Last-Modified"]).date() > r.published.date()


def test_a_page_fails_twice_then_works():
    from testbed.simulator import SamplePortals

    with SamplePortals(prepare=False) as fresh:
        r = next(r for r in fresh.scenario.reports_on("zichuan") if RETRY in r.defects)
        url = fresh.base_url("zichuan") + fresh.sites["zichuan"].article_path(r)
        assert [fetch(url).status for _ in range(4)] == [500, 500, 200, 200]


def test_robots_txt_allows_the_reports(sim):
    got = fetch(sim.base_url("zichuan") + "/robots.txt")
    assert got.status == 200
    assert "Disallow: /\n" not in got.body.decode() and "User-agent: *" in got.body.decode()


def test_home_leads_to_the_annual_report_column(sim):
    base = sim.base_url("zichuan")
    home = fetch(base + "/")
    disclosure = [u for u, t in links(base + "/", home.body, "utf-8") if t == "政府信息公开"]
    assert disclosure
    got = fetch(disclosure[-1])
    assert got.status == 200
    column = [u for u, t in links(disclosure[-1], got.body, "utf-8") if t == "政府信息公开年报"]
    assert column == [sim.start_urls("zichuan")[0]]
