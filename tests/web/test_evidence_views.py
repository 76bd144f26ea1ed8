"""Every verdict shown with its evidence, in the same Chinese words on the page, in the exports and in
``/api/status`` — on a database judged by the real ``gkwatch check`` (``tests/web/evidence_seed.py``)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from monitor.status import wording
from monitor.status.table import EXPORT_HEADER, stored_objects
from monitor.web import create_app
from storage.models import AgencyYearStatus
from tests.web.evidence_seed import EXPECTED, LISTING_HTML, build


@pytest.fixture(scope="module")
def judged(tmp_path_factory):  # noqa: ANN001, ANN201
    return build(tmp_path_factory.mktemp("judged"))


@pytest.fixture(scope="module")
def client(judged) -> TestClient:  # noqa: ANN001
    return TestClient(create_app(judged.config, engine=judged.engine))


def text_of(html: str) -> str:
    """What a reader sees: tags dropped, whitespace folded, entities left as they are."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_seed_has_every_verdict(judged):
    with Session(judged.engine) as s:
        got = {(r.agency_id, r.year): r.status for r in s.query(AgencyYearStatus)}
    assert got == EXPECTED


def test_missing_shows_the_complete_read_and_its_archived_snapshots(client, judged):
    html = client.get("/agency/zc-gov/2021").text
    seen = text_of(html)
    assert "证明未发布：截止日 2022-03-31 之后" in seen
    assert "2022-04-05 09:00（北京时间）完整读取了该网站的年度报告栏目" in seen
    assert f"第 {judged.runs['second']} 次抓取" in seen and "1 页栏目页" in seen
    snap = re.search(r'<a href="/archive/([0-9a-f]{64})" download>下载</a>', html)
    assert snap, "each listing page of the read links its archived copy"
    assert client.get(f"/archive/{snap[1]}").content == LISTING_HTML  # the snapshot, byte for byte
    assert 'href="http://zb.example/xxgk/list.html"' in html
    assert "/agency/zc-gov/2021/evidence.zip" in html


def test_unknown_shows_the_failed_request(client):
    seen = text_of(client.get("/agency/hh-cgj").text)
    assert "无法判断的原因：抓取被拦截：服务器返回 HTTP 403（禁止访问）" in seen
    assert "http://hh.example/xxgk/" in seen and "2022-02-15 08:00（北京时间）" in seen
    assert "未读完（抓取被拦截）" in seen


def test_late_quotes_the_pages_own_words_and_the_numbers_of_its_findings(client):
    html = client.get("/agency/zc-zsj").text
    seen = text_of(html)
    assert "逾期发布：截止日 2022-01-31，发布日期 2022-02-03（逾期 3 天）" in seen
    assert "网站原文：「 2022-02-03 」" in seen or "网站原文：「<bdi>2022-02-03</bdi>」" in html
    assert "行政复议：总计 7，而维持、纠正、其他、尚未审结之和为 0" in seen  # the report's own numbers
    assert '<code class="rule" title="规则编号">s4.total</code>' in html  # the rule id, small
    assert "不一致" in seen and "（1 项错误）" in seen


def test_listing_absent_and_first_seen_explain_the_date(client):
    seen = text_of(client.get("/agency/zd-czj/2021").text)
    assert "证明逾期" in seen and "2022-02-10 09:00（北京时间）完整读取" in seen
    assert "2022-03-01 09:30（北京时间）才首次发现" in seen
    seen = text_of(client.get("/agency/zd-jyj/2021").text)
    assert "网站未注明发布日期；本系统于 2022-01-20 09:30（北京时间）首次发现该报告，不晚于截止日" in seen


def test_consistent_is_never_beside_a_count_of_problems(client):
    """A warning alone: not 一致, not 不一致 — 未发现错误 with the count."""
    html = client.get("/agency/zc-jyj").text
    assert '<span class="c-warn">未发现错误</span> <span class="muted small">（1 项待核实）</span>' in html
    assert '<span class="c-good">一致</span> <span' not in html
    assert "不一致" not in text_of(html).replace("数据不一致率", "")
    table = client.get("/", params={"year": 2021}).text
    row = re.search(r'href="/agency/zc-jyj".*?</tr>', table, re.S)[0]
    assert "未发现错误" in row and "（1 项待核实）" in row and ">一致<" not in row
    assert "填了「——」而不是数字" in text_of(html)  # the cell's remark in Chinese


def test_quotable_text_is_the_evidence_in_words(client, judged):
    html = client.get("/agency/zc-gov/2021").text
    with Session(judged.engine) as s:
        row = s.get(AgencyYearStatus, ("zc-gov", 2021))
        lines = wording.evidence_lines(
            {"status": row.status, "due": row.due, "evidence": row.evidence, "published": None}
        )
    quote = re.search(r'<blockquote class="cite">(.*?)</blockquote>', html, re.S)[1]
    assert all(line in quote for line in lines) and lines


def test_exports_carry_the_evidence_in_the_same_words(client, judged):
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/export.csv", params={"year": 2021}).content.decode("utf-8-sig"))
        )
    )
    by_id = {r["机关编号"]: r for r in rows}
    with Session(judged.engine) as s:
        for agency_id, year in EXPECTED:
            row = s.get(AgencyYearStatus, (agency_id, year))
            expected = "；".join(
                wording.evidence_lines(
                    {
                        "status": row.status,
                        "due": row.due,
                        "published": row.published,
                        "published_evidence": row.published_evidence,
                        "first_seen": row.first_seen,
                        "evidence": row.evidence,
                    }
                )
            )
            assert by_id[agency_id]["证据"] == expected and expected, agency_id
    assert "HTTP 403（禁止访问）" in by_id["hh-cgj"]["证据"]
    assert "完整读取" in by_id["zc-gov"]["证据"]
    assert by_id["zc-zsj"]["逾期天数"] == "3"
    ws = load_workbook(io.BytesIO(client.get("/export.xlsx", params={"year": 2021}).content)).active
    header = [c.value for c in ws[1]]
    assert tuple(header) == EXPORT_HEADER
    xlsx = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert xlsx["zc-gov"]["证据"] == by_id["zc-gov"]["证据"]  # one wording, every format


def test_api_passes_the_stored_evidence_through(client, judged):
    api = client.get("/api/status", params={"year": 2021}).json()
    with Session(judged.engine) as s:
        assert api == stored_objects(s, year=2021)  # the contract's keys and the evidence, as stored
    missing = next(o for o in api if o["agency_id"] == "zc-gov")
    assert missing["evidence"]["absence"]["run_id"] == judged.runs["second"]
