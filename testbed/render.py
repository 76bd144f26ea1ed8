"""Printing a table of cells as a report document, in every format portals publish.

Why: the parser is only trustworthy if it reads back exactly what was printed, in every format and every
encoding. So the round-trip tests, the sample-portal simulator and the parse benchmark all need realistic
documents from known cells. The layout copies what real reports print (see ``../shared/samples``): the three
tables with their merged header cells (表三's 申请人情况 / 法人或其他组织 header, the 三、本年度办理结果 column
spanning every outcome row, the （三）（四）（五）（六） group labels spanning their sub-rows; 表四's 行政复议 /
行政诉讼 header over three header rows), and the six numbered sections with prose that agrees with the tables.

The layout is built once as format-neutral blocks (headings, paragraphs, tables of spanned cells); each
format writes those blocks the way its real producers do: HTML with rowspan/colspan (Word "save as web
page" style), Word tables with merged cells, spreadsheets with merged ranges, and the plain text a .docx
extraction gives (one cell per line, vertically merged continuations as empty lines).
Every label comes from ``domain.template``; only the words that template does not hold (headers of
表三/表四, prose) are written here.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from domain.template import (
    S3_COLUMNS,
    S4_COLUMNS,
    S4_GROUPS,
    SECTIONS,
    Template,
    cell_keys,
    column_of,
    get_template,
)

Value = int | float | None

# Formats a renderer writes directly, and those made from them by LibreOffice: (source, LibreOffice target).
# LibreOffice cannot write Kingsoft .wps, but the .wps files WPS Office has written since 2005 are Word 97
# OLE documents — so a .doc's bytes served as .wps is what portals host.
DIRECT_FORMATS = ("html", "text", "docx", "xlsx")
CONVERTED_FORMATS = {
    "doc": ("docx", "doc"),
    "wps": ("docx", "doc"),
    "pdf": ("docx", "pdf"),
    "xls": ("xlsx", "xls"),
}
FORMATS = DIRECT_FORMATS + tuple(CONVERTED_FORMATS)
# The file extension of each format (all but text are their own name).
EXTENSIONS = {fmt: ("txt" if fmt == "text" else fmt) for fmt in FORMATS}

# 表三 / 表四 header words that the template (which holds row and column labels only) does not carry.
S3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
S3_APPLICANTS = "申请人情况"
S3_ORGS = "法人或其他组织"
S3_RESULTS = "三、本年度办理结果"
S4_REVIEW = "行政复议"
S4_LITIGATION = "行政诉讼"
S2_CONTENT = "信息内容"


@dataclass
class ReportSpec:
    """What to print: one agency's report for one year, from its cells."""

    template: str  # "2019" | "2021"
    year: int  # the year the report covers
    agency: str  # 淄川区招商局
    cells: dict[str, Value]  # every cell key of the template (None → blank)
    prose: str | None = None  # 一、总体情况 text; default generated from the cells, consistent with them
    title: str | None = None  # default f"{agency}{year}年政府信息公开工作年度报告"
    omit_sections: tuple[str, ...] = ()  # e.g. ("五",) to test template.missing_section
    cell_text: dict[str, str] = field(default_factory=dict)  # print a cell as given text ("——", "00", "减3")

    @property
    def full_title(self) -> str:
        return self.title or f"{self.agency}{self.year}年政府信息公开工作年度报告"


# --- the format-neutral layout ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    number: Value = None  # the value, for formats that store numbers as numbers (xlsx)
    is_number: bool = False


@dataclass
class TableBlock:
    width: int
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Title:
    text: str


@dataclass(frozen=True)
class Para:
    text: str


Block = Title | Heading | Para | TableBlock


