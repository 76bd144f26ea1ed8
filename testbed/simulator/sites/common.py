"""What every simulated CMS shares: the page skeleton, article metadata, typed responses, the routing table.

Crawled text is untrusted on the real web; here it is ours, but it is still escaped everywhere so that the
pages are well-formed whatever an agency's name holds.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from testbed.simulator.documents import DocumentStore
from testbed.simulator.scenario import NO_META, PortalSpec, ReportEntry, Scenario
from testbed.simulator.server import Response, http_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
Handler = Callable[[dict[str, str]], Response]

ATTACHMENT_TYPES = {
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "wps": "application/octet-stream",  # portals rarely know a type for WPS Office files
    "pdf": "application/pdf",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def report_title(scenario: Scenario, r: ReportEntry) -> str:
    return f"{scenario.printed_name(r)}{r.year}年政府信息公开工作年度报告"


def shanghai(when: datetime) -> datetime:
    """Scenario times are Shanghai wall-clock times."""
    return when.replace(tzinfo=SHANGHAI) if when.tzinfo is None else when


def pubdate_text(r: ReportEntry) -> str:
    assert r.published is not None
    return r.published.strftime("%Y-%m-%d %H:%M")


def day_text(r: ReportEntry) -> str:
    assert r.published is not None
    return r.published.strftime("%Y-%m-%d")


def page(
    title: str,
    body: str,
    *,
    charset: str | None = "utf-8",
    metas: dict[str, str] | None = None,
    head_extra: str = "",
) -> str:
    """A whole HTML page. ``charset=None`` leaves out the <meta> charset (the reader must guess)."""
    head = [
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
    ]
    if charset:
        head.append(f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />')
    head.extend(f'<meta name="{esc(k)}" content="{esc(v)}" />' for k, v in (metas or {}).items())
    head.append(f"<title>{esc(title)}</title>")
    if head_extra:
        head.append(head_extra)
    head.append("</head>")
    return "\n".join(head) + f"\n<body>\n{body}\n</body>\n</html>\n"


class PortalSite:
    """A routing table rebuilt from the scenario whenever a hook changes the world."""

    slow_seconds: float = 6.0  # how long a deliberately slow page hangs (faults portal)

    def __init__(
        self, portal: PortalSpec, scenario: Scenario, docs: DocumentStore, rendered_at: datetime
    ) -> None:
        self.portal = portal
        self.scenario = scenario
        self.docs = docs
        self.rendered_at = rendered_at  # an HTML page's Last-Modified: its last re-rendering, not a pub date
        self.attempts: Counter[str] = Counter()
        self.routes: dict[str, Handler] = {}
        self.refresh()

    def refresh(self) -> None:
        self.routes = dict(self.build_routes())

    def build_routes(self) -> Iterable[tuple[str, Handler]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def handle(self, method: str, path: str, query: dict[str, str]) -> Response | None:
        handler = self.routes.get(path)
        return handler(query) if handler else None

    def reports(self) -> list[ReportEntry]:
        """This portal's reports, newest first (undated ones last), as CMS listings order them."""
        return sorted(self.scenario.reports_on(self.portal.id), key=_newest_first)

    # --- responses -----------------------------------------------------------------------------

    def html(self, text: str, *, encoding: str = "utf-8", header_charset: str | None = None) -> Response:
        return Response(
            body=text.encode(encoding, errors="xmlcharrefreplace"),
            content_type=f"text/html; charset={header_charset or encoding}",
            headers={"Last-Modified": http_date(self.rendered_at)},
        )

    def attachment(self, r: ReportEntry) -> Response:
        data = self.docs.attachment(r)
        headers = {"Accept-Ranges": "bytes"}
        if r.published is not None:
            headers["Last-Modified"] = http_date(shanghai(r.published))
        return Response(body=data, content_type=ATTACHMENT_TYPES[r.fmt], headers=headers)

    def article_metas(self, r: ReportEntry, title: str, column: str) -> dict[str, str]:
        """The 《政府网站发展指引》 tags; a NO_META report has none of the dates."""
        metas = {
            "SiteName": self.portal.name,
            "SiteDomain": self.portal.host,
            "SiteIDCode": f"370302{self.portal.host.rsplit('.', 1)[-1].zfill(4)}",
            "ColumnName": column,
            "ColumnType": "政府信息公开年报",
            "ArticleTitle": title,
        }
        if r.published is not None and NO_META not in r.defects:
            metas["PubDate"] = pubdate_text(r)
        metas["ContentSource"] = self.scenario.printed_name(r)
        return metas

    def failing_first(self, key: str, times: int = 2) -> bool:
        """True for the first ``times`` requests of ``key``: a page that fails, then works (retries)."""
        self.attempts[key] += 1
        return self.attempts[key] <= times


def _newest_first(r: ReportEntry) -> tuple:
    return (r.published is None, -r.published.timestamp() if r.published else 0.0, -r.year, r.number)


def listing_item(href: str, title: str, day: str | None) -> str:
    date = f'<span class="date">{esc(day)}</span>' if day else ""
    return f'<li><a href="{esc(href)}" target="_blank" title="{esc(title)}">{esc(title)}</a>{date}</li>'
