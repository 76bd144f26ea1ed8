"""Operators' corrections of a verdict's facts, applied by every check.

A watchdog's operator sometimes knows better than the crawler, and says why (``VerdictCorrection``):

* ``date`` — the report's publication date is not what the portal's page shows (a CMS import date in the
  ``PubDate`` meta, a typo): the corrected date decides, with the operator's reason as its evidence;
* ``attribution`` — the report at ``report_url`` belongs to this agency-year (the crawler credited it to
  another agency, to another year, or to none);
* ``report`` — a report the crawler could not reach (blocked, behind a login, published elsewhere) is at
  ``report_url``, published on ``published``.

A correction never hides what the crawler saw: the evidence of the verdict lists the correction (who, when,
why) beside the portal's own facts, and the page and the exports mark the verdict as corrected.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from domain.clock import as_utc
from monitor.status.facts import Key
from monitor.status.publication import Publication
from monitor.status.verdict import ReportFacts
from storage.models import Report, VerdictCorrection

KINDS = ("date", "attribution", "report")


@dataclass(frozen=True)
class Correction:
    id: int
    kind: str
    agency_id: str
    year: int
    published: date | None
    report_url: str | None
    reason: str
    username: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "published": self.published.isoformat() if self.published else None,
            "report_url": self.report_url,
            "reason": self.reason,
            "by": self.username,
            "at": self.at.isoformat(),
        }

    def publication(self, printed: tuple = ()) -> Publication:
        return Publication(self.published, "operator", self.reason, self.report_url, printed)


def active_corrections(session: Session, agencies: set[str] | None = None) -> dict[Key, list[Correction]]:
    """The corrections in force, by agency-year, oldest first."""
    q = select(VerdictCorrection).where(VerdictCorrection.active == True)  # noqa: E712
    if agencies is not None:
        q = q.where(VerdictCorrection.agency_id.in_(sorted(agencies)))
    out: dict[Key, list[Correction]] = defaultdict(list)
    for c in session.exec(q.order_by(VerdictCorrection.at, VerdictCorrection.id)):
        out[(c.agency_id, c.year)].append(
            Correction(
                c.id,
                c.kind,
                c.agency_id,
                c.year,
                c.published,
                c.report_url,
                c.reason,
                c.username,
                as_utc(c.at),
            )  # type: ignore[arg-type]
        )
    return out


def apply_corrections(
    session: Session, candidates: dict[Key, list[ReportFacts]], corrections: dict[Key, list[Correction]]
) -> None:
    """Change the candidate reports of each corrected agency-year as its corrections say (in place)."""
    for key, found in corrections.items():
        for c in found:
            if c.kind == "attribution" and c.report_url:
                _move(session, candidates, key, c.report_url)
            elif c.kind == "report" and c.report_url and c.published:
                _add_unreached(candidates, key, c)
        for c in found:
            if c.kind == "date" and c.published:
                candidates[key] = [
                    replace(r, publication=c.publication(r.publication.printed))
                    if not c.report_url or r.url == c.report_url
                    else r
                    for r in candidates.get(key, [])
                ]


def _move(session: Session, candidates: dict[Key, list[ReportFacts]], key: Key, url: str) -> None:
    """Credit the report at ``url`` to ``key``, wherever the crawler had put it."""
    for other, reports in candidates.items():
        if other != key:
            candidates[other] = [r for r in reports if r.url != url]
    if any(r.url == url for r in candidates.get(key, [])):
        return
    row = session.exec(select(Report).where(Report.url == url)).first()
    if row is None:
        return
    from monitor.status.publication import earliest_publication

    pub = earliest_publication(
        row.pub_history,
        pub_meta=row.pub_meta,
        pub_text=row.pub_text,
        listing_date=row.listing_date,
        pub_header=row.pub_header,
        first_seen=as_utc(row.first_seen),  # type: ignore[arg-type]
        report_year=key[1],
        page_url=row.url,
        listing_url=row.listing_url,
    )
    facts = ReportFacts(
        row.id,
        row.url,
        pub,
        as_utc(row.first_seen),
        row.crawl_problem,
        row.current_version_id,
        row.listing_url,
    )  # type: ignore[arg-type]
    candidates.setdefault(key, []).append(facts)


def _add_unreached(candidates: dict[Key, list[ReportFacts]], key: Key, c: Correction) -> None:
    """A report the crawler never fetched: it counts from the operator's date (no reading, no findings)."""
    assert c.report_url is not None
    if any(r.url == c.report_url for r in candidates.get(key, [])):
        return
    candidates.setdefault(key, []).append(ReportFacts(-c.id, c.report_url, c.publication(), c.at))
