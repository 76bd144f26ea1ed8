"""The crawl command's pieces that need no network: settings from config, portal selection, progress."""

from __future__ import annotations

import io
import logging
from collections import Counter
from pathlib import Path

import pytest

from crawler.portal.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.portal.run import Progress, build_settings, run_stats, summary_lines
from crawler.portal.spiders.portal import pick_attachment, select_portals
from crawler.portal.tracking import PortalTracker
from domain.config import AgencyConfig, Config, ConfigError, CrawlConfig, PortalConfig
from tests.integration.cli import gkwatch


def _config(tmp_path: Path, **crawl) -> Config:
    return Config(
        path=tmp_path / "config.yaml",
        portals=[
            PortalConfig(id="a", name="A", start_urls=["http://127.0.0.2:8000/nb/"], delay_seconds=3.0),
            PortalConfig(id="b", name="B", start_urls=["http://127.0.0.3:8000/nb/"]),
        ],
        agencies=[AgencyConfig(id="x", name="X局", portal="b"), AgencyConfig(id="y", name="Y局")],
        crawl=CrawlConfig(**crawl),
    )


def test_settings_are_polite_and_follow_the_config(tmp_path):
    s = build_settings(
        _config(tmp_path, contact="ops@example.org", delay_seconds=1.5, max_attachment_bytes=1000)
    )
    assert "gkwatch" in s["USER_AGENT"] and "ops@example.org" in s["USER_AGENT"]
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert s.getfloat("DOWNLOAD_DELAY") == 1.5 and s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getint("DOWNLOAD_MAXSIZE") == 1000
    assert not s.getbool("REMOTE_CONTROL_ENABLED") and not s.getbool("TELNETCONSOLE_ENABLED")
    assert not s.getbool("COOKIES_ENABLED")
    assert s.getdict("DOWNLOAD_SLOTS") == {"127.0.0.2": {"delay": 3.0, "concurrency": 1}}
    assert 429 not in s.getlist("RETRY_HTTP_CODES")  # a "slow down" is respected, not retried into
    off = build_settings(_config(tmp_path, delay_seconds=0))
    assert not off.getbool("AUTOTHROTTLE_ENABLED") and off.getfloat("DOWNLOAD_DELAY") == 0
    # sites at once is a config key; one request at a time per site is not
    wide = build_settings(_config(tmp_path, concurrent_sites=40, max_document_bytes=5000))
    assert wide.getint("CONCURRENT_REQUESTS") == 40 and wide.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert wide.getint("DOWNLOAD_MAXSIZE") == 5000 and s.getint("CONCURRENT_REQUESTS") == 16
    assert s.getint("DEPTH_LIMIT") == 0 and not s.getbool("METAREFRESH_ENABLED")  # the spider's own bounds


def test_portal_selection_by_portal_or_agency(tmp_path):
    cfg = _config(tmp_path)
    assert [p.id for p in select_portals(cfg)] == ["a", "b"]
    assert [p.id for p in select_portals(cfg, agency_ids=["x"])] == ["b"]
    assert [p.id for p in select_portals(cfg, portal_ids=["a"], agency_ids=["x"])] == ["a", "b"]
    with pytest.raises(ConfigError, match="no agency"):
        select_portals(cfg, agency_ids=["nope"])
    with pytest.raises(ConfigError, match="no portal"):
        select_portals(cfg, agency_ids=["y"])
    with pytest.raises(ConfigError, match="no portal with id"):
        select_portals(cfg, portal_ids=["zz"])


