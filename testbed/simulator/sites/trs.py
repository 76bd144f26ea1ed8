"""A TRS WCM portal (拓尔思): the most common CMS of Chinese government sites.

Shape: 政府信息公开 → 政府信息公开年报 column (``index.html``) → per-year sub-columns ``nd2024/`` whose
listings page as ``index.html``, ``index_1.html`` … through the ``createPageHTML(total, current, "index",
"html")`` script → articles ``./202501/t20250120_5601.html`` (GBK, with the 《政府网站发展指引》 metas)
holding the report's tables or linking its attachment ``./P020250120560101.docx``.
"""

from __future__ import annotations

from collections.abc import Iterable

from testbed.simulator.scenario import GBK_AS_UTF8, LYING_CHARSET, RETRY, ReportEntry
from testbed.simulator.server import text_response
from testbed.simulator.sites.common import (
    Handler,
    PortalSite,
    day_text,
    esc,
    listing_item,
    page,
    report_title,
)

PAGE_SIZE = 3
COLUMN_NAME = "政府信息公开年报"

CREATE_PAGE_HTML = """<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount <= 1){ return; }
  var nCurrIndex = _nCurrIndex || 0;
  if(nCurrIndex == 0){ document.write("<span>首页</span>&nbsp;<span>上一页</span>&nbsp;"); }
  else {
    document.write("<a href=\\"" + _sPageName + "." + _sPageExt + "\\">首页</a>&nbsp;");
    var prev = nCurrIndex - 1 == 0 ? _sPageName + "." + _sPageExt : _sPageName + "_" + (nCurrIndex - 1) + "." + _sPageExt;
    document.write("<a href=\\"" + prev + "\\">上一页</a>&nbsp;");
  }
  if(nCurrIndex + 1 < _nPageCount){
    document.write("<a href=\\"" + _sPageName + "_" + (nCurrIndex + 1) + "." + _sPageExt + "\\">下一页</a>&nbsp;");
    document.write("<a href=\\"" + _sPageName + "_" + (_nPageCount - 1) + "." + _sPageExt + "\\">尾页</a>");
  }
}
</script>"""


def _chrome(site: str, crumbs: str, main: str, parent: str) -> str:
    return (
        f'<div class="header"><div class="logo">{esc(site)}</div>'
        f'<ul class="nav"><li><a href="/">首页</a></li><li><a href="{esc(parent)}">政府信息公开</a></li>'
        '<li><a href="/hdjl/">互动交流</a></li><li><a href="/zwfw/">政务服务</a></li></ul></div>\n'
        f'<div class="position">当前位置：<a href="/">首页</a> &gt; {crumbs}</div>\n'
        f'<div class="main">\n{main}\n</div>\n'
        f'<div class="footer">主办：{esc(site)}办公室　网站标识码：3703020002　鲁ICP备05004870号</div>'
    )


