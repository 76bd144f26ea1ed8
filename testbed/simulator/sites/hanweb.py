"""A 大汉 Hanweb JCMS portal: column pages ``/col/col1234/index.html`` whose list is filled by the jpage
script from ``/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=15&perpage=5`` (column parameters
posted or in the query), answering Hanweb's ``<datastore>`` XML with one CDATA ``<record>`` per article;
articles ``/art/2025/1/28/art_1234_5601.html``; attachments under ``/attach/0/``.
"""

from __future__ import annotations

from collections.abc import Iterable

from testbed.simulator.scenario import ReportEntry
from testbed.simulator.server import Response
from testbed.simulator.sites.common import Handler, PortalSite, day_text, esc, page, report_title

COLUMN_ID = 1234
UNIT_ID = 5678
PER_PAGE = 5
COLUMN_PAGE = f"/col/col{COLUMN_ID}/index.html"
DATAPROXY = "/module/web/jpage/dataproxy.jsp"
COLUMN_NAME = "政府信息公开年报"


def _chrome(site: str, main: str) -> str:
    return (
        f'<div class="top"><div class="logo"><a href="/">{esc(site)}</a></div>'
        '<div class="nav"><a href="/">网站首页</a><a href="/col/col100/index.html">政府信息公开</a>'
        '<a href="/col/col200/index.html">政务服务</a></div></div>\n'
        f'<div class="container">\n{main}\n</div>\n'
        f'<div class="bottom">{esc(site)}主办　技术支持：南京大汉网络有限公司</div>'
    )


class HanwebSite(PortalSite):
    def article_path(self, r: ReportEntry) -> str:
        assert r.published is not None, "Hanweb article URLs carry the date"
        d = r.published
        return f"/art/{d.year}/{d.month}/{d.day}/art_{COLUMN_ID}_{r.number}.html"

    def attachment_path(self, r: ReportEntry) -> str:
        return f"/attach/0/{r.number:08x}a1b2c3d4e5f6.{r.fmt}"

    def build_routes(self) -> Iterable[tuple[str, Handler]]:
        yield "/", lambda q: self.html(self.home())
        yield "/index.html", lambda q: self.html(self.home())
        yield "/col/col100/index.html", lambda q: self.html(self.disclosure())
        yield COLUMN_PAGE, lambda q: self.html(self.column_page())
        yield DATAPROXY, self.dataproxy
        for r in self.reports():
            yield self.article_path(r), lambda q, r=r: self.html(self.article(r))
            if r.fmt != "html":
                yield self.attachment_path(r), lambda q, r=r: self.attachment(r)

    def home(self) -> str:
        main = '<div class="zwgk"><a href="/col/col100/index.html">政府信息公开</a></div>'
        return page(self.portal.name, _chrome(self.portal.name, main))

    def disclosure(self) -> str:
        main = (
            '<div class="xxgk-nav"><ul>'
            '<li><a href="/col/col101/index.html">政府信息公开指南</a></li>'
            '<li><a href="/col/col102/index.html">政府信息公开制度</a></li>'
            '<li><a href="/col/col103/index.html">法定主动公开内容</a></li>'
            f'<li><a href="{COLUMN_PAGE}">{COLUMN_NAME}</a></li></ul></div>'
        )
        return page(f"政府信息公开_{self.portal.name}", _chrome(self.portal.name, main))

    def column_page(self) -> str:
        total = len(self.reports())
        params = (
            f"col: 1, appid: 1, webid: 1, path: '/', columnid: {COLUMN_ID}, sourceContentType: 1, "
            f"unitid: '{UNIT_ID}', webname: '{esc(self.portal.name)}', permissiontype: 0"
        )
        main = (
            f'<div class="list-title">{COLUMN_NAME}</div>\n'
            f'<div id="{UNIT_ID}"><script type="text/xml"><datastore><nextgroup><![CDATA['
            f'<a href="{DATAPROXY}?page=1&webid=1&path=/&columnid={COLUMN_ID}&unitid={UNIT_ID}'
            f'&webname={esc(self.portal.name)}&permissiontype=0"></a>]]></nextgroup><recordset>'
            "</recordset></datastore></script></div>\n"
            '<script language="javascript" src="/module/jslib/jquery/jquery.js"></script>\n'
            '<script language="javascript" src="/module/jslib/jquery/jpage/jquery.jpage.js"></script>\n'
            '<script language="javascript">\n'
            f'$("#{UNIT_ID}").jpage({{\n  dataStore: [], perPage: {PER_PAGE}, totalRecord: {total},\n'
            f'  proxyUrl: "{DATAPROXY}", groupSize: 3, barPosition: "bottom",\n'
            f"  ajaxParam: {{{params}}},\n"
            '  showMode: "full", allowChangePerPage: false, themeName: "default"\n});\n</script>'
        )
        return page(f"{COLUMN_NAME}_{self.portal.name}", _chrome(self.portal.name, main))

    def dataproxy(self, q: dict[str, str]) -> Response:
        """Hanweb's list endpoint: records ``startrecord`` … ``endrecord`` (1-based, inclusive)."""
        rows = self.reports() if q.get("columnid", str(COLUMN_ID)) == str(COLUMN_ID) else []
        try:
            start = max(1, int(q.get("startrecord", "1")))
            per_page = max(1, int(q.get("perpage", str(PER_PAGE))))
            end = int(q.get("endrecord", str(start + per_page - 1)))
        except ValueError:
            return Response(status=400, body=b"bad parameters", content_type="text/plain; charset=utf-8")
        chunk = rows[start - 1 : end]
        records = "\n".join(f"<record><![CDATA[\n{self.record(r)}\n]]></record>" for r in chunk)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
            f"<totalrecord>{len(rows)}</totalrecord>\n<totalpage>{-(-len(rows) // per_page)}</totalpage>\n"
            f"<recordset>\n{records}\n</recordset>\n</datastore>\n"
        )
        return Response(body=xml.encode("utf-8"), content_type="text/xml;charset=UTF-8")

    def record(self, r: ReportEntry) -> str:
        title = report_title(self.scenario, r)
        return (
            f'<li class="clearfix"><a href="{self.article_path(r)}" target="_blank" title="{esc(title)}">'
            f'{esc(title)}</a><span class="bt_time">{day_text(r)}</span></li>'
        )

    def article(self, r: ReportEntry) -> str:
        title = report_title(self.scenario, r)
        metas = self.article_metas(r, title, COLUMN_NAME)
        if r.fmt == "html":
            content = self.docs.body_html(r)
        else:
            content = (
                f"<p>{esc(title)}详见附件。</p>"
                f'<p><a href="{self.attachment_path(r)}" target="_blank">{esc(title)}.{r.fmt}</a></p>'
            )
        assert r.published is not None
        main = (
            f'<div class="article"><div class="title">{esc(title)}</div>\n'
            f'<div class="sub">发布日期：{r.published:%Y-%m-%d %H:%M}　信息来源：{esc(self.scenario.printed_name(r))}'
            '　浏览次数：<script src="/module/visitcount/articlehits.jsp?colid=1234"></script></div>\n'
            f'<div id="zoom">\n{content}\n</div></div>'
        )
        return page(title, _chrome(self.portal.name, main), metas=metas)