def test_attachment_choice_prefers_docx_over_pdf():
    assert pick_attachment(["http://a/x.pdf", "http://a/x.docx", "http://a/x.wps"]) == "http://a/x.docx"
    assert pick_attachment(["http://a/x.pdf"]) == "http://a/x.pdf"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal():
    out = _Tty()
    p = Progress(3, stream=out)
    page = Fetched(url="u", final_url="u", status=200, headers={}, body=b"")
    p.item_scraped(ListingItem("a", page, []))
    p.item_scraped(ReportItem(portal_id="a", url="r1"))
    p.item_scraped(ReportItem(portal_id="b", url="r2", problem_kind="unreachable"))
    p.item_scraped(ProblemItem("c", "blocked", "u"))
    p.show(final=True)
    last = out.getvalue().split("\r")[-1]
    assert "reports 2" in last and "problems 2" in last and "listing pages 1" in last
    assert "\x1b[K" in out.getvalue()  # redrawn in place


class _Spider:
    """What Progress reads from the running spider: its tracker and the store's counters."""

    def __init__(self) -> None:
        self.tracker = PortalTracker()
        self.store_counts = Counter(
            listing_pages=4, reports_seen=7, problems_parse_failed=2, problems_robots=1
        )


def test_progress_counts_portals_done_and_what_was_stored():
    out = _Tty()
    p = Progress(3, stream=out)
    spider = _Spider()
    a1, a2, b1 = {"gkwatch_portal": "a"}, {"gkwatch_portal": "a"}, {"gkwatch_portal": "b"}
    spider.tracker.open("a", a1)
    spider.tracker.open("a", a2)
    spider.tracker.open("b", b1)
    spider.tracker.close(a1)
    spider.tracker.close(b1)
    p.item_scraped(ReportItem(portal_id="a", url="r1"), spider=spider)
    p.show(final=True)
    assert "portals done 1/3" in out.getvalue().split("\r")[-1]  # b is done; a has a request open
    spider.tracker.close(a2)
    assert p.line() == "portals done 2/3 · listing pages 4 · reports 7 · problems 3"  # parse failures count


def test_log_lines_do_not_run_into_the_progress_line():
    out = _Tty()
    p = Progress(1, stream=out)
    p.show()
    assert p.filter(logging.makeLogRecord({"msg": "x"})) is True
    assert out.getvalue().endswith("\r\x1b[K")  # the line is wiped before the record is written
    before = out.getvalue()
    p.filter(logging.makeLogRecord({"msg": "y"}))
    assert out.getvalue() == before  # nothing drawn since: nothing to wipe


def test_progress_hooks_the_log_handler_scrapy_installs_when_the_crawl_opens():
    out = _Tty()
    p = Progress(1, stream=out)
    handler = logging.StreamHandler(out)  # as Scrapy's root handler, created when the crawler starts
    logging.getLogger().addHandler(handler)
    try:
        p.spider_opened()
        assert p in handler.filters
        p.detach()
        assert p not in handler.filters
    finally:
        logging.getLogger().removeHandler(handler)


def test_progress_is_silent_off_a_terminal():
    out = io.StringIO()
    Progress(1, stream=out).show(final=True)
    assert out.getvalue() == ""  # goes to the log instead


def test_summary_counts_problems_by_kind():
    stats = {"gkwatch/reports_new": 4, "gkwatch/problems_blocked": 2, "gkwatch/problems_robots": 1, "x": 1}
    text = "\n".join(summary_lines(stats, 5))
    assert "5 portal(s)" in text and "reports new: 4" in text and "blocked 2, robots 1" in text
    assert "reports changed: 0" in text and "portals not read" not in text
    unread = "\n".join(summary_lines(stats, 5, {"b": ["blocked"], "a": []}))
    assert "portals not read: a (nothing fetched), b (blocked)" in unread
    assert run_stats({**stats, "elapsed_time_seconds": 1.5, "start_time": object()}) == {
        "reports_new": 4, "problems_blocked": 2, "problems_robots": 1, "elapsed_seconds": 1.5,
    }  # fmt: skip


def test_gkwatch_crawl_reports_a_config_error(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("portals: [{id: p}]\n", encoding="utf-8")  # no start_urls
    assert gkwatch(bad, "crawl", timeout=120).returncode == 2
