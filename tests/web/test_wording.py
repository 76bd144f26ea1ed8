"""The one wording of verdicts (``monitor.status.wording``): consistency, findings, the crawler's trouble."""

from __future__ import annotations

import re

import pytest

from monitor.status.wording import consistency, findings_text, problem_text


@pytest.mark.parametrize(
    ("inconsistent", "findings", "css", "text"),
    [
        (False, [], "good", "一致"),
        (False, ["cell.blank"], "warn", "未发现错误（1 项待核实）"),  # never 一致 beside a problem
        (True, ["s3.row_total", "cell.blank"], "bad", "不一致（1 项错误，1 项待核实）"),
        (True, ["reading.unsure"], "warn", "未发现错误（1 项待核实）"),  # a warning alone is never 不一致
        (True, [], "bad", "不一致"),  # the flag alone (findings not at hand): trusted
        (None, [], "unknown", "未解析"),
        (False, [{"rule": "s3.balance", "severity": "warning"}], "warn", "未发现错误（1 项待核实）"),
    ],
)
def test_consistency_words(inconsistent, findings, css, text):
    c = consistency(inconsistent, findings)
    assert (c.css, c.text) == (css, text)


def test_findings_text_errors_first_with_numbers():
    details = [
        {"rule": "cell.blank", "severity": "warning", "message": "二、上年结转：总计（空白）"},
        {
            "rule": "s3.row_total",
            "severity": "error",
            "message": "一、本年新收：总计 6，而六类申请人之和为 5",
        },
    ]
    lines = findings_text(details, ["s3.row_total", "history.carry_over"])
    assert lines[0].startswith("【错误】表三某行") and "总计 6，而六类申请人之和为 5" in lines[0]
    assert lines[1].startswith("【警告】") and "（空白）" in lines[1]
    assert lines[2].startswith("【警告】本年“上年结转”")  # a rule without a stored detail, by its meaning
    assert not any(re.search(r"\b(s3|cell|history)\.", x) for x in lines)  # no rule ids in the words


@pytest.mark.parametrize(
    ("kind", "detail", "said"),
    [
        ("blocked", "HTTP 403", "抓取被拦截：服务器返回 HTTP 403（禁止访问）"),
        (
            "unreachable",
            "HTTP 503 after retries",
            "网站无法访问：服务器返回 HTTP 503（服务暂时不可用），重试后仍失败",
        ),
        ("unreachable", "TimeoutError: User timeout caused connection failure.", "网站无法访问：连接超时"),
        ("unreachable", "DNSLookupError: no such host", "网站无法访问：域名解析失败"),
        (
            "limit",
            "crawl.max_pages_per_portal = 3000 reached at http://x/: links beyond it not followed",
            "达到抓取上限（crawl.max_pages_per_portal = 3000），之后的链接未跟进",
        ),  # fmt: skip
        ("unreachable", "ValueError: something nobody foresaw", "网站无法访问：请求失败（其他网络错误）"),
        ("blocked", "verification page (访问验证) served with 200", "抓取被拦截：网站返回拦截或验证码页面"),
        (None, "Connection refused", "连接被拒绝"),
    ],
)
def test_problems_are_said_in_chinese(kind, detail, said):
    assert problem_text(kind, detail) == said
