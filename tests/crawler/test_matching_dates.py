"""Agency matching (longest name wins, aliases, discovered) and publication-date evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime

from crawler.reading.attribution import AgencyMatcher, agency_from_title
from domain.config import AgencyConfig
from monitor.status.publication import parse_date, parse_http_date, publication

AGENCIES = [
    AgencyConfig(id="zc-zsj", name="淄川区招商局", aliases=["区招商局"], portal="zichuan"),
    AgencyConfig(id="zc-gov", name="淄川区人民政府", portal="zichuan"),
    AgencyConfig(id="zc-lq", name="龙泉镇", aliases=["龙泉镇人民政府"], kind="township", portal="zichuan"),
    AgencyConfig(id="lz-zsj", name="临淄区招商局", aliases=["区招商局"], portal="linzi"),
]


def test_longest_name_wins_and_alias_is_found():
    m = AgencyMatcher(AGENCIES)
    hit = m.match(portal_id="zichuan", title="淄川区招商局2024年政府信息公开工作年度报告")
    assert (hit.agency_id, hit.source) == ("zc-zsj", "title")
    hit = m.match(portal_id="zichuan", content_source="区招商局", title="2024年政府信息公开工作年度报告")
    assert (hit.agency_id, hit.matched, hit.source) == ("zc-zsj", "区招商局", "content_source")
    # the same alias on another portal belongs to that portal's agency
    assert m.match(portal_id="linzi", title="区招商局2024年政府信息公开年报").agency_id == "lz-zsj"
    # "龙泉镇人民政府" must not be taken for a 人民政府 of some other place
    assert (
        m.match(portal_id="zichuan", title="龙泉镇人民政府2024年政府信息公开工作年度报告").agency_id
        == "zc-lq"
    )


def test_column_and_document_names_are_used_when_the_title_says_nothing():
    m = AgencyMatcher(AGENCIES)
    hit = m.match(portal_id="zichuan", title="2024年政府信息公开工作年度报告", column="乡镇街道 / 龙泉镇")
    assert (hit.agency_id, hit.source) == ("zc-lq", "column")
    hit = m.match(portal_id="zichuan", title="2024年年报", document_agency="淄川区招商局")
    assert (hit.agency_id, hit.source) == ("zc-zsj", "document")


def test_unregistered_agency_is_kept_as_discovered_with_its_name():
    m = AgencyMatcher(AGENCIES)
    hit = m.match(portal_id="zichuan", title="淄川区退役军人事务局2024年政府信息公开工作年度报告")
    assert hit.agency_id is None
    assert hit.name == "淄川区退役军人事务局"
    assert agency_from_title("关于《XX县水利局2023年度政府信息公开工作年度报告》") == "XX县水利局"
    assert m.match(portal_id="zichuan", title="通知") is None


def test_dates_as_portals_print_them():
    assert parse_date("2025-01-20 09:30") == date(2025, 1, 20)
    assert parse_date("2025年1月8日") == date(2025, 1, 8)
    assert parse_date("[2025/02/03]") == date(2025, 2, 3)
    assert parse_date("20250120") == date(2025, 1, 20)
    assert parse_date("2025-02-30") is None
    assert parse_date("") is None
    # 20:30 UTC on 31 Jan is already 1 Feb in Shanghai
    assert parse_http_date("Fri, 31 Jan 2025 20:30:00 GMT") == date(2025, 2, 1)
    assert parse_http_date("not a date") is None


def test_evidence_order_meta_text_listing_header_and_no_date():
    seen = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    hdr = "Mon, 20 Jan 2025 01:00:00 GMT"

    def pub(**printed):  # noqa: ANN003, ANN202
        return publication(
            **{"pub_meta": None, "pub_text": None, "pub_header": None, **printed},
            first_seen=seen,
            report_year=2024,
        )

    p = pub(pub_meta="2025-01-18 10:00", pub_text="2025-01-19", listing_date="2025-01-17", pub_header=hdr)
    assert (p.date, p.evidence, p.quote) == (date(2025, 1, 18), "page_meta", "2025-01-18 10:00")
    p = pub(pub_meta="garbage", pub_text="2025年1月19日", pub_header=hdr)
    assert (p.date, p.evidence) == (date(2025, 1, 19), "page_text")
    p = pub(listing_date="[2025-01-17]", pub_header=hdr)
    assert (p.date, p.evidence) == (date(2025, 1, 17), "listing_date")
    p = pub(pub_header=hdr)
    assert (p.date, p.evidence) == (date(2025, 1, 20), "http_header")
    p = pub()
    assert (p.date, p.evidence) == (None, None)  # no date: our own sight decides (monitor.status.verdict)


def test_a_date_that_cannot_be_true_is_set_aside_and_shown():
    seen = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    future = publication(
        pub_meta="2025-03-05", pub_text="2025-02-10", pub_header=None, first_seen=seen, report_year=2024
    )
    assert (future.date, future.evidence) == (date(2025, 2, 10), "page_text")  # the credible one
    (aside,) = [p for p in future.printed if p.why_not]
    assert aside.evidence == "page_meta" and "未来日期" in aside.why_not
    early = publication(
        pub_meta="2024-06-01", pub_text=None, pub_header=None, first_seen=seen, report_year=2024
    )
    assert early.date is None and "年度结束" in early.printed[0].why_not
