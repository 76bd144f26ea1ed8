"""Build database states directly with the models: a registry, portal reads, reports, versions, problems.

The crawler writes these rows in production (shared data conventions); here each test writes exactly the
facts it judges, with times given in Asia/Shanghai as a person reads them.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from domain.config import AgencyConfig, Config, PortalConfig
from storage.db import session_scope
from storage.models import CrawlProblem, FindingReview, ListingSnapshot, Report, ReportVersion
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
    raw: dict[str, Any] = {}
    if deadlines is not None:
        raw["deadlines"] = deadlines
    cfg = Config(path=Path("config.yaml"), database_url=db_url, raw=raw)
    cfg.portals = [PortalConfig(id=p, name=p, start_urls=[f"http://{p}.example/"]) for p in portals]
    cfg.agencies = [
        AgencyConfig(id=i, name=n, kind=k, region=r, portal=portals[0]) for i, n, k, r in agencies
    ]
    return cfg


def sync(engine: Engine, config: Config) -> None:
    with session_scope(engine) as s:
        sync_registry(s, config)


def portal_read(
    engine: Engine, portal: str, at: str, url: str = "", report_urls: list[str] | None = None
) -> None:
    """A listing page of ``portal`` fetched fine at ``at`` (Shanghai)."""
    with session_scope(engine) as s:
        s.add(
            ListingSnapshot(
                portal_id=portal,
                url=url or f"http://{portal}.example/list.html",
                fetched_at=sh(at),
                report_urls=list(report_urls or []),
            )
        )


def problem(engine: Engine, portal: str, at: str, kind: str = "unreachable") -> None:
    with session_scope(engine) as s:
        s.add(CrawlProblem(portal_id=portal, url=f"http://{portal}.example/", kind=kind, at=sh(at)))


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
    """A report with its versions (default: one consistent parsed version); returns the report id."""
    versions = versions if versions is not None else [version(year)]
    with session_scope(engine) as s:
        r = Report(
            url=url or f"http://{portal}.example/{agency_id}/{year}.html",
            portal_id=portal,
            agency_id=agency_id,
            year=year,
            published=published,
            published_evidence=evidence if published else "first_seen",
            first_seen=sh(first_seen),
            last_seen=sh(first_seen),
            listing_url=listing_url,
            crawl_problem=crawl_problem,
        )
        s.add(r)
        s.flush()
        last = None
        for n, v in enumerate(versions):
            rv = ReportVersion(report_id=r.id, sha256=f"{r.id}-{n}", **v)
            s.add(rv)
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
    findings: list[dict[str, Any]] | None = None,
    prose: str = "",
    error: str | None = None,
    fetched_at: str | None = None,
) -> dict[str, Any]:
    """The fields of one ReportVersion (consistent cells of the year's template unless given)."""
    template = template or ("2021" if year >= 2021 else "2019")
    v: dict[str, Any] = {
        "template": template,
        "year": year,
        "cells": cells if cells is not None else consistent_cells(template, random.Random(seed)),
        "findings": findings or [],
        "prose": prose,
        "error": error,
    }
    if fetched_at:
        v["fetched_at"] = sh(fetched_at)
    return v


def err(rule: str = "s3.row_total") -> dict[str, Any]:
    return {"rule": rule, "severity": "error", "cells": [], "message": "test"}