def format_value(value: Value) -> str:
    """A number as reports print it: integers plainly, money without a trailing .0, blank for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def _value_cell(spec: ReportSpec, key: str) -> Cell:
    if key in spec.cell_text:
        return Cell(spec.cell_text[key])
    v = spec.cells.get(key)
    return Cell(format_value(v), number=v, is_number=v is not None)


def _s2_table(spec: ReportSpec, t: Template) -> TableBlock:
    """表二 as one table: per article of the 条例 a title row, a header row and one row per item."""
    width = 1 + max(len(i.columns) for i in t.s2)
    rows: list[list[Cell]] = []
    article = None
    for item in t.s2:
        if item.article != article:
            article = item.article
            rows.append([Cell(article, colspan=width)])
            rows.append(_fill_row([Cell(S2_CONTENT)] + [Cell(c.label) for c in item.columns], width))
        values = [_value_cell(spec, f"s2.{item.key}.{c.key}") for c in item.columns]
        rows.append(_fill_row([Cell(item.label), *values], width))
    return TableBlock(width, rows)


def _fill_row(cells: list[Cell], width: int) -> list[Cell]:
    """Widen the last cell over the columns a shorter block does not use (as the national forms merge)."""
    used = sum(c.colspan for c in cells)
    if used < width:
        last = cells[-1]
        cells[-1] = Cell(last.text, last.rowspan, last.colspan + width - used, last.number, last.is_number)
    return cells


def _s3_table(spec: ReportSpec, t: Template) -> TableBlock:
    """表三: three label columns (section · group · row) and the seven applicant columns."""
    width = 3 + len(S3_COLUMNS)
    orgs = len(S3_COLUMNS) - 2
    rows: list[list[Cell]] = [
        [Cell(S3_NOTE, rowspan=3, colspan=3), Cell(S3_APPLICANTS, colspan=len(S3_COLUMNS))],
        [
            Cell(S3_COLUMNS[0].label, rowspan=2),
            Cell(S3_ORGS, colspan=orgs),
            Cell(S3_COLUMNS[-1].label, rowspan=2),
        ],
        [Cell(c.label) for c in S3_COLUMNS[1:-1]],
    ]
    results = [r for r in t.s3 if r.outcome or r.key == "results_total"]
    groups: dict[str, int] = {}
    for r in results:
        if r.group:
            groups[r.group] = groups.get(r.group, 0) + 1
    started: set[str] = set()
    for r in t.s3:
        values = [_value_cell(spec, f"s3.{r.key}.{c.key}") for c in S3_COLUMNS]
        if r not in results:
            rows.append([Cell(r.label, colspan=3), *values])
            continue
        label: list[Cell] = []
        if r is results[0]:
            label.append(Cell(S3_RESULTS, rowspan=len(results)))
        if not r.group:
            label.append(Cell(r.label, colspan=2))
        else:
            if r.group not in started:
                started.add(r.group)
                label.append(Cell(r.group, rowspan=groups[r.group]))
            label.append(Cell(r.label))
        rows.append(label + values)
    return TableBlock(width, rows)


def _s4_table(spec: ReportSpec) -> TableBlock:
    """表四: 行政复议 (five columns) then 行政诉讼 split into its two groups; one row of fifteen numbers."""
    n = len(S4_COLUMNS)
    width = n * len(S4_GROUPS)
    litigation = S4_GROUPS[1:]
    rows = [
        [Cell(S4_REVIEW, colspan=n), Cell(S4_LITIGATION, colspan=n * len(litigation))],
        [Cell(c.label, rowspan=2) for c in S4_COLUMNS]
        + [Cell(_group_name(g.label), colspan=n) for g in litigation],
        [Cell(c.label) for _ in litigation for c in S4_COLUMNS],
        [_value_cell(spec, f"s4.{g.key}.{c.key}") for g in S4_GROUPS for c in S4_COLUMNS],
    ]
    return TableBlock(width, rows)


def _group_name(label: str) -> str:
    """行政诉讼·未经复议直接起诉 → 未经复议直接起诉 (the table prints it under a 行政诉讼 header)."""
    return label.split("·")[-1]


def _number(spec: ReportSpec, key: str) -> int | float | None:
    v = spec.cells.get(key)
    return None if key in spec.cell_text else v


def default_prose(spec: ReportSpec) -> str:
    """一、总体情况 as agencies write it, stating the figures the text rules compare with the tables."""
    y, a = spec.year, spec.agency
    parts = [
        f"{y}年，{a}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，"
        "扎实推进政府信息公开工作。",
        f"（一）主动公开。{y}年，{a}通过门户网站、政务新媒体等渠道及时发布各类政府信息，做到应公开尽公开。",
    ]
    received = _number(spec, "s3.new_received.total")
    over = _number(spec, "s3.carried_over.total")
    forward = _number(spec, "s3.carried_forward.total")
    sentence = [f"（二）申请办理。{y}年"]
    if received is not None:
        sentence.append(f"，共新收政府信息公开申请{format_value(received)}件")
    if over is not None:
        sentence.append(f"，上年结转政府信息公开申请{format_value(over)}件")
    if forward is not None:
        sentence.append(f"，结转下年度继续办理{format_value(forward)}件")
    parts.append("".join(sentence) + "，均在法定期限内答复。")
    parts.append(f"（三）政府信息管理。{a}严格执行信息发布审查制度，做到先审查、后公开，一事一审。")
    if "四" not in spec.omit_sections:
        review = _number(spec, "s4.review.total")
        lit = [_number(spec, f"s4.{g.key}.total") for g in S4_GROUPS[1:]]
        if review is not None:
            parts.append(f"（四）复议诉讼。{y}年，因政府信息公开引起的行政复议{format_value(review)}件。")
        if all(v is not None for v in lit):
            parts.append(f"因政府信息公开引起的行政诉讼{format_value(sum(lit))}件。")  # type: ignore[arg-type]
    return "\n".join(parts)


_CLOSING = {
    "五": "一是信息发布的及时性有待提高；二是政策解读的形式较为单一。下一步，将加强业务培训，"
    "健全信息发布审核机制，丰富解读形式，不断提升政务公开工作水平。",
    "六": "本年度未收取信息处理费。",
}


def report_blocks(spec: ReportSpec) -> list[Block]:
    """The whole report, in reading order, independent of any format."""
    check_spec(spec)
    t = get_template(spec.template)
    blocks: list[Block] = [
        Title(spec.full_title),
        Para(
            f"本报告由{spec.agency}根据《中华人民共和国政府信息公开条例》（以下简称《条例》）规定编制。"
            f"报告所列统计期限自{spec.year}年1月1日至{spec.year}年12月31日。"
            f"如对本报告有疑问，请与{spec.agency}联系。"
        ),
    ]
    body: dict[str, list[Block]] = {
        "一": [Para(p) for p in (spec.prose if spec.prose is not None else default_prose(spec)).split("\n")],
        "二": [_s2_table(spec, t)],
        "三": [_s3_table(spec, t)],
        "四": [_s4_table(spec)],
        "五": [Para(_CLOSING["五"])],
        "六": [Para(_CLOSING["六"])],
    }
    for numeral, name in SECTIONS:
        if numeral in spec.omit_sections:
            continue
        blocks.append(Heading(f"{numeral}、{name}"))
        blocks.extend(body[numeral])
    return blocks


def grid_slots(table: TableBlock) -> Iterator[list[tuple[Cell, bool, int]]]:
    """Each row as (cell, is_origin, column) per grid slot it occupies, horizontally merged slots once.

    ``is_origin`` is False for the rows a vertically merged cell continues into — where Word leaves an
    empty continuation cell and text extraction prints an empty line.
    """
    below: dict[int, tuple[Cell, int]] = {}  # column -> (cell spanning into this row, rows left)
    for row in table.rows:
        out: list[tuple[Cell, bool, int]] = []
        col = 0
        cells = iter(row)
        while col < table.width:
            if col in below:
                cell, left = below[col]
                out.append((cell, False, col))
                if left == 1:
                    del below[col]
                else:
                    below[col] = (cell, left - 1)
                col += cell.colspan
                continue
            cell = next(cells, None)
            if cell is None:
                break
            out.append((cell, True, col))
            if cell.rowspan > 1:
                below[col] = (cell, cell.rowspan - 1)
            col += cell.colspan
        yield out


# --- HTML ------------------------------------------------------------------------------------------

_CHROME_HEAD = """<div class="top"><div class="w1200"><span class="site">{site}</span>
<span class="links"><a href="/">首页</a> | <a href="/wza/">无障碍</a> | <a href="/en/">English</a></span></div></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/zwfw/">政务服务</a></li><li><a href="/hdjl/">互动交流</a></li><li><a href="/zjxx/">走进{short}</a></li></ul></div>
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt;
<a href="/zwgk/xxgknb/">政府信息公开年报</a></div>
"""
_CHROME_FOOT = """<div class="footer"><p>主办：{site}办公室　承办：{site}大数据中心</p>
<p>网站标识码：3703020001　<a href="https://beian.miit.gov.cn/">鲁ICP备05000000号</a></p>
<p><a href="/sitemap/">网站地图</a> | <a href="/lxwm/">联系我们</a></p></div>"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(table: TableBlock) -> str:
    out = ['<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="600"><tbody>']
    for row in table.rows:
        out.append("<tr>")
        for c in row:
            span = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (
                f' colspan="{c.colspan}"' if c.colspan > 1 else ""
            )
            text = _esc(c.text) if c.text else "&nbsp;"
            out.append(
                f'<td{span} valign="center"><p class="MsoNormal" align="center" style="text-align:center">'
                f'<span style="font-family:宋体;font-size:10.5pt">{text}</span></p></td>'
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _html_blocks(blocks: list[Block], *, with_title: bool) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Title):
            if with_title:
                out.append(f'<p align="center" style="text-align:center"><strong>{_esc(b.text)}</strong></p>')
        elif isinstance(b, Heading):
            out.append(f'<p style="text-indent:2em"><strong>{_esc(b.text)}</strong></p>')
        elif isinstance(b, Para):
            out.append(f'<p style="text-indent:2em">{_esc(b.text)}</p>')
        else:
            out.append(_html_table(b))
    return "\n".join(out)


