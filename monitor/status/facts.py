"""The facts a check judges, gathered from the database in a handful of set-based queries (never one query
per agency): the registry, every report with its publication evidence, each portal's listing reads and
trouble, and the reviewers' dismissals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, func
from sqlmodel import Session, select

from domain.clock import as_utc
from domain.codes import BLOCKING_PROBLEMS
from monitor.status import quiet
from monitor.status.publication import earliest_publication
from monitor.status.verdict import AgencyFacts, ListingRead, PortalReads, ReportFacts, Trouble
from storage.models import (
    Agency,
    CrawlProblem,
    FindingReview,
    ListingSnapshot,
    PortalRead,
    Report,
    ReportVersion,
)

Key = tuple[str, int]  # (agency_id, year)
_ID_CHUNK = 5000
TROUBLE_SHOWN = 3  # a portal's latest blocking problems kept as evidence


def chunks(items: list, size: int = _ID_CHUNK) -> Iterator[list]:
    """Slices of ``items`` small enough for one ``IN (...)`` on SQLite and PostgreSQL."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def active_agencies(session: Session) -> list[AgencyFacts]:
    """Registered agencies still in the registry, in a stable order."""
    rows = session.exec(
        select(Agency.id, Agency.name, Agency.kind, Agency.region, Agency.portal_id)
        .where(Agency.active == True)  # noqa: E712
        .where(Agency.source != "discovered")
        .order_by(Agency.region, Agency.name, Agency.id)
    )
    return [AgencyFacts(*r) for r in rows]


def dismissed_rules(session: Session) -> dict[Key, frozenset[str]]:
    found: dict[Key, set[str]] = defaultdict(set)
    for agency_id, year, rule in session.exec(
        select(FindingReview.agency_id, FindingReview.year, FindingReview.rule).where(
            FindingReview.verdict == "dismissed"
        )
    ):
        found[(agency_id, year)].add(rule)
    return {k: frozenset(v) for k, v in found.items()}


def report_facts(
    session: Session, agencies: dict[str, AgencyFacts], years: range
) -> dict[Key, list[ReportFacts]]:
    """Every report attributed to a judged agency-year (and the year before each, for history), with its
    publication evidence and, where it could not be fetched, the failed request."""
    found: dict[Key, list[ReportFacts]] = defaultdict(list)
    if not years:
        return found
    rows = session.exec(
        select(
            Report.agency_id,
            Report.year,
            Report.id,
            Report.url,
            Report.pub_meta,
            Report.pub_text,
            Report.pub_header,
            Report.listing_date,
            Report.pub_history,
            Report.first_seen,
            Report.crawl_problem,
            Report.current_version_id,
            Report.listing_url,
            ReportVersion.document_url,
        )
        .outerjoin(ReportVersion, ReportVersion.id == Report.current_version_id)
        .where(Report.agency_id.is_not(None))
        .where(Report.year >= years.start - 1)
        .where(Report.year < years.stop)
    )
    troubled: list[tuple[Key, int, str]] = []
    for (
        agency_id,
        year,
        rid,
        url,
        meta,
        text,
        header,
        beside,
        history,
        first_seen,
        problem,
        vid,
        listing,
        doc_url,
    ) in rows:
        if agency_id not in agencies:
            continue
        pub = earliest_publication(
            history,
            pub_meta=meta,
            pub_text=text,
            listing_date=beside,
            pub_header=header,
            first_seen=first_seen,
            report_year=year,
            page_url=url,
            listing_url=listing,
            document_url=doc_url if doc_url and doc_url != url else None,
        )
        found[(agency_id, year)].append(ReportFacts(rid, url, pub, first_seen, problem, vid, listing))
        if problem:
            troubled.append(((agency_id, year), rid, url))
    if troubled:
        _attach_trouble(session, found, troubled)
    return found


def _attach_trouble(
    session: Session, found: dict[Key, list[ReportFacts]], troubled: list[tuple[Key, int, str]]
) -> None:
    """The latest failed request behind each troubled report (by its URL)."""
    latest: dict[str, Trouble] = {}
    for chunk in chunks(sorted({url for _, _, url in troubled})):
        for kind, url, detail, at in session.exec(
            select(CrawlProblem.kind, CrawlProblem.url, CrawlProblem.detail, CrawlProblem.at)
            .where(CrawlProblem.url.in_(chunk))
            .order_by(CrawlProblem.at)
        ):
            latest[url] = Trouble(kind, url, detail or "", as_utc(at))  # type: ignore[arg-type]
    for key, rid, url in troubled:
        trouble = latest.get(url)
        if trouble is None:
            continue
        found[key] = [
            ReportFacts(
                r.report_id,
                r.url,
                r.publication,
                r.first_seen,
                r.crawl_problem,
                r.version_id,
                r.listing_url,
                trouble,
            )
            if r.report_id == rid
            else r
            for r in found[key]
        ]