class TrsSite(PortalSite):
    encoding = "gbk"

    @property
    def column(self) -> str:
        return self.portal.start_paths[0]  # e.g. /zwgk/zfxxgknb/

    @property
    def parent(self) -> str:
        """The 政府信息公开 page above the 年报 column (e.g. /zwgk/)."""
        return self.column.rstrip("/").rsplit("/", 1)[0] + "/"

    def years(self) -> list[int]:
        return sorted({r.year for r in self.reports()}, reverse=True)

    def article_path(self, r: ReportEntry) -> str:
        assert r.published is not None, "TRS articles always carry a date"
        return f"{self.column}nd{r.year}/{r.published:%Y%m}/t{r.published:%Y%m%d}_{r.number}.html"

    def attachment_path(self, r: ReportEntry) -> str:
        assert r.published is not None
        return f"{self.column}nd{r.year}/{r.published:%Y%m}/P0{r.published:%Y%m%d}{r.number}01.{r.fmt}"

    def build_routes(self) -> Iterable[tuple[str, Handler]]:
        yield "/", lambda q: self.html(self.home())
        yield "/index.html", lambda q: self.html(self.home())
        yield self.parent, lambda q: self.html(self.disclosure())
        yield self.parent + "index.html", lambda q: self.html(self.disclosure())
        yield from ((p, lambda q, p=p: self.html(self.column_page(p))) for p in self.portal.start_paths)
        yield from (
            (p + "index.html", lambda q, p=p: self.html(self.column_page(p))) for p in self.portal.start_paths
        )
        for year in self.years():
            rows = [r for r in self.reports() if r.year == year]
            pages = max(1, -(-len(rows) // PAGE_SIZE))
            for n in range(pages):
                name = "index.html" if n == 0 else f"index_{n}.html"
                chunk = rows[n * PAGE_SIZE : (n + 1) * PAGE_SIZE]
                handler = self._listing_handler(year, chunk, pages, n)
                yield f"{self.column}nd{year}/{name}", handler
                if n == 0:
                    yield f"{self.column}nd{year}/", handler
        for r in self.reports():
            yield self.article_path(r), lambda q, r=r: self.article(r)
            if r.fmt != "html":
                yield self.attachment_path(r), lambda q, r=r: self.attachment(r)

    def _listing_handler(self, year: int, chunk: list[ReportEntry], pages: int, n: int) -> Handler:
        return lambda q: self.html(self.listing(year, chunk, pages, n), encoding=self.encoding)

    def home(self) -> str:
        main = (
            '<div class="news"><h3>政务要闻</h3><ul><li><a href="/xwzx/t1.html">区政府召开常务会议</a></li></ul></div>'
            f'<div class="zwgk"><a href="{esc(self.parent)}">政府信息公开</a></div>'
        )
        return page(self.portal.name, _chrome(self.portal.name, "首页", main, self.parent))

    def disclosure(self) -> str:
        main = (
            '<div class="zwgk"><h3>政府信息公开</h3><ul>'
            f'<li><a href="{esc(self.parent)}zfxxgkzn/">政府信息公开指南</a></li>'
            f'<li><a href="{esc(self.parent)}zfxxgkzd/">政府信息公开制度</a></li>'
            f'<li><a href="{esc(self.parent)}fdzdgknr/">法定主动公开内容</a></li>'
            f'<li><a href="{esc(self.column)}">{COLUMN_NAME}</a></li></ul></div>'
        )
        crumbs = f'<a href="{esc(self.parent)}">政府信息公开</a>'
        return page(f"政府信息公开_{self.portal.name}", _chrome(self.portal.name, crumbs, main, self.parent))

    def column_page(self, path: str) -> str:
        years = self.years() if path == self.column else []
        subs = "".join(f'<li><a href="./nd{y}/">{y}年度</a></li>' for y in years)
        main = f'<div class="column"><h2>{COLUMN_NAME}</h2><ul class="sub-columns">{subs}</ul></div>'
        crumbs = f'<a href="{esc(self.parent)}">政府信息公开</a> &gt; <a href="{esc(path)}">{COLUMN_NAME}</a>'
        return page(f"{COLUMN_NAME}_{self.portal.name}", _chrome(self.portal.name, crumbs, main, self.parent))

    def listing(self, year: int, chunk: list[ReportEntry], pages: int, n: int) -> str:
        items = "\n".join(
            listing_item(
                "./" + self.article_path(r).removeprefix(f"{self.column}nd{year}/"),
                report_title(self.scenario, r),
                day_text(r),
            )
            for r in chunk
        )
        main = (
            f'<div class="list"><h2>{year}年度</h2>\n<ul class="list-ul">\n{items}\n</ul>\n'
            f'<div class="page">{CREATE_PAGE_HTML}\n<script type="text/javascript">'
            f'createPageHTML({pages}, {n}, "index", "html");</script></div></div>'
        )
        crumbs = (
            f'<a href="{esc(self.parent)}">政府信息公开</a> &gt; <a href="{esc(self.column)}">{COLUMN_NAME}</a> &gt; '
            f'<a href="./">{year}年度</a>'
        )
        return page(
            f"{year}年度_{self.portal.name}",
            _chrome(self.portal.name, crumbs, main, self.parent),
            charset="gb2312",
        )

    def article(self, r: ReportEntry):  # noqa: ANN201 - a Response
        path = self.article_path(r)
        if RETRY in r.defects and self.failing_first(path):
            return text_response("500 Internal Server Error", 500, "text/html; charset=utf-8")
        title = report_title(self.scenario, r)
        metas = self.article_metas(r, title, f"{r.year}年度")
        if r.fmt == "html":
            content = self.docs.body_html(r)
        else:
            href = "./" + self.attachment_path(r).rsplit("/", 1)[-1]
            content = (
                f'<p style="text-indent:2em">现将{esc(title)}予以公布。</p>'
                f'<p>附件：<a href="{esc(href)}" OLDSRC="/protect/{esc(href[2:])}">{esc(title)}.{r.fmt}</a></p>'
            )
        main = (
            f'<div class="article"><h1>{esc(title)}</h1>\n'
            f'<div class="info">发布日期：{day_text(r)}　来源：{esc(self.scenario.printed_name(r))}</div>\n'
            f'<div class="TRS_Editor">\n{content}\n</div></div>'
        )
        crumbs = f'<a href="{esc(self.column)}">{COLUMN_NAME}</a> &gt; <a href="../">{r.year}年度</a>'
        body = _chrome(self.portal.name, crumbs, main, self.parent)
        if GBK_AS_UTF8 in r.defects:  # GBK bytes, a utf-8 header, no <meta> charset: decide from the bytes
            return self.html(
                page(title, body, charset=None, metas=metas), encoding="gbk", header_charset="utf-8"
            )
        text = page(title, body, charset="gbk", metas=metas)
        if LYING_CHARSET in r.defects:
            return self.html(text, encoding="gbk", header_charset="utf-8")
        return self.html(text, encoding="gbk")
