"""Politeness that must hold whatever AutoThrottle measures: a portal's own delay is a floor."""

from __future__ import annotations

from types import SimpleNamespace

from scrapy import Request
from scrapy.core.downloader import Slot
from scrapy.http import HtmlResponse
from scrapy.signalmanager import SignalManager

from crawler.portal.extensions import PortalAutoThrottle
from crawler.portal.run import build_settings
from domain.config import Config, CrawlConfig, PortalConfig


def _throttle(tmp_path) -> tuple[PortalAutoThrottle, dict[str, Slot]]:
    config = Config(
        path=tmp_path / "config.yaml",
        portals=[
            PortalConfig(id="slow", name="S", start_urls=["http://127.0.0.2/nb/"], delay_seconds=3.0),
            PortalConfig(id="fast", name="F", start_urls=["http://127.0.0.3/nb/"]),
        ],
        crawl=CrawlConfig(delay_seconds=1.0),
    )
    slots = {"127.0.0.2": Slot(1, 3.0, 0), "127.0.0.3": Slot(1, 1.0, 0)}
    crawler = SimpleNamespace(  # the parts of a Crawler AutoThrottle touches (no reactor needed)
        settings=build_settings(config),
        signals=SignalManager(),
        engine=SimpleNamespace(downloader=SimpleNamespace(slots=slots, _delay=1.0)),
    )
    throttle = PortalAutoThrottle.from_crawler(crawler)
    throttle._spider_opened(None)
    return throttle, slots


def _fast_response(host: str) -> tuple[HtmlResponse, Request]:
    request = Request(f"http://{host}/nb/x.html", meta={"download_slot": host, "download_latency": 0.01})
    return HtmlResponse(request.url, body=b"<html></html>", request=request), request


def test_autothrottle_never_goes_below_a_portals_own_delay(tmp_path):
    throttle, slots = _throttle(tmp_path)
    for _ in range(20):  # fast answers pull AutoThrottle's delay down ...
        for host in slots:
            response, request = _fast_response(host)
            throttle._response_downloaded(response, request, None)
    assert slots["127.0.0.2"].delay == 3.0  # ... but not below the portal's configured 3 s
    assert slots["127.0.0.3"].delay == 1.0  # the global delay stays the floor elsewhere


def test_the_scrapy_autothrottle_is_replaced_not_doubled(tmp_path):
    s = build_settings(Config(path=tmp_path / "c.yaml", crawl=CrawlConfig(delay_seconds=1.0)))
    ext = s.getdict("EXTENSIONS")
    assert ext["scrapy.extensions.throttle.AutoThrottle"] is None
    assert "crawler.portal.extensions.PortalAutoThrottle" in ext
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
