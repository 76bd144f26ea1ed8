"""A finding: one thing wrong (or irregular) with a report, naming its rule and the exact cells.

Rule ids, severities and their Chinese meanings are in ``domain.codes.RULES`` (the contract's list plus
gkwatch's additions, docs/rules.md). A finding may carry ``data``: the numbers behind it (the sum and the
total, last year's figure, the other report and the similarity) — what a watchdog quotes.
"""

from __future__ import annotations

from typing import Any

from domain.codes import RULES, SEVERITY_ORDER


def finding(rule: str, cells: list[str], message: str, **data: Any) -> dict[str, Any]:
    """Build a finding in the contract's shape; the severity comes from the rule."""
    out: dict[str, Any] = {
        "rule": rule,
        "severity": RULES[rule].severity,
        "cells": list(cells),
        "message": message,
    }
    if data:
        out["data"] = data
    return out


def is_inconsistent(findings: list[dict[str, Any]]) -> bool:
    """A report "does not add up" when an error-severity finding stands (warnings never make it so:
    they ask for a look, they accuse nothing)."""
    return any(f.get("severity") == "error" for f in findings)


def sort_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), f["rule"]))