def html_body(spec: ReportSpec) -> str:
    """The report itself as an HTML fragment (title, sections, tables), for a portal page to embed.

    ``render_html`` without chrome is exactly ``<div class="content">`` + this + ``</div>`` in a bare page.
    """
    return _html_blocks(report_blocks(spec), with_title=True)


def render_html(
    spec: ReportSpec,
    *,
    encoding: str = "utf-8",
    chrome: bool = False,
    meta: dict[str, str] | None = None,
    declared_charset: str | None = None,
) -> bytes:
    """An article page. ``chrome`` wraps it in the portal's header, navigation and footer; ``meta`` adds the
    《政府网站发展指引》 tags (PubDate, ArticleTitle, ContentSource …); ``declared_charset`` is what the
    ``<meta charset>`` claims, which real sites sometimes get wrong."""
    title = spec.full_title
    charset = declared_charset or encoding
    metas = "".join(f'<meta name="{_esc(k)}" content="{_esc(v)}">\n' for k, v in (meta or {}).items())
    head = (
        f'<!DOCTYPE html>\n<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n'
        f"{metas}<title>{_esc(title)}</title>\n</head>\n<body>\n"
    )
    if chrome:
        site = (meta or {}).get("SiteName") or "人民政府门户网站"
        short = site.removesuffix("人民政府")[-3:] or site
        info = (meta or {}).get("PubDate", "")
        page = (
            _CHROME_HEAD.format(site=_esc(site), short=_esc(short))
            + f'<div class="article"><h1 class="article-title">{_esc(title)}</h1>\n'
            + f'<div class="info">发布时间：{_esc(info)}　来源：{_esc(spec.agency)}　【字体：大 中 小】</div>\n'
            + f'<div class="TRS_Editor" id="zoom">\n{_html_blocks(report_blocks(spec), with_title=False)}\n</div>'
            + '\n<div class="share">【打印本页】 【关闭窗口】</div></div>\n'
            + _CHROME_FOOT.format(site=_esc(site))
        )
    else:
        page = f'<div class="content">\n{html_body(spec)}\n</div>'
    return (head + page + "\n</body>\n</html>\n").encode(encoding, errors="xmlcharrefreplace")


