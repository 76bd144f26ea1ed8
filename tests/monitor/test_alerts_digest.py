"""What a digest says, over real SMTP, from a database judged by the real check (tests/web/evidence_seed.py):
what changed, the evidence with its numbers in the page's words, links to the agency-year and its evidence
file, what a reader can do (the 条例's channels), the contact, the unsubscribe link; HTML for a phone."""

from __future__ import annotations

import re

import pytest

from domain.config import Subscriber
from monitor.alerts import deliver_outbox, queue_alerts, queue_operator_notices
from monitor.alerts.digest import WHAT_YOU_CAN_DO
from storage.db import session_scope
from tests.monitor.alerts_fixtures import SmtpServer
from tests.web.evidence_seed import build


@pytest.fixture
def smtp():  # noqa: ANN201
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailed(tmp_path, smtp):  # noqa: ANN001, ANN201
    judged = build(tmp_path)
    judged.config.alerts.smtp.port = smtp.port
    judged.config.alerts.subscribers = [Subscriber("reader@example.org", [])]
    with session_scope(judged.engine) as s:
        assert queue_alerts(s, judged.config) == 1
    assert deliver_outbox(judged.engine, judged.config).sent == 1
    (mail,) = smtp.received
    return mail


def item(text: str, title: str) -> str:
    """One item of the plain-text digest: its title line and what follows up to the blank line."""
    m = re.search(re.escape(title) + r".*?\n\n", text.replace("\r\n", "\n"), re.S)
    assert m, title
    return m[0]


def test_what_changed_with_its_evidence_and_numbers(mailed):
    text = mailed.part("plain")
    late = item(text, "【逾期发布】淄川区招商局（山东省/淄博市/淄川区）2021 年度报告")
    assert "逾期发布：截止日 2022-01-31，发布日期 2022-02-03（逾期 3 天）" in late
    assert "依据页面 PubDate 元数据「2022-02-03」" in late  # the page's own words
    assert "详情：http://watch.example.org/agency/zc-zsj/2021" in late
    assert "证据包：http://watch.example.org/agency/zc-zsj/2021/evidence.zip" in late
    missing = item(text, "【未发布】淄川区人民政府")
    assert "2022-04-05 09:00（北京时间）完整读取了该网站的年度报告栏目" in missing  # the proof of absence
    absent = item(text, "【逾期发布】张店区财政局")
    assert "网站未注明发布日期" in absent and "才首次发现" in absent  # not the first sight as fact
    bad = item(text, "【数据不一致】淄川区招商局")
    assert "行政复议：总计 7，而维持、纠正、其他、尚未审结之和为 0" in bad
    assert "怀化市城管局" not in text  # unknown is the crawler's trouble: the operator's mail, not this one


def test_next_step_contact_and_unsubscribe(mailed):
    text = mailed.part("plain")
    assert WHAT_YOU_CAN_DO in text
    assert "上一级行政机关或者政府信息公开工作主管部门投诉、举报" in text and "第五十一条" in text
    assert "联系我们：监测组 watch@example.org" in text
    assert re.search(r"退订：http://watch\.example\.org/unsubscribe\?token=[\w-]+\.[\w-]+", text)
    assert not re.search(r"\b(s3|s4|cell)\.\w+", text)  # no rule ids in the text


def test_html_reads_on_a_phone_and_escapes(mailed):
    html = mailed.part("html")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:640px" in html and "overflow-wrap:anywhere" in html
    assert 'href="http://watch.example.org/agency/zc-gov/2021/evidence.zip"' in html
    assert "<script" not in html


def test_operator_mail_is_chinese(tmp_path, smtp):
    judged = build(tmp_path)
    judged.config.alerts.smtp.port = smtp.port
    judged.config.alerts.operator = "ops@example.org"
    judged.config.alerts.problem_threshold = 1
    with session_scope(judged.engine) as s:
        assert queue_operator_notices(s, judged.config) == 1
    deliver_outbox(judged.engine, judged.config)
    (mail,) = smtp.received
    text = mail.part("plain")
    assert "网站 怀化市人民政府（hh）" in text and "连续 1 次抓取失败" in text
    assert "抓取被拦截：服务器返回 HTTP 403（禁止访问）" in text
    assert "“无法判断”" in text and "unknown" not in text
    assert "http://watch.example.org/runs" in text
    assert not re.search(r"[A-Za-z]{5,}", re.sub(r"https?://\S+|gkwatch", "", text))  # no English words
