"""The database tables, one module per stage of the flow (docs/layout.md):

* ``crawl``   — what the crawler saw: ``Portal``, ``Agency``, ``CrawlRun``, ``Fetch`` (one archived HTTP
  response), ``ListingSnapshot`` (which report links a listing page showed at a time: the evidence against
  backdating), ``Report`` (one published report, by URL), ``ReportVersion`` (each distinct content of it),
  ``CrawlProblem`` (trouble that is the crawler's, not the agency's);
* ``reading`` — what the readers made of each document version (``Reading``), never a judgement;
* ``status``  — what the monitor concluded: ``AgencyYearStatus``;
* ``people``  — what people and mail did: ``AlertState``, ``Outbox``, ``FindingReview``, ``OperatorAction``,
  ``VerdictCorrection``, ``OperatorAccount`` (web logins), ``Subscription`` (digest subscribers),
  ``WebSession`` (an operator's login, server-side).

Raw bytes never live in the database: ``Fetch.sha256`` names a file in the archive (``storage.archive``).
Datetimes are timezone-aware UTC (``UTCDateTime``); dates (``due``, ``published``) are calendar dates in
Asia/Shanghai, as portals print them.
"""

from storage.models.crawl import (
    Agency,
    CrawlProblem,
    CrawlRun,
    Fetch,
    ListingSnapshot,
    Portal,
    PortalLock,
    PortalRead,
    Report,
    ReportVersion,
    UrlState,
)
from storage.models.people import (
    AlertState,
    FindingReview,
    OperatorAccount,
    OperatorAction,
    Outbox,
    Subscription,
    VerdictCorrection,
    WebSession,
)
from storage.models.reading import Reading, ReadingPass
from storage.models.status import AgencyYearStatus

__all__ = [
    "Agency",
    "AgencyYearStatus",
    "AlertState",
    "CrawlProblem",
    "CrawlRun",
    "Fetch",
    "FindingReview",
    "ListingSnapshot",
    "OperatorAccount",
    "OperatorAction",
    "Outbox",
    "Portal",
    "PortalLock",
    "PortalRead",
    "Reading",
    "ReadingPass",
    "Report",
    "ReportVersion",
    "Subscription",
    "VerdictCorrection",
    "UrlState",
    "WebSession",
]