# --- plain text ------------------------------------------------------------------------------------


def render_text(spec: ReportSpec) -> bytes:
    """Text as extracted from the published .docx: title on two lines, one table cell per tab-indented line,
    an empty line after each table row, vertically merged continuations as empty cells."""
    lines: list[str] = []
    for b in report_blocks(spec):
        if isinstance(b, Title):
            if spec.title is None:  # the agency on its own line, as the standard title is typeset
                lines += [spec.agency, b.text.removeprefix(spec.agency), ""]
            else:
                lines += [b.text, ""]
        elif isinstance(b, Heading | Para):
            lines.append(b.text)
        else:
            for row in grid_slots(b):
                lines += ["\t" + (c.text if origin else "") for c, origin, _ in row]
                lines.append("")
            lines.append("")
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- Word ------------------------------------------------------------------------------------------


def render_docx(spec: ReportSpec) -> bytes:
    """A .docx as agencies type it into the national Word form: merged cells are real Word merges."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    d = docx.Document()
    d.core_properties.title = spec.full_title
    for b in report_blocks(spec):
        if isinstance(b, Title):
            p = d.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.add_run(b.text).bold = True
        elif isinstance(b, Heading):
            d.add_paragraph().add_run(b.text).bold = True
        elif isinstance(b, Para):
            d.add_paragraph(b.text)
        else:
            _docx_table(d, b)
    buf = io.BytesIO()
    d.save(buf)
    return _reproducible_zip(buf.getvalue())


# Office files are ZIPs whose entries carry the time they were written; a renderer stamps them with this
# instead, so that one report renders to the same bytes every time (a re-crawl of a page that did not change
# must find the bytes it archived, not a new version).
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)


_SAVED_AT = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _reproducible_zip(data: bytes) -> bytes:
    """``data``'s entries, in order and compressed as they were, each dated ``_FIXED_TIME``, and the
    document's "last modified" property (openpyxl writes the time of saving) set to it too."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = _SAVED_AT.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", body)
            dst.writestr(fixed, body)
    return out.getvalue()


