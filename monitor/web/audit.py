"""The operators' audit trail: every review and every crawl request, never overwritten.

``FindingReview`` (storage.models) holds only the *current* verdict per agency-year-rule (``gkwatch check``
reads it); this table keeps each act behind it, so the agency page can show who changed what, when and why.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from storage.models import (
    FindingReview,
    OperatorAction,  # the table lives with the others in storage.models; re-exported here
    VerdictCorrection,
)
from storage.types import utcnow

VERDICTS = ("dismissed", "confirmed")


def record_review(
    session: Session, *, username: str, agency_id: str, year: int, rule: str, verdict: str, note: str
) -> OperatorAction:
    """Set the current verdict (FindingReview, read by ``gkwatch check``) and append to the trail."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}")
    current = session.exec(
        select(FindingReview).where(
            FindingReview.agency_id == agency_id, FindingReview.year == year, FindingReview.rule == rule
        )
    ).first()
    if current is None:
        current = FindingReview(agency_id=agency_id, year=year, rule=rule)
    current.verdict = verdict
    current.note = note
    current.reviewer = username
    current.at = utcnow()
    session.add(current)
    act = OperatorAction(
        username=username,
        action="review",
        agency_id=agency_id,
        year=year,
        rule=rule,
        verdict=verdict,
        note=note,
    )
    session.add(act)
    return act


def record_crawl_request(session: Session, *, username: str, outcome: str) -> OperatorAction:
    act = OperatorAction(username=username, action="crawl", outcome=outcome)
    session.add(act)
    return act


def trail_for_agency(session: Session, agency_id: str) -> list[Any]:
    """Newest first (rows with the columns of ``OperatorAction`` as attributes)."""
    t = OperatorAction.__table__.c
    return list(
        session.connection().execute(
            select(OperatorAction.__table__)
            .where(t.agency_id == agency_id)
            .order_by(t.at.desc(), t.id.desc())
        )
    )


def current_reviews(session: Session, agency_id: str) -> dict[tuple[int, str], dict[str, Any]]:
    """(year, rule) -> the standing verdict, for marking findings on the agency page."""
    t = FindingReview.__table__.c
    rows = session.connection().execute(
        select(t.year, t.rule, t.verdict, t.note, t.reviewer, t.at).where(t.agency_id == agency_id)
    )
    return {
        (r.year, r.rule): {"verdict": r.verdict, "note": r.note, "reviewer": r.reviewer, "at": r.at}
        for r in rows
    }


def record_correction(
    session: Session,
    *,
    username: str,
    agency_id: str,
    year: int,
    kind: str,
    reason: str,
    published: date | None = None,
    report_url: str | None = None,
) -> VerdictCorrection:
    """A correction of a verdict's facts (``monitor.status.corrections``): it replaces the agency-year's
    earlier correction of the same kind, and the act goes into the trail with its reason."""
    for old in session.exec(
        select(VerdictCorrection).where(
            VerdictCorrection.agency_id == agency_id,
            VerdictCorrection.year == year,
            VerdictCorrection.kind == kind,
            VerdictCorrection.active == True,  # noqa: E712
        )
    ):
        old.active = False
        session.add(old)
    row = VerdictCorrection(
        agency_id=agency_id,
        year=year,
        kind=kind,
        published=published,
        report_url=report_url,
        reason=reason,
        username=username,
    )
    session.add(row)
    detail = "；".join(
        x for x in (published and f"日期 {published}", report_url and f"报告 {report_url}") if x
    )
    session.add(
        OperatorAction(
            username=username,
            action="correct",
            agency_id=agency_id,
            year=year,
            rule=kind,
            note=reason,
            outcome=detail,
        )
    )
    return row


def current_corrections(session: Session, agency_id: str) -> dict[int, list[Any]]:
    """year -> the corrections in force, for the agency page (rows of ``VerdictCorrection``'s columns)."""
    t = VerdictCorrection.__table__.c
    out: dict[int, list[Any]] = {}
    for c in session.connection().execute(
        select(VerdictCorrection.__table__)
        .where(t.agency_id == agency_id, t.active == True)  # noqa: E712
        .order_by(t.at)
    ):
        out.setdefault(c.year, []).append(c)
    return out
