"""``GET /runs`` (every crawl run, per portal: pages, reports new and changed, problems, time; a recrawl of
one portal for operators, its progress while it runs) and ``GET /rankings`` (regions at any level ranked by
on-time, missing and inconsistency rates, per year and year over year, with a chart and a printable view).

Rankings are computed from the table's summary (``monitor.web.summary``): no query of the rows at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from markupsafe import Markup, escape

from domain.regions import segments
from monitor.web import queries
from monitor.web.freshness import runs
from monitor.web.state import state_of
from monitor.web.summary import RegionCount, Summary

router = APIRouter()

METRICS = {
    "on_time": ("按时率", "按时发布 ÷（按时 + 逾期 + 未发布）", True),
    "missing": ("未发布率", "未发布 ÷（按时 + 逾期 + 未发布）", False),
    "inconsistent": ("数据不一致率", "数据不一致的报告 ÷ 已发布的报告", False),
}
MIN_JUDGED = 5  # fewer agency-years than this: ranked, but marked as a small sample


@router.get("/runs")
def crawl_runs(request: Request):  # noqa: ANN201
    state = state_of(request)
    with state.engine.connect() as conn:
        shown = runs(conn, state.config, limit=20)
    running = any(r.status == "running" for r in shown)
    portals = [(p.id, p.name) for p in state.config.portals]
    return state.render(
        request,
        "runs.html",
        runs=shown,
        running=running,
        portals=portals,
        can_crawl=state.crawl_trigger is not None,
    )


@dataclass
class Ranked:
    rank: int
    rc: RegionCount
    value: float | None
    last: float | None  # the same metric the year before
    small: bool

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.last is None else self.value - self.last


def metric(rc: RegionCount | None, name: str) -> float | None:
    if rc is None:
        return None
    return {"on_time": rc.on_time_rate, "missing": rc.missing_rate, "inconsistent": rc.inconsistent_rate}[
        name
    ]


def _value(found: tuple[dict[str, int], int] | None, by: str) -> tuple[float | None, int]:
    """The metric of a region's counts, and how many agency-years it is judged on."""
    if not found:
        return None, 0
    counts, bad = found
    judged = counts.get("on_time", 0) + counts.get("late", 0) + counts.get("missing", 0)
    if by == "inconsistent":
        published = counts.get("on_time", 0) + counts.get("late", 0) + counts.get("undated", 0)
        return (bad / published if published else None), judged
    n = counts.get("on_time" if by == "on_time" else "missing", 0)
    return (n / judged if judged else None), judged


def ranking(
    summary: Summary, year: int, depth: int, within: list[str] | None, by: str, limit: int | None = None
) -> tuple[list[Ranked], int]:
    """Regions ``depth`` segments deep (under ``within``), best first by ``by`` (higher is better for the
    on-time rate, lower for the others; regions with no verdict to rate come last): the first ``limit``
    of them, and how many there are. Sorted on plain numbers; objects only for the ones shown."""
    key = ("ranking", year, depth, tuple(within) if within else None, by)
    keyed = summary.kept(key, lambda: _ranked_order(summary, year, depth, within, by))
    out = []
    for i, (_, p, (counts, bad)) in enumerate(keyed[:limit], start=1):
        rc = RegionCount(p, p.rsplit("/", 1)[-1], dict(counts), bad)
        last = _value(summary.whole(year - 1, p), by)[0]
        out.append(Ranked(i, rc, metric(rc, by), last, rc.judged < MIN_JUDGED))
    return out, len(keyed)


def _ranked_order(
    summary: Summary, year: int, depth: int, within: list[str] | None, by: str
) -> list[tuple[tuple, str, tuple[dict[str, int], int]]]:
    """Every region of the level, best first: (sort key, region, its counts). A level holds thousands of
    counties at 500,000 agency-years, so this is kept for the generation (``Summary.kept``)."""
    higher_better = METRICS[by][2]
    keyed = []
    for w in within if within else [""]:
        under = w + "/" if w else ""
        for p in summary.by_depth.get(depth, ()):
            if w and not p.startswith(under) and p != w:
                continue
            found = summary.whole(year, p)
            if not found:
                continue
            v, judged = _value(found, by)
            order = (v is None, -(v or 0.0) if higher_better else (v or 0.0), -judged, p)
            keyed.append((order, p, found))
    keyed.sort(key=lambda k: k[0])
    return keyed


def history(summary: Summary, regions: list[str], by: str) -> dict[str, dict[int, float | None]]:
    """Each region's metric in every year (the year-over-year table)."""
    out: dict[str, dict[int, float | None]] = {}
    for region in regions:
        out[region] = {}
        for y in summary.years:
            found = summary.whole(y, region)
            if found:
                out[region][y] = metric(RegionCount(region, "", found[0], found[1]), by)
    return out


