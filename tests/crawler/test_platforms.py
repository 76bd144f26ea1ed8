"""Each CMS family module on saved pages: report links, pagination, sub-columns, article facts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from crawler.portal.platforms import detect, get_platform
from crawler.portal.platforms.base import redirect_target
from domain.titles import year_from_title, year_from_url
from tests.crawler.conftest import fixture_text

TRS_LISTING = "http://www.zichuan.gov.cn/zwgk/zfxxgknb/index.html"


def test_trs_listing_reports_pagination_and_year_columns():
    text = fixture_text("trs_listing.gbk.html")
    platform = detect(TRS_LISTING, text)
    assert platform.name == "trs"
    listing = platform.listing(TRS_LISTING, text)
    urls = [r.url for r in listing.reports]
    assert urls == [
        "http://www.zichuan.gov.cn/zwgk/zfxxgknb/202501/t20250120_4512345.html",
        "http://www.zichuan.gov.cn/zwgk/zfxxgknb/202501/t20250118_4511111.html",
        "http://www.zichuan.gov.cn/zwgk/zfxxgknb/202501/P020250125556677889900.pdf",
    ]  # the 考核通知 article is not a report
    first = listing.reports[0]
    assert (
        first.text == "淄川区招商局2024年政府信息公开工作年度报告"
    )  # full title from title=, not the cut text
    assert first.date_text == "2025-01-20"
    assert listing.pages == [
        "http://www.zichuan.gov.cn/zwgk/zfxxgknb/index_1.html",
        "http://www.zichuan.gov.cn/zwgk/zfxxgknb/index_2.html",
    ]
    assert [c.text for c in listing.columns] == ["2024年", "2023年"]
    assert all(
        "zfxxgkzn" not in c.url for c in listing.columns
    )  # 公开指南 is navigation, not a report column


def test_trs_pagination_from_a_later_page_includes_the_first():
    text = fixture_text("trs_listing.gbk.html").replace("createPageHTML(3, 0,", "createPageHTML(3, 2,")
    pages = get_platform("trs").listing(TRS_LISTING.replace("index.html", "index_2.html"), text).pages
    assert pages[0].endswith("/zfxxgknb/index.html") and pages[1].endswith("index_1.html") and len(pages) == 2


def test_trs_article_meta_visible_date_and_attachments():
    url = "http://www.zichuan.gov.cn/zwgk/zfxxgknb/202501/t20250120_4512345.html"
    art = get_platform("trs").article(url, fixture_text("trs_article.gbk.html"))
    assert art.title == "淄川区招商局2024年政府信息公开工作年度报告"
    assert art.pub_meta == "2025-01-20 09:30"
    assert art.pub_text == "2025-01-20"
    assert art.content_source == "区招商局"
    assert art.column_name == "政府信息公开年报"
    assert [a.url.rsplit("/", 1)[1] for a in art.attachments] == [
        "P020250120398765432101.docx",
        "P020250120398765432102.pdf",
    ]
    assert not art.has_tables


def test_hanweb_column_page_reads_embedded_records_and_asks_the_data_proxy():
    url = "http://www.linzi.gov.cn/col/col1234/index.html"
    text = fixture_text("hanweb_column.html")
    platform = detect(url, text)
    assert platform.name == "hanweb"
    listing = platform.listing(url, text)
    assert [r.url for r in listing.reports] == [
        "http://www.linzi.gov.cn/art/2025/1/28/art_1234_5678901.html",
        "http://www.linzi.gov.cn/art/2025/1/30/art_1234_5678902.html",
    ]
    assert listing.reports[0].date_text == "2025-01-28"
    (proxy,) = listing.pages
    parts = urlsplit(proxy)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/module/web/jpage/dataproxy.jsp"
    assert (q["startrecord"], q["endrecord"], q["perpage"], q["columnid"], q["unitid"]) == (
        "1",
        "45",
        "15",
        "1234",
        "5678",
    )


def test_hanweb_data_proxy_records_and_next_range():
    url = (
        "http://www.linzi.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15"
        "&col=1&appid=1&webid=12&path=/&columnid=1234"
    )
    listing = get_platform("hanweb").listing(url, fixture_text("hanweb_dataproxy.xml"))
    assert len(listing.reports) == 4
    assert listing.reports[3].url.endswith(
        "downfile.jsp?classid=0&filename=2401251.docx"
    )  # a download script
    assert listing.reports[2].text == "稷下街道2023年政府信息公开工作年度报告"
    (nxt,) = listing.pages
    q = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items()}
    assert (q["startrecord"], q["endrecord"], q["columnid"]) == ("46", "90", "1234")
    # the last range asks for nothing more
    last = url.replace("startrecord=1&endrecord=45", "startrecord=46&endrecord=90")
    assert get_platform("hanweb").listing(last, fixture_text("hanweb_dataproxy.xml")).pages == []


def test_generic_listing_by_words_with_department_columns_and_dates_beside_links():
    url = "http://www.tongjiang.gov.cn/xxgk/zfxxgknb/index.html"
    text = fixture_text("generic_listing.gbk.html")
    platform = detect(url, text)
    assert platform.name == "generic"
    listing = platform.listing(url, text)
    by_url = {r.url.rsplit("/", 1)[1]: r for r in listing.reports}
    assert set(by_url) == {"c1024.html", "gxj2024nb.docx", "c1030.html"}
    assert by_url["c1024.html"].date_text == "2025年01月22日"
    assert by_url["gxj2024nb.docx"].date_text == "2025/02/03"
    assert by_url["c1030.html"].date_text is None
    assert [c.text for c in listing.columns] == ["市直部门", "乡镇街道", "2023年度"]
    assert listing.pages == [
        "http://www.tongjiang.gov.cn/xxgk/zfxxgknb/index_2.html",
        "http://www.tongjiang.gov.cn/xxgk/zfxxgknb/index_5.html",
    ]


def test_shell_pages_forward_by_script_or_meta_refresh():
    assert (
        redirect_target("http://www.tongjiang.gov.cn/", fixture_text("generic_shell.html"))
        == "http://www.tongjiang.gov.cn/xxgk/zfxxgknb/index.html"
    )
    assert (
        redirect_target("http://a.gov.cn/index.html", fixture_text("generic_refresh.html"))
        == "http://a.gov.cn/zwgk/nb/index.shtml"
    )
    # a real page that happens to contain a redirect script is not a shell
    assert redirect_target(TRS_LISTING, fixture_text("trs_listing.gbk.html")) is None


def test_year_is_the_covered_year_not_the_publication_date():
    assert year_from_title("淄川区招商局2022年政府信息公开工作年度报告") == 2022
    assert year_from_title("2023年1月20日发布：区教体局2022年度政府信息公开年报") == 2022
    assert year_from_title("政府信息公开工作年度报告") is None
    assert year_from_url("http://x.gov.cn/zfxxgknb/2023/index.html") == 2023
    assert year_from_url("http://x.gov.cn/zfxxgknb/202501/t20250120_1.html") is None
