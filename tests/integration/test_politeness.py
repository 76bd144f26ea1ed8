"""Politeness measured on the wire: one request at a time per site, sites in parallel, who we say we are."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.integration.localsite import Handler, LocalSite, page

ROOT = Path(__file__).resolve().parents[2]
NB = "/zwgk/zfxxgknb/"
REPORTS = 6
pytestmark = pytest.mark.slow


class InFlight:
    """Counts requests being served at once, per host and in all (the most seen of each)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    def wrap(self, host: str, handler: Handler, seconds: float = 0.08) -> Handler:
        def handle(h) -> None:  # noqa: ANN001
            with self.lock:
                self.now[host] += 1
                self.now["*"] += 1
                for key in (host, "*"):
                    self.most[key] = max(self.most[key], self.now[key])
            try:
                time.sleep(seconds)  # long enough for a second request to overlap, if one were sent
                handler(h)
            finally:
                with self.lock:
                    self.now[host] -= 1
                    self.now["*"] -= 1

        return handle


def _site(host: str, county: str, inflight: InFlight) -> LocalSite:
    items = "".join(
        f'<li><a href="./202501/t20250120_{n}.html">{county}第{n}局2024年政府信息公开工作年度报告</a>'
        "<span>2025-01-20</span></li>"
        for n in range(REPORTS)
    )
    routes = {
        "/robots.txt": page("User-agent: *\nAllow: /\n", "text/plain"),
        NB + "index.html": page(f"<html><body><ul>{items}</ul></body></html>"),
    }
    for n in range(REPORTS):
        title = f"{county}第{n}局2024年政府信息公开工作年度报告"
        routes[NB + f"202501/t20250120_{n}.html"] = page(
            '<html><head><meta name="PubDate" content="2025-01-20"></head>'
            f"<body><h1>{title}</h1></body></html>"
        )
    return LocalSite(host, {path: inflight.wrap(host, h) for path, h in routes.items()})


def test_one_request_at_a_time_per_site_and_sites_in_parallel(tmp_path):
    inflight = InFlight()
    a, b = _site("127.0.0.12", "甲县", inflight), _site("127.0.0.13", "乙县", inflight)
    with a, b:
        cfg = {
            "database": {"url": f"sqlite:///{tmp_path / 'gkwatch.db'}"},
            "archive": {"dir": str(tmp_path / "archive")},
            "crawl": {"delay_seconds": 0, "contact": "ops@example.org"},
            "portals": [
                {
                    "id": pid,
                    "name": pid,
                    "start_urls": [s.base + NB + "index.html"],
                    "allowed_domains": [s.host],
                }
                for pid, s in (("a", a), ("b", b))
            ],
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "crawl", "--config", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    for site in (a, b):
        assert len(site.hits) == REPORTS + 2, site.hits  # robots.txt, the listing, every report once
        assert site.hits[0] == "/robots.txt"
        assert inflight.most[site.host] == 1, inflight.most  # never two requests at once to one site
        (ua,) = site.user_agents
        assert ua.startswith("gkwatch/") and "ops@example.org" in ua
    assert inflight.most["*"] == 2  # the two sites were crawled side by side: the counter does see overlap
    assert "portals done 2/2" in done.stderr
