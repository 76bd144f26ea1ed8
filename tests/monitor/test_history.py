"""History findings across stored years and agencies, as ``gkwatch check`` reports them."""

from __future__ import annotations

import random
from datetime import date

from monitor.judgement.history import COPY_THRESHOLD, Fingerprint, copy_ratio, history_findings
from monitor.judgement.history import is_copy as _is_copy
from monitor.status.check import compute_rows
from storage.db import session_scope
from testbed.synthetic import consistent_cells
from tests.monitor.builders import make_config, portal_read, report, sync, version

REGION = "山东省/淄博市/淄川区"
AGENCIES = [
    ("a1", "淄川区招商局", "department", REGION),
    ("a2", "淄川区教育局", "department", REGION),
    ("a3", "淄川区财政局", "department", REGION),
]
AS_OF = date(2023, 6, 1)


def prose(seed: int, n: int = 900) -> str:
    """Chinese-looking text, different for every seed (common characters, sentences with numbers)."""
    rng = random.Random(seed)
    common = "的在和了是为有政府信息公开工作年度报告本机关严格按照条例要求主动公开依申请办理平台建设监督保障存在问题改进情况"
    chars = [
        chr(0x4E00 + rng.randrange(6000)) if rng.random() < 0.7 else rng.choice(common) for _ in range(n)
    ]
    for i in range(40, n, 40):
        chars[i] = f"{rng.randrange(1000)}件。"
    return "".join(chars)


def mixed(a: str, b: str, share_of_a: float) -> str:
    """Sentences of ``a`` (a share of them) then ``b``: a partly copied text."""
    k = int(len(a) * share_of_a)
    return a[:k] + b[: len(a) - k]


def carried_on(prev: dict, cur: dict) -> dict:
    """``cur`` with the cells that carry over from ``prev`` made to agree (a consistent pair of years)."""
    c = cur["cells"]
    moved = {"carried_forward": 0, "new_received": 0}  # how the total column follows its parts
    for col in ("natural_person", "business", "research", "nonprofit", "legal_services", "other_org"):
        delta = prev["cells"][f"s3.carried_forward.{col}"] - c[f"s3.carried_over.{col}"]
        c[f"s3.carried_over.{col}"] += delta
        # keep this year's own balance (一 + 二 = 三 + 四): more carried over is more carried forward,
        # or fewer newly received where that cannot go below zero
        row = "carried_forward" if c[f"s3.carried_forward.{col}"] + delta >= 0 else "new_received"
        c[f"s3.{row}.{col}"] += delta if row == "carried_forward" else -delta
        moved[row] += delta if row == "carried_forward" else -delta
    c["s3.carried_over.total"] = prev["cells"]["s3.carried_forward.total"]
    for row, delta in moved.items():
        c[f"s3.{row}.total"] += delta
    if cur["template"] == prev["template"] == "2021":
        for item in ("regulations", "normative_docs"):
            c = cur["cells"]
            c[f"s2.{item}.in_force"] = (
                prev["cells"][f"s2.{item}.in_force"] + c[f"s2.{item}.issued"] - c[f"s2.{item}.repealed"]
            )
    return cur


def setup(engine):
    cfg = make_config(AGENCIES, deadlines={"first_year": 2020})
    sync(engine, cfg)
    portal_read(engine, "p1", "2021-01-02 10:00")
    return cfg


def rows(engine, cfg, as_of=AS_OF):
    with session_scope(engine) as s:
        return {(r.agency_id, r.year): r for r in compute_rows(s, cfg, as_of=as_of)}


def test_carry_over_and_stock_across_years(engine):
    cfg = setup(engine)
    prev = version(2021, seed=1, prose=prose(1))
    cur = carried_on(prev, version(2022, seed=2, prose=prose(2)))
    report(engine, "a1", 2021, published=date(2022, 1, 10), versions=[prev])
    cur["cells"]["s3.carried_over.natural_person"] += 3
    cur["cells"]["s2.regulations.in_force"] += 1
    report(engine, "a1", 2022, published=date(2023, 1, 10), versions=[cur])
    got = rows(engine, cfg)
    assert {"history.carry_over", "history.stock"} <= set(got[("a1", 2022)].findings)
    assert got[("a1", 2022)].inconsistent is True  # numbers that do not add up across years
    assert got[("a1", 2021)].findings == []  # 2020 has no report: nothing to compare


