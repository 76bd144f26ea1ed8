"""What a correct crawl + check of the sample portals must conclude, derived from the scenario tables
and the deadline rules — never typed in by hand, so an integration test against it is honest.

Assumes one fresh crawl made today (Asia/Shanghai) with the portals in their current states: a report
with no date anywhere is judged by today's first sight, and a portal that is down, blocked or forbidden by
robots.txt shows nothing, so its agencies' overdue years are ``unknown`` (never blamed on the agency).
``after_hooks`` adds what a second crawl after the scenario hooks ``reveal`` and ``reupload`` can prove.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from domain.clock import today_shanghai
from monitor.status.deadlines import DeadlineEngine, parse_override
from testbed.simulator.scenario import (
    BEYOND_BREAK,
    CARRY_OVER,
    COPY,
    CORRUPT,
    DASH,
    DEADLINE_OVERRIDES,
    OUTDATED,
    PAGE_403,
    PAGE_404,
    ROW_TOTAL,
    ReportEntry,
    Scenario,
)

# defect -> the rule ids that must be among the findings
DEFECT_RULES: dict[str, frozenset[str]] = {
    ROW_TOTAL: frozenset({"s3.row_total"}),
    DASH: frozenset({"cell.not_number"}),
    OUTDATED: frozenset({"template.outdated"}),
    CARRY_OVER: frozenset({"history.carry_over"}),
    COPY: frozenset({"copy.previous_year"}),
}
INCONSISTENT_DEFECTS = frozenset({ROW_TOTAL})  # an error-severity finding (carry-over is a warning)
HISTORY_DEFECTS = frozenset({CARRY_OVER, COPY})  # errors, or history that does not add up
STATE_PROBLEMS = {"down": "unreachable", "refused": "unreachable", "blocked": "blocked"}
PAGE_PROBLEMS = {PAGE_403: "blocked", PAGE_404: "unreachable"}  # a listed report whose page fails


@dataclass(frozen=True)
class Expected:
    status: str  # domain.codes.STATUS
    published: date | None
    published_evidence: str | None
    inconsistent: bool | None
    rules: frozenset[str]  # rule ids that must be among the findings
    crawl_problem: str | None
    report_format: str | None


def deadline_engine(scenario: Scenario | None = None, today: date | None = None) -> DeadlineEngine:
    """The engine with exactly the overrides ``SamplePortals.config`` writes (on ``today``)."""
    overrides = (
        scenario.deadline_overrides(today or today_shanghai())
        if scenario is not None
        else [dict(o) for o in DEADLINE_OVERRIDES]
    )
    return DeadlineEngine([parse_override(o, f"simulator[{i}]") for i, o in enumerate(overrides)])


def portal_problem(scenario: Scenario, portal_id: str, state: str) -> str | None:
    """Why nothing can be read from the portal (None: it reads fine)."""
    if state in STATE_PROBLEMS:
        return STATE_PROBLEMS[state]
    if scenario.portal(portal_id).robots_disallow_all:
        return "robots"
    return None


def credible_date(r: ReportEntry, crawl_day: date) -> date | None:
    """The portal's date of a report if it could be true: not after our first sight, not before the report's
    year ended (``monitor.status.publication.credibility``); None where it gives none or it is set aside."""
    if r.published is None:
        return None
    d = r.published.date()
    return d if d <= crawl_day and d.year > r.year else None


def published_date(r: ReportEntry, crawl_day: date) -> date:
    """The day a report counts from: the portal's own credible date (all scenario dates are Shanghai times),
    else the day of our first sight."""
    return credible_date(r, crawl_day) or crawl_day


def expected_statuses(
    scenario: Scenario,
    states: dict[str, str],
    as_of: date,
    *,
    engine: DeadlineEngine | None = None,
    crawl_day: date | None = None,
) -> dict[tuple[str, int], Expected]:
    crawl_day = crawl_day or today_shanghai()
    engine = engine or deadline_engine(scenario, crawl_day)
    out: dict[tuple[str, int], Expected] = {}
    for agency in scenario.agencies:
        portal = scenario.portal(agency.portal)
        problem = portal_problem(scenario, portal.id, states.get(portal.id, portal.initial_state))
        # a listing that breaks halfway proves no absence: the agencies it might have shown are unknown
        absence_problem = problem or ("unreachable" if portal.listing_breaks else None)
        for year in scenario.years:
            deadline = engine.deadline(agency.kind, portal.region, year)
            past = deadline.is_past(as_of)
            r = None if problem else scenario.report(agency.id, year)
            if r is not None and BEYOND_BREAK in r.defects:
                r = None  # listed only on the page that fails: never seen
            trouble = next((PAGE_PROBLEMS[d] for d in r.defects if d in PAGE_PROBLEMS), None) if r else None
            if trouble is not None:  # listed, page unreadable, no date seen: the crawler's trouble
                status = "unknown" if past else "not_due"
                out[(agency.id, year)] = Expected(status, None, None, None, frozenset(), trouble, None)
                continue
            if r is not None and published_date(r, crawl_day) <= as_of:
                has_previous = scenario.report(agency.id, year - 1) is not None
                seen = _with_report(r, crawl_day, deadline.due, has_previous)
                out[(agency.id, year)] = seen if past else replace(seen, status="not_due")
                continue
            if not past:
                out[(agency.id, year)] = Expected("not_due", None, None, None, frozenset(), None, None)
            elif absence_problem:
                out[(agency.id, year)] = Expected(
                    "unknown", None, None, None, frozenset(), absence_problem, None
                )
            else:
                out[(agency.id, year)] = Expected("missing", None, None, None, frozenset(), None, None)
    return out


def after_hooks(
    scenario: Scenario,
    fresh: dict[tuple[str, int], Expected],
    *,
    first_crawl_day: date,
    crawl_day: date,
    as_of: date,
    engine: DeadlineEngine | None = None,
) -> dict[tuple[str, int], Expected]:
    """What a crawl on ``crawl_day`` after the hooks concludes where an earlier crawl on ``first_crawl_day``
    (a complete read, before the hooks) saw something else; ``fresh``: ``expected_statuses`` for the later
    crawl alone.

    * a report revealed after a complete read past its due date lacked it: ``late`` from our first sight of
      it (``listing_absent``), the read that lacked it being the proof;
    * a report re-uploaded with a new date: it keeps the date it carried when first seen.
    """
    engine = engine or deadline_engine(scenario, first_crawl_day)
    out = dict(fresh)
    for agency_id, year in scenario.revealed:
        agency = scenario.agency(agency_id)
        deadline = engine.deadline(agency.kind, scenario.portal(agency.portal).region, year)
        r = scenario.report(agency_id, year)
        seen = fresh[(agency_id, year)]
        if r is None or credible_date(r, as_of) is not None or first_crawl_day <= deadline.due:
            continue  # dated by the portal, or the first read came before the due date: nothing to add
        if seen.status == "undated":
            out[(agency_id, year)] = replace(
                seen, status="late", published=crawl_day, published_evidence="listing_absent"
            )
    for (agency_id, year), before in scenario.reuploads.items():
        agency = scenario.agency(agency_id)
        deadline = engine.deadline(agency.kind, scenario.portal(agency.portal).region, year)
        has_previous = scenario.report(agency_id, year - 1) is not None
        kept = _with_report(before, first_crawl_day, deadline.due, has_previous)
        out[(agency_id, year)] = kept if deadline.is_past(as_of) else replace(kept, status="not_due")
    return out


def _with_report(r: ReportEntry, crawl_day: date, due: date, has_previous: bool) -> Expected:
    """A report seen by one fresh crawl on ``crawl_day``: judged by the portal's own date; with none, on time
    if that crawl came by the due date, else ``undated`` — one crawl cannot prove when an undated report
    appeared (no earlier read of the listing lacked it)."""
    corrupt = CORRUPT in r.defects
    credible = credible_date(r, crawl_day)
    # history defects show only against last year's report: with ``years`` cut short they cannot
    defects = r.defects if has_previous else r.defects - HISTORY_DEFECTS
    rules: frozenset[str] = frozenset()
    for d in defects:
        rules |= DEFECT_RULES.get(d, frozenset())
    if credible is not None:
        published, evidence = credible, r.evidence
        status = "on_time" if published <= due else "late"
    elif crawl_day <= due:
        published, evidence, status = crawl_day, "first_seen", "on_time"
    else:
        published, evidence, status = None, None, "undated"
    return Expected(
        status=status,
        published=published,
        published_evidence=evidence,
        inconsistent=None if corrupt else bool(defects & INCONSISTENT_DEFECTS),
        rules=frozenset() if corrupt else rules,
        crawl_problem="parse_failed" if corrupt else None,
        report_format=r.fmt,
    )
