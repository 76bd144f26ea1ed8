"""Links in mail: the evidence page of an agency on the web app. (Making crawled text safe for headers and
HTML is ``domain.text``, shared with the web page.)"""

from __future__ import annotations

from urllib.parse import quote


def evidence_url(base_url: str, agency_id: str) -> str:
    """The agency's evidence page on the web app (``GET /agency/{id}``), the id percent-encoded."""
    return f"{base_url.rstrip('/')}/agency/{quote(agency_id, safe='')}"