def test_copy_of_last_year_and_not_of_a_different_text(engine):
    cfg = setup(engine)
    base = prose(10)
    first = version(2021, prose=base)
    report(engine, "a1", 2021, published=date(2022, 1, 10), versions=[first])
    report(
        engine,
        "a1",
        2022,
        published=date(2023, 1, 10),
        versions=[carried_on(first, version(2022, seed=3, prose=mixed(base, prose(11), 0.8)))],
    )
    report(engine, "a2", 2021, published=date(2022, 1, 10), versions=[version(2021, prose=prose(20))])
    report(
        engine,
        "a2",
        2022,
        published=date(2023, 1, 10),
        versions=[version(2022, seed=4, prose=mixed(prose(20), prose(21), 0.2))],
    )
    got = rows(engine, cfg)
    assert "copy.previous_year" in got[("a1", 2022)].findings
    assert got[("a1", 2022)].inconsistent is False  # copying is a finding, not an arithmetic error
    assert "copy.previous_year" not in got[("a2", 2022)].findings
    with session_scope(engine) as s:  # `status --year 2022` still compares with 2021
        (only,) = [r for r in compute_rows(s, cfg, as_of=AS_OF, year=2022) if r.agency_id == "a1"]
    assert "copy.previous_year" in only.findings


def test_near_identical_reports_of_different_agencies(engine):
    cfg = setup(engine)
    shared = prose(30, n=1500)
    report(engine, "a1", 2022, published=date(2023, 1, 10), versions=[version(2022, prose=shared)])
    report(
        engine,
        "a2",
        2022,
        published=date(2023, 1, 10),
        versions=[version(2022, prose=mixed(shared, prose(31), 0.9))],
    )
    report(engine, "a3", 2022, published=date(2023, 1, 10), versions=[version(2022, prose=prose(32, n=1500))])
    got = rows(engine, cfg)
    assert "copy.other_agency" in got[("a1", 2022)].findings
    assert "copy.other_agency" in got[("a2", 2022)].findings
    assert "copy.other_agency" not in got[("a3", 2022)].findings
    assert "copy.previous_year" not in got[("a1", 2022)].findings


def test_backdated_report_is_caught_by_a_listing_seen_after_the_deadline(engine):
    cfg = setup(engine)
    listing = "http://p1.example/xxgknb/index.html"
    # dated 28 Jan (on time on paper), but the listing fetched 5 Feb did not show it; first seen 15 Feb
    portal_read(engine, "p1", "2022-02-05 09:00", url=listing, report_urls=["http://p1.example/other.html"])
    report(
        engine, "a1", 2021, published=date(2022, 1, 28), first_seen="2022-02-15 10:00", listing_url=listing
    )
    # the same story for a2, but the listing of 5 Feb did show it: nothing to say
    a2_url = "http://p1.example/a2/2021.html"
    portal_read(engine, "p1", "2022-02-05 09:00", url=listing + "?a2", report_urls=[a2_url])
    report(
        engine,
        "a2",
        2021,
        published=date(2022, 1, 28),
        first_seen="2022-02-15 10:00",
        url=a2_url,
        listing_url=listing + "?a2",
    )
    # a3: seen before the deadline: never suspect
    report(
        engine, "a3", 2021, published=date(2022, 1, 28), first_seen="2022-01-29 10:00", listing_url=listing
    )
    got = rows(engine, cfg)
    assert got[("a1", 2021)].status == "on_time"  # judged by the portal's date …
    assert "history.backdated" in got[("a1", 2021)].findings  # … with the evidence against it
    assert "history.backdated" not in got[("a2", 2021)].findings
    assert "history.backdated" not in got[("a3", 2021)].findings
    (evidence,) = [f for f in got[("a1", 2021)].details if f["rule"] == "history.backdated"]
    assert evidence["data"]["listing_url"] == listing
    assert listing in evidence["message"] and "2022-02-05 09:00" in evidence["message"]  # the snapshot cited
    # as of a day before that snapshot existed, there is no evidence yet
    assert "history.backdated" not in rows(engine, cfg, as_of=date(2022, 2, 4))[("a1", 2021)].findings


def test_report_changed_after_publication(engine):
    cfg = setup(engine)
    v1 = version(2021, seed=1, fetched_at="2022-01-20 10:00")
    v2 = version(2021, seed=1, fetched_at="2022-03-02 10:00")
    report(engine, "a1", 2021, published=date(2022, 1, 20), versions=[v1, v2])
    report(engine, "a2", 2021, published=date(2022, 1, 20))
    got = rows(engine, cfg)
    assert "history.changed" in got[("a1", 2021)].findings
    assert "history.changed" not in got[("a2", 2021)].findings
    assert "history.changed" not in rows(engine, cfg, as_of=date(2022, 3, 1))[("a1", 2021)].findings


