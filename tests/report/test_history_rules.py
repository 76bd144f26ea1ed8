"""Rules across two reports (the monitor runs them over stored years)."""

import random
from dataclasses import dataclass, field

from monitor.judgement.history import copy_ratio, history_findings
from testbed.synthetic import consistent_cells


@dataclass
class R:
    template: str
    year: int
    cells: dict = field(default_factory=dict)
    prose: str = ""


PROSE_2020 = (
    "2020年，我局在区委、区政府的领导下，严格按照《中华人民共和国政府信息公开条例》有关规定，以公开为常态、"
    "不公开为例外，精心组织，规范进行，有效保障了群众的知情权、参与权、监督权。全年主动公开政府信息160条。"
)


def pair(template="2021"):
    prev = R(template, 2021, consistent_cells(template, random.Random(10)), PROSE_2020)
    cur = R(
        template,
        2022,
        consistent_cells(template, random.Random(11)),
        "完全不同的内容：本年度重点推进了基层政务公开标准化规范化建设。",
    )
    for c in ("natural_person", "business", "research", "nonprofit", "legal_services", "other_org", "total"):
        cur.cells[f"s3.carried_over.{c}"] = prev.cells[f"s3.carried_forward.{c}"]
    if template == "2021":
        for item in ("regulations", "normative_docs"):
            stock = prev.cells[f"s2.{item}.in_force"] + cur.cells[f"s2.{item}.issued"]
            cur.cells[f"s2.{item}.repealed"] = min(
                cur.cells[f"s2.{item}.repealed"], stock
            )  # none repealed twice
            cur.cells[f"s2.{item}.in_force"] = (
                prev.cells[f"s2.{item}.in_force"]
                + cur.cells[f"s2.{item}.issued"]
                - cur.cells[f"s2.{item}.repealed"]
            )
    else:
        for item in ("licensing", "other_services", "penalties", "coercion", "fees"):
            cur.cells[f"s2.{item}.prior"] = prev.cells[f"s2.{item}.prior"] + prev.cells[f"s2.{item}.change"]
    return cur, prev


def test_consistent_years_give_nothing():
    for t in ("2019", "2021"):
        cur, prev = pair(t)
        assert history_findings(cur, prev) == []


def test_carry_over_mismatch():
    cur, prev = pair()
    cur.cells["s3.carried_over.natural_person"] += 2
    f = history_findings(cur, prev)
    assert [x["rule"] for x in f] == ["history.carry_over"]
    assert f[0]["cells"] == ["s3.carried_over.natural_person"]


def test_stock_mismatch_2021_and_2019():
    cur, prev = pair("2021")
    cur.cells["s2.normative_docs.in_force"] += 3
    assert [x["cells"] for x in history_findings(cur, prev)] == [["s2.normative_docs.in_force"]]
    cur, prev = pair("2019")
    cur.cells["s2.penalties.prior"] += 1
    assert [x["rule"] for x in history_findings(cur, prev)] == ["history.stock"]


def test_copy_of_last_year_with_only_numbers_changed():
    cur, prev = pair()
    cur.prose = PROSE_2020.replace("2020", "2021").replace("160", "172")
    assert copy_ratio(cur.prose, prev.prose) > 0.9
    assert "copy.previous_year" in {x["rule"] for x in history_findings(cur, prev)}
    assert copy_ratio("", prev.prose) == 0.0


def test_more_repealed_than_were_in_force_cannot_be():
    cur, prev = pair("2021")
    cur.cells["s2.normative_docs.repealed"] = (
        prev.cells["s2.normative_docs.in_force"] + cur.cells["s2.normative_docs.issued"] + 1
    )
    found = [f for f in history_findings(cur, prev) if f["rule"] == "plausibility.s2_repealed_exceeds_stock"]
    assert [f["cells"] for f in found] == [["s2.normative_docs.repealed"]] and found[0][
        "severity"
    ] == "warning"
