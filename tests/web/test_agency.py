"""The agency page (evidence, marked cells, findings in Chinese) and the archive download."""

from __future__ import annotations

import re

from domain.codes import explain
from tests.web.seed import HOSTILE, REPORT_HTML


def test_agency_page_shows_the_evidence(client, seeded):
    r = client.get("/agency/zichuan-zsj")
    assert r.status_code == 200
    html = r.text
    assert '<section class="card year" id="y2021">' in html and 'id="y2020"' in html
    assert html.index('id="y2021"') < html.index('id="y2020"')  # newest first
    assert "2022-01-31" in html and "部门，《条例》第四十九条" in html  # due date and its reason, in Chinese
    assert "art. 49" not in html
    assert "2022-02-03" in html and "页面 PubDate 元数据" in html  # publication date and its evidence
    assert "2022-02-04 10:13（北京时间）" in html  # first_seen, in Beijing time
    assert 'href="http://www.zichuan.gov.cn/xxgk/2021nb.html"' in html
    assert f'href="/archive/{seeded.archive_sha}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and HOSTILE not in html


def test_due_reason_is_chinese_on_the_page_and_in_the_export(client):
    html = client.get("/").text
    assert 'title="部门，《条例》第四十九条"' in html and "art. 49" not in html
    csv_text = client.get("/export.csv").content.decode("utf-8-sig")
    assert "部门，《条例》第四十九条" in csv_text and "art. 49" not in csv_text  # the published file: Chinese
    assert client.get("/api/status").json()[0]["due"]  # JSON keeps the contract's codes


def test_due_reason_translation():
    from monitor.status.deadlines import DEFAULTS
    from monitor.web.labels import due_reason

    for kind, (_, _, reason) in DEFAULTS.items():
        assert "条例》第四十九条" in due_reason(reason), kind
    assert due_reason("local deadline for 湖南省/怀化市") == "湖南省/怀化市 地方规定"
    assert due_reason("怀化 local notice") == "怀化 local notice"  # written in config.yaml: shown as written
    assert due_reason(None) == ""


def test_failing_cells_are_marked_and_findings_explained(client):
    html = client.get("/agency/zichuan-zsj").text
    flagged = {
        key: sev for sev, key in re.findall(r'<td class="flag-(\w+)" title="[^"]*" data-key="([^"]+)"', html)
    }
    assert flagged == {
        "s3.new_received.natural_person": "error",
        "s3.new_received.total": "error",
        "s3.carried_over.total": "warning",
    }
    assert explain("s3.row_total") in html and explain("cell.blank") in html
    assert "一、本年新收: 总计 6 ≠ 5" in html  # the stored finding's own message


def test_history_rules_from_the_status_are_explained(client, seeded):
    # the hostile agency's status names s4.total but it has no parsed version: still explained
    html = client.get("/agency/hostile").text
    assert explain("s4.total") in html
    assert 'href="javascript:' not in html and "javascript:alert(2)" in html  # shown as text, not a link


def test_unknown_agency_is_404(client):
    r = client.get("/agency/nobody")
    assert r.status_code == 404 and "没有这个机关" in r.text


def test_archive_is_a_download_never_rendered(client, seeded):
    r = client.get(f"/archive/{seeded.archive_sha}")
    assert r.status_code == 200
    assert r.content == REPORT_HTML
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["content-disposition"].endswith(f'{seeded.archive_sha[:16]}.html"')
    assert r.headers["x-content-type-options"] == "nosniff"


def test_archive_refuses_bad_names(client):
    assert client.get("/archive/../../etc/passwd").status_code in (400, 404)
    assert client.get("/archive/" + "g" * 64).status_code == 400
    assert client.get("/archive/" + "0" * 64).status_code == 404


def test_unknown_page_is_a_chinese_404(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "没有这个页面" in r.text
    assert "content-security-policy" in r.headers
