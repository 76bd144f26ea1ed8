"""What the monitor concluded: one row per agency-year, as ``gkwatch check`` last judged it."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from storage.models._fields import json_field as _json
from storage.models._fields import utc_field as _utc

# --- what the monitor concluded -----------------------------------------------------------------------


class AgencyYearStatus(SQLModel, table=True):
    """The status object of the contract, as last computed by ``gkwatch check``."""

    agency_id: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    agency: str = ""
    region: str = Field(default="", index=True)
    kind: str = "department"
    status: str = Field(default="unknown", index=True)  # domain.codes.STATUS
    due: date | None = None
    due_reason: str = ""
    published: date | None = None
    published_evidence: str | None = None
    days_late: int | None = None
    first_seen: datetime | None = _utc()
    inconsistent: bool | None = None
    findings: list[str] = _json()  # rule ids (the contract's ``findings``)
    details: list[dict] = _json()  # the findings themselves: message, cells and numbers
    evidence: dict = _json(dict)  # what proves the verdict (monitor.status.verdict): dates, reads, trouble
    report_id: int | None = None
    version_id: int | None = None  # the version whose reading was judged
    report_url: str | None = None
    crawl_problem: str | None = None
    as_of: date | None = None
    computed_at: datetime = _utc(nullable=False)
