"""Charset decided from the bytes, block pages detected, robots refusals told apart."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.portal.middlewares import (
    BlockDetectionMiddleware,
    Blocked,
    CharsetMiddleware,
    decide_encoding,
    looks_blocked,
)
from tests.crawler.conftest import fixture_bytes


def _response(body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> HtmlResponse:
    url = "http://127.0.0.2/zwgk/index.html"
    return HtmlResponse(
        url, status=status, body=body, headers={"Content-Type": content_type}, request=Request(url)
    )


def test_gbk_page_under_a_lying_utf8_header_is_read_as_gb18030():
    body = fixture_bytes("trs_article.gbk.html")
    lying = _response(body, "text/html; charset=utf-8")
    fixed = CharsetMiddleware().process_response(lying.request, lying)
    assert fixed.encoding == "gb18030"
    assert "淄川区招商局2024年政府信息公开工作年度报告" in fixed.text


def test_utf8_bytes_win_over_a_gbk_meta():
    body = '<html><head><meta charset="gbk"></head><body>区招商局</body></html>'.encode()
    assert decide_encoding(body, "gbk") == "utf-8"
    assert decide_encoding("<p>区招商局</p>".encode("gbk"), None) == "gb18030"
    assert decide_encoding(b"\xef\xbb\xbf<p>x</p>", "gbk") == "utf-8"


def test_verification_page_served_with_200_is_blocked():
    resp = _response(fixture_bytes("block_captcha.html"))
    with pytest.raises(Blocked, match="访问验证"):
        BlockDetectionMiddleware().process_response(resp.request, resp)


def test_a_challenge_page_heavy_with_script_is_still_blocked():
    script = "<script>" + "var _$a=function(){return 0x1f^0x2e;};" * 2000 + "</script>"  # ~80 KB of JS
    body = f"<html><head><title>安全验证</title>{script}</head><body><p>请稍候</p></body></html>"
    resp = _response(body.encode())
    assert len(resp.text) > 30000
    with pytest.raises(Blocked, match="安全验证"):
        BlockDetectionMiddleware().process_response(resp.request, resp)


def test_a_long_page_that_mentions_a_captcha_is_not_a_block():
    prose = "<p>本机关政务服务平台已取消短信验证码。</p>" + "<p>政务公开工作稳步推进。</p>" * 400
    assert looks_blocked(f"<html><body>{prose}</body></html>") is None


@pytest.mark.parametrize("status", [403, 412, 429])
def test_403_and_429_are_blocked(status):
    resp = _response(b"<html>Forbidden</html>", status=status)
    with pytest.raises(Blocked, match=str(status)):
        BlockDetectionMiddleware().process_response(resp.request, resp)


def test_a_report_page_is_not_a_block_page():
    body = fixture_bytes("trs_article.gbk.html")
    resp = CharsetMiddleware().process_response(None, _response(body, "text/html"))
    assert BlockDetectionMiddleware().process_response(resp.request, resp) is resp
    assert looks_blocked("本年新收 年度报告 请输入验证码以下载") is None


def test_a_callback_crash_becomes_a_recorded_problem():
    from crawler.portal.items import ProblemItem
    from crawler.portal.middlewares import CallbackErrorMiddleware

    url = "http://127.0.0.2/nb/index.html"
    resp = HtmlResponse(url, body=b"<html></html>", request=Request(url, meta={"gkwatch_portal": "zichuan"}))
    (item,) = CallbackErrorMiddleware().process_spider_exception(resp, ValueError("bad markup"))
    assert isinstance(item, ProblemItem)
    assert (item.portal_id, item.kind, item.url) == ("zichuan", "parse_failed", url)
    assert "ValueError: bad markup" in item.detail
    other = HtmlResponse(url, body=b"", request=Request(url))
    assert CallbackErrorMiddleware().process_spider_exception(other, ValueError("x")) is None