def _read(row: PortalRead) -> ListingRead:
    return ListingRead(
        run_id=row.run_id,
        started_at=as_utc(row.started_at),  # type: ignore[arg-type]
        finished_at=as_utc(row.finished_at),
        complete=bool(row.complete),
        pages=row.listing_pages,
        failed_pages=row.failed_pages,
        report_links=row.report_links,
        end_reason=row.end_reason,
    )


def portal_reads(
    session: Session, until: datetime, absence: dict[str, datetime] | None = None
) -> dict[str, PortalReads]:
    """Per portal, the reads of its listing that can prove something as of ``until``: its latest complete
    read, its latest read of any kind, every complete read since ``absence[portal]`` (for ``listing_absent``)
    — and its latest blocking trouble."""
    absence = absence or {}
    wanted: dict[str, dict[tuple[int, str], ListingRead]] = defaultdict(dict)

    def keep(row: PortalRead) -> None:
        wanted[row.portal_id][(row.run_id, row.portal_id)] = _read(row)

    before = PortalRead.started_at < until
    for pick in (PortalRead.complete == True, PortalRead.id.is_not(None)):  # noqa: E712
        latest = (
            select(PortalRead.portal_id, func.max(PortalRead.started_at).label("at"))
            .where(before, pick)
            .group_by(PortalRead.portal_id)
            .subquery()
        )
        for row in session.exec(
            select(PortalRead)
            .join(
                latest, and_(PortalRead.portal_id == latest.c.portal_id, PortalRead.started_at == latest.c.at)
            )
            .where(pick)
        ):
            keep(row)
    for portal_id, since in absence.items():
        for row in session.exec(
            select(PortalRead)
            .where(PortalRead.portal_id == portal_id, PortalRead.complete == True, before)  # noqa: E712
            .where(PortalRead.started_at >= since)
        ):
            keep(row)
    trouble = _portal_trouble(session, until)
    listed = _listed(session, {(run, portal) for portal in absence for (run, _) in wanted.get(portal, {})})
    out: dict[str, PortalReads] = {}
    for portal_id in set(wanted) | set(trouble):
        reads = sorted(wanted.get(portal_id, {}).values(), key=lambda r: (r.started_at, r.run_id))
        shown = {run: urls for (run, p), urls in listed.items() if p == portal_id}
        out[portal_id] = PortalReads(tuple(reads), tuple(trouble.get(portal_id, ())), shown)
    return mark_quiet(session, out, until)


def mark_quiet(session: Session, out: dict[str, PortalReads], until: datetime) -> dict[str, PortalReads]:
    """Complete reads that prove nothing because the portal went quiet (``monitor.status.quiet``) count as
    incomplete, ``end_reason`` ``quiet``. Judged against each portal's recent complete reads."""
    judged = {p: [r for r in reads.reads if r.complete] for p, reads in out.items()}
    judged = {p: reads for p, reads in judged.items() if reads}
    if not judged:
        return out
    shapes = read_shapes(session, until, judged)
    for p in judged:
        found = quiet.judge(shapes[p].values())
        if found:
            reads = out[p]
            marked = tuple(
                replace(r, complete=False, end_reason="quiet") if r.complete and r.run_id in found else r
                for r in reads.reads
            )
            out[p] = replace(reads, reads=marked)
    return out