def _docx_table(d, table: TableBlock) -> None:
    """Append the table as Word writes merged cells: ``gridSpan`` across, ``vMerge`` restart/continue down.

    Written as XML in one go: python-docx's ``merge`` re-walks the table for every merge (0.3 s a report).
    """
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    col_width = 9000 // table.width
    out = [
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
        '<w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>',
        f'<w:gridCol w:w="{col_width}"/>' * table.width,
        "</w:tblGrid>",
    ]
    for row in grid_slots(table):
        out.append("<w:tr>")
        for cell, origin, _ in row:
            props = f'<w:tcW w:w="{col_width * cell.colspan}" w:type="dxa"/>'
            if cell.colspan > 1:
                props += f'<w:gridSpan w:val="{cell.colspan}"/>'
            if cell.rowspan > 1:
                props += '<w:vMerge w:val="restart"/>' if origin else "<w:vMerge/>"
            text = (
                f'<w:r><w:t xml:space="preserve">{_esc(cell.text)}</w:t></w:r>'
                if origin and cell.text
                else ""
            )
            out.append(
                f'<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:pPr><w:jc w:val="center"/></w:pPr>{text}</w:p></w:tc>'
            )
        out.append("</w:tr>")
    out.append("</w:tbl>")
    d.element.body._insert_tbl(parse_xml("".join(out)))  # before the closing sectPr


# --- spreadsheets ----------------------------------------------------------------------------------


