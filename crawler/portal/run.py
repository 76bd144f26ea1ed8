"""The portal stage of ``gkwatch crawl``: sync the registry, open a CrawlRun (portals locked, heartbeat
beating), run the portal spider in this process, summarize. (``monitor.commands`` then reads the new
documents and checks.)

Problems found on portals are records, not failures (exit 0): a blocked portal, a bound reached — each
portal's ``PortalRead`` says whether its listing was read completely. A crawl that did not finish
(SIGTERM from the scheduler's timeout, Ctrl-C, a crash) exits non-zero, says ``crawl interrupted``, and
every portal it had not finished is recorded as read incompletely (``interrupted``); one killed outright
(SIGKILL) leaves its reads unfinished and its heartbeat stops: ``storage.crawl_state`` tells it dead.
A Twisted reactor cannot be restarted, so a long-lived scheduler runs each crawl as a ``gkwatch crawl``
subprocess.
"""

from __future__ import annotations

import logging
import signal
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
from crawler.portal.downloader import PoliteDownloader
from crawler.portal.items import ListingItem, ProblemItem, ReportItem
from crawler.portal.runs import RunHandle, close_run, open_run
from crawler.portal.settings import settings_from_config
from crawler.portal.spiders.portal import PortalSpider, select_portals
from domain.config import Config, ConfigError
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlProblem, Fetch, PortalRead

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    ("listing_pages", "listing pages"),
    ("report_pages", "report pages"),
    ("attachments", "attachments"),
    ("reports_seen", "reports seen"),
    ("reports_new", "reports new"),
    ("reports_changed", "reports changed"),
    ("revalidated", "unchanged (304 to a conditional request)"),
    ("unchanged", "unchanged (the same bytes as last time)"),
    ("reports_known", "known, confirmed recently: not asked again"),
)


def build_settings(config: Config) -> Settings:
    s = Settings()
    s.setmodule(crawler_settings, priority="project")
    s.setdict(settings_from_config(config), priority="cmdline")
    if sys.stderr.isatty() and "log_level" not in config.crawl.model_fields_set:
        # On a terminal the progress line says what is happening: Scrapy's INFO lines would bury it.
        # Warnings and errors still show (above it); ``crawl.log_level: INFO`` brings the rest back.
        s.set("LOG_LEVEL", "WARNING", priority="cmdline")
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
    stats: dict,
    portals: int,
    unread: dict[str, list[str]] | None = None,
    status: str = "finished",
    reads: dict[str, tuple[bool, str | None]] | None = None,
) -> list[str]:
    """The end-of-crawl summary; ``unread`` names the portals of which no page could be read, and why;
    ``reads`` each portal's read of its listing in this run: (complete, end reason)."""
    get = {k[len("gkwatch/") :]: v for k, v in stats.items() if k.startswith("gkwatch/")}
    lines = [f"crawl {status}: {portals} portal(s)"]
    lines += [f"  {label}: {get.get(key, 0)}" for key, label in SUMMARY_KEYS]
    if reads is not None:
        complete = [p for p, (ok, _) in reads.items() if ok]
        lines.append(f"  listings read completely: {len(complete)} of {portals} portal(s)")
        short = {p: reason for p, (ok, reason) in reads.items() if not ok}
        parts = [f"{p} ({reason or 'unfinished'})" for p, reason in sorted(short.items())]
        if portals > len(reads):
            parts.append(f"{portals - len(reads)} not begun")
        if parts:
            lines.append(
                "  listings NOT read completely (no missing verdict rests on them): " + ", ".join(parts)
            )
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


def portal_reads(engine, run_id: int) -> dict[str, tuple[bool, str | None]]:  # noqa: ANN001
    """Each portal's read in this run: (complete, end reason)."""
    with session_scope(engine) as s:
        rows = s.exec(
            select(PortalRead.portal_id, PortalRead.complete, PortalRead.end_reason).where(
                PortalRead.run_id == run_id
            )
        ).all()
    return {p: (bool(ok), reason) for p, ok, reason in rows}


