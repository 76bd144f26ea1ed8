"""Build database states directly with the models: a registry, portal reads, reports, versions, problems.

The crawler writes these rows in production (shared data conventions); here each test writes exactly the
facts it judges, with times given in Asia/Shanghai as a person reads them.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from crawler.reading.model import CellReading
from crawler.reading.model import Reading as Read
from domain.config import AgencyConfig, Config, DeadlinesConfig, PortalConfig
from domain.template import cell_keys
from storage.db import session_scope
from storage.models import (
    CrawlProblem,
    FindingReview,
    ListingSnapshot,
    PortalRead,
    Reading,
    Report,
    ReportVersion,
)
from storage.registry import sync_registry
from testbed.synthetic import consistent_cells

SH = ZoneInfo("Asia/Shanghai")


def sh(text: str) -> datetime:
    """'2021-02-01 00:00' in Shanghai as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(UTC)


def make_config(
    agencies: list[tuple[str, str, str, str]],
    *,
    portals: tuple[str, ...] = ("p1",),
    deadlines: Any = None,
    db_url: str = "sqlite:///unused.db",
) -> Config:
    """agencies: (id, name, kind, region), all on the first portal."""
    cfg = Config(path=Path("config.yaml"), database_url=db_url)
    if deadlines is not None:
        cfg.deadlines = DeadlinesConfig.model_validate(deadlines)
    cfg.portals = [PortalConfig(id=p, name=p, start_urls=[f"http://{p}.example/"]) for p in portals]
    cfg.agencies = [
        AgencyConfig(id=i, name=n, kind=k, region=r, portal=portals[0]) for i, n, k, r in agencies
    ]
    return cfg


def sync(engine: Engine, config: Config) -> None:
    with session_scope(engine) as s:
        sync_registry(s, config)


_runs = iter(range(1, 10**6))


def portal_read(
    engine: Engine,
    portal: str,
    at: str,
    url: str = "",
    report_urls: list[str] | None = None,
    *,
    complete: bool = True,
    end_reason: str | None = None,
) -> int:
    """A crawl run's read of ``portal``'s listing at ``at`` (Shanghai): one listing page fetched fine, and
    the read complete (every page of the listing) unless ``complete=False``. Returns the run id."""
    run = next(_runs)
    with session_scope(engine) as s:
        s.add(
            ListingSnapshot(
                portal_id=portal,
                url=url or f"http://{portal}.example/list.html",
                fetched_at=sh(at),
                report_urls=list(report_urls or []),
                run_id=run,
            )
        )
        s.add(
            PortalRead(
                run_id=run,
                portal_id=portal,
                started_at=sh(at),
                finished_at=sh(at),
                complete=complete,
                listing_pages=1,
                report_links=len(report_urls or []),
                end_reason=end_reason or ("finished" if complete else "interrupted"),
            )
        )
    return run


def problem(engine: Engine, portal: str, at: str, kind: str = "unreachable") -> None:
    """``portal``'s listing could not be read at ``at``: the problem, and that run's incomplete read."""
    run = next(_runs)
    with session_scope(engine) as s:
        s.add(
            CrawlProblem(portal_id=portal, url=f"http://{portal}.example/", kind=kind, at=sh(at), run_id=run)
        )
        s.add(
            PortalRead(run_id=run, portal_id=portal, started_at=sh(at), finished_at=sh(at), end_reason=kind)
        )


def dismiss(engine: Engine, agency_id: str, year: int, rule: str) -> None:
    with session_scope(engine) as s:
        s.add(FindingReview(agency_id=agency_id, year=year, rule=rule, verdict="dismissed", reviewer="t"))


