"""Time as gkwatch keeps it: instants in timezone-aware UTC, calendar days in Asia/Shanghai.

Portals print dates in Beijing time and deadlines fall on Shanghai calendar days, while the database keeps
instants in UTC. Every conversion between the two goes through here, so "which day was it in Shanghai"
has one answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The report years and "as of" days gkwatch accepts from a person (web parameters, CLI options): the
# annual reports began with the 2008 条例, so anything outside this range is a typo or an attack, and
# refusing it up front keeps date arithmetic (deadlines a year on) far from ``date.max``.
FIRST_YEAR, LAST_YEAR = 2000, 2100
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)


def utcnow() -> datetime:
    return datetime.now(UTC)


def shanghai_date(dt: datetime) -> date:
    """The Shanghai calendar day of an aware instant."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: gkwatch keeps instants in aware UTC")
    return dt.astimezone(SHANGHAI).date()


def today_shanghai(now: datetime | None = None) -> date:
    return shanghai_date(now or utcnow())


@lru_cache(maxsize=4096)
def shanghai_midnight(d: date) -> datetime:
    """00:00 Asia/Shanghai on ``d``, as an aware UTC datetime (cached: a check asks it for the same few due
    dates 100,000 times)."""
    return datetime.combine(d, time(0), tzinfo=SHANGHAI).astimezone(UTC)


@lru_cache(maxsize=4096)
def day_end_utc(d: date) -> datetime:
    """The first instant after the Shanghai calendar day ``d``, in UTC (what "as of d" can have seen)."""
    return shanghai_midnight(d + timedelta(days=1))


def as_utc(value: datetime | None) -> datetime | None:
    """An instant from the database: aware already, or naive UTC (SQLite's ``max()`` comes back untyped)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def beijing_time(value: datetime | None, *, suffix: bool = True) -> str:
    """An instant as people here read it: ``2026-02-03 10:13（北京时间）``; ``—`` for none."""
    if value is None:
        return "—"
    text = as_utc(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]
    return text + "（北京时间）" if suffix else text
