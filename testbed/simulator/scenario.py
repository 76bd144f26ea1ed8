"""The sample portals' world, as data: which portals exist, which agencies they host, which reports each
agency published, when, in what format, and with which defect.

Everything else in the simulator — the pages served, the config written, the statuses ``expected`` —
is derived from these tables, so a scenario change is one edit here and every consumer follows.
Dates are Asia/Shanghai wall-clock times, as portals print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# What can be wrong with a report (each maps to the findings ``expected`` demands):
ROW_TOTAL = "row_total"  # one 表三 row's 总计 is off → s3.row_total (error)
DASH = "dash"  # zero cells printed as —— → cell.not_number (warning)
OUTDATED = "outdated"  # the 2019 format for a year ≥ 2021 → template.outdated
CARRY_OVER = "carry_over"  # 上年结转 ≠ last year's 结转下年度 → history.carry_over
COPY = "copy"  # 一、总体情况 repeats last year's prose → copy.previous_year
CORRUPT = "corrupt"  # the attachment is not a readable document → crawl_problem parse_failed
# How a report is served (no finding of its own):
RETRY = "retry"  # the page answers 500 twice, then works
LYING_CHARSET = "lying_charset"  # GBK bytes under a ``Content-Type: charset=utf-8`` header
GBK_AS_UTF8 = "gbk_as_utf8"  # GBK bytes, utf-8 header, and no <meta charset> at all
ALIAS = "alias"  # the portal names the agency by its alias
NO_META = "no_meta"  # no PubDate meta, the visible 发布日期 only (page_text)
# The evidence cases (issue 9; the ``cases`` portals): what a verdict must get right about dates and reads.
HIDDEN = "hidden"  # not listed until ``SamplePortals.reveal``: a listing read without it, then one with it
PAGE_403 = "page_403"  # listed, but its page answers 403: a block that names one agency (its link text)
PAGE_404 = "page_404"  # listed, then gone: its page answers 404
BY_OFFICE = (
    "by_office"  # published by the government's 办公室 (发布机构), while the title names the government
)
REPOST = "repost"  # the same report posted again on a second page, later, with that page's own date
BEYOND_BREAK = "beyond_break"  # on the listing page that fails: the portal's pagination breaks before it

LIBREOFFICE_FORMATS = ("doc", "wps", "pdf", "xls")
ATTACHMENT_FORMATS = ("doc", "docx", "wps", "pdf", "xls", "xlsx")


@dataclass(frozen=True)
class PortalSpec:
    id: str
    name: str
    host: str  # its own loopback address, so politeness slots and allowed_domains behave as on the web
    family: str  # the CMS that renders its pages: trs | hanweb | generic | faults
    region: str
    start_paths: tuple[str, ...]
    faults_only: bool = False
    cases_only: bool = False  # an evidence-case portal (``SamplePortals(cases=True)``)
    listing_breaks: bool = False  # its listing's second page answers 500 every time
    initial_state: str = "ok"  # ok | down | blocked (set_portal_state changes it)
    robots_disallow_all: bool = False


@dataclass(frozen=True)
class AgencySpec:
    id: str
    name: str
    kind: str  # department | township | government
    portal: str
    aliases: tuple[str, ...] = ()
    group: str = ""  # the sub-column it is listed under on generic portals (市直部门 / 乡镇街道 / 本级政府)


@dataclass(frozen=True)
class ReportEntry:
    """One published report as the portal shows it."""

    agency_id: str | None  # None: an agency gkwatch does not know (kept as discovered)
    year: int
    fmt: str  # html, or an attachment format
    published: datetime | None  # the portal's date (PubDate / listing date / Last-Modified); None = no date
    evidence: (
        str | None
    )  # page_meta | page_text | listing_date | http_header | first_seen — what a correct crawl concludes
    defects: frozenset[str] = frozenset()
    agency_name: str | None = None  # for unregistered agencies
    number: int = 0  # the CMS's article id (stable URLs)

    @property
    def template(self) -> str:
        return "2019" if OUTDATED in self.defects or self.year < 2021 else "2021"


REGIONS = {
    "zichuan": "山东省/淄博市/淄川区",
    "linzi": "山东省/淄博市/临淄区",
    "hecheng": "湖南省/怀化市/鹤城区",
    "tongjiang": "黑龙江省/佳木斯市/同江市",
    "fuyuan": "黑龙江省/佳木斯市/抚远市",
    "fujin": "黑龙江省/佳木斯市/富锦市",
    "huachuan": "黑龙江省/佳木斯市/桦川县",
    "huanan": "黑龙江省/佳木斯市/桦南县",
}

PORTALS: tuple[PortalSpec, ...] = (
    PortalSpec("zichuan", "淄川区人民政府", "127.0.0.2", "trs", REGIONS["zichuan"], ("/zwgk/zfxxgknb/",)),
    PortalSpec(
        "linzi", "临淄区人民政府", "127.0.0.3", "hanweb", REGIONS["linzi"], ("/col/col1234/index.html",)
    ),
    PortalSpec("hecheng", "怀化市鹤城区人民政府", "127.0.0.4", "generic", REGIONS["hecheng"], ("/",)),
    PortalSpec(
        "tongjiang",
        "同江市人民政府",
        "127.0.0.5",
        "trs",
        REGIONS["tongjiang"],
        ("/xxgk/xxgknb/", "/xxgk/bmxxgknb/"),
        initial_state="blocked",
    ),
    PortalSpec(
        "fujin", "富锦市人民政府", "127.0.0.6", "faults", REGIONS["fujin"], ("/nianbao/",), faults_only=True
    ),
    PortalSpec(
        "fuyuan",
        "抚远市人民政府",
        "127.0.0.7",
        "trs",
        REGIONS["fuyuan"],
        ("/xxgk/ndbg/",),
        robots_disallow_all=True,
    ),
    # the evidence cases: a small county CMS whose listings print no dates
    PortalSpec(
        "huachuan",
        "桦川县人民政府",
        "127.0.0.8",
        "plain",
        REGIONS["huachuan"],
        ("/xxgk/ndbg/",),
        cases_only=True,
    ),
    PortalSpec(
        "huanan",
        "桦南县人民政府",
        "127.0.0.9",
        "plain",
        REGIONS["huanan"],
        ("/xxgk/ndbg/",),
        cases_only=True,
        listing_breaks=True,
    ),
)

AGENCIES: tuple[AgencySpec, ...] = (
    AgencySpec("zichuan-gov", "淄川区人民政府", "government", "zichuan"),
    AgencySpec("zichuan-zsj", "淄川区招商局", "department", "zichuan", aliases=("区招商局",)),
    AgencySpec("zichuan-jyj", "淄川区教育和体育局", "department", "zichuan", aliases=("区教体局",)),
    AgencySpec("zichuan-czj", "淄川区财政局", "department", "zichuan"),
    AgencySpec("zichuan-slj", "淄川区松龄路街道办事处", "township", "zichuan"),
    AgencySpec("zichuan-hsz", "淄川区洪山镇人民政府", "township", "zichuan"),
    AgencySpec("linzi-gov", "临淄区人民政府", "government", "linzi"),
    AgencySpec("linzi-jxjd", "临淄区稷下街道办事处", "township", "linzi"),
    AgencySpec("linzi-mzj", "临淄区民政局", "department", "linzi"),
    AgencySpec("linzi-sjj", "临淄区审计局", "department", "linzi"),
    AgencySpec("hecheng-gov", "鹤城区人民政府", "government", "hecheng", group="本级政府"),
    AgencySpec("hecheng-fgj", "鹤城区发展和改革局", "department", "hecheng", group="市直部门"),
    AgencySpec("hecheng-wjj", "鹤城区卫生健康局", "department", "hecheng", group="市直部门"),
    AgencySpec("hecheng-cnjd", "鹤城区城南街道办事处", "township", "hecheng", group="乡镇街道"),
    AgencySpec("tongjiang-gxj", "同江市工业和信息化局", "department", "tongjiang"),
    AgencySpec("tongjiang-gov", "同江市人民政府", "government", "tongjiang"),
    AgencySpec("fuyuan-gov", "抚远市人民政府", "government", "fuyuan"),
    AgencySpec("fujin-zrj", "富锦市自然资源局", "department", "fujin"),
    AgencySpec("huachuan-gov", "桦川县人民政府", "government", "huachuan"),
    AgencySpec("huachuan-bgs", "桦川县人民政府办公室", "department", "huachuan"),
    AgencySpec("huachuan-sfj", "桦川县司法局", "department", "huachuan"),
    AgencySpec("huachuan-rsj", "桦川县人力资源和社会保障局", "department", "huachuan"),
    AgencySpec("huachuan-nyj", "桦川县农业农村局", "department", "huachuan"),
    AgencySpec("huachuan-scj", "桦川县市场监督管理局", "department", "huachuan"),
    AgencySpec("huachuan-zjj", "桦川县住房和城乡建设局", "department", "huachuan"),
    AgencySpec("huachuan-jtj", "桦川县交通运输局", "department", "huachuan"),
    AgencySpec("huachuan-wlj", "桦川县文化广电和旅游局", "department", "huachuan"),
    AgencySpec("huachuan-yjj", "桦川县应急管理局", "department", "huachuan"),
    AgencySpec("huanan-gov", "桦南县人民政府", "government", "huanan"),
    AgencySpec("huanan-mzj", "桦南县民政局", "department", "huanan"),
    AgencySpec("huanan-hnz", "桦南县桦南镇人民政府", "township", "huanan"),
)

# The 怀化 local notice: 2024 reports of departments in 怀化 were due 28 January 2025, not 31 January.
DEADLINE_OVERRIDES: tuple[dict, ...] = (
    {
        "region": "湖南省/怀化市",
        "year": 2024,
        "kind": "department",
        "due": "2025-01-28",
        "reason": "怀化市政务公开办通知：市直及县区部门2024年度报告于2025年1月28日前发布",
    },
)


# 桦南's extension notice for its departments' 2025 reports falls a month after the day the portals start, so
# that an undated report seen now is seen before its due date (the only way a first sight can be on time).
EXTENSION_DAYS = 30


def extension_overrides(today: date) -> tuple[dict, ...]:
    """The deadline overrides that move with the calendar (the ``cases`` portals only)."""
    due = today + timedelta(days=EXTENSION_DAYS)
    return (
        {
            "region": REGIONS["huanan"],
            "year": 2025,
            "kind": "department",
            "due": due.isoformat(),
            "reason": f"桦南县政务公开办延期通知（模拟）：县直部门2025年度报告于{due.isoformat()}前发布",
        },
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _r(agency_id, year, fmt, when, evidence, *defects, name=None) -> ReportEntry:  # noqa: ANN001
    return ReportEntry(
        agency_id, year, fmt, _at(when) if when else None, evidence, frozenset(defects), agency_name=name
    )


META, TEXT, LISTING, HEADER, FIRST = "page_meta", "page_text", "listing_date", "http_header", "first_seen"

# fmt "html": the report's tables are on the article page; anything else: an attachment of the article
# (TRS, Hanweb) or linked straight from the listing (generic portals).
_REPORTS: tuple[ReportEntry, ...] = (
    # 淄川 (TRS WCM): PubDate metas everywhere
    _r("zichuan-gov", 2023, "html", "2024-03-20 10:00", META),
    _r("zichuan-gov", 2024, "pdf", "2025-03-28 16:20", META),
    _r("zichuan-gov", 2025, "html", "2026-04-03 09:00", META),  # late: governments are due 31 March
    _r("zichuan-zsj", 2023, "html", "2024-01-22 09:30", META, ALIAS),
    _r("zichuan-zsj", 2024, "docx", "2025-01-20 09:30", META),
    _r("zichuan-zsj", 2025, "html", "2026-01-26 15:00", META, ALIAS, LYING_CHARSET),
    _r("zichuan-jyj", 2023, "html", "2024-01-29 11:00", META),
    _r("zichuan-jyj", 2024, "html", "2025-01-27 08:45", META, ROW_TOTAL),
    _r("zichuan-jyj", 2025, "xlsx", "2026-02-03 10:10", META),  # late
    _r("zichuan-czj", 2023, "doc", "2024-01-25 14:00", META),
    # zichuan-czj 2024: missing
    _r("zichuan-czj", 2025, "html", "2026-01-30 17:00", META, RETRY),
    _r("zichuan-slj", 2023, "html", "2024-01-30 09:00", META),
    _r("zichuan-slj", 2024, "html", "2025-01-31 17:30", META),  # on the due day: on time
    _r("zichuan-slj", 2025, "wps", "2026-01-18 10:00", META),
    _r("zichuan-hsz", 2023, "html", "2024-01-19 10:00", META),
    _r("zichuan-hsz", 2024, "html", "2025-01-20 10:00", META, CARRY_OVER),
    _r("zichuan-hsz", 2025, "html", "2026-01-22 10:00", META, COPY),
    _r(None, 2024, "html", "2025-01-15 10:00", META, name="淄川区融媒体中心"),
    # 临淄 (大汉 Hanweb JCMS)
    _r("linzi-gov", 2023, "html", "2024-03-29 10:00", META),
    _r("linzi-gov", 2024, "html", "2025-03-31 18:00", META),
    # linzi-gov 2025: missing
    _r("linzi-jxjd", 2023, "html", "2024-01-26 10:00", META),
    _r("linzi-jxjd", 2024, "html", "2025-01-24 10:00", META, DASH),
    _r("linzi-jxjd", 2025, "html", "2026-01-29 10:00", TEXT, NO_META),
    _r("linzi-mzj", 2023, "html", "2024-01-18 10:00", META),
    _r("linzi-mzj", 2024, "docx", "2025-01-21 10:00", META, OUTDATED),
    _r("linzi-mzj", 2025, "xls", "2026-01-16 10:00", META),
    # linzi-sjj 2023: missing
    _r("linzi-sjj", 2024, "html", "2025-02-10 10:00", META),  # late
    _r("linzi-sjj", 2025, "html", "2026-01-20 10:00", META),
    # 鹤城 (generic): dates beside the links only (listing_date), Last-Modified of attachments, or nothing at all
    _r("hecheng-gov", 2023, "html", "2024-03-15 00:00", LISTING),
    _r("hecheng-gov", 2024, "html", "2025-03-20 00:00", LISTING),
    _r("hecheng-gov", 2025, "html", None, FIRST),  # no date anywhere: judged by our first sight
    _r("hecheng-fgj", 2023, "html", "2024-01-26 00:00", LISTING),
    _r("hecheng-fgj", 2024, "html", "2025-01-29 00:00", LISTING),  # late only by the 怀化 notice
    _r("hecheng-fgj", 2025, "docx", "2026-01-12 09:15", HEADER),
    _r("hecheng-wjj", 2023, "html", "2024-01-30 00:00", LISTING),
    _r("hecheng-wjj", 2024, "docx", "2025-01-23 16:40", HEADER),
    # hecheng-wjj 2025: missing
    _r("hecheng-cnjd", 2023, "html", "2024-01-25 00:00", LISTING),
    _r("hecheng-cnjd", 2024, "html", "2025-01-22 00:00", LISTING),
    _r("hecheng-cnjd", 2025, "html", "2026-01-21 00:00", LISTING),
    # 同江 (blocked) and 抚远 (robots) show reports too: a crawler that got through would find them
    _r("tongjiang-gxj", 2024, "html", "2025-01-20 10:00", META),
    _r("tongjiang-gov", 2024, "html", "2025-03-25 10:00", META),
    _r("fuyuan-gov", 2024, "html", "2025-03-10 10:00", META),
    # 富锦 (faults portal, only with faults=True): its real reports sit among the traps
    _r("fujin-zrj", 2023, "html", "2024-01-25 10:00", META, GBK_AS_UTF8),
    _r("fujin-zrj", 2024, "docx", "2025-01-24 10:00", META, CORRUPT),
    _r("fujin-zrj", 2025, "html", "2026-01-23 10:00", META),
    # 桦川 (cases): every agency published 2023 and 2024 on time; 2025 is where each case sits
    *(
        _r(a, y, "html", f"{y + 1}-{'03' if a.endswith('-gov') else '01'}-{10 + i}", META)
        for i, a in enumerate(
            (
                "huachuan-gov",
                "huachuan-bgs",
                "huachuan-sfj",
                "huachuan-rsj",
                "huachuan-nyj",
                "huachuan-scj",
                "huachuan-zjj",
                "huachuan-jtj",
                "huachuan-wlj",
                "huachuan-yjj",
            )
        )
        for y in (2023, 2024)
    ),
    _r("huachuan-gov", 2025, "html", "2026-03-26 10:00", META, BY_OFFICE),  # the government's, by its office
    _r("huachuan-bgs", 2025, "html", "2026-01-20 10:00", META),  # the office's own report
    _r(
        "huachuan-sfj", 2025, "html", "2026-01-21 10:00", META, PAGE_403
    ),  # unknown: blocked, this agency only
    # huachuan-rsj 2025: missing (the same complete read that could not open 司法局's page)
    _r("huachuan-nyj", 2025, "html", "2026-01-22 10:00", META, PAGE_404),  # unknown: listed, then gone
    _r("huachuan-scj", 2025, "html", "2062-01-26 10:00", None),  # a typo in the future: set aside, undated
    _r("huachuan-zjj", 2025, "html", "2025-01-26 10:00", None),  # before 2025 ended: set aside, undated
    _r("huachuan-jtj", 2025, "html", "2026-01-15 10:00", META),  # on time by the earlier of two pages
    _r("huachuan-jtj", 2025, "html", "2026-02-20 10:00", META, REPOST),
    _r("huachuan-wlj", 2025, "html", "2026-01-25 10:00", META),  # re-uploaded later by ``reupload``
    _r("huachuan-yjj", 2025, "html", None, FIRST, HIDDEN),  # listed only after ``reveal``: then late
    # 桦南 (cases): the listing's second page answers 500, so nothing on it is seen
    _r("huanan-gov", 2023, "html", "2024-03-28 10:00", META, BEYOND_BREAK),
    _r("huanan-gov", 2024, "html", "2025-03-25 10:00", META),
    _r("huanan-gov", 2025, "html", "2026-03-20 10:00", META),
    _r("huanan-mzj", 2023, "html", "2024-01-25 10:00", META, BEYOND_BREAK),
    _r("huanan-mzj", 2024, "html", "2025-01-24 10:00", META),
    _r("huanan-mzj", 2025, "html", None, FIRST),  # undated, seen before its (extended) due date: on time
    _r("huanan-hnz", 2023, "html", "2024-01-22 10:00", META, BEYOND_BREAK),
    _r("huanan-hnz", 2024, "html", "2025-01-23 10:00", META, BEYOND_BREAK),
    _r("huanan-hnz", 2025, "html", "2026-01-20 10:00", META, BEYOND_BREAK),
)


def _numbered(reports: tuple[ReportEntry, ...]) -> tuple[ReportEntry, ...]:
    """Give every report a stable CMS article id (the URL must not change between runs)."""
    from dataclasses import replace

    return tuple(replace(r, number=5601 + i * 7) for i, r in enumerate(reports))


REPORTS: tuple[ReportEntry, ...] = _numbered(_REPORTS)


@dataclass
class Scenario:
    """The mutable world of one ``SamplePortals``: the base tables plus what scenario hooks changed."""

    years: tuple[int, ...]
    faults: bool
    cases: bool = False
    reports: list[ReportEntry] = field(default_factory=list)
    edits: dict[tuple[str, int], int] = field(default_factory=dict)  # (agency, year) -> times edited
    listed_from_now: set[tuple[str, int]] = field(default_factory=set)  # backdated additions
    hidden: set[tuple[str, int]] = field(default_factory=set)  # HIDDEN reports not yet revealed
    revealed: set[tuple[str, int]] = field(default_factory=set)
    reuploads: dict[tuple[str, int], ReportEntry] = field(default_factory=dict)  # key -> the entry before

    @classmethod
    def build(cls, years: tuple[int, ...], faults: bool, cases: bool = False) -> Scenario:
        portals = {p.id for p in cls.portals_for(faults, cases)}
        agencies = {a.id: a for a in AGENCIES}
        kept = [
            r
            for r in REPORTS
            if r.year in years and (agencies[r.agency_id].portal if r.agency_id else "zichuan") in portals
        ]
        hidden = {(r.agency_id, r.year) for r in kept if HIDDEN in r.defects and r.agency_id}
        return cls(years=tuple(years), faults=faults, cases=cases, reports=kept, hidden=hidden)

    @staticmethod
    def portals_for(faults: bool, cases: bool = False) -> list[PortalSpec]:
        return [p for p in PORTALS if (faults or not p.faults_only) and (cases or not p.cases_only)]

    @property
    def portals(self) -> list[PortalSpec]:
        return self.portals_for(self.faults, self.cases)

    @property
    def agencies(self) -> list[AgencySpec]:
        ids = {p.id for p in self.portals}
        return [a for a in AGENCIES if a.portal in ids]

    def deadline_overrides(self, today: date) -> list[dict]:
        """Every deadline override of this world (the moving ones only with the ``cases`` portals)."""
        return [dict(o) for o in DEADLINE_OVERRIDES + (extension_overrides(today) if self.cases else ())]

    def is_listed(self, r: ReportEntry) -> bool:
        """Whether the portal shows the report now (a HIDDEN one only once revealed)."""
        return (r.agency_id, r.year) not in self.hidden or HIDDEN not in r.defects

    def agency(self, agency_id: str) -> AgencySpec:
        for a in AGENCIES:
            if a.id == agency_id:
                return a
        raise KeyError(f"no agency {agency_id!r} in the sample portals")

    def portal(self, portal_id: str) -> PortalSpec:
        for p in PORTALS:
            if p.id == portal_id:
                return p
        raise KeyError(f"no portal {portal_id!r} in the sample portals")

    def portal_of(self, report: ReportEntry) -> PortalSpec:
        return self.portal(self.agency(report.agency_id).portal if report.agency_id else "zichuan")

    def reports_on(self, portal_id: str) -> list[ReportEntry]:
        """The reports a portal shows now."""
        return [r for r in self.reports if self.portal_of(r).id == portal_id and self.is_listed(r)]

    def report(self, agency_id: str, year: int) -> ReportEntry | None:
        """The agency-year's report as its portal shows it now (its first page where it was posted twice)."""
        for r in self.reports:
            if r.agency_id == agency_id and r.year == year and REPOST not in r.defects and self.is_listed(r):
                return r
        return None

    def reposts(self, agency_id: str, year: int) -> list[ReportEntry]:
        """The second pages of an agency-year's report (REPOST)."""
        return [r for r in self.reports if (r.agency_id, r.year) == (agency_id, year) and REPOST in r.defects]

    def printed_name(self, report: ReportEntry) -> str:
        """The agency's name as the portal (and the document) prints it."""
        if report.agency_id is None:
            assert report.agency_name
            return report.agency_name
        a = self.agency(report.agency_id)
        return a.aliases[0] if ALIAS in report.defects and a.aliases else a.name
