"""What a verdict must carry to be cited (contract, "No accusation without evidence"): one checker for every
status row, used on the sample portals and in the demo; and one comparison of status rows with the simulator's
expected ones."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PRINTED = {"page_meta", "page_text", "listing_date", "http_header", "operator"}
_SH = ZoneInfo("Asia/Shanghai")


def closes_at(due: str) -> datetime:
    return datetime.combine(date.fromisoformat(due) + timedelta(days=1), time(0), tzinfo=_SH)


def evidence_gaps(row: dict[str, Any]) -> list[str]:
    """Why a status object's verdict is not proven by its evidence ([] when it is)."""
    status, ev = row["status"], row.get("evidence") or {}
    gaps: list[str] = []
    if status == "late":
        if row["published_evidence"] in PRINTED:
            quote = (ev.get("published") or {}).get("quote")
            if not quote:
                gaps.append("late on a printed date, but the page's own words are not quoted")
            if row["days_late"] is None or row["days_late"] <= 0:
                gaps.append("late without days_late")
        elif row["published_evidence"] == "listing_absent":
            proof = ev.get("absence") or {}
            if not proof.get("complete") or datetime.fromisoformat(proof["started_at"]) < closes_at(
                row["due"]
            ):
                gaps.append("late by first sight without a complete read of the listing after the due date")
        else:
            gaps.append(f"late on evidence {row['published_evidence']!r}")
    if status == "missing":
        proof = ev.get("absence") or {}
        if not proof.get("complete"):
            gaps.append("missing without a complete read of the listing")
        elif datetime.fromisoformat(proof["started_at"]) < closes_at(row["due"]):
            gaps.append("missing on a read from before the due date")
        elif not proof.get("listing_urls"):
            gaps.append("missing, but the listing pages read are not named")
    if status == "unknown" and not (ev.get("problem") or ev.get("last_read") or row["crawl_problem"]):
        if ev.get("published") is None:
            gaps.append("unknown without the trouble behind it (or any read at all)")
    if status in ("on_time",) and row["published_evidence"] == "first_seen":
        seen = datetime.fromisoformat(row["first_seen"])
        if seen >= closes_at(row["due"]):
            gaps.append("on time by first sight after the due date")
    return gaps


def status_mismatches(rows: dict[tuple[str, int], dict[str, Any]], expected: dict) -> dict:
    """Where status rows differ from the simulator's ``Expected`` ones (status, date, its evidence, problem):
    {key: (got, want)}, empty when every expected row is as the scenario says."""
    wrong = {}
    for key, e in expected.items():
        r = rows.get(key)
        got = (r["status"], r["published"], r["published_evidence"], r["crawl_problem"]) if r else None
        want = (e.status, e.published and e.published.isoformat(), e.published_evidence, e.crawl_problem)
        if got != want:
            wrong[key] = (got, want)
    return wrong
