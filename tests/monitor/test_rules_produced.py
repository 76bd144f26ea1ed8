"""Every rule id of docs/rules.md (``domain.codes.RULES``) is produced by the production path: stored readings
and crawl facts in the database, ``gkwatch check`` (``run_check``) over them, the rule in a status row.

Each agency below is given the one defect that calls for one rule; the test fails if a rule is documented
that no check can produce (a dead rule), or if a rule's agency is not the one it fires on.
"""

from __future__ import annotations

import random
from datetime import date

from domain.codes import RULES
from monitor.status.check import run_check
from testbed.synthetic import consistent_cells
from tests.monitor.builders import make_config, portal_read, report, sync, version

REGION = "山东省/淄博市/淄川区"
AS_OF = date(2023, 6, 1)
BASE = consistent_cells("2021", random.Random(21))
PROSE = (
    "2022年，我局在区委、区政府的领导下，认真贯彻落实《中华人民共和国政府信息公开条例》，持续推进政务公开工作，"
    "主动公开各类政府信息，及时回应社会关切，规范办理依申请公开事项，切实保障人民群众的知情权、参与权和监督权。"
)
OTHER = (
    "本机关严格执行各项规定，进一步完善制度，加强队伍建设，推动工作取得新成效，全面提升服务水平和群众满意度。"
    * 2
)


def cells(**changes: int | float | None) -> dict:
    """The base year's consistent cells (no 规章: a county agency makes none), with some changed."""
    c = dict(BASE)
    for col in ("issued", "repealed", "in_force"):
        c[f"s2.regulations.{col}"] = 0
    c.update({k.replace("__", "."): v for k, v in changes.items()})
    return c


def bump(c: dict, key: str, by: int) -> dict:
    c = dict(c)
    c[key] = (c[key] or 0) + by
    return c


