"""The crawl command's pieces that need no network: settings from config, portal selection, progress."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from crawler.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.run import Progress, build_settings, crawl_in_subprocess, run_stats, summary_lines
from crawler.spiders.portal import pick_attachment, select_portals
from monitor.config import AgencyConfig, Config, ConfigError, CrawlConfig, PortalConfig


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
    assert (
        "portals 3/3" in last and "reports 2" in last and "problems 2" in last and "listing pages 1" in last
    )
    assert "\x1b[K" in out.getvalue()  # redrawn in place


def test_progress_is_silent_off_a_terminal():
    out = io.StringIO()
    Progress(1, stream=out).show(final=True)
    assert out.getvalue() == ""  # goes to the log instead


def test_summary_counts_problems_by_kind():
    stats = {"gkwatch/reports_new": 4, "gkwatch/problems_blocked": 2, "gkwatch/problems_robots": 1, "x": 1}
    text = "\n".join(summary_lines(stats, 5))
    assert "5 portal(s)" in text and "reports new: 4" in text and "blocked 2, robots 1" in text
    assert "reports changed: 0" in text
    assert run_stats({**stats, "elapsed_time_seconds": 1.5, "start_time": object()}) == {
        "reports_new": 4, "problems_blocked": 2, "problems_robots": 1, "elapsed_seconds": 1.5,
    }  # fmt: skip


def test_crawl_in_subprocess_reports_a_config_error(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("portals: [{id: p}]\n", encoding="utf-8")  # no start_urls
    assert crawl_in_subprocess(bad, timeout=120) == 2
