"""What changed since subscribers were last told: the comparison of current statuses with ``AlertState``.

A change is news worth a mail when an agency-year becomes late, becomes missing, becomes inconsistent, or
its report gets a new version after subscribers had seen one (changed after publication). Everything else
(on time, not yet due, ``unknown`` — the crawler's trouble, which goes to the operator instead) is
remembered silently so that a later change can be recognised.

An agency-year with no ``AlertState`` yet (the very first run, or an agency added later) has never been
reported, so its current problems count as new: a subscriber's first digest lists everything that is
wrong today, and says so (``Change.first_report``). This is the sensible reading of "only changes" — a
watchdog that stayed silent about every report already late on day one would hide the most news.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, select

from domain import codes
from domain.codes import ACCUSATIONS
from monitor.status.verdict import StatusRow
from storage.models import AgencyYearStatus, AlertState

# change kind -> label in the digest (domain.codes.CHANGE); the order is the digest's order
CHANGE_LABELS: dict[str, str] = {
    k: codes.CHANGE[k].label for k in ("corrected", "missing", "late", "inconsistent", "changed")
}


@dataclass(frozen=True)
class Current:
    """What a digest needs of one agency-year's current status (from a ``StatusRow`` or the table)."""

    agency_id: str
    year: int
    agency: str
    region: str
    status: str
    due: date | None
    published: date | None
    published_evidence: str | None
    inconsistent: bool | None
    findings: tuple[str, ...]
    report_url: str | None
    version_id: int | None


@dataclass(frozen=True)
class Change:
    kind: str  # a key of CHANGE_LABELS
    current: Current
    first_report: bool  # no earlier AlertState: reported for the first time, not necessarily new today
    since: datetime | None  # notified_at of the state it changed from: part of the digest's dedupe key

    @property
    def sort_key(self) -> tuple:
        c = self.current
        return (list(CHANGE_LABELS).index(self.kind), c.region, c.agency, c.agency_id, c.year)

    @property
    def identity(self) -> str:
        c = self.current
        since = self.since.isoformat() if self.since else "-"
        return f"{c.agency_id}|{c.year}|{self.kind}|{c.status}|{c.version_id}|{since}"


_STATUS_COLUMNS = (
    AgencyYearStatus.agency_id,
    AgencyYearStatus.year,
    AgencyYearStatus.agency,
    AgencyYearStatus.region,
    AgencyYearStatus.status,
    AgencyYearStatus.due,
    AgencyYearStatus.published,
    AgencyYearStatus.published_evidence,
    AgencyYearStatus.inconsistent,
    AgencyYearStatus.findings,
    AgencyYearStatus.report_url,
    AgencyYearStatus.report_id,
    AgencyYearStatus.version_id,  # the version the check judged: news of a change names that one
)
_WRITE_BATCH = 5000


def load_current(session: Session, rows: list[StatusRow] | None) -> list[Current]:
    """Current statuses: the rows given, else the ``AgencyYearStatus`` table as ``gkwatch check`` left it.

    The table is read as plain tuples, not ORM objects: at 100,000 agency-years that is most of the cost.
    """
    if rows is not None:
        source = [
            (
                r.agency_id, r.year, r.agency, r.region, r.status, r.due, r.published,
                r.published_evidence, r.inconsistent, r.findings, r.report_url, r.report_id,
                getattr(r, "version_id", None),
            )
            for r in rows
        ]  # fmt: skip
    else:
        source = list(session.exec(select(*_STATUS_COLUMNS)))
    out = []
    for aid, year, agency, region, status, due, pub, evidence, inc, findings, url, _rid, version in source:
        out.append(
            Current(
                aid,
                year,
                agency,
                region,
                status,
                due,
                pub,
                evidence,
                inc,
                tuple(findings or ()),
                url,
                version,
            )
        )
    return out


@dataclass(frozen=True)
class Known:
    """What subscribers were last told of one agency-year (a row of ``AlertState``)."""

    status: str | None
    inconsistent: bool | None
    version_id: int | None
    notified_at: datetime | None


