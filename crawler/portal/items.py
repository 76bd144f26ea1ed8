"""What the portal spider hands to the storage pipeline.

Plain dataclasses (Scrapy accepts them as items). Each carries the raw responses as ``Fetched`` so that
the pipeline archives exactly the bytes the server sent, with its headers: the evidence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from storage.types import utcnow


@dataclass
class Fetched:
    """One HTTP response, as evidence."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime = field(default_factory=utcnow)

    @cached_property
    def sha256(self) -> str:
        """The body's digest, computed once: it names the archive file, the Fetch row and the version."""
        return hashlib.sha256(self.body).hexdigest()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @classmethod
    def from_response(cls, response) -> Fetched:  # noqa: ANN001 (a scrapy Response)
        """Build from a Scrapy response (the URL first asked for comes from the redirect chain)."""
        request = getattr(response, "request", None)
        urls = (request.meta.get("redirect_urls") if request is not None else None) or []
        headers = {
            k.decode("latin-1"): b", ".join(v).decode("latin-1", "replace")
            for k, v in response.headers.items()
        }
        fetched = cls(
            url=urls[0] if urls else response.url,
            final_url=response.url,
            status=response.status,
            headers=headers,
            body=response.body,
        )
        digest = request.meta.get("gkwatch_sha256") if request is not None else None
        if digest is not None:  # hashed already on the way in (UnchangedMiddleware)
            fetched.__dict__["sha256"] = digest
        return fetched


@dataclass
class ListingItem:
    """A listing page fetched fine, with the report links it showed (the portal was readable)."""

    portal_id: str
    page: Fetched
    report_urls: list[str] = field(default_factory=list)
    platform: str | None = None  # the CMS family the page was read as


@dataclass
class ReportItem:
    """A report found: its page and/or attachment, what the portal says about it, and trouble if any."""

    portal_id: str
    url: str  # the report's identity: its page, or the attachment a listing links directly
    listing_url: str | None = None
    title: str | None = None  # the page's own title, else the listing's link text
    link_text: str | None = None  # the listing's link text, as printed
    column: str | None = None  # the sub-column it was listed under (year, department group)
    content_source: str | None = None
    pub_meta: str | None = None
    pub_text: str | None = None  # the date printed on the report's own page
    listing_date: str | None = None  # the date printed beside its link in the listing
    page: Fetched | None = None  # the report page (HTML), when there is one
    document: Fetched | None = None  # what is parsed: the attachment, or the page itself
    attachment_urls: list[str] = field(default_factory=list)
    problem_kind: str | None = None  # set when the document could not be fetched
    problem_detail: str = ""
    page_unchanged: bool = False  # the page answered 304: what it says is what it said before
    # More responses archived with the report: a report published as page images keeps each image here
    # (its ``document`` is their bundle, crawler/portal/images.py).
    evidence: list[Fetched] = field(default_factory=list)

    @property
    def document_is_attachment(self) -> bool:
        return self.document is not None and self.document is not self.page


@dataclass
class ProblemItem:
    """Trouble reading the portal: unreachable | blocked | robots | parse_failed."""

    portal_id: str
    kind: str
    url: str
    detail: str = ""
    agency_id: str | None = None


@dataclass
class Known:
    """What earlier crawls stored about a URL: its validators, when it was last confirmed, and — for a
    report's own URL — whether the report stands fine (a current version, no crawl problem) and which URL
    is its document."""

    etag: str | None = None
    last_modified: str | None = None
    checked_at: datetime | None = None
    sha256: str | None = None
    report_ok: bool = False
    document_url: str | None = None


@dataclass
class Revalidated:
    """The document at ``url`` is still there, unchanged: a conditional request answered 304 Not Modified,
    or a 200 brought the very bytes archived last time.

    Stored as a ``Fetch`` (status 304 or 200) naming the archived bytes it confirms — evidence without a new
    body — and the report's ``last_seen`` advances.
    """

    portal_id: str
    url: str  # the URL asked (a report page or an attachment)
    report_url: str  # the report it stands for
    response: Fetched  # status 304, its headers, no body
    sha256: str | None = None  # the archived body the validators belong to


@dataclass
class PortalReadItem:
    """A crawl run's read of one portal's listing: begun (``finished_at`` None) or ended (``storage.models.
    PortalRead``). ``after_items`` is how many items of that portal the spider had yielded when the read
    ended: the row is written only after all of them (its listing snapshots first, then the verdict)."""

    portal_id: str
    started_at: datetime
    finished_at: datetime | None = None
    complete: bool = False
    listing_pages: int = 0
    failed_pages: int = 0
    report_links: int = 0
    end_reason: str | None = None
    after_items: int = 0