def test_every_documented_rule_is_produced_by_a_check(engine):
    previous = cells()
    cases: dict[str, dict] = {
        "s3.row_total": {"cells": bump(previous, "s3.granted.total", 3)},
        "s3.results_total": {
            "cells": bump(bump(previous, "s3.results_total.total", 2), "s3.carried_forward.total", -2)
        },
        "s3.balance": {
            "cells": bump(
                bump(previous, "s3.carried_forward.natural_person", 4), "s3.carried_forward.total", 4
            )
        },
        "s4.total": {"broken": True},
        "cell.not_number": {
            "cells": cells(s3__denied_inquiry__research=None),
            "notes": {"s3.denied_inquiry.research": ("not_number", "「——」")},
        },
        "cell.blank": {
            "cells": cells(s3__denied_inquiry__research=None),
            "notes": {"s3.denied_inquiry.research": ("blank", "空白")},
        },
        "cell.negative": {"cells": cells(s2__licensing__decisions=-3)},
        "cell.format": {"notes": {"s2.fees.amount": ("format", "单元格内带单位「万元」")}},
        "reading.unsure": {"cells": bump(previous, "s3.granted.total", 3), "unsure": ("s3.granted.total",)},
        "template.outdated": {"template": "2019", "cells": None},
        "template.missing_section": {"sections": "一二三四六"},
        "template.missing_row": {
            "missing": [("s3", "denied_inquiry", "表三 row 「属于行政查询事项」 not found")]
        },
        "text.table_mismatch": {
            "prose": f"本年度共收到政府信息公开申请{(previous['s3.new_received.total'] or 0) + 9}件。"
        },
        "plausibility.period": {"period": ("2022-02-01", "2022-12-31")},
        "plausibility.year_in_text": {"prose_years": [2021]},
        "plausibility.money_unit": {"cells": cells(s2__fees__amount=2_500_000.0)},
        "plausibility.regulations": {
            "cells": {**cells(), "s2.regulations.issued": 2, "s2.regulations.in_force": 2}
        },
        "plausibility.s2_published_exceeds_total": {
            "template": "2019",
            "cells": old_form_publishing_more_than_total(),
        },
    }
    history_cases = {  # against the same agency's report of 2021
        "history.carry_over": {
            "cells": bump(bump(previous, "s3.carried_over.natural_person", 1), "s3.carried_over.total", 1)
        },
        "history.stock": {"cells": bump(previous, "s2.normative_docs.in_force", 5)},
        "plausibility.s2_repealed_exceeds_stock": {},
        "copy.previous_year": {"prose": PROSE},
    }
    agencies = [
        (f"a{i}", f"机关{i}", "department", REGION) for i in range(len(cases) + len(history_cases) + 5)
    ]
    cfg = make_config(agencies, deadlines={"first_year": 2022})
    sync(engine, cfg)
    portal_read(engine, "p1", "2023-02-10 08:00", report_urls=["http://p1.example/x.html"])
    fired_by: dict[str, str] = {}
    names = iter(a[0] for a in agencies)
    for rule, spec in cases.items():
        agency = next(names)
        fired_by[rule] = agency
        spec = {"cells": cells(), "prose": OTHER, **spec}
        report(engine, agency, 2022, published=date(2023, 1, 20), versions=[version(2022, **spec)])
    for rule, spec in history_cases.items():
        agency = next(names)
        fired_by[rule] = agency
        last = cells()
        if rule == "plausibility.s2_repealed_exceeds_stock":  # more repealed this year than there were
            spec = {
                "cells": {**cells(), "s2.normative_docs.repealed": last["s2.normative_docs.in_force"] + 50}
            }
        last_prose = PROSE if rule == "copy.previous_year" else OTHER + agency
        report(
            engine,
            agency,
            2021,
            published=date(2022, 1, 20),
            versions=[version(2021, cells=last, prose=last_prose)],
        )
        spec = {"cells": carried(last, cells()), "prose": OTHER + agency + "本年", **spec}
        report(engine, agency, 2022, published=date(2023, 1, 20), versions=[version(2022, **spec)])
    # two agencies whose reports say the same thing (内容雷同)
    twin_a, twin_b = next(names), next(names)
    fired_by["copy.other_agency"] = twin_a
    for twin in (twin_a, twin_b):
        report(
            engine,
            twin,
            2022,
            published=date(2023, 1, 20),
            versions=[version(2022, cells=cells(), prose=PROSE * 3)],
        )
    # a report dated before the due date that a listing read after it did not show
    backdated = next(names)
    fired_by["history.backdated"] = backdated
    listing = "http://p1.example/list.html"
    report(engine, backdated, 2022, published=date(2023, 1, 20), first_seen="2023-02-20 09:00", listing_url=listing,
           versions=[version(2022, cells=cells(), prose=OTHER + "b")])  # fmt: skip
    # a report changed after publication
    changed = next(names)
    fired_by["history.changed"] = changed
    report(engine, changed, 2022, published=date(2023, 1, 20), versions=[
        version(2022, cells=cells(), prose=OTHER + "c", fetched_at="2023-01-21 10:00"),
        version(2022, cells=cells(), prose=OTHER + "c2", fetched_at="2023-03-02 10:00"),
    ])  # fmt: skip

    rows = {(r.agency_id, r.year): r for r in run_check(engine, cfg, as_of=AS_OF).rows}
    produced = {f["rule"] for r in rows.values() for f in r.details}
    assert produced >= set(RULES), sorted(set(RULES) - produced)
    for rule, agency in fired_by.items():
        assert rule in rows[(agency, 2022)].findings, (rule, agency, rows[(agency, 2022)].findings)
    assert rows[(fired_by["reading.unsure"], 2022)].inconsistent is False  # unsure accuses nothing
    assert rows[(fired_by["s3.row_total"], 2022)].inconsistent is True


def old_form_publishing_more_than_total() -> dict:
    """A report on the 2019 form whose 规范性文件 新公开 exceeds 对外公开总数."""
    c = consistent_cells("2019", random.Random(19))
    for col in ("made", "published", "total_published"):
        c[f"s2.regulations.{col}"] = 0
    c["s2.normative_docs.published"] = (c["s2.normative_docs.total_published"] or 0) + 4
    return c


def carried(last: dict, cur: dict) -> dict:
    """``cur`` made to carry on from ``last`` (上年结转 = last year's 结转下年度, stocks continued), its own sums kept."""
    c = dict(cur)
    for col in (
        "natural_person",
        "business",
        "research",
        "nonprofit",
        "legal_services",
        "other_org",
        "total",
    ):
        delta = last[f"s3.carried_forward.{col}"] - c[f"s3.carried_over.{col}"]
        c[f"s3.carried_over.{col}"] += delta
        c[f"s3.carried_forward.{col}"] += delta  # what came in more goes out more: the balance holds
    for item in ("regulations", "normative_docs"):
        c[f"s2.{item}.in_force"] = (
            last[f"s2.{item}.in_force"] + c[f"s2.{item}.issued"] - c[f"s2.{item}.repealed"]
        )
    return c