def render_xlsx(spec: ReportSpec) -> bytes:
    """A workbook with the whole report on one sheet: text rows in column A, tables as merged ranges, numbers
    stored as numbers (as agencies that fill the form in a spreadsheet do)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "年度报告"
    r = 1
    for b in report_blocks(spec):
        if isinstance(b, Title | Heading | Para):
            ws.cell(row=r, column=1, value=b.text)
            r += 1
            continue
        for offset, row in enumerate(grid_slots(b)):
            for cell, origin, col in row:
                if not origin:
                    continue
                value: str | int | float = cell.number if cell.is_number else cell.text  # type: ignore[assignment]
                if value != "":
                    ws.cell(row=r + offset, column=col + 1, value=value)
                if cell.rowspan > 1 or cell.colspan > 1:
                    ws.merge_cells(
                        start_row=r + offset,
                        start_column=col + 1,
                        end_row=r + offset + cell.rowspan - 1,
                        end_column=col + cell.colspan,
                    )
        r += len(b.rows) + 1
    wb.properties.created = wb.properties.modified = datetime(*_FIXED_TIME)
    buf = io.BytesIO()
    wb.save(buf)
    return _reproducible_zip(buf.getvalue())


# --- dispatch --------------------------------------------------------------------------------------

_DIRECT = {"html": render_html, "text": render_text, "docx": render_docx, "xlsx": render_xlsx}


def render(spec: ReportSpec, fmt: str, **kw) -> bytes:
    """``spec`` as ``fmt`` (html | text | docx | xlsx | doc | wps | pdf | xls). Keyword arguments go to the
    HTML renderer, or ``timeout`` to the LibreOffice conversion of doc/wps/pdf/xls."""
    if fmt in _DIRECT:
        return _DIRECT[fmt](spec, **kw)
    if fmt in CONVERTED_FORMATS:
        from crawler.reading.documents.office import convert_bytes

        source, target = CONVERTED_FORMATS[fmt]
        return convert_bytes(_DIRECT[source](spec), source, target, **kw)
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


def render_many(items: list[tuple[ReportSpec, str]], *, timeout: float = 600.0) -> list[bytes]:
    """Render many (spec, format) pairs; the LibreOffice formats in one soffice run per target format.

    LibreOffice's start-up is most of a conversion's cost, so tests and benchmarks that need dozens of .doc
    or .pdf files convert them together. Results come back in the order of ``items``.
    """
    out: list[bytes | None] = [None] * len(items)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (spec, fmt) in enumerate(items):
        if fmt in CONVERTED_FORMATS:
            groups.setdefault(CONVERTED_FORMATS[fmt], []).append(i)
        else:
            out[i] = render(spec, fmt)
    for (source, target), indexes in groups.items():
        sources = [_DIRECT[source](items[i][0]) for i in indexes]
        for i, data in zip(indexes, convert_many(sources, source, target, timeout=timeout), strict=True):
            out[i] = data
    return out  # type: ignore[return-value]


def convert_many(datas: list[bytes], source: str, target: str, *, timeout: float = 600.0) -> list[bytes]:
    """Convert documents of one format to another in a single LibreOffice run (its own throw-away profile)."""
    import tempfile
    from pathlib import Path

    from crawler.reading.documents.office import _output, _run_soffice

    with tempfile.TemporaryDirectory(prefix="gkwatch-render-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        (root / "out").mkdir()
        inputs = []
        for i, data in enumerate(datas):
            path = root / "in" / f"r{i}.{source}"
            path.write_bytes(data)
            inputs.append(path)
        _run_soffice(root / "profile", inputs, target, root / "out", timeout)
        return [_output(root / "out", p.stem, target, source) for p in inputs]


def check_spec(spec: ReportSpec) -> None:
    """Raise ValueError for a spec that names cells its template does not have (a typo would print nothing)."""
    keys = set(cell_keys(spec.template))
    unknown = sorted((set(spec.cells) | set(spec.cell_text)) - keys)
    if unknown:
        raise ValueError(f"cells not in template {spec.template}: {', '.join(unknown[:5])}")
    for k, v in spec.cells.items():
        if isinstance(v, float) and not column_of(spec.template, k).money:
            raise ValueError(f"{k} is a count but holds {v!r}")
