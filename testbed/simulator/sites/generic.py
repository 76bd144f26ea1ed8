"""A hand-made county portal with no known CMS: what a generic crawler must cope with.

``/`` is a JavaScript shell (``window.location.href``); the home page links 政府信息公开 and, as a quick link,
the 年报 column ``/xxgk/zfxxgknb/`` — both through meta-refresh pages; the column splits into sub-columns 本级政府 / 市直部门 / 乡镇街道, and the listings
show the date beside each link only: the article pages carry no PubDate meta and no visible date. Some
reports are attachments linked straight from the listing with no date beside them (their HTTP
Last-Modified is the only date), and one report has no date anywhere (first_seen).
"""

from __future__ import annotations

from collections.abc import Iterable

from testbed.simulator.scenario import HEADER, ReportEntry
from testbed.simulator.sites.common import (
    Handler,
    PortalSite,
    day_text,
    esc,
    listing_item,
    page,
    report_title,
)

ROOT = "/xxgk/zfxxgknb/"
GROUPS = {"本级政府": "bjzf", "市直部门": "szbm", "乡镇街道": "xzjd"}


def _chrome(site: str, main: str) -> str:
    return (
        f'<div id="header"><h1>{esc(site)}</h1><div class="menu"><a href="/portal/index.html">首页</a> | '
        '<a href="/xxgk/index.html">政府信息公开</a> | <a href="/zmhd/">政民互动</a></div></div>\n'
        f'<div id="content">\n{main}\n</div>\n<div id="footer">版权所有：{esc(site)}</div>'
    )


class GenericSite(PortalSite):
    def group_of(self, r: ReportEntry) -> str:
        return self.scenario.agency(r.agency_id).group if r.agency_id else "市直部门"

    def article_path(self, r: ReportEntry) -> str:
        folder = GROUPS[self.group_of(r)]
        if r.fmt != "html":
            return f"{ROOT}{folder}/W0{r.number}{r.year}.{r.fmt}"
        return f"{ROOT}{folder}/content_{r.number}.shtml"

    def build_routes(self) -> Iterable[tuple[str, Handler]]:
        yield "/", lambda q: self.html(self.shell())
        yield "/index.html", lambda q: self.html(self.shell())
        yield "/portal/index.html", lambda q: self.html(self.home())
        yield "/xxgk/index.html", lambda q: self.html(self.refresh_page("/xxgk/zfxxgk/index.shtml"))
        yield "/xxgk/zfxxgk/index.shtml", lambda q: self.html(self.disclosure())
        yield ROOT, lambda q: self.html(self.refresh_page(ROOT + "index.shtml"))
        yield ROOT + "index.shtml", lambda q: self.html(self.column())
        for name, folder in GROUPS.items():
            handler = self._group_handler(name)
            yield f"{ROOT}{folder}/", handler
            yield f"{ROOT}{folder}/index.shtml", handler
        for r in self.reports():
            if r.fmt == "html":
                yield self.article_path(r), lambda q, r=r: self.html(self.article(r))
            else:
                yield self.article_path(r), lambda q, r=r: self.attachment(r)

    def _group_handler(self, name: str) -> Handler:
        return lambda q: self.html(self.group(name))

    def shell(self) -> str:
        return page(
            self.portal.name,
            "<noscript>请启用JavaScript</noscript>",
            head_extra='<script type="text/javascript">window.location.href="/portal/index.html";</script>',
        )

    def refresh_page(self, target: str) -> str:
        return page(
            "页面跳转",
            "<p>页面跳转中……</p>",
            head_extra=f'<meta http-equiv="refresh" content="0; url={esc(target)}" />',
        )

    def home(self) -> str:
        main = (
            '<div class="news"><h2>鹤城要闻</h2><ul><li><a href="/xwzx/1.shtml">区政府召开常务会议</a></li></ul></div>'
            '<div class="links"><a href="/xxgk/index.html">政府信息公开</a>'
            f'<a href="{ROOT}">政府信息公开年报</a></div>'
        )
        return page(self.portal.name, _chrome(self.portal.name, main))

    def disclosure(self) -> str:
        main = (
            '<ul class="xxgk"><li><a href="/xxgk/zfxxgk/zn.shtml">政府信息公开指南</a></li>'
            '<li><a href="/xxgk/zfxxgk/zd.shtml">政府信息公开制度</a></li>'
            f'<li><a href="{ROOT}index.shtml">政府信息公开年报</a></li></ul>'
        )
        return page(f"政府信息公开-{self.portal.name}", _chrome(self.portal.name, main))

    def column(self) -> str:
        subs = "".join(
            f'<li><a href="./{folder}/index.shtml">{name}</a></li>' for name, folder in GROUPS.items()
        )
        main = f'<div class="column"><h2>政府信息公开年报</h2><ul>{subs}</ul></div>'
        return page(f"政府信息公开年报-{self.portal.name}", _chrome(self.portal.name, main))

    def group(self, name: str) -> str:
        rows = [r for r in self.reports() if self.group_of(r) == name]
        items = "\n".join(
            listing_item(
                self.article_path(r),
                report_title(self.scenario, r),
                day_text(r) if r.published is not None and r.evidence != HEADER else None,
            )
            for r in rows
        )
        main = f'<div class="list"><h2>{esc(name)}</h2><ul>\n{items}\n</ul></div>'
        return page(f"{name}-政府信息公开年报", _chrome(self.portal.name, main))

    def article(self, r: ReportEntry) -> str:
        title = report_title(self.scenario, r)
        main = f'<div class="detail"><h2>{esc(title)}</h2>\n{self.docs.body_html(r)}\n</div>'
        return page(title, _chrome(self.portal.name, main))