@router.get("/rankings")
def rankings(request: Request, year: str = "", depth: str = "", region: str = "", by: str = "on_time"):  # noqa: ANN201
    state = state_of(request)
    summary = state.summary.get()
    if by not in METRICS:
        raise HTTPException(400, f"排名指标只能是 {'、'.join(METRICS)}")
    try:
        y = queries.parse_year(year) if year.strip() else _rated_year(summary)
    except queries.BadFilter as e:
        raise HTTPException(400, str(e)) from None
    within = summary.resolve(region) if region.strip() else None
    if within == []:
        raise HTTPException(404, f"没有名为「{region[:40]}」的地区。")
    base = max((len(segments(p)) for p in within), default=0) if within else 0
    deepest = max(summary.by_depth, default=1)
    try:
        d = (
            queries._int(depth.strip(), "层级", 1, max(1, deepest))
            if depth.strip()
            else min(base + 1, deepest)
        )
    except queries.BadFilter as e:
        raise HTTPException(400, str(e)) from None
    shown, total = ranking(summary, y, d, within, by, limit=60) if y is not None else ([], 0)
    return state.render(
        request,
        "rankings.html",
        year=y,
        depth=d,
        deepest=deepest,
        region=region.strip(),
        by=by,
        metrics=METRICS,
        ranked=shown,
        more=max(0, total - len(shown)),
        years=summary.years,
        rows_html=rank_rows_html(shown, y, by),
        history_html=history_html(history(summary, [r.rc.region for r in shown[:30]], by), summary.years),
        chart=chart(shown[:30], by),
        min_judged=MIN_JUDGED,
    )


def _rated_year(summary: Summary) -> int | None:
    """The latest year with a verdict to rate (the newest year is often not yet due)."""
    for y in summary.years:
        counter = summary.below.get((y, ""))
        if counter and any(k[1] in ("on_time", "late", "missing") for k in counter):
            return y
    return summary.latest_year


@dataclass
class Bar:
    y: float
    label: str
    width: float
    value: str
    last_x: float | None
    small: bool


@dataclass
class Chart:
    width: int
    height: int
    label_w: int
    bar_w: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]


def chart(ranked: list[Ranked], by: str) -> Chart:
    """A horizontal bar chart of the metric, the year before marked on each bar (server-rendered SVG:
    the page runs no script)."""
    label_w, bar_w, row = 150, 560, 24
    bars = []
    for i, r in enumerate(ranked):
        v = r.value or 0.0
        bars.append(
            Bar(
                y=8 + i * row,
                label=r.rc.label,
                width=round(v * bar_w, 1),
                value="—" if r.value is None else f"{r.value * 100:.1f}%",
                last_x=None if r.last is None else round(label_w + r.last * bar_w, 1),
                small=r.small,
            )
        )
    ticks = [(label_w + bar_w * t / 4, f"{t * 25}%") for t in range(5)]
    return Chart(label_w + bar_w + 70, 8 + len(bars) * row + 24, label_w, bar_w, bars, ticks)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def rank_rows_html(ranked: list[Ranked], year: int | None, by: str) -> Markup:
    """The ranking table's rows, built here (sixty rows of eleven cells: Jinja would take milliseconds)."""
    higher_better = METRICS[by][2]
    out = []
    for r in ranked:
        rc, change = r.rc, r.change
        if change is None:
            moved = "—"
        else:
            better = (change > 0) == higher_better and change != 0
            css = "up" if better else ("down" if change != 0 else "")
            moved = f'<span class="{css}">{change * 100:+.1f} 个百分点</span>'
        href = "/?" + urlencode({"region": rc.region, "year": year or ""})
        small = ' <span class="muted small">样本少</span>' if r.small else ""
        tr_class = ' class="small-sample"' if r.small else ""
        out.append(
            f'<tr{tr_class}><td data-label="名次">{r.rank}</td>'
            f'<td data-label="地区"><a href="{escape(href)}"><bdi>{escape(rc.region)}</bdi></a>{small}</td>'
            f'<td data-label="应判断">{rc.judged}</td><td data-label="按时">{rc.counts.get("on_time", 0)}</td>'
            f'<td data-label="逾期">{rc.counts.get("late", 0)}</td><td data-label="未发布">{rc.counts.get("missing", 0)}</td>'
            f'<td data-label="按时率">{_pct(rc.on_time_rate)}</td><td data-label="未发布率">{_pct(rc.missing_rate)}</td>'
            f'<td data-label="不一致率">{_pct(rc.inconsistent_rate)}</td><td data-label="上一年度">{_pct(r.last)}</td>'
            f'<td data-label="变化">{moved}</td></tr>'
        )
    return Markup("\n".join(out))


def history_html(per_region: dict[str, dict[int, float | None]], years: list[int]) -> Markup:
    """The year-over-year table's rows: each region's metric in every year, oldest first."""
    ordered = sorted(years)
    out = []
    for region, per in per_region.items():
        cells = "".join(f'<td data-label="{y}">{_pct(per.get(y))}</td>' for y in ordered)
        out.append(f'<tr><td data-label="地区"><bdi>{escape(region)}</bdi></td>{cells}</tr>')
    return Markup("\n".join(out))
