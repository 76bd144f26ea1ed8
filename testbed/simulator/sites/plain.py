"""A small county CMS of no known vendor, home of the evidence cases (``SamplePortals(cases=True)``).

Shape: the 年报 column ``/xxgk/ndbg/`` lists every report by year, newest year first, six to a page
(``list_2.html`` … through 下一页 / 尾页 links), with no date beside the links; article pages
``content_5888.html`` carry the report's tables, a ``PubDate`` meta and a visible 发布日期 / 来源 line (none of
them when the agency gave no date). The cases it serves (``testbed.simulator.scenario``): a page that answers
403 (``PAGE_403``) or 404 (``PAGE_404``) after being listed, a report posted twice (``REPOST``), a report
hidden until revealed (``HIDDEN``), a government report whose 发布机构 is its office (``BY_OFFICE``), and — on
a portal with ``listing_breaks`` — a second listing page that answers 500 every time (``BEYOND_BREAK``).
"""

from __future__ import annotations

from collections.abc import Iterable

from testbed.simulator.scenario import BEYOND_BREAK, BY_OFFICE, PAGE_403, PAGE_404, ReportEntry
from testbed.simulator.server import Response, text_response
from testbed.simulator.sites.common import (
    Handler,
    PortalSite,
    esc,
    listing_item,
    page,
    pubdate_text,
    report_title,
)

PAGE_SIZE = 6
COLUMN_NAME = "政府信息公开年报"
FORBIDDEN = "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"


def _chrome(site: str, main: str) -> str:
    return (
        f'<div class="head"><span class="site">{esc(site)}</span> <a href="/">首页</a> '
        '<a href="/xxgk/">政务公开</a></div>\n'
        f'<div class="body">\n{main}\n</div>\n<div class="foot">{esc(site)} 版权所有</div>'
    )


class PlainSite(PortalSite):
    @property
    def column(self) -> str:
        return self.portal.start_paths[0]

    def article_path(self, r: ReportEntry) -> str:
        return f"{self.column}content_{r.number}.html"

    def page_path(self, n: int) -> str:
        """Listing page ``n`` (1-based): the column itself, then ``list_2.html`` …"""
        return self.column if n == 1 else f"{self.column}list_{n}.html"

    def pages(self) -> list[list[ReportEntry]]:
        """The listing, page by page: newest year first; on a portal whose listing breaks, page 2 holds
        exactly the reports beyond the break."""
        rows = sorted(self.reports(), key=lambda r: (-r.year, r.number))
        if self.portal.listing_breaks:
            return [
                [r for r in rows if BEYOND_BREAK not in r.defects],
                [r for r in rows if BEYOND_BREAK in r.defects],
            ]
        return [rows[i : i + PAGE_SIZE] for i in range(0, max(1, len(rows)), PAGE_SIZE)]

    def build_routes(self) -> Iterable[tuple[str, Handler]]:
        yield "/", lambda q: self.html(self.home())
        yield "/xxgk/", lambda q: self.html(self.home())
        pages = self.pages()
        for n, chunk in enumerate(pages, start=1):
            handler = self._listing_handler(chunk, n, len(pages))
            if self.portal.listing_breaks and n > 1:
                handler = _server_error
            yield self.page_path(n), handler
            if n == 1:
                yield self.column + "index.html", handler
        for r in self.reports():
            if PAGE_404 not in r.defects:
                yield self.article_path(r), lambda q, r=r: self.article(r)

    def _listing_handler(self, chunk: list[ReportEntry], n: int, total: int) -> Handler:
        return lambda q: self.html(self.listing(chunk, n, total))

    def home(self) -> str:
        main = f'<ul class="links"><li><a href="{esc(self.column)}">{COLUMN_NAME}</a></li></ul>'
        return page(self.portal.name, _chrome(self.portal.name, main))

    def listing(self, chunk: list[ReportEntry], n: int, total: int) -> str:
        items = "\n".join(
            listing_item(self.article_path(r), report_title(self.scenario, r), None) for r in chunk
        )
        nav = [f"共{total}页"]
        if n < total:
            nav.append(f'<a href="{esc(self.page_path(n + 1))}">下一页</a>')
            nav.append(f'<a href="{esc(self.page_path(total))}">尾页</a>')
        main = (
            f'<div class="list"><h2>{COLUMN_NAME}</h2>\n<ul>\n{items}\n</ul>\n'
            f'<div class="pager">{" ".join(nav)}</div></div>'
        )
        return page(f"{COLUMN_NAME}-{self.portal.name}", _chrome(self.portal.name, main))

    def publisher(self, r: ReportEntry) -> str:
        """The page's 发布机构: the agency, or the government's office for a BY_OFFICE report."""
        name = self.scenario.printed_name(r)
        return name + "办公室" if BY_OFFICE in r.defects else name

    def article(self, r: ReportEntry) -> Response:
        if PAGE_403 in r.defects:
            return Response(status=403, body=FORBIDDEN.encode(), content_type="text/html; charset=utf-8")
        title = report_title(self.scenario, r)
        metas = self.article_metas(r, title, COLUMN_NAME)
        metas["ContentSource"] = self.publisher(r)
        dated = f"发布日期：{pubdate_text(r)}　" if r.published is not None else ""
        main = (
            f'<div class="article"><h1>{esc(title)}</h1>\n'
            f'<div class="info">{dated}来源：{esc(self.publisher(r))}</div>\n'
            f'<div class="content">\n{self.docs.body_html(r)}\n</div></div>'
        )
        return self.html(page(title, _chrome(self.portal.name, main), metas=metas))


def _server_error(query: dict[str, str]) -> Response:
    return text_response("500 Internal Server Error", 500, "text/html; charset=utf-8")