def report(
    engine: Engine,
    agency_id: str | None,
    year: int,
    *,
    published: date | None = None,
    evidence: str | None = "page_meta",
    first_seen: str = "2030-01-01 00:00",
    url: str | None = None,
    portal: str = "p1",
    listing_url: str | None = None,
    versions: list[dict[str, Any]] | None = None,
    crawl_problem: str | None = None,
) -> int:
    """A report with its versions (default: one consistent version, read); returns the report id.

    ``published``/``evidence``: the date as the portal printed it (PubDate meta, page text, an attachment's
    Last-Modified); none: the report is dated by our first sight.
    """
    versions = versions if versions is not None else [version(year)]
    printed = {"page_meta": "pub_meta", "page_text": "pub_text", "http_header": "pub_header"}
    pub: dict[str, str] = {}
    if published is not None:
        field = printed[evidence or "page_meta"]
        pub[field] = (
            format_datetime(
                datetime.combine(published, datetime.min.time(), tzinfo=SH).astimezone(UTC).replace(hour=4),
                usegmt=True,
            )
            if field == "pub_header"
            else published.isoformat()
        )
    with session_scope(engine) as s:
        r = Report(
            url=url or f"http://{portal}.example/{agency_id}/{year}.html",
            portal_id=portal,
            agency_id=agency_id,
            year=year,
            **pub,
            first_seen=sh(first_seen),
            last_seen=sh(first_seen),
            listing_url=listing_url,
            crawl_problem=crawl_problem,
        )
        s.add(r)
        s.flush()
        last = None
        for n, v in enumerate(versions):
            reading, fetched = reading_of(v), v.get("fetched_at")
            rv = ReportVersion(
                report_id=r.id, sha256=f"{r.id}-{n}", **({"fetched_at": fetched} if fetched else {})
            )
            s.add(rv)
            s.add(Reading(**reading.to_row(rv.sha256, datetime.now(UTC))))  # read when stored
            s.flush()
            last = rv
        if last is not None:
            r.current_version_id = last.id
            if len(versions) > 1:
                r.last_changed = last.fetched_at
        return r.id


def version(
    year: int,
    *,
    template: str | None = None,
    seed: int = 0,
    cells: dict[str, Any] | None = None,
    prose: str = "",
    error: str | None = None,
    fetched_at: str | None = None,
    broken: bool = False,
    unsure: tuple[str, ...] = (),
    notes: dict[str, tuple[str, str]] | None = None,
    sections: str = "一二三四五六",
    missing: list[tuple[str, str, str]] | None = None,
    period: tuple[str, str] | None = None,
    prose_years: list[int] | None = None,
) -> dict[str, Any]:
    """One version and its reading: consistent cells of the year's template unless given; ``broken``: one
    表四 行政复议's 总计 off by 7 (an ``s4.total`` error, the one sum a single cell breaks alone); ``unsure``:
    cells the reader was unsure of."""
    template = template or ("2021" if year >= 2021 else "2019")
    values = dict(cells) if cells is not None else consistent_cells(template, random.Random(seed))
    if cells is None:  # a county agency makes no 规章 (else plausibility.regulations, rightly)
        for col in ("made", "published", "total_published", "issued", "repealed", "in_force"):
            if f"s2.regulations.{col}" in values:
                values[f"s2.regulations.{col}"] = 0
    if broken:
        values["s4.review.total"] = (values.get("s4.review.total") or 0) + 7
    v: dict[str, Any] = {"template": template, "year": year, "cells": values, "prose": prose, "error": error}
    v["unsure"] = tuple(unsure)
    v["notes"] = dict(notes or {})  # key -> (note, detail), as a reader remarks a cell
    v["sections"], v["missing"], v["period"], v["prose_years"] = (
        sections,
        list(missing or []),
        period,
        list(prose_years or []),
    )
    if fetched_at:
        v["fetched_at"] = sh(fetched_at)
    return v


def reading_of(v: dict[str, Any]) -> Read:
    """The stored reading of a ``version()``."""
    template, values = v["template"], v["cells"]
    return Read(
        format="html",
        template=None if v["error"] else template,
        year=v["year"],
        cells={}
        if v["error"]
        else {
            k: CellReading(
                values.get(k),
                str(values.get(k)),
                *v.get("notes", {}).get(k, (None, "")),
                sure=k not in v["unsure"],
            )
            for k in cell_keys(template)
        },
        sections_present=list(v.get("sections", "一二三四五六")),
        missing=list(v.get("missing", [])),
        period=v.get("period"),
        prose_years=list(v.get("prose_years", [])),
        prose=v["prose"],
        error=v["error"],
    )
