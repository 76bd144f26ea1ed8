"""Judging the stored readings of the chosen reports: every rule, every ``gkwatch check``.

``judge_chosen`` returns, for each judged agency-year whose chosen report has a reading, every finding:
the reading's own (``monitor.judgement.judge``) and the ones across reports (``monitor.judgement.history``):

* this year against the same agency's chosen report of the year before (carry-over, stocks, copy);
* ``copy.other_agency`` — near-identical prose of two different agencies in the same year;
* ``history.changed`` — more than one version of the report is held;
* ``history.backdated`` — the report's own date is on or before the due date, yet a listing page that now
  shows it was fetched after the due date (and before we first saw the report) without it. Only snapshots
  that showed at least one other report count, so an empty error page is never taken as proof.

Why it stays fast over 100,000 agency-years with bounded memory: readings are loaded in batches of agencies
(never all at once), without their printed texts, and each is judged, compared with its predecessor and
fingerprinted while loaded; across agencies only each prose's small sketch is kept for the whole year.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, func, select

from crawler.reading.model import Reading
from domain.clock import as_utc, day_end_utc
from monitor.judgement import AgencyContext, judge
from monitor.judgement.history import (
    Fingerprint,
    backdated_finding,
    candidate_pairs,
    changed_finding,
    copy_other_finding,
    copy_previous_finding,
    history_findings,
    is_copy,
)
from monitor.status.deadlines import Deadline
from monitor.status.verdict import AgencyFacts, ReportFacts
from storage.models import ListingSnapshot, ReportVersion
from storage.models import Reading as ReadingRow

Key = tuple[str, int]  # (agency_id, year)
BATCH_VERSIONS = 2000
_ID_CHUNK = 5000

# The columns judging needs (the printed texts, ``cell_raw``, are for people, not rules).
_READING_COLUMNS = (
    ReadingRow.template,
    ReadingRow.year,
    ReadingRow.cell_values,
    ReadingRow.cell_marks,
    ReadingRow.missing,
    ReadingRow.sections,
    ReadingRow.period,
    ReadingRow.prose_years,
    ReadingRow.prose,
    ReadingRow.error,
)
_READING_NAMES = tuple(c.key for c in _READING_COLUMNS)


@dataclass(frozen=True, slots=True)
class ChosenReport:
    """The report that stands for an agency-year (``monitor.status.choice``), with its deadline."""

    facts: ReportFacts
    deadline: Deadline


@dataclass
class _Loaded:
    reading: Reading
    fingerprint: Fingerprint
    numbers: _Numbers | None = None  # what history rules compare (made once, though used twice)

    def compared(self) -> _Numbers:
        if self.numbers is None:
            self.numbers = _numbers(self.reading)
        return self.numbers


@dataclass
class Judging:
    """Every finding of the chosen reports; see the module docstring."""

    session: Session
    chosen: Mapping[Key, ChosenReport]
    agencies: Mapping[str, AgencyFacts]
    as_of: date
    years: range | None = None  # judged years (None: all); the year before each is still read
    out: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    unread: int = 0  # chosen versions with no reading yet (a ``gkwatch reparse`` makes them)
    failed: set[Key] = field(default_factory=set)  # chosen reports whose document could not be read

    def judged(self, year: int) -> bool:
        return self.years is None or year in self.years

    def run(self) -> dict[Key, list[dict[str, Any]]]:
        sketches = self._per_agency()
        self._cross_agency(sketches)
        self._changed()
        self._backdated()
        return self.out

    # --- each reading, and this year against last year ------------------------------------------

    def _per_agency(self) -> dict[int, list[tuple[Key, array]]]:
        by_agency: dict[str, list[int]] = defaultdict(list)
        for (agency_id, year), c in self.chosen.items():
            if c.facts.version_id is not None:
                by_agency[agency_id].append(year)
        sketches: dict[int, list[tuple[Key, array]]] = defaultdict(list)
        batch: list[str] = []
        size = 0
        for agency_id in sorted(by_agency):
            batch.append(agency_id)
            size += len(by_agency[agency_id])
            if size >= BATCH_VERSIONS:
                self._agency_batch(batch, by_agency, sketches)
                batch, size = [], 0
        if batch:
            self._agency_batch(batch, by_agency, sketches)
        return sketches

    def _load(self, ids: Mapping[int, Key]) -> dict[Key, Reading]:
        """The readings of versions (by id), without their printed texts."""
        out: dict[Key, Reading] = {}
        for chunk in chunks(list(ids)):
            rows = self.session.exec(
                select(ReportVersion.id, *_READING_COLUMNS)
                .join(ReadingRow, ReadingRow.sha256 == ReportVersion.sha256)
                .where(ReportVersion.id.in_(chunk))
            )
            for vid, *values in rows:
                out[ids[vid]] = Reading.from_row(dict(zip(_READING_NAMES, values, strict=True)))
        return out

    def _agency_batch(
        self,
        agencies: list[str],
        years: Mapping[str, list[int]],
        sketches: dict[int, list[tuple[Key, array]]],
    ) -> None:
        ids = {self.chosen[(a, y)].facts.version_id: (a, y) for a in agencies for y in years[a]}
        readings = self._load(ids)  # type: ignore[arg-type]
        loaded: dict[Key, _Loaded] = {}
        # a report repeating an earlier one word for word (the commonest copy) is fingerprinted once
        fingerprints: dict[str, Fingerprint] = {}
        for key, reading in readings.items():
            if reading.error:
                self.failed.add(key)  # read, but unreadable: no numbers to judge (crawl_problem parse_failed)
                continue
            fp = fingerprints.get(reading.prose)
            if fp is None:
                fp = fingerprints[reading.prose] = Fingerprint.of(reading.prose)
            loaded[key] = _Loaded(reading, fp)
            if not self.judged(key[1]):
                continue
            agency = self.agencies.get(key[0])
            context = AgencyContext(agency.kind, agency.region) if agency else None
            self.out[key] = judge(reading, context)
            if fp.sketch:
                sketches[key[1]].append((key, fp.sketch))
        self.unread += sum(1 for k in ids.values() if k not in readings and self.judged(k[1]))
        for key, cur in loaded.items():
            prev = loaded.get((key[0], key[1] - 1))
            if prev is None or not self.judged(key[1]):
                continue
            found = self.out[key]
            found += history_findings(cur.compared(), prev.compared())
            ratio = is_copy(cur.fingerprint, prev.fingerprint, cur.reading.prose, prev.reading.prose)
            if ratio is not None:
                found.append(copy_previous_finding(ratio, key[1] - 1))

    # --- different agencies, same year ----------------------------------------------------------

    def _cross_agency(self, sketches: Mapping[int, list[tuple[Key, array]]]) -> None:
        for year in sorted(sketches):
            pairs = candidate_pairs(sketches[year])
            if pairs:
                self._confirm_pairs(pairs)

    def _confirm_pairs(self, pairs: list[tuple[Key, Key]]) -> None:
        keys = {k for p in pairs for k in p}
        prose = self._prose({self.chosen[k].facts.version_id: k for k in keys})
        fps = {k: Fingerprint.of(t) for k, t in prose.items()}
        for a, b in pairs:
            if a not in prose or b not in prose:
                continue
            for x, y in ((a, b), (b, a)):
                ratio = is_copy(fps[x], fps[y], prose[x], prose[y])
                if ratio is not None:
                    other = self.agencies.get(y[0])
                    name = other.name if other else y[0]
                    url = self.chosen[y].facts.url
                    self.out.setdefault(x, []).append(copy_other_finding(ratio, name, y[0], y[1], url))

    def _prose(self, ids: Mapping[int | None, Key]) -> dict[Key, str]:
        out: dict[Key, str] = {}
        for chunk in chunks([i for i in ids if i is not None]):
            for vid, prose in self.session.exec(
                select(ReportVersion.id, ReadingRow.prose)
                .join(ReadingRow, ReadingRow.sha256 == ReportVersion.sha256)
                .where(ReportVersion.id.in_(chunk))
            ):
                out[ids[vid]] = prose or ""
        return out

    # --- changed after publication --------------------------------------------------------------

    def _changed(self) -> None:
        by_report = {c.facts.report_id: k for k, c in self.chosen.items() if self.judged(k[1])}
        rows = self.session.exec(
            select(
                ReportVersion.report_id,
                func.count(ReportVersion.id),
                func.min(ReportVersion.fetched_at),
                func.max(ReportVersion.fetched_at),
            )
            .where(ReportVersion.fetched_at < day_end_utc(self.as_of))
            .group_by(ReportVersion.report_id)
            .having(func.count(ReportVersion.id) > 1)
        )
        for report_id, n, first, last in rows:
            key = by_report.get(report_id)
            if key is not None and key in self.out:
                self.out[key].append(changed_finding(n, _utc(first), _utc(last)))

    # --- backdated ------------------------------------------------------------------------------

    def _backdated(self) -> None:
        suspects = {
            k: c
            for k, c in self.chosen.items()
            if self.judged(k[1])
            and k in self.out
            and c.facts.published is not None
            and c.facts.listing_url
            and c.deadline.is_met_by(c.facts.published)
            and c.facts.first_seen >= c.deadline.closes_at
        }
        if not suspects:
            return
        by_listing: dict[str, list[Key]] = defaultdict(list)
        for k, c in suspects.items():
            by_listing[c.facts.listing_url or ""].append(k)
        earliest = min(c.deadline.closes_at for c in suspects.values())
        proof: dict[Key, tuple[str, datetime]] = {}
        for chunk in chunks(list(by_listing)):
            snaps = self.session.exec(
                select(ListingSnapshot.url, ListingSnapshot.fetched_at, ListingSnapshot.report_urls)
                .where(ListingSnapshot.url.in_(chunk))
                .where(ListingSnapshot.fetched_at >= earliest)
                .where(ListingSnapshot.fetched_at < day_end_utc(self.as_of))
                .order_by(ListingSnapshot.fetched_at)
            )
            for url, fetched_at, shown in snaps:
                for k in by_listing[url]:
                    c = suspects[k]
                    if k in proof or not shown or c.facts.url in shown:
                        continue
                    if c.deadline.closes_at <= fetched_at < c.facts.first_seen:
                        proof[k] = (url, fetched_at)
        for k, (url, at) in proof.items():
            c = suspects[k]
            assert c.facts.published is not None
            self.out[k].append(
                backdated_finding(c.facts.published, c.deadline.due, url, at, c.facts.first_seen)
            )


@dataclass(frozen=True, slots=True)
class _Numbers:
    template: str | None
    year: int | None
    cells: dict[str, Any]
    unsure: frozenset[str]
    prose: str | None = None  # copies are decided by fingerprints here, not by the exact rule


def _numbers(r: Reading) -> _Numbers:
    remarked = r.remarked()
    return _Numbers(r.template, r.year, r.values, frozenset(k for k, c in remarked.items() if not c.sure))


def _utc(value: datetime) -> datetime:
    return as_utc(value)  # type: ignore[return-value]


def judge_chosen(
    session: Session,
    chosen: Mapping[Key, ChosenReport],
    agencies: Mapping[str, AgencyFacts],
    *,
    as_of: date,
    years: range | None = None,
) -> Judging:
    """Judge the chosen reports' readings (``Judging.out``: findings by agency-year)."""
    j = Judging(session, chosen, agencies, as_of, years)
    j.run()
    return j


def chunks(items: list, size: int = _ID_CHUNK) -> Iterator[list]:
    """Slices of ``items`` small enough for one ``IN (...)`` on SQLite and PostgreSQL."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
