"""Consistent report tables from a random source: for property tests, benchmarks and the sample portals.

Every arithmetic rule of domain.md holds in what ``consistent_cells`` returns, so that a test can break
exactly one cell and expect exactly the rules that cell takes part in.
"""

from __future__ import annotations

import random

from domain.template import S3_APPLICANT_COLUMNS, S4_COLUMNS, S4_GROUPS, get_template

Value = int | float | None


def consistent_cells(template: str, rng: random.Random, *, scale: int = 20) -> dict[str, Value]:
    """Every cell of ``template``, adding up. ``scale`` bounds the counts (larger: bigger agencies)."""
    t = get_template(template)
    cells: dict[str, Value] = {}

    for item in t.s2:
        for col in item.columns:
            key = f"s2.{item.key}.{col.key}"
            if col.money:
                cells[key] = round(rng.uniform(0, scale * 10), 1) if rng.random() < 0.5 else 0.0
            elif col.signed:
                cells[key] = rng.randint(-scale // 4, scale // 4)
            else:
                cells[key] = rng.randint(0, scale)
    if template == "2019":
        for item in ("regulations", "normative_docs"):
            made = cells[f"s2.{item}.made"]
            cells[f"s2.{item}.published"] = rng.randint(0, made)  # type: ignore[arg-type]
            cells[f"s2.{item}.total_published"] = cells[f"s2.{item}.published"] + rng.randint(0, scale)  # type: ignore[operator]

    outcome_rows = [r.key for r in t.s3_outcome_rows]
    for col in S3_APPLICANT_COLUMNS:
        busy = col == "natural_person" or rng.random() < 0.3  # most applicants are people
        hi = scale if busy else max(1, scale // 10)
        outcomes = {r: (rng.randint(0, hi) if rng.random() < 0.5 else 0) for r in outcome_rows}
        forward = rng.randint(0, hi // 2)
        handled = sum(outcomes.values())
        over = rng.randint(0, handled + forward)
        for r, v in outcomes.items():
            cells[f"s3.{r}.{col}"] = v
        cells[f"s3.results_total.{col}"] = handled
        cells[f"s3.carried_forward.{col}"] = forward
        cells[f"s3.carried_over.{col}"] = over
        cells[f"s3.new_received.{col}"] = handled + forward - over
    for r in t.s3:
        cells[f"s3.{r.key}.total"] = sum(cells[f"s3.{r.key}.{c}"] for c in S3_APPLICANT_COLUMNS)  # type: ignore[misc]

    for g in S4_GROUPS:
        parts = [rng.randint(0, max(1, scale // 5)) if rng.random() < 0.4 else 0 for _ in S4_COLUMNS[:-1]]
        for c, v in zip(S4_COLUMNS[:-1], parts, strict=True):
            cells[f"s4.{g.key}.{c.key}"] = v
        cells[f"s4.{g.key}.total"] = sum(parts)
    return cells