def changes_of(cur: Current, prev: Known | AlertState | None) -> list[Change]:
    """The news in one agency-year: pure, so the rules are testable on their own."""
    first = prev is None
    since = prev.notified_at if prev else None
    out = []
    if cur.status in ("late", "missing") and (first or prev.status != cur.status):
        out.append(Change(cur.status, cur, first, since))
    if cur.inconsistent is True and (first or prev.inconsistent is not True):
        out.append(Change("inconsistent", cur, first, since))
    if (
        not first
        and cur.version_id is not None
        and prev.version_id is not None
        and cur.version_id != prev.version_id
    ):
        out.append(Change("changed", cur, first, since))
    if not first and corrects(prev, cur):
        out.append(Change("corrected", cur, first, since))
    return out


def corrects(prev: Known | AlertState, cur: Current) -> bool:
    """An accusation subscribers were told of no longer stands: a report said late or missing is shown to
    have been on time (a date found, an operator's correction), or a report said not to add up does (a
    better reading, a dismissed finding). They hear it as a correction (更正)."""
    accused = prev.status in ACCUSATIONS and cur.status in ("on_time", "not_due")
    cleared = prev.inconsistent is True and cur.inconsistent is False
    return accused or cleared


def remembered(prev: Known | None, cur: Current) -> tuple[str | None, bool | None, int | None]:
    """The verdict to store. An unknown one (``unknown`` status, unparsed ``None``, no version) keeps the
    last known, so a portal that is unreachable for a week does not re-announce its missing reports."""
    if prev is None:
        return cur.status, cur.inconsistent, cur.version_id
    return (
        prev.status if cur.status == "unknown" else cur.status,
        prev.inconsistent if cur.inconsistent is None else cur.inconsistent,
        prev.version_id if cur.version_id is None else cur.version_id,
    )


def detect_and_record(session: Session, current: list[Current], now: datetime) -> list[Change]:
    """Every change, with ``AlertState`` written in the caller's transaction (committed with the mail).

    Reads and writes in bulk (tuples in, batched INSERT / UPDATE-by-primary-key out), so that a first run
    over 100,000 agency-years does not build 100,000 ORM objects.
    """
    cols = (AlertState.agency_id, AlertState.year, AlertState.status, AlertState.inconsistent,
            AlertState.version_id, AlertState.notified_at)  # fmt: skip
    states = {(a, y): Known(st, inc, ver, at) for a, y, st, inc, ver, at in session.exec(select(*cols))}
    found: list[Change] = []
    inserts: list[dict] = []
    updates: list[dict] = []
    for cur in current:
        prev = states.get((cur.agency_id, cur.year))
        found.extend(changes_of(cur, prev))
        status, inconsistent, version = remembered(prev, cur)
        values = {"agency_id": cur.agency_id, "year": cur.year, "status": status,
                  "inconsistent": inconsistent, "version_id": version, "notified_at": now}  # fmt: skip
        if prev is None:
            inserts.append(values)
        elif (prev.status, prev.inconsistent, prev.version_id) != (status, inconsistent, version):
            updates.append(values)
    table = AlertState.__table__
    conn = session.connection()  # Core executemany: one statement per batch, no ORM bookkeeping
    for i in range(0, len(inserts), _WRITE_BATCH):
        conn.execute(insert(table), inserts[i : i + _WRITE_BATCH])
    by_key = (
        update(table)
        .where(table.c.agency_id == bindparam("k_agency_id"))
        .where(table.c.year == bindparam("k_year"))
        .values(status=bindparam("status"), inconsistent=bindparam("inconsistent"),
                version_id=bindparam("version_id"), notified_at=bindparam("notified_at"))
    )  # fmt: skip
    keyed = [{f"k_{k}" if k in ("agency_id", "year") else k: v for k, v in u.items()} for u in updates]
    for i in range(0, len(keyed), _WRITE_BATCH):
        conn.execute(by_key, keyed[i : i + _WRITE_BATCH])
    return sorted(found, key=lambda c: c.sort_key)
