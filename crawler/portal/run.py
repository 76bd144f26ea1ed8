"""The portal stage of ``gkwatch crawl``: sync the registry, open a CrawlRun, run the portal spider in this
process, summarize. (``monitor.commands`` then reads the new documents and checks.)

Problems found on portals are records, not failures; a crawl that did not finish (SIGTERM, Ctrl-C, a
crash) exits non-zero and its run says ``interrupted`` or ``failed``. A Twisted reactor cannot be
restarted, so a long-lived scheduler runs each crawl as a ``gkwatch crawl`` subprocess.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlmodel import select

from crawler.portal import settings as crawler_settings
from crawler.portal.items import ListingItem, ProblemItem, ReportItem
from crawler.portal.settings import settings_from_config
from crawler.portal.spiders.portal import PortalSpider, select_portals
from domain.config import Config, ConfigError
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlProblem, CrawlRun, Fetch
from storage.registry import sync_registry
from storage.types import utcnow

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    ("listing_pages", "listing pages"),
    ("report_pages", "report pages"),
    ("attachments", "attachments"),
    ("reports_seen", "reports seen"),
    ("reports_new", "reports new"),
    ("reports_changed", "reports changed"),
)


def build_settings(config: Config) -> Settings:
    s = Settings()
    s.setmodule(crawler_settings, priority="project")
    s.setdict(settings_from_config(config), priority="cmdline")
    return s


class Progress:
    """Portals done, listing pages, reports and problems so far: one line redrawn on a terminal, else a
    log line now and then.

    Counts come from the spider: its tracker (portals whose requests have all ended) and the store's
    counters (what was stored, parse failures included); items are counted only where a spider has none.
    """

    def __init__(self, total_portals: int, stream=sys.stderr):  # noqa: ANN001
        self.total = total_portals
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.spider = None
        self.counts: Counter[str] = Counter()
        self._last = 0.0
        self._drawn = False

    def item_scraped(self, item, response=None, spider=None) -> None:  # noqa: ANN001
        if spider is not None:
            self.spider = spider
        if isinstance(item, ListingItem):
            self.counts["listing_pages"] += 1
        elif isinstance(item, ReportItem):
            self.counts["reports_seen"] += 1
            if item.problem_kind:
                self.counts[f"problems_{item.problem_kind}"] += 1
        elif isinstance(item, ProblemItem):
            self.counts[f"problems_{item.kind}"] += 1
        self.show()

    def line(self) -> str:
        counts = getattr(self.spider, "store_counts", None) or self.counts
        tracker = getattr(self.spider, "tracker", None)
        done = len(tracker.done()) if tracker is not None else 0
        problems = sum(v for k, v in counts.items() if k.startswith("problems_"))
        return (
            f"portals done {done}/{self.total} · listing pages {counts.get('listing_pages', 0)} · "
            f"reports {counts.get('reports_seen', 0)} · problems {problems}"
        )

    def show(self, final: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            if final or now - self._last > 0.2:
                self.stream.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
                self.stream.flush()
                self._last = now
                self._drawn = not final
        elif final or now - self._last > 10:
            log.info("progress: %s", self.line())
            self._last = now

    def filter(self, record: logging.LogRecord) -> bool:
        """As a filter of the terminal's log handler: wipe the progress line so the record starts clean."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        return True

    def attach(self, crawler) -> None:  # noqa: ANN001
        """Listen to the crawl's items; keep log lines written to the same terminal off the progress line."""
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def spider_opened(self, spider=None) -> None:  # noqa: ANN001
        # Scrapy replaces its root log handler when the crawl starts: hook the one that will write.
        if not self.tty:
            return
        for handler in logging.getLogger().handlers:
            if getattr(handler, "stream", None) is self.stream:
                handler.addFilter(self)

    def detach(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)


def run_stats(stats: dict) -> dict:
    """What CrawlRun.stats keeps: gkwatch's counters plus Scrapy's own totals (JSON-safe numbers only)."""
    out = {k[len("gkwatch/") :]: v for k, v in stats.items() if k.startswith("gkwatch/")}
    for key, name in (
        ("elapsed_time_seconds", "elapsed_seconds"),
        ("response_received_count", "responses"),
        ("downloader/request_count", "requests"),
        ("retry/count", "retries"),
    ):
        if isinstance(stats.get(key), int | float):
            out[name] = stats[key]
    return out


