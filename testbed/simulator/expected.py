"""What a correct crawl + check of the sample portals must conclude, derived from the scenario tables
and the deadline rules — never typed in by hand, so an integration test against it is honest.

Assumes one fresh crawl made today (Asia/Shanghai) with the portals in their current states: a report
with no date anywhere is judged by today's first sight, and a portal that is down, blocked or forbidden by
robots.txt shows nothing, so its agencies' overdue years are ``unknown`` (never blamed on the agency).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from domain.clock import today_shanghai
from monitor.status.deadlines import DeadlineEngine, parse_override
from testbed.simulator.scenario import (
    CARRY_OVER,
    COPY,
    CORRUPT,
    DASH,
    DEADLINE_OVERRIDES,
    OUTDATED,
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


@dataclass(frozen=True)
class Expected:
    status: str  # domain.codes.STATUS
    published: date | None
    published_evidence: str | None
    inconsistent: bool | None
    rules: frozenset[str]  # rule ids that must be among the findings
    crawl_problem: str | None
    report_format: str | None


def deadline_engine() -> DeadlineEngine:
    """The engine with exactly the overrides ``SamplePortals.config`` writes."""
    return DeadlineEngine(
        [parse_override(dict(o), f"simulator[{i}]") for i, o in enumerate(DEADLINE_OVERRIDES)]
    )


def portal_problem(scenario: Scenario, portal_id: str, state: str) -> str | None:
    """Why nothing can be read from the portal (None: it reads fine)."""
    if state in STATE_PROBLEMS:
        return STATE_PROBLEMS[state]
    if scenario.portal(portal_id).robots_disallow_all:
        return "robots"
    return None


def published_date(r: ReportEntry, crawl_day: date) -> date:
    """The day a report counts from: the portal's own date (all scenario dates are Shanghai times), else the
    day of our first sight."""
    return r.published.date() if r.published is not None else crawl_day


def expected_statuses(
    scenario: Scenario,
    states: dict[str, str],
    as_of: date,
    *,
    engine: DeadlineEngine | None = None,
    crawl_day: date | None = None,
) -> dict[tuple[str, int], Expected]:
    engine = engine or deadline_engine()
    crawl_day = crawl_day or today_shanghai()
    out: dict[tuple[str, int], Expected] = {}
    for agency in scenario.agencies:
        portal = scenario.portal(agency.portal)
        problem = portal_problem(scenario, portal.id, states.get(portal.id, portal.initial_state))
        for year in scenario.years:
            deadline = engine.deadline(agency.kind, portal.region, year)
            past = deadline.is_past(as_of)
            r = None if problem else scenario.report(agency.id, year)
            if r is not None and published_date(r, crawl_day) <= as_of:
                has_previous = scenario.report(agency.id, year - 1) is not None
                seen = _with_report(r, crawl_day, deadline.due, has_previous)
                out[(agency.id, year)] = seen if past else replace(seen, status="not_due")
                continue
            if not past:
                out[(agency.id, year)] = Expected("not_due", None, None, None, frozenset(), None, None)
            elif problem:
                out[(agency.id, year)] = Expected("unknown", None, None, None, frozenset(), problem, None)
            else:
                out[(agency.id, year)] = Expected("missing", None, None, None, frozenset(), None, None)
    return out


def _with_report(r: ReportEntry, crawl_day: date, due: date, has_previous: bool) -> Expected:
    """A report seen by one fresh crawl on ``crawl_day``: judged by the portal's own date; with none, on time
    if that crawl came by the due date, else ``undated`` — one crawl cannot prove when an undated report
    appeared (no earlier read of the listing lacked it)."""
    corrupt = CORRUPT in r.defects
    # history defects show only against last year's report: with ``years`` cut short they cannot
    defects = r.defects if has_previous else r.defects - HISTORY_DEFECTS
    rules: frozenset[str] = frozenset()
    for d in defects:
        rules |= DEFECT_RULES.get(d, frozenset())
    if r.published is not None:
        published, evidence = r.published.date(), r.evidence
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
