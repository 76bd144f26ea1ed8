"""Links in mail: the agency, the agency-year and its evidence file on the web app, and the signed
unsubscribe link. (Making crawled text safe for headers and HTML is ``domain.text``, shared with the page.)"""

from __future__ import annotations

from urllib.parse import quote

from storage.subscriptions import unsubscribe_token


def evidence_url(base_url: str, agency_id: str) -> str:
    """The agency's evidence page on the web app (``GET /agency/{id}``), the id percent-encoded."""
    return f"{base_url.rstrip('/')}/agency/{quote(agency_id, safe='')}"


def agency_year_url(base_url: str, agency_id: str, year: int) -> str:
    """One agency-year's page: the verdict, its evidence in full, the findings (``GET /agency/{id}/{year}``)."""
    return f"{evidence_url(base_url, agency_id)}/{int(year)}"


def evidence_zip_url(base_url: str, agency_id: str, year: int) -> str:
    """The agency-year's evidence as one file (``GET /agency/{id}/{year}/evidence.zip``)."""
    return f"{agency_year_url(base_url, agency_id, year)}/evidence.zip"


def unsubscribe_url(base_url: str, secret: str, email: str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe?token={unsubscribe_token(secret, email)}"