class _Process(CrawlerProcess):
    """Scrapy's process, stopping promptly: on the first SIGTERM/SIGINT the spider learns it is being
    stopped (a portal whose requests end from now on was cut short, not finished) and the requests still
    queued for each site are dropped instead of being fetched one by one before the crawl can close."""

    def _log_shutdown(self, signum: int) -> None:  # runs in the reactor thread, before the graceful stop
        super()._log_shutdown(signum)
        for crawler in self.crawlers:
            if crawler.spider is not None:
                crawler.spider.stopping = True
            downloader = getattr(crawler.engine, "downloader", None)
            if isinstance(downloader, PoliteDownloader):
                n = downloader.drop_queued()
                log.info("crawl stopping: %d queued request(s) dropped", n)


class Terminated(BaseException):
    """SIGTERM before or after the spider runs (Scrapy handles it while the spider runs)."""


class _Signals:
    """SIGTERM and SIGINT for the whole portal stage, Scrapy's own handlers aside.

    Outside the crawl proper (database set-up, closing the run) SIGTERM raises ``Terminated`` — or, while
    the run is being closed, is only noted — so that the run ends ``interrupted`` and the exit status is
    non-zero instead of the process vanishing with its run still ``running``. Scrapy installs its own
    handlers when its reactor starts and leaves them behind when it stops (a SIGTERM then would reach a
    stopped reactor and be lost): the handlers found on entry are put back on exit.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.raising = True
        self._saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def __enter__(self) -> _Signals:
        for sig in self._saved:
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ANN001
        self.received = signum
        if self.raising:
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()

    def ours_again(self, *, raising: bool) -> None:
        """Take the signals back from Scrapy (after its reactor stopped)."""
        self.raising = raising
        for sig in self._saved:
            signal.signal(sig, self._handle)

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


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
    try:
        with _Signals() as caught:
            try:
                init_db(engine)
                run = open_run(engine, config, [p.id for p in portals])
            except (Terminated, KeyboardInterrupt):
                print("crawl interrupted: stopped before it began", file=sys.stderr)
                return CrawlOutcome(1, status="interrupted")
            return _crawl(config, engine, run, portals, caught)
    finally:
        engine.dispose()


def _crawl(config: Config, engine, run: RunHandle, portals, caught: _Signals) -> CrawlOutcome:  # noqa: ANN001
    """Run the spider of an opened run; close the run whatever happens; print the summary."""
    crawler = None
    progress = Progress(len(portals))
    status = "failed"
    try:
        process = _Process(build_settings(config))
        crawler = process.create_crawler(PortalSpider)
        progress.attach(crawler)
        process.crawl(
            crawler, config=config, portals=[p.id for p in portals], run_id=run.run_id, busy=dict(run.busy)
        )
        if caught.received is None:
            process.start()
        caught.ours_again(raising=False)
        reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
        spider = crawler.spider
        unfinished = spider.tracker.unfinished() if spider is not None else []
        # No finish reason: the spider never ran (a broken setting, a crash at start-up).
        if reason is None:
            status = "interrupted" if caught.received is not None else "failed"
        elif reason != "finished" or unfinished or caught.received is not None:
            status = "interrupted"
        else:
            status = "finished"
    except (KeyboardInterrupt, Terminated):
        status = "interrupted"
    finally:
        caught.ours_again(raising=False)
        stats = crawler.stats.get_stats() if crawler is not None and crawler.stats else {}
        close_run(run, status, run_stats(stats))
        progress.show(final=True)
        progress.detach()
    reads = portal_reads(engine, run.run_id)
    unread = unread_portals(engine, run.run_id, [p.id for p in portals if p.id not in run.busy])
    for line in summary_lines(stats, len(portals), unread if status != "failed" else None, status, reads):
        print(line, file=sys.stderr)
    if run.busy:
        print(
            "  skipped, being crawled by another run: "
            + ", ".join(f"{p} (run {r})" for p, r in sorted(run.busy.items())),
            file=sys.stderr,
        )
    if status == "failed" or stats.get("log_count/CRITICAL"):
        return CrawlOutcome(1, run.run_id, run.started_at, "failed")
    return CrawlOutcome(0 if status == "finished" else 1, run.run_id, run.started_at, status)
