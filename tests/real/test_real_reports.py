"""Every real report of ``../shared/real-reports`` and ``../shared/samples``, read cell for cell.

The expected cells were checked by hand against each document (the HTML tables cell by cell, the PDFs on
their rendered pages, the markdown line by line): where the document prints a figure, it is here as
printed. Then the test recomputes the document's own sums from those figures: the sums that fail are the
report's own errors (listed in ``REAL_ERRORS`` with their numbers) and must be found as errors — and no
other error may be. The prose's own figures are compared with the table as a second witness.

What the reader had to work for (see tests/real/test_alignment.py for each on its own):

* 平潭 2021 — 表三 on an 11-column Word grid: every figure one column left by position; realigned by the
  header and confirmed by the arithmetic (sure).
* 上海 2020 — 表二's header cells 1,1,2,1 over data cells 1,2,1,1: 本年增/减 read under its merged header.
* 洪泽 2023/2024 — ``2.其他法律行政止公开`` (法规禁 dropped): placed by a fuzzy label between its neighbours,
  sure because the label is unambiguous and the table adds up.
* 上海科委 2024 (markdown) — pipe tables; ten rows of figures whose labels were detached: placed by the
  template's row order (not sure), the first two rows realigned past a trailing empty cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from crawler.reading.read import read_bytes
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, get_template
from monitor.judgement import judge
from tests.real.conftest import read_real


@dataclass(frozen=True)
class Expected:
    template: str
    year: int
    agency: str
    title: str
    s2: dict[str, tuple]
    s3: dict[str, tuple]  # rows not listed print seven zeros
    s4: tuple[tuple, tuple, tuple]
    missing_rows: tuple[str, ...] = ()  # 表三 rows the document does not print at all
    blank: frozenset[str] = field(default_factory=frozenset)  # cells printed empty


EXPECTED: dict[str, Expected] = {
    "real_hongze_district_2023.pdf": Expected(
        template="2021",
        year=2023,
        agency="洪泽区人民政府",
        title="洪泽区人民政府2023年政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (0, 5, 5),
            "licensing": (550,),
            "penalties": (4119,),
            "coercion": (195,),
            "fees": (7730.28,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (21, 0, 0, 0, 0, 0, 21),
            "partially_granted": (4, 0, 0, 0, 0, 0, 4),
            "denied_state_secret": (1, 0, 0, 0, 0, 0, 1),
            "denied_process_info": (1, 0, 0, 0, 0, 0, 1),
            "denied_enforcement_files": (1, 0, 0, 0, 0, 0, 1),
            "unavailable_not_held": (10, 0, 0, 0, 0, 0, 10),
            "unavailable_needs_creation": (3, 0, 0, 0, 0, 0, 3),
            "rejected_petition": (1, 0, 0, 0, 0, 0, 1),
            "results_total": (21, 0, 0, 0, 0, 0, 21),
        },
        missing_rows=("other_no_correction", "other_no_fee", "other_other"),
        s4=((10, 1, 0, 0, 0), (0, 0, 0, 0, 0), (5, 0, 0, 0, 0)),
    ),
    "real_hongze_district_2024.pdf": Expected(
        template="2021",
        year=2024,
        agency="淮安市洪泽区人民政府",
        title="淮安市洪泽区人民政府2024年政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (3, 0, 8),
            "licensing": (9487,),
            "penalties": (2776,),
            "coercion": (84,),
            "fees": (7545.0,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (95, 0, 0, 0, 0, 0, 95),
            "granted": (50, 0, 0, 0, 0, 0, 50),
            "partially_granted": (9, 0, 0, 0, 0, 0, 9),
            "denied_three_safeties": (1, 0, 0, 0, 0, 0, 1),
            "denied_process_info": (1, 0, 0, 0, 0, 0, 1),
            "denied_enforcement_files": (1, 0, 0, 0, 0, 0, 1),
            "unavailable_not_held": (31, 0, 0, 0, 0, 0, 31),
            "unavailable_needs_creation": (1, 0, 0, 0, 0, 0, 1),
            "rejected_petition": (1, 0, 0, 0, 0, 0, 1),
            "results_total": (95, 0, 0, 0, 0, 0, 95),
        },
        missing_rows=("other_no_correction", "other_no_fee", "other_other"),
        s4=((1, 1, 0, 0, 2), (1, 0, 0, 0, 1), (2, 0, 1, 0, 3)),
    ),
    "real_pingtan_2019.html": Expected(
        template="2019",
        year=2019,
        agency="平潭综合实验区",
        title="平潭综合实验区2019年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (89, 89, 89),
            "licensing": (396, 0, 181),
            "other_services": (10, 0, 153),
            "penalties": (2648, 0, 430),
            "coercion": (126, 0, 25),
            "fees": (35, 0),
            "procurement": (135, 7539.443252),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (23, 0, 0, 0, 0, 0, 23),
            "granted": (7, 0, 0, 0, 0, 0, 7),
            "partially_granted": (1, 0, 0, 0, 0, 0, 1),
            "unavailable_not_held": (7, 0, 0, 0, 0, 0, 7),
            "unavailable_unclear": (5, 0, 0, 0, 0, 0, 5),
            "rejected_duplicate": (3, 0, 0, 0, 0, 0, 3),
            "results_total": (23, 0, 0, 0, 0, 0, 23),
        },
        s4=((0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (0, 0, 0, 0, 0)),
    ),
    "real_pingtan_2020.html": Expected(
        template="2019",
        year=2020,
        agency="平潭综合实验区",
        title="平潭综合实验区2020年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 7),
            "normative_docs": (77, 77, 166),
            "licensing": (396, 442, 278),
            "other_services": (10, 7, 105),
            "penalties": (2648, -18, 538),
            "coercion": (126, 26, 29),
            "fees": (35, -15),
            "procurement": (395, 7380.28959),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (20, 0, 0, 0, 0, 1, 21),
            "granted": (6, 0, 0, 0, 0, 1, 7),
            "partially_granted": (6, 0, 0, 0, 0, 0, 6),
            "unavailable_not_held": (4, 0, 0, 0, 0, 0, 4),
            "unavailable_unclear": (3, 0, 0, 0, 0, 0, 3),
            "rejected_duplicate": (3, 0, 0, 0, 0, 0, 3),
            "other": (4, 0, 0, 0, 0, 0, 4),
            "results_total": (20, 0, 0, 0, 0, 1, 21),
        },
        s4=((0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (0, 0, 0, 0, 0)),
    ),
    "real_pingtan_2021.html": Expected(
        template="2021",
        year=2021,
        agency="平潭综合实验区",
        title="平潭综合实验区2021年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (69, 3, 665),
            "licensing": (2293,),
            "penalties": (1282,),
            "coercion": (42,),
            "fees": (24252.311082,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (64, 0, 0, 2, 0, 4, 70),
            "granted": (27, 0, 0, 2, 0, 1, 30),
            "partially_granted": (5, 0, 0, 0, 0, 0, 5),
            "denied_internal_affairs": (1, 0, 0, 0, 0, 0, 1),
            "denied_enforcement_files": (6, 0, 0, 0, 0, 0, 6),
            "denied_inquiry": (1, 0, 0, 0, 0, 0, 1),
            "unavailable_not_held": (22, 0, 0, 0, 0, 3, 25),
            "other_other": (1, 0, 0, 0, 0, 0, 1),
            "results_total": (63, 0, 0, 2, 0, 4, 69),
            "carried_forward": (1, 0, 0, 0, 0, 0, 1),
        },
        s4=((1, 0, 2, 0, 3), (12, 0, 0, 0, 12), (0, 0, 0, 0, 0)),
    ),
    "real_pingtan_2022.html": Expected(
        template="2021",
        year=2022,
        agency="平潭综合实验区",
        title="平潭综合实验区2022年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (88, 55, 698),
            "licensing": (10690,),
            "penalties": (2113,),
            "coercion": (0,),
            "fees": (9116.36,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (71, 3, 0, 0, 0, 0, 74),
            "carried_over": (1, 0, 0, 0, 0, 0, 1),
            "granted": (21, 0, 0, 0, 0, 0, 21),
            "partially_granted": (8, 1, 0, 0, 0, 0, 9),
            "denied_internal_affairs": (1, 0, 0, 0, 0, 0, 1),
            "denied_process_info": (2, 0, 0, 0, 0, 0, 2),
            "denied_enforcement_files": (1, 0, 0, 0, 0, 0, 1),
            "unavailable_not_held": (37, 0, 0, 0, 0, 0, 37),
            "other_no_correction": (2, 0, 0, 0, 0, 0, 2),
            "other_other": (0, 2, 0, 0, 0, 0, 2),
            "results_total": (72, 3, 0, 0, 0, 0, 75),
        },
        s4=((0, 1, 1, 0, 2), (1, 0, 0, 0, 1), (0, 0, 0, 0, 0)),
    ),
    "real_pingtan_2023.html": Expected(
        template="2021",
        year=2023,
        agency="平潭综合实验区",
        title="平潭综合实验区2023年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (77, 132, 470),
            "licensing": (2629,),
            "penalties": (1330,),
            "coercion": (54,),
            "fees": (5949.088667,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (80, 1, 0, 0, 0, 0, 81),
            "granted": (22, 0, 0, 0, 0, 0, 22),
            "partially_granted": (19, 1, 0, 0, 0, 0, 20),
            "denied_third_party": (1, 0, 0, 0, 0, 0, 1),
            "denied_process_info": (1, 0, 0, 0, 0, 0, 1),
            "denied_enforcement_files": (1, 0, 0, 0, 0, 0, 1),
            "denied_inquiry": (2, 0, 0, 0, 0, 0, 2),
            "unavailable_not_held": (31, 0, 0, 0, 0, 0, 31),
            "rejected_duplicate": (1, 0, 0, 0, 0, 0, 1),
            "other_no_correction": (1, 0, 0, 0, 0, 0, 1),
            "other_other": (1, 0, 0, 0, 0, 0, 1),
            "results_total": (80, 1, 0, 0, 0, 0, 81),
        },
        s4=((1, 1, 0, 0, 2), (4, 0, 0, 1, 5), (1, 0, 1, 0, 2)),
    ),
    "real_pingtan_2024.html": Expected(
        template="2021",
        year=2024,
        agency="平潭综合实验区",
        title="平潭综合实验区2024年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (62, 33, 440),
            "licensing": (4529,),
            "penalties": (1100,),
            "coercion": (65,),
            "fees": (18651.06,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (217, 1, 0, 0, 0, 0, 218),
            "granted": (71, 0, 0, 0, 0, 0, 71),
            "partially_granted": (29, 0, 0, 0, 0, 0, 29),
            "denied_state_secret": (4, 0, 0, 0, 0, 0, 4),
            "denied_third_party": (3, 0, 0, 0, 0, 0, 3),
            "denied_internal_affairs": (32, 0, 0, 0, 0, 0, 32),
            "unavailable_not_held": (75, 0, 0, 0, 0, 0, 75),
            "rejected_duplicate": (1, 0, 0, 0, 0, 0, 1),
            "other_no_correction": (1, 0, 0, 0, 0, 0, 1),
            "other_other": (1, 1, 0, 0, 0, 0, 2),
            "results_total": (217, 1, 0, 0, 0, 0, 218),
        },
        s4=((2, 1, 3, 1, 7), (0, 0, 0, 0, 0), (13, 2, 4, 0, 19)),
    ),
    "real_pingtan_2025.html": Expected(
        template="2021",
        year=2025,
        agency="平潭综合实验区",
        title="平潭综合实验区2025年度政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (58, 45, 546),
            "licensing": (2418,),
            "penalties": (644,),
            "coercion": (64,),
            "fees": (4166.241619,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (151, 3, 0, 0, 0, 0, 154),
            "granted": (33, 0, 0, 0, 0, 0, 33),
            "partially_granted": (38, 0, 0, 0, 0, 0, 38),
            "denied_internal_affairs": (3, 0, 0, 0, 0, 0, 3),
            "denied_process_info": (2, 0, 0, 0, 0, 0, 2),
            "denied_enforcement_files": (3, 0, 0, 0, 0, 0, 3),
            "denied_inquiry": (3, 0, 0, 0, 0, 0, 3),
            "unavailable_not_held": (49, 1, 0, 0, 0, 0, 50),
            "unavailable_needs_creation": (3, 0, 0, 0, 0, 0, 3),
            "rejected_petition": (2, 0, 0, 0, 0, 0, 2),
            "other_no_correction": (8, 0, 0, 0, 0, 0, 8),
            "other_no_fee": (2, 0, 0, 0, 0, 0, 2),
            "other_other": (1, 0, 0, 0, 0, 0, 1),
            "results_total": (147, 1, 0, 0, 0, 0, 148),
            "carried_forward": (4, 2, 0, 0, 0, 0, 6),
        },
        s4=((25, 3, 8, 0, 36), (3, 3, 0, 0, 6), (3, 0, 0, 0, 3)),
    ),
    "real_shanghai_city_2020.html": Expected(
        template="2019",
        year=2020,
        agency="上海市",
        title="2020年上海市政府信息公开工作年度报告",
        s2={
            "regulations": (12, 12, 287),
            "normative_docs": (554, 554, 2804),
            "licensing": (893, -183, 12854581),
            "other_services": (16334, 5174, 77300440),
            "penalties": (4309, 3, 1910752),
            "coercion": (261, 0, 304215),
            "fees": (49, -1),
            "procurement": (47, 2722529.0916),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (26954, 1718, 13, 60, 144, 237, 29130),
            "carried_over": (1327, 69, 0, 0, 3, 1, 1400),
            "granted": (10544, 514, 4, 16, 92, 50, 11220),
            "partially_granted": (532, 38, 1, 0, 4, 1, 576),
            "denied_state_secret": (58, 0, 0, 0, 0, 2, 60),
            "denied_prohibited_by_law": (87, 3, 0, 0, 0, 1, 91),
            "denied_three_safeties": (21, 0, 0, 0, 0, 0, 21),
            "denied_third_party": (135, 7, 0, 0, 0, 2, 144),
            "denied_internal_affairs": (178, 3, 0, 0, 0, 2, 183),
            "denied_process_info": (166, 6, 0, 1, 0, 0, 173),
            "denied_enforcement_files": (43, 1, 0, 1, 0, 2, 47),
            "denied_inquiry": (336, 22, 0, 0, 5, 13, 376),
            "unavailable_not_held": (7442, 561, 3, 10, 34, 38, 8088),
            "unavailable_needs_creation": (2025, 140, 2, 8, 3, 13, 2191),
            "unavailable_unclear": (1184, 90, 2, 0, 1, 27, 1304),
            "rejected_petition": (387, 9, 0, 0, 1, 1, 398),
            "rejected_duplicate": (445, 29, 0, 1, 1, 1, 477),
            "rejected_publication": (1, 1, 0, 0, 0, 0, 2),
            "rejected_excessive": (148, 0, 0, 0, 0, 0, 148),
            "rejected_confirmation": (2, 0, 0, 0, 0, 0, 2),
            "other": (2578, 276, 0, 1, 8, 42, 2905),
            "results_total": (26312, 1700, 12, 38, 149, 195, 28406),
            "carried_forward": (1902, 159, 0, 20, 0, 43, 2124),
        },
        s4=((637, 42, 66, 68, 813), (316, 21, 80, 25, 442), (226, 2, 42, 19, 289)),
    ),
    # 四、结转下年度继续办理 prints no 总计 (the prose says 1 件).
    "real_shanghai_kewei_2024.md": Expected(
        template="2021",
        year=2024,
        agency="上海市科委",
        title="2024年上海市科委政府信息公开工作年度报告",
        s2={
            "regulations": (0, 0, 0),
            "normative_docs": (13, 0, 55),
            "licensing": (97,),
            "penalties": (0,),
            "coercion": (0,),
            "fees": (0.0,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (32, 2, 0, 0, 0, 0, 34),
            "carried_over": (2, 0, 0, 0, 0, 0, 2),
            "granted": (9, 0, 0, 0, 0, 0, 9),
            "denied_internal_affairs": (1, 0, 0, 0, 0, 0, 1),
            "denied_process_info": (1, 0, 0, 0, 0, 0, 1),
            "unavailable_not_held": (4, 0, 0, 0, 0, 0, 4),
            "unavailable_needs_creation": (6, 0, 0, 0, 0, 0, 6),
            "other_no_correction": (8, 2, 0, 0, 0, 0, 10),
            "other_other": (4, 0, 0, 0, 0, 0, 4),
            "results_total": (33, 2, 0, 0, 0, 0, 35),
            "carried_forward": (1, 0, 0, 0, 0, 0, None),
        },
        blank=frozenset({"s3.carried_forward.total"}),
        s4=((1, 0, 0, 0, 1), (0, 0, 0, 0, 0), (0, 0, 0, 0, 0)),
    ),
    "huaian_city_2024.pdf": Expected(
        template="2021",
        year=2024,
        agency="淮安市人民政府",
        title="淮安市人民政府2024年政府信息公开工作年度报告",
        s2={
            "regulations": (1, 0, 11),
            "normative_docs": (8, 26, 66),
            "licensing": (447228,),
            "penalties": (3985758,),
            "coercion": (88283,),
            "fees": (96171.6,),
        },
        s3={  # rows not listed print seven zeros
            "new_received": (3001, 53, 0, 0, 61, 4, 3119),
            "carried_over": (34, 0, 0, 0, 0, 0, 34),
            "granted": (1288, 21, 0, 0, 50, 3, 1362),
            "partially_granted": (447, 7, 0, 0, 0, 0, 454),
            "denied_state_secret": (2, 0, 0, 0, 0, 0, 2),
            "denied_prohibited_by_law": (30, 1, 0, 0, 0, 0, 31),
            "denied_three_safeties": (5, 0, 0, 0, 0, 0, 5),
            "denied_third_party": (6, 0, 0, 0, 0, 0, 6),
            "denied_internal_affairs": (7, 1, 0, 0, 0, 0, 8),
            "denied_process_info": (12, 0, 0, 0, 0, 0, 12),
            "denied_enforcement_files": (9, 0, 0, 0, 0, 0, 9),
            "denied_inquiry": (105, 0, 0, 0, 0, 0, 105),
            "unavailable_not_held": (746, 12, 0, 0, 10, 1, 769),
            "unavailable_needs_creation": (11, 0, 0, 0, 0, 0, 11),
            "unavailable_unclear": (1, 0, 0, 0, 0, 0, 1),
            "rejected_petition": (56, 6, 0, 0, 0, 0, 62),
            "rejected_duplicate": (25, 0, 0, 0, 0, 0, 25),
            "rejected_confirmation": (1, 0, 0, 0, 0, 0, 1),
            "other_no_correction": (67, 3, 0, 0, 1, 0, 71),
            "other_no_fee": (6, 0, 0, 0, 0, 0, 6),
            "other_other": (108, 2, 0, 0, 0, 0, 110),
            "results_total": (2932, 53, 0, 0, 61, 4, 3050),
            "carried_forward": (103, 0, 0, 0, 0, 0, 103),
        },
        s4=((72, 64, 178, 37, 351), (13, 4, 8, 1, 26), (12, 1, 1, 6, 20)),
    ),
}

# The errors the reports' own tables contain: (rule, the result cell, printed total, sum of its terms).
REAL_ERRORS: dict[str, set[tuple[str, str, float, float]]] = {
    # 表四: 行政复议 10 维持 + 1 纠正 printed with 总计 0; 复议后起诉 5 维持 with 总计 0.
    "real_hongze_district_2023.pdf": {
        ("s4.total", "s4.review.total", 0, 11),
        ("s4.total", "s4.litigation_after_review.total", 0, 5),
    },
    # （七）总计 20 自然人 / 21 in all, but （一）6 +（二）6 + 不掌握 4 + 不明确 3 + 重复 3 +（六）4 = 26 / 27.
    "real_pingtan_2020.html": {
        ("s3.results_total", "s3.results_total.natural_person", 20, 26),
        ("s3.results_total", "s3.results_total.total", 21, 27),
    },
    # The city-wide aggregate: 一 本年新收 总计 29130 over applicant columns summing to 29126, and the stated
    # balance 一 + 二 = （七）+ 四 broken in five columns (it holds in 总计: 29130 + 1400 = 28406 + 2124).
    "real_shanghai_city_2020.html": {
        ("s3.row_total", "s3.new_received.total", 29130, 29126),
        ("s3.balance", "s3.new_received.natural_person", 28281, 28214),
        ("s3.balance", "s3.new_received.business", 1787, 1859),
        ("s3.balance", "s3.new_received.research", 13, 12),
        ("s3.balance", "s3.new_received.nonprofit", 60, 58),
        ("s3.balance", "s3.new_received.legal_services", 147, 149),
    },
}

# What the prose says, against the table: (cell keys summed, the figure the prose prints).
PROSE: dict[str, list[tuple[tuple[str, ...], int]]] = {
    # 本年度全区共收到70件申请，及时依法依规办结69件，1件结转下年度继续办理。
    "real_pingtan_2021.html": [
        (("s3.new_received.total",), 70),
        (("s3.results_total.total",), 69),
        (("s3.carried_forward.total",), 1),
    ],
    # 共计81件，涉及自然人80件、商业企业1件 … 予以公开及部分公开42件 … 不予公开5件 … 无法提供31件 … 不予处理1件 …
    # 其他处理2件 … 行政复议案件2件、行政诉讼案件7件。
    "real_pingtan_2023.html": [
        (("s3.new_received.total",), 81),
        (("s3.new_received.natural_person",), 80),
        (("s3.new_received.business",), 1),
        (("s3.granted.total", "s3.partially_granted.total"), 42),
        (
            tuple(
                f"s3.{r}.total"
                for r in (
                    "denied_third_party",
                    "denied_process_info",
                    "denied_enforcement_files",
                    "denied_inquiry",
                )
            ),
            5,
        ),
        (("s3.unavailable_not_held.total",), 31),
        (("s3.rejected_duplicate.total",), 1),
        (("s3.other_no_correction.total", "s3.other_other.total"), 2),
        (("s4.review.total",), 2),
        (("s4.litigation_direct.total", "s4.litigation_after_review.total"), 7),
    ],
    "real_pingtan_2024.html": [(("s3.results_total.total",), 218)],  # 全年办理政府信息公开申请218件
    # 共收到政府信息公开申请154件，共办结148件，结转至2026年6件。
    "real_pingtan_2025.html": [
        (("s3.new_received.total",), 154),
        (("s3.results_total.total",), 148),
        (("s3.carried_forward.total",), 6),
    ],
    "real_pingtan_2020.html": [(("s3.new_received.total",), 21)],  # 共受理政府信息公开申请21件
    "real_hongze_district_2023.pdf": [(("s3.new_received.total",), 21)],  # 受理政府信息公开申请 21 件
    # 接收 29130件 … 答复28406件（含上年度结转申请1400件，另有2124件 … 顺延到下年度答复）… 行政复议813件，其中，
    # 结果纠正42件 … 未经复议直接起诉442件，复议后起诉289件。
    "real_shanghai_city_2020.html": [
        (("s3.new_received.total",), 29130),
        (("s3.results_total.total",), 28406),
        (("s3.carried_over.total",), 1400),
        (("s3.carried_forward.total",), 2124),
        (("s4.review.total",), 813),
        (("s4.review.corrected",), 42),
        (("s4.litigation_direct.total",), 442),
        (("s4.litigation_after_review.total",), 289),
    ],
    # 全年收到 34 件，上年结转 2 件 … 同意公开 9 件，部分公开 0 件，不予公开 2 件，无法提供 10 件，不予处理 0 件，
    # 其他处理 14 件，转下一年度 1 件；行政复议 1 件 … 未被纠错。
    "real_shanghai_kewei_2024.md": [
        (("s3.new_received.total",), 34),
        (("s3.carried_over.total",), 2),
        (("s3.granted.total",), 9),
        (("s3.partially_granted.total",), 0),
        (
            tuple(
                f"s3.{r}.total"
                for r in (
                    "denied_state_secret",
                    "denied_prohibited_by_law",
                    "denied_three_safeties",
                    "denied_third_party",
                    "denied_internal_affairs",
                    "denied_process_info",
                    "denied_enforcement_files",
                    "denied_inquiry",
                )
            ),
            2,
        ),
        (
            (
                "s3.unavailable_not_held.total",
                "s3.unavailable_needs_creation.total",
                "s3.unavailable_unclear.total",
            ),
            10,
        ),
        (
            tuple(
                f"s3.{r}.total"
                for r in (
                    "rejected_petition",
                    "rejected_duplicate",
                    "rejected_publication",
                    "rejected_excessive",
                    "rejected_confirmation",
                )
            ),
            0,
        ),
        (("s3.other_no_correction.total", "s3.other_no_fee.total", "s3.other_other.total"), 14),
        (("s3.carried_forward.natural_person",), 1),
        (("s4.review.total",), 1),
        (("s4.review.corrected",), 0),
    ],
}


def _expected_cells(name: str) -> dict[str, int | float | None]:
    e = EXPECTED[name]
    t = get_template(e.template)
    cells: dict[str, int | float | None] = {}
    for item in t.s2:
        for col, v in zip(item.columns, e.s2[item.key], strict=True):
            cells[f"s2.{item.key}.{col.key}"] = v
    for row in t.s3:
        values = (None,) * 7 if row.key in e.missing_rows else e.s3.get(row.key, (0,) * 7)
        for col, v in zip(S3_COLUMNS, values, strict=True):
            cells[f"s3.{row.key}.{col.key}"] = v
    for g, values in zip(S4_GROUPS, e.s4, strict=True):
        for col, v in zip(S4_COLUMNS, values, strict=True):
            cells[f"s4.{g.key}.{col.key}"] = v
    return cells


def _failing_sums(template: str, cells: dict) -> set[tuple[str, str, float, float]]:
    """The document's own sums recomputed from the expected figures (independently of the judgement code)."""
    t = get_template(template)
    out = set()

    def check(rule: str, result: str, terms: list[str], left: list[str] | None = None) -> None:
        vals = [cells[k] for k in terms + (left or [result])]
        if None in vals:
            return
        total = sum(cells[k] for k in left) if left else cells[result]
        s = sum(cells[k] for k in terms)
        if abs(total - s) > 1e-6:
            out.add((rule, result, total, s))

    for row in t.s3:
        check("s3.row_total", f"s3.{row.key}.total", [f"s3.{row.key}.{c.key}" for c in S3_COLUMNS[:-1]])
    for c in S3_COLUMNS:
        check(
            "s3.results_total",
            f"s3.results_total.{c.key}",
            [f"s3.{r.key}.{c.key}" for r in t.s3_outcome_rows],
        )
        check(
            "s3.balance",
            f"s3.new_received.{c.key}",
            [f"s3.results_total.{c.key}", f"s3.carried_forward.{c.key}"],
            left=[f"s3.new_received.{c.key}", f"s3.carried_over.{c.key}"],
        )
    for g in S4_GROUPS:
        check("s4.total", f"s4.{g.key}.total", [f"s4.{g.key}.{c.key}" for c in S4_COLUMNS[:-1]])
    return out


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def report(request):
    name = request.param
    reading = read_bytes(read_real(name), name)
    return name, reading, judge(reading)


