"""Portal B (大汉 Hanweb: jpage script + dataproxy.jsp XML) and portal C (generic: JavaScript shell,
meta refresh, sub-columns, dates beside links only, Last-Modified-only attachments, an undated report)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urljoin

import lxml.html

from testbed.simulator.scenario import FIRST, HEADER, LISTING, NO_META
from testbed.simulator.sites.common import SHANGHAI
from testbed.simulator.sites.hanweb import COLUMN_ID, DATAPROXY
from tests.simulator.conftest import fetch


def records(xml_bytes: bytes) -> tuple[int, list[str]]:
    root = ET.fromstring(xml_bytes)  # well-formed or it raises
    assert root.tag == "datastore"
    hrefs = []
    for rec in root.iter("record"):
        frag = lxml.html.fragment_fromstring(rec.text.strip())
        hrefs.append(frag.find(".//a").get("href") if frag.tag != "a" else frag.get("href"))
    return int(root.findtext("totalrecord")), hrefs


def test_hanweb_column_page_holds_the_jpage_call(sim):
    url = sim.start_urls("linzi")[0]
    got = fetch(url)
    assert got.status == 200
    text = got.body.decode("utf-8")
    assert DATAPROXY in text and f"columnid: {COLUMN_ID}" in text
    per_page = int(re.search(r"perPage: (\d+)", text).group(1))
    total = int(re.search(r"totalRecord: (\d+)", text).group(1))
    assert total == len(sim.scenario.reports_on("linzi")) and total > per_page  # paging is needed


def test_hanweb_dataproxy_pages_cover_every_article(sim):
    base = sim.base_url("linzi")
    common = {"col": 1, "appid": 1, "webid": 1, "path": "/", "columnid": COLUMN_ID, "permissiontype": 0}
    seen: list[str] = []
    start, per = 1, 5
    while True:
        q = urlencode({"startrecord": start, "endrecord": start + per - 1, "perpage": per, **common})
        got = fetch(f"{base}{DATAPROXY}?{q}")
        assert got.status == 200 and got.content_type.startswith("text/xml")
        total, hrefs = records(got.body)
        seen += hrefs
        start += per
        if start > total:
            break
    assert len(seen) == len(set(seen)) == len(sim.scenario.reports_on("linzi"))
    assert all(re.fullmatch(rf"/art/\d{{4}}/\d{{1,2}}/\d{{1,2}}/art_{COLUMN_ID}_\d+\.html", h) for h in seen)
    # POST with the column parameters in the body, as jpage does
    body = urlencode({"columnid": COLUMN_ID, "unitid": 5678}).encode()
    posted = fetch(f"{base}{DATAPROXY}?startrecord=1&endrecord=3&perpage=3", method="POST", data=body)
    assert records(posted.body)[1] == seen[:3]
    other = fetch(f"{base}{DATAPROXY}?startrecord=1&endrecord=3&perpage=3&columnid=999")
    assert records(other.body)[1] == []


def test_hanweb_articles_dates(sim):
    site = sim.sites["linzi"]
    for r in sim.scenario.reports_on("linzi"):
        got = fetch(sim.base_url("linzi") + site.article_path(r))
        assert got.status == 200
        text = got.body.decode("utf-8")
        assert f"发布日期：{r.published:%Y-%m-%d %H:%M}" in text
        has_meta = f'name="PubDate" content="{r.published:%Y-%m-%d %H:%M}"' in text
        assert has_meta == (NO_META not in r.defects)


def test_generic_home_is_a_javascript_shell_then_a_meta_refresh(sim):
    base = sim.base_url("hecheng")
    home = fetch(base + "/")
    assert home.status == 200
    target = re.search(r'location\.href="([^"]+)"', home.body.decode()).group(1)
    assert "<a " not in home.body.decode()  # nothing to follow without reading the script
    portal = fetch(urljoin(base + "/", target))
    assert portal.status == 200 and "/xxgk/index.html" in portal.body.decode()
    refresh = fetch(base + "/xxgk/index.html").body.decode()
    url = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', refresh).group(1)
    disclosure = fetch(base + url)
    assert disclosure.status == 200 and "zfxxgknb" in disclosure.body.decode()


def test_generic_listing_dates_and_attachments(sim):
    site = sim.sites["hecheng"]
    base = sim.base_url("hecheng")
    listed: dict[str, str | None] = {}
    for folder in ("bjzf", "szbm", "xzjd"):
        got = fetch(f"{base}/xxgk/zfxxgknb/{folder}/index.shtml")
        assert got.status == 200
        for li in lxml.html.fromstring(got.body.decode()).iter("li"):
            a = li.find("a")
            if a is not None and "年度报告" in a.text_content():
                span = li.find("span")
                listed[a.get("href")] = span.text if span is not None else None
    reports = sim.scenario.reports_on("hecheng")
    assert len(listed) == len(reports)
    for r in reports:
        path = site.article_path(r)
        got = fetch(base + path)
        assert got.status == 200
        if r.evidence == LISTING:
            assert listed[path] == f"{r.published:%Y-%m-%d}"
            text = got.body.decode()
            assert "PubDate" not in text and "发布日期" not in text and "发布时间" not in text
        elif r.evidence == HEADER:
            assert listed[path] is None and got.body[:2] == b"PK"
            assert parsedate_to_datetime(got.headers["Last-Modified"]) == r.published.replace(tzinfo=SHANGHAI)
        elif r.evidence == FIRST:
            assert listed[path] is None
            text = got.body.decode()
            assert "PubDate" not in text and not re.search(r"20\d\d-\d\d-\d\d", text)
