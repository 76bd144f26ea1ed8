"""Report pages built in the shapes real portals print (平潭 2021's Word grid, 上海 2020's 表二 spans), with any
figures: the real documents show a layout once; these let a test vary the figures, break a sum, drop a label.
"""

from __future__ import annotations

import random
from html import escape

from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, get_template
from testbed.synthetic import consistent_cells

TEMPLATE = "2021"


def cells(seed: int = 7, scale: int = 40) -> dict:
    return consistent_cells(TEMPLATE, random.Random(seed), scale=scale)


def _td(text: object, colspan: int = 1, rowspan: int = 1) -> str:
    span = (f' colspan="{colspan}"' if colspan > 1 else "") + (f' rowspan="{rowspan}"' if rowspan > 1 else "")
    return f"<td{span}><p><span>{escape(str(text))}</span></p></td>"


def _figure(v: object) -> str:
    return "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))


def s2_table(values: dict) -> str:
    t = get_template(TEMPLATE)
    rows = []
    for item in t.s2:
        rows.append("<tr>" + _td(item.article, colspan=4) + "</tr>")
        heads = [c.label for c in item.columns]
        rows.append(
            "<tr>" + _td("信息内容") + "".join(_td(h) for h in heads) + _td("") * (3 - len(heads)) + "</tr>"
        )
        figs = [_figure(values[f"s2.{item.key}.{c.key}"]) for c in item.columns]
        rows.append(
            "<tr>" + _td(item.label) + "".join(_td(f) for f in figs) + _td("") * (3 - len(figs)) + "</tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def s3_table_word11(values: dict, labels: dict[str, str] | None = None) -> str:
    """表三 as 平潭 2021 prints it: an 11-column Word grid, 自然人 colspan 2 over an empty cell, 商业企业's header
    and figures in colspan-2 cells — every figure one column left of where grid position puts it."""
    t = get_template(TEMPLATE)
    labels = labels or {}
    head = (
        "<tr>" + _td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3)
        + _td("申请人情况", 8) + "</tr>"
        "<tr>" + _td("自然人", 2) + _td("法人或其他组织", 5) + _td("总计", rowspan=2) + "</tr>"
        "<tr>" + _td("\u00a0") + _td("商业企业", 2)
        + "".join(_td(c.label) for c in S3_COLUMNS[2:6]) + "</tr>"
    )  # fmt: skip
    body = []
    for row in t.s3:
        label = labels.get(row.key, (row.group + row.label) if row.group else row.label)
        f = [_figure(values[f"s3.{row.key}.{c.key}"]) for c in S3_COLUMNS]
        body.append(
            "<tr>" + _td(label, 3) + _td(f[0]) + _td(f[1], 2) + "".join(_td(x) for x in f[2:]) + "</tr>"
        )
    return "<table>" + head + "".join(body) + "</table>"


def s3_table_plain(values: dict, labels: dict[str, str] | None = None) -> str:
    t = get_template(TEMPLATE)
    labels = labels or {}
    head = "<tr>" + _td("") + "".join(_td(c.label) for c in S3_COLUMNS) + "</tr>"
    body = []
    for row in t.s3:
        label = labels.get(row.key, (row.group + row.label) if row.group else row.label)
        body.append(
            "<tr>"
            + _td(label)
            + "".join(_td(_figure(values[f"s3.{row.key}.{c.key}"])) for c in S3_COLUMNS)
            + "</tr>"
        )
    return "<table>" + head + "".join(body) + "</table>"


def s4_table(values: dict) -> str:
    head = "<tr>" + _td("行政复议", 5) + _td("行政诉讼", 10) + "</tr>"
    head += (
        "<tr>"
        + "".join(_td(c.label) for c in S4_COLUMNS)
        + _td("未经复议直接起诉", 5)
        + _td("复议后起诉", 5)
        + "</tr>"
    )
    figs = "".join(_td(_figure(values[f"s4.{g.key}.{c.key}"])) for g in S4_GROUPS for c in S4_COLUMNS)
    return "<table>" + head + "<tr>" + figs + "</tr></table>"


def page(
    values: dict, *, s3: str = "word11", labels: dict[str, str] | None = None, agency: str = "平潭综合实验区"
) -> bytes:
    s3_html = (s3_table_word11 if s3 == "word11" else s3_table_plain)(values, labels)
    body = (
        f"<div class='article_title'>{agency}2021年度政府信息公开工作年度报告</div>"
        "<div class='TRS_Editor'><p>一、总体情况</p><p>本报告所列数据的统计期限自2021年1月1日起至2021年12月31日止。</p>"
        f"<p>二、主动公开政府信息情况</p>{s2_table(values)}"
        f"<p>三、收到和处理政府信息公开申请情况</p>{s3_html}"
        f"<p>四、政府信息公开行政复议、行政诉讼情况</p>{s4_table(values)}"
        "<p>五、存在的主要问题及改进情况</p><p>无。</p><p>六、其他需要报告的事项</p><p>无。</p></div>"
    )
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode()