def read_shapes(
    session: Session, until: datetime, judged: dict[str, list[ListingRead]]
) -> dict[str, dict[int, quiet.ReadShape]]:
    """Per portal of ``judged``: its last complete reads before ``until`` and the reads ``judged`` (however
    old: absence proofs since a due date), as ``quiet.ReadShape``; the listing pages (how many, how many
    distinct bodies) of the judged ones."""
    shapes: dict[str, dict[int, quiet.ReadShape]] = defaultdict(dict)
    for chunk in chunks(sorted(judged)):
        ranked = (
            select(
                PortalRead.run_id,
                PortalRead.portal_id,
                PortalRead.started_at,
                PortalRead.report_links,
                func.row_number()
                .over(partition_by=PortalRead.portal_id, order_by=PortalRead.started_at.desc())
                .label("rn"),
            )
            .where(PortalRead.complete == True, PortalRead.started_at < until)  # noqa: E712
            .where(PortalRead.portal_id.in_(chunk))
            .subquery()
        )
        for run_id, portal_id, started, links in session.exec(
            select(ranked.c.run_id, ranked.c.portal_id, ranked.c.started_at, ranked.c.report_links).where(
                ranked.c.rn <= 3 * quiet.HISTORY
            )
        ):
            shapes[portal_id][run_id] = quiet.ReadShape(run_id, as_utc(started), links or 0)  # type: ignore[arg-type]
    wanted = {(r.run_id, p) for p, reads in judged.items() for r in reads}
    for p, reads in judged.items():
        for r in reads:
            shapes[p].setdefault(r.run_id, quiet.ReadShape(r.run_id, r.started_at, r.report_links))
    for chunk in chunks(sorted({run for run, _ in wanted})):
        for run_id, portal_id, n, distinct in session.exec(
            select(
                ListingSnapshot.run_id,
                ListingSnapshot.portal_id,
                func.count(),
                func.count(func.distinct(ListingSnapshot.sha256)),
            )
            .where(ListingSnapshot.run_id.in_(chunk))
            .group_by(ListingSnapshot.run_id, ListingSnapshot.portal_id)
        ):
            if (run_id, portal_id) in wanted:
                shapes[portal_id][run_id] = replace(
                    shapes[portal_id][run_id], pages=n, distinct_pages=distinct
                )
    return shapes


def _listed(session: Session, reads: set[tuple[int, str]]) -> dict[tuple[int, str], frozenset[str]]:
    """The report links each (run, portal) read's listing pages showed."""
    out: dict[tuple[int, str], set[str]] = defaultdict(set)
    for chunk in chunks(sorted({run for run, _ in reads})):
        for run_id, portal_id, urls in session.exec(
            select(ListingSnapshot.run_id, ListingSnapshot.portal_id, ListingSnapshot.report_urls).where(
                ListingSnapshot.run_id.in_(chunk)
            )
        ):
            if (run_id, portal_id) in reads:
                out[(run_id, portal_id)].update(urls or ())
    return {k: frozenset(v) for k, v in out.items()}


def _portal_trouble(session: Session, until: datetime) -> dict[str, list[Trouble]]:
    """Each portal's latest blocking problems (newest first)."""
    latest = (
        select(CrawlProblem.portal_id, func.max(CrawlProblem.at).label("at"))
        .where(CrawlProblem.kind.in_(BLOCKING_PROBLEMS), CrawlProblem.at < until)
        .group_by(CrawlProblem.portal_id)
        .subquery()
    )
    out: dict[str, list[Trouble]] = defaultdict(list)
    for portal_id, kind, url, detail, at in session.exec(
        select(
            CrawlProblem.portal_id, CrawlProblem.kind, CrawlProblem.url, CrawlProblem.detail, CrawlProblem.at
        )
        .join(latest, and_(CrawlProblem.portal_id == latest.c.portal_id, CrawlProblem.at == latest.c.at))
        .where(CrawlProblem.kind.in_(BLOCKING_PROBLEMS))
    ):
        if len(out[portal_id]) < TROUBLE_SHOWN:
            out[portal_id].append(Trouble(kind, url, detail or "", as_utc(at)))  # type: ignore[arg-type]
    return out


def listing_urls(
    session: Session, reads: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], tuple[str, ...]]:
    """The listing pages each (run, portal) read archived: the proof a reader can open."""
    wanted = sorted(set(reads))
    out: dict[tuple[int, str], list[str]] = defaultdict(list)
    for chunk in chunks(sorted({run for run, _ in wanted})):
        for run_id, portal_id, url in session.exec(
            select(ListingSnapshot.run_id, ListingSnapshot.portal_id, ListingSnapshot.url)
            .where(ListingSnapshot.run_id.in_(chunk))
            .order_by(ListingSnapshot.fetched_at)
        ):
            if (run_id, portal_id) in wanted and url not in out[(run_id, portal_id)]:
                out[(run_id, portal_id)].append(url)
    return {k: tuple(v) for k, v in out.items()}
