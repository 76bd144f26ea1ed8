"""``SamplePortals``: the simulated county portals, served over real HTTP on loopback.

Used by the crawler's integration tests, ``gkwatch demo`` and the benchmarks::

    with SamplePortals() as sim:
        cfg_path = sim.write_config(tmp_path)
        ...  # gkwatch crawl --config cfg_path; gkwatch check
        assert statuses == sim.expected(today_shanghai())
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from domain.clock import today_shanghai
from testbed.simulator.documents import DocumentStore
from testbed.simulator.expected import Expected, after_hooks, expected_statuses
from testbed.simulator.scenario import LISTING, META, PortalSpec, ReportEntry, Scenario
from testbed.simulator.server import PortalHost
from testbed.simulator.sites.common import PortalSite

ALLOWING_ROBOTS = "User-agent: *\nDisallow: /search/\nDisallow: /admin/\n"
FORBIDDING_ROBOTS = "User-agent: *\nDisallow: /\n"
SUBSCRIBERS = (
    {"email": "shandong-watch@example.org", "regions": ["山东省"]},
    {"email": "huaihua-watch@example.org", "regions": ["湖南省/怀化市"]},
)


def _site_class(family: str) -> type[PortalSite]:
    if family == "trs":
        from testbed.simulator.sites.trs import TrsSite

        return TrsSite
    if family == "hanweb":
        from testbed.simulator.sites.hanweb import HanwebSite

        return HanwebSite
    if family == "generic":
        from testbed.simulator.sites.generic import GenericSite

        return GenericSite
    if family == "faults":
        from testbed.simulator.sites.faults import FaultsSite

        return FaultsSite
    if family == "plain":
        from testbed.simulator.sites.plain import PlainSite

        return PlainSite
    raise ValueError(f"no simulated CMS family {family!r}")


class SamplePortals:
    """The sample portals of ``testbed.simulator.scenario``, each on its own 127.0.0.N address.

    ``faults=True`` adds the trap portal (富锦); ``cases=True`` the evidence-case portals (桦川, 桦南), whose
    config carries a deadline extension that moves with the calendar."""

    def __init__(
        self,
        *,
        faults: bool = False,
        cases: bool = False,
        years: tuple[int, ...] = (2023, 2024, 2025),
        cache_dir: Path | None = None,
        slow_seconds: float = 6.0,
        prepare: bool = True,
    ) -> None:
        self.scenario = Scenario.build(tuple(years), faults, cases)
        self.docs = DocumentStore(self.scenario, cache_dir)
        self.slow_seconds = slow_seconds  # the faults portal's slow page: longer than config's timeout
        self.hosts: dict[str, PortalHost] = {}
        self.sites: dict[str, PortalSite] = {}
        self._prepare = (
            prepare  # render every attachment at start: a first request never waits for LibreOffice
        )
        self._started = False
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SamplePortals:
        if self._started:
            return self
        rendered_at = datetime.now(UTC).replace(microsecond=0)
        if self._prepare:
            self.docs.prepare()
        try:
            for p in self.scenario.portals:
                site = _site_class(p.family)(p, self.scenario, self.docs, rendered_at)
                site.slow_seconds = self.slow_seconds
                host = PortalHost(
                    p.host,
                    site,
                    state=p.initial_state,
                    robots=FORBIDDING_ROBOTS if p.robots_disallow_all else ALLOWING_ROBOTS,
                    blocked_403_prefixes=p.start_paths[1:],
                )
                host.start()
                self.sites[p.id], self.hosts[p.id] = site, host
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        for host in self.hosts.values():
            host.stop()
        self._started = False

    def __enter__(self) -> SamplePortals:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def prepare(self) -> None:
        """Render every attachment now (LibreOffice formats take seconds each, cached on disk)."""
        self.docs.prepare()

    # --- where things are ------------------------------------------------------------------------

    def base_url(self, portal_id: str) -> str:
        return self._host(portal_id).base_url

    def start_urls(self, portal_id: str) -> list[str]:
        p = self.scenario.portal(portal_id)
        return [self.base_url(portal_id) + path for path in p.start_paths]

    def _host(self, portal_id: str) -> PortalHost:
        if portal_id not in self.hosts:
            raise KeyError(
                f"portal {portal_id!r} is not running (start() first; faults portals need faults=True)"
            )
        return self.hosts[portal_id]

    @property
    def portals(self) -> list[PortalSpec]:
        return self.scenario.portals

    # --- config ----------------------------------------------------------------------------------

    def config(self, data_dir: Path, *, delay_seconds: float = 0.0) -> dict[str, Any]:
        """A full config.yaml mapping pointing at the running portals (contract keys)."""
        data_dir = Path(data_dir)
        return {
            "database": {"url": f"sqlite:///{(data_dir / 'gkwatch.db').resolve()}"},
            "archive": {"dir": str((data_dir / "archive").resolve())},
            "crawl": {
                "delay_seconds": delay_seconds,
                "obey_robots": True,
                "timeout_seconds": max(1.0, self.slow_seconds / 2) if self.scenario.faults else 20.0,
                "retries": 2,
                "max_attachment_bytes": 20 * 1024 * 1024,
                "contact": "gkwatch-demo@example.org",
            },
            "portals": [
                {
                    "id": p.id,
                    "name": p.name,
                    "start_urls": self.start_urls(p.id),
                    "allowed_domains": [p.host],
                }
                for p in self.scenario.portals
            ],
            "agencies": [
                {
                    "id": a.id,
                    "name": a.name,
                    "aliases": list(a.aliases),
                    "kind": a.kind,
                    "region": self.scenario.portal(a.portal).region,
                    "portal": a.portal,
                }
                for a in self.scenario.agencies
            ],
            "alerts": {
                "smtp": {"host": "127.0.0.1", "port": 8025, "from": "gkwatch@example.org"},
                "subscribers": [dict(s) for s in SUBSCRIBERS],
                "operator": "operator@example.org",
            },
            "deadlines": {"overrides": self.scenario.deadline_overrides(today_shanghai())},
        }

    def write_config(self, data_dir: Path, **kw: Any) -> Path:
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "config.yaml"
        text = yaml.safe_dump(self.config(data_dir, **kw), allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    # --- what a correct crawl concludes ----------------------------------------------------------

    def expected(self, as_of: date, *, crawl_day: date | None = None) -> dict[tuple[str, int], Expected]:
        states = {pid: h.state for pid, h in self.hosts.items()}
        return expected_statuses(self.scenario, states, as_of, crawl_day=crawl_day)

    def expected_after_hooks(
        self, first_crawl_day: date, as_of: date, *, crawl_day: date | None = None
    ) -> dict[tuple[str, int], Expected]:
        """What a crawl after ``reveal`` / ``reupload`` concludes, an earlier complete crawl on
        ``first_crawl_day`` having seen the world before them (``expected.after_hooks``)."""
        crawl_day = crawl_day or today_shanghai()
        fresh = self.expected(as_of, crawl_day=crawl_day)
        return after_hooks(
            self.scenario, fresh, first_crawl_day=first_crawl_day, crawl_day=crawl_day, as_of=as_of
        )

    def report_entry(self, agency_id: str, year: int) -> ReportEntry | None:
        return self.scenario.report(agency_id, year)

    def report_urls(self, agency_id: str, year: int) -> tuple[str, str] | None:
        """(page URL, document URL) of an agency-year's report: the article page and the file that holds
        the tables (the page itself for HTML reports; the listing links generic portals' files directly)."""
        r = self.scenario.report(agency_id, year)
        if r is None:
            return None
        return self._urls(r)

    def _urls(self, r: ReportEntry) -> tuple[str, str]:
        portal = self.scenario.portal_of(r).id
        site, base = self.sites[portal], self.base_url(portal)
        page = base + site.article_path(r)
        if r.fmt == "html" or not hasattr(site, "attachment_path"):
            return page, page
        return page, base + site.attachment_path(r)

    def repost_urls(self, agency_id: str, year: int) -> list[str]:
        """The page URLs of an agency-year's report posted again (REPOST)."""
        return [self._urls(r)[0] for r in self.scenario.reposts(agency_id, year)]

    def discovered(self) -> list[tuple[str, int, str]]:
        """Reports of agencies not in the config: (name as printed, year, page URL) — kept as discovered."""
        return [
            (self.scenario.printed_name(r), r.year, self._urls(r)[0])
            for r in self.scenario.reports
            if r.agency_id is None
        ]

    # --- scenario hooks ---------------------------------------------------------------------------

    def edit_report(self, agency_id: str, year: int) -> None:
        """Change a published report's bytes (发布后有变动): the same URL now serves a new version."""
        r = self.scenario.report(agency_id, year)
        if r is None:
            raise KeyError(f"{agency_id} has no {year} report to edit")
        with self._lock:
            key = (agency_id, year)
            self.scenario.edits[key] = self.scenario.edits.get(key, 0) + 1
        if r.fmt != "html":
            self.docs.attachment(r)  # render now: a crawler's request must not wait for LibreOffice

    def publish_backdated(self, agency_id: str, year: int, dated: date) -> None:
        """A report appears in the listing only now, dated ``dated`` (earlier than today) the way its portal
        dates articles: a PubDate meta (TRS, Hanweb) or the date beside the link (generic portals)."""
        if self.scenario.report(agency_id, year) is not None:
            raise ValueError(f"{agency_id} already has a {year} report")
        portal = self.scenario.portal(
            self.scenario.agency(agency_id).portal
        )  # KeyError for an unknown agency
        evidence = LISTING if portal.family == "generic" else META
        with self._lock:
            number = 9001 + len(self.scenario.listed_from_now) * 7
            when = datetime(dated.year, dated.month, dated.day, 9, 30)
            self.scenario.reports.append(ReportEntry(agency_id, year, "html", when, evidence, number=number))
            self.scenario.listed_from_now.add((agency_id, year))
            self._refresh(portal.id)

    def reveal(self, agency_id: str, year: int) -> None:
        """A HIDDEN report appears in its portal's listing now (with no date, as it always had)."""
        key = (agency_id, year)
        if key not in self.scenario.hidden:
            raise KeyError(f"{agency_id} has no hidden {year} report")
        with self._lock:
            self.scenario.hidden.discard(key)
            self.scenario.revealed.add(key)
        self._refresh(self.scenario.portal(self.scenario.agency(agency_id).portal).id)

    def reupload(self, agency_id: str, year: int, dated: datetime) -> None:
        """The same page is published again with a new date (its URL and tables unchanged): the 发布日期 and
        ``PubDate`` now say ``dated`` (a Shanghai wall-clock time)."""
        from dataclasses import replace

        r = self.scenario.report(agency_id, year)
        if r is None:
            raise KeyError(f"{agency_id} has no {year} report to re-upload")
        with self._lock:
            self.scenario.reuploads.setdefault((agency_id, year), r)
            i = self.scenario.reports.index(r)
            self.scenario.reports[i] = replace(r, published=dated.replace(tzinfo=None))
        self._refresh(self.scenario.portal_of(r).id)

    def set_portal_state(self, portal_id: str, state: str) -> None:
        """ "ok" | "down" (503 to everything) | "refused" (nothing listens) | "blocked" (访问验证 page)."""
        self._host(portal_id).set_state(state)

    def _refresh(self, portal_id: str) -> None:
        site = self.sites.get(portal_id)
        if site is not None:
            site.refresh()
