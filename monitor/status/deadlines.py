"""When each agency's report for a year is due, and why.

Default (《政府信息公开条例》 art. 49): a report on year Y is due 31 January Y+1 for departments (and, in
practice, townships and street offices) and 31 March Y+1 for a government's own report. Provinces and cities
often set earlier local deadlines, so the ``deadlines:`` section of config.yaml overrides the default per
region prefix, per kind and per year::

    deadlines:
      first_year: 2019          # earliest report year judged (default: earliest stored, not before 2019)
      overrides:
        - {region: 湖南省/怀化市, year: 2021, kind: department, due: 2022-01-28, reason: 怀化 local notice}
        - {region: 湖南省/怀化市, year: 2021, kind: [government, township], due: 2022-02-20}
        - {region: 广东省, kind: department, due: 01-20, reason: 广东 rule}   # every year: MM-DD of Y+1

A bare list under ``deadlines:`` is read as ``overrides``. ``region`` is a prefix by whole path segments
(``湖南省/怀化市`` covers ``湖南省/怀化市/鹤城区`` but not ``湖南省/怀化市区``); omitted = everywhere. ``year``
and ``kind`` may be a value or a list; omitted = all. The most specific override wins: the longest region,
then one naming a year, then one naming a kind. A full date in ``due`` needs a single ``year``.

Deadlines are calendar days in Asia/Shanghai: a report dated 31 January (any time up to 23:59:59 Shanghai)
is on time; 1 February 00:00 Shanghai is late. ``Deadline.reason`` is the text shown beside every due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.clock import shanghai_midnight
from domain.config import Config, DeadlineOverride, validate_section
from domain.regions import region_has_prefix

EARLIEST_DEFAULT_YEAR = 2019  # the first year of the two national formats

# kind -> (month, day) of year Y+1, and the legal basis
DEFAULTS: dict[str, tuple[int, int, str]] = {
    "department": (1, 31, "department, 条例 art. 49"),
    "township": (1, 31, "township, held to the departments' date (条例 art. 49)"),
    "government": (3, 31, "government's own report, 条例 art. 49"),
}


@dataclass(frozen=True)
class Deadline:
    """A due date with the reason a person can check."""

    due: date
    reason: str

    def explain(self) -> str:
        return f"due {self.due.isoformat()}: {self.reason}"

    @property
    def closes_at(self) -> datetime:
        """The first instant (UTC) that is too late: 00:00 Shanghai on the day after ``due``."""
        return shanghai_midnight(self.due + timedelta(days=1))

    def is_met_by(self, published: date) -> bool:
        return published <= self.due

    def is_past(self, as_of: date) -> bool:
        """Whether the deadline has passed on the Shanghai calendar day ``as_of`` (the due day itself is open)."""
        return as_of > self.due


@dataclass(frozen=True)
class Override:
    region: str  # '' = everywhere
    years: frozenset[int] | None
    kinds: frozenset[str] | None
    due: date | None  # an exact date (single year)
    month_day: tuple[int, int] | None  # or a day of year Y+1
    reason: str

    def matches(self, kind: str, region: str, year: int) -> bool:
        if self.years is not None and year not in self.years:
            return False
        if self.kinds is not None and kind not in self.kinds:
            return False
        return region_has_prefix(region, self.region)

    def specificity(self) -> tuple[int, int, int]:
        depth = len([s for s in self.region.split("/") if s]) if self.region else 0
        return (depth, self.years is not None, self.kinds is not None)

    def due_for(self, year: int) -> date:
        if self.due is not None:
            return self.due
        assert self.month_day is not None
        return _month_day(year + 1, *self.month_day)


def _month_day(year: int, month: int, day: int) -> date:
    """A day of ``year``; 29 February in a common year falls back to 28 February."""
    try:
        return date(year, month, day)
    except ValueError:
        if (month, day) == (2, 29):
            return date(year, 2, 28)
        raise


def _override(o: DeadlineOverride) -> Override:
    return Override(o.region, o.year_set, o.kind_set, o.due_date, o.month_day, o.reason_text)


def parse_override(m: dict[str, Any], where: str) -> Override:
    """One override from a mapping outside config.yaml (the simulator's table), checked by the same schema
    as ``deadlines.overrides`` in domain/config.py."""
    return _override(validate_section(DeadlineOverride, m, where))


class DeadlineEngine:
    """Due dates for (kind, region, year), with overrides from config; memoized because ``check`` asks
    the same question for thousands of agencies that share a region."""

    def __init__(self, overrides: list[Override] | None = None, first_year: int | None = None) -> None:
        # most specific first, so the first match wins
        self.overrides = sorted(overrides or [], key=lambda o: o.specificity(), reverse=True)
        self.first_year = first_year
        self._cache: dict[tuple[str, str, int], Deadline] = {}

    @classmethod
    def from_config(cls, config: Config) -> DeadlineEngine:
        """From ``config.deadlines``, which domain/config.py has already checked."""
        section = config.deadlines
        return cls([_override(o) for o in section.overrides], section.first_year)

    def deadline(self, kind: str, region: str, year: int) -> Deadline:
        key = (kind, region, year)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._compute(kind, region, year)
        return hit

    def _compute(self, kind: str, region: str, year: int) -> Deadline:
        for o in self.overrides:
            if o.matches(kind, region, year):
                return Deadline(o.due_for(year), o.reason)
        month, day, reason = DEFAULTS.get(kind, DEFAULTS["department"])
        return Deadline(date(year + 1, month, day), reason)