def test_sampled_copy_decision_matches_the_exact_rule():
    """The fingerprint shortcut decides exactly like ``copy_ratio`` over a spread of overlaps and lengths."""
    rng = random.Random(5)
    disagreements = []
    for i in range(120):
        n = rng.choice([60, 300, 900, 2500])
        a, b = prose(1000 + i, n), prose(2000 + i, n)
        text = mixed(a, b, rng.random())
        exact = copy_ratio(text, a) > COPY_THRESHOLD
        fast = _is_copy(Fingerprint.of(text), Fingerprint.of(a), text, a) is not None
        if exact != fast:
            disagreements.append((n, copy_ratio(text, a)))
    assert disagreements == []


def test_fast_normalization_equals_plain_nfkc():
    """``normalize_prose`` skips NFKC over CJK runs for speed; the result must be what NFKC-then-filter gives."""
    import unicodedata

    from monitor.judgement.history import _DIGITS, _NOISE, normalize_prose

    def plain(text: str) -> str:
        return _DIGITS.sub("0", _NOISE.sub("", unicodedata.normalize("NFKC", text)))

    rng = random.Random(9)
    odd = "，。《》、；：１２３ＡＢｂ 　abc123⼀⼆①²ﬁ\u00a0−-…（）\n“”㈠⑴"
    for _ in range(2000):
        text = "".join(
            chr(0x4E00 + rng.randrange(8000)) if rng.random() < 0.6 else rng.choice(odd)
            for _ in range(rng.randrange(0, 120))
        )
        assert normalize_prose(text) == plain(text), text


def test_boilerplate_alone_does_not_make_candidates():
    """Every report opens with the same sentence: that alone never makes two agencies' reports a pair."""
    from monitor.judgement.history import Fingerprint, candidate_pairs

    opening = (
        "根据《中华人民共和国政府信息公开条例》和上级有关要求，现公布本机关政府信息公开工作年度报告。" * 3
    )
    items = [((f"a{i}", 2022), Fingerprint.of(opening + prose(500 + i))) for i in range(300)]
    copied = ("copier", 2022), Fingerprint.of(opening + mixed(prose(500), prose(999), 0.9))
    pairs = candidate_pairs([(k, fp.sketch) for k, fp in [*items, copied]])
    assert (("a0", 2022), ("copier", 2022)) in pairs
    assert len(pairs) < 30  # of 45,150 possible pairs: a few chance candidates, confirmed or dropped later


def test_history_findings_carry_their_messages_and_numbers(engine):
    cfg = setup(engine)
    v1 = version(2021, seed=1, fetched_at="2022-01-20 10:00")
    v2 = version(2021, seed=1, fetched_at="2022-03-02 10:00")
    report(engine, "a1", 2021, published=date(2022, 1, 20), versions=[v1, v2])
    (changed,) = [f for f in rows(engine, cfg)[("a1", 2021)].details if f["rule"] == "history.changed"]
    assert changed["severity"] == "info" and changed["data"]["versions"] == 2
    assert "2022-01-20 10:00" in changed["message"] and "2022-03-02 10:00" in changed["message"]


def test_a_cross_year_mismatch_on_an_unsure_cell_accuses_nothing():
    """A carry-over that fails only because last year's cell was misread is ``reading.unsure``, a warning."""
    rng = random.Random(3)
    prev = _Numbers("2021", 2021, consistent_cells("2021", rng))
    cur = _Numbers("2021", 2022, consistent_cells("2021", rng))
    cur.cells["s3.carried_over.total"] = prev.cells["s3.carried_forward.total"] + 5
    sure = [f["rule"] for f in history_findings(cur, prev) if "s3.carried_over.total" in f["cells"]]
    assert sure == ["history.carry_over"]
    prev.unsure = frozenset({"s3.carried_forward.total"})
    unsure = [f for f in history_findings(cur, prev) if "s3.carried_over.total" in f["cells"]]
    assert [(f["rule"], f["severity"], f["data"]["rule_of"]) for f in unsure] == [
        ("reading.unsure", "warning", "history.carry_over")
    ]


class _Numbers:
    def __init__(self, template: str, year: int, cells: dict) -> None:
        self.template, self.year, self.cells, self.prose = template, year, cells, None
        self.unsure: frozenset[str] = frozenset()