def test_every_cell_as_printed(report):
    name, reading, _ = report
    e = EXPECTED[name]
    assert reading.error is None
    assert (reading.template, reading.year, reading.agency, reading.title) == (
        e.template,
        e.year,
        e.agency,
        e.title,
    )
    expected = _expected_cells(name)
    assert reading.values == expected
    assert {k for k, c in reading.cells.items() if c.note == "blank"} == e.blank
    assert {m[1] for m in reading.missing if m[0] == "s3"} == set(e.missing_rows)


def test_the_reports_own_errors_are_found_and_no_other(report):
    name, reading, findings = report
    e = EXPECTED[name]
    recomputed = _failing_sums(e.template, _expected_cells(name))
    assert recomputed == REAL_ERRORS.get(name, set()), (
        "the expected figures and the documented errors disagree"
    )
    errors = [f for f in findings if f["severity"] == "error"]
    found = set()
    for f in errors:
        d = f["data"]
        numbers = (d["left"], d["right"]) if f["rule"] == "s3.balance" else (d["total"], d["sum"])
        found.add((f["rule"], f["cells"][0] if f["rule"] == "s3.balance" else f["cells"][-1], *numbers))
    assert found == REAL_ERRORS.get(name, set())
    assert not [f for f in findings if f["rule"] == "reading.unsure"], (
        "every sum that fails rests on sure cells"
    )


def test_prose_agrees_with_the_table(report):
    name, reading, _ = report
    for keys, figure in PROSE.get(name, []):
        assert sum(reading.values[k] for k in keys) == figure, keys


def test_misreads_announce_themselves(report):
    """Cells placed by the template's order are unsure; everything else these reports print is read sure."""
    name, reading, _ = report
    unsure = {k.split(".")[1] for k in reading.unsure}
    if name == "real_shanghai_kewei_2024.md":
        assert unsure == {
            "partially_granted",
            "denied_prohibited_by_law",
            "denied_internal_affairs",
            "unavailable_not_held",
            "unavailable_needs_creation",
            "unavailable_unclear",
            "rejected_excessive",
            "rejected_confirmation",
            "other_no_correction",
            "other_no_fee",
        }
        assert {c.how for k, c in reading.cells.items() if k.split(".")[1] in unsure} == {"order"}
        assert any("模板行序" in n for n in reading.notes)
    else:
        assert unsure == set()