def summary_lines(
    stats: dict, portals: int, unread: dict[str, list[str]] | None = None, status: str = "finished"
) -> list[str]:
    """The end-of-crawl summary; ``unread`` names the portals of which no page could be read, and why."""
    get = {k[len("gkwatch/") :]: v for k, v in stats.items() if k.startswith("gkwatch/")}
    lines = [f"crawl {status}: {portals} portal(s)"]
    lines += [f"  {label}: {get.get(key, 0)}" for key, label in SUMMARY_KEYS]
    problems = {k[len("problems_") :]: v for k, v in get.items() if k.startswith("problems_")}
    if problems:
        lines.append("  problems: " + ", ".join(f"{k} {v}" for k, v in sorted(problems.items())))
    else:
        lines.append("  problems: none")
    if unread:
        lines.append(
            "  portals not read: "
            + ", ".join(
                f"{p} ({'/'.join(kinds) or 'nothing fetched'})" for p, kinds in sorted(unread.items())
            )
        )
    elapsed = stats.get("elapsed_time_seconds")
    if isinstance(elapsed, int | float):
        lines.append(f"  time: {elapsed:.1f} s, {stats.get('response_received_count', 0)} responses")
    return lines


def unread_portals(engine, run_id: int, portal_ids: Sequence[str]) -> dict[str, list[str]]:  # noqa: ANN001
    """Portals of which this run archived no page at all, with the kinds of trouble recorded for them."""
    with session_scope(engine) as s:
        read = set(s.exec(select(Fetch.portal_id).where(Fetch.run_id == run_id).distinct()))
        trouble = s.exec(
            select(CrawlProblem.portal_id, CrawlProblem.kind).where(CrawlProblem.run_id == run_id).distinct()
        ).all()
    kinds: dict[str, set[str]] = {}
    for portal_id, kind in trouble:
        kinds.setdefault(portal_id, set()).add(kind)
    return {p: sorted(kinds.get(p, ())) for p in portal_ids if p not in read}


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_dead_runs(session) -> list[int]:  # noqa: ANN001
    """Runs left "running" by a crawl that was killed (SIGKILL, power cut) on this host become "interrupted".

    A run records its pid and host when it starts; one whose process no longer exists cannot finish.
    """
    host = socket.gethostname()
    dead = []
    for run in session.exec(select(CrawlRun).where(CrawlRun.status == "running")):
        pid = (run.stats or {}).get("pid")
        if isinstance(pid, int) and (run.stats or {}).get("host") == host and not pid_alive(pid):
            run.status = "interrupted"
            dead.append(run.id)
    return dead


@dataclass
class CrawlOutcome:
    """How a crawl ended: ``exit_code`` 0 only when it finished; the run row says the rest."""

    exit_code: int
    run_id: int | None = None
    started_at: datetime | None = None
    status: str = "failed"  # finished | interrupted | failed


def run_crawl(config: Config, agency_ids: Sequence[str] = (), portal_ids: Sequence[str] = ()) -> CrawlOutcome:
    """Crawl the selected portals (all when none selected) into the configured database and archive.

    Fetching only: the documents are read afterwards by the reading stage (``gkwatch crawl`` runs it).
    """
    try:
        portals = select_portals(config, portal_ids, agency_ids)
    except ConfigError as e:
        print(f"gkwatch crawl: {e}", file=sys.stderr)
        return CrawlOutcome(2)
    if not portals:
        print("gkwatch crawl: no portals configured", file=sys.stderr)
        return CrawlOutcome(0, status="finished")
    engine = make_engine(config.database_url)
    init_db(engine)
    with session_scope(engine) as s:
        sync_registry(s, config)
        mark_dead_runs(s)
        run = CrawlRun(
            portal_ids=[p.id for p in portals], stats={"pid": os.getpid(), "host": socket.gethostname()}
        )
        s.add(run)
        s.flush()
        run_id, started_at = run.id, run.started_at

    process = CrawlerProcess(build_settings(config))
    crawler = process.create_crawler(PortalSpider)
    progress = Progress(len(portals))
    progress.attach(crawler)
    status = "failed"
    try:
        process.crawl(
            crawler,
            config=config,
            portals=[p.id for p in portals],
            run_id=run_id,
        )
        process.start()
        reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
        # No finish reason: the spider never ran (a broken setting, a crash at start-up).
        status = "failed" if reason is None else "finished" if reason == "finished" else "interrupted"
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        with session_scope(engine) as s:
            row = s.get(CrawlRun, run_id)
            if row is not None:
                row.status = status
                row.finished_at = utcnow()
                row.stats = run_stats(stats)
        progress.show(final=True)
        progress.detach()
    unread = unread_portals(engine, run_id, [p.id for p in portals]) if status != "failed" else None
    for line in summary_lines(stats, len(portals), unread, status):
        print(line, file=sys.stderr)
    engine.dispose()
    if status == "failed" or stats.get("log_count/CRITICAL"):
        return CrawlOutcome(1, run_id, started_at, "failed")
    return CrawlOutcome(0 if status == "finished" else 1, run_id, started_at, status)
