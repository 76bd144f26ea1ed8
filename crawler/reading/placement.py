"""Which 表三 row each printed row is: by its label, by a misprinted label, or by the template's row order.

A row's label is recognized exactly where it can be (``labels.match_s3_row``). The rows so recognized, in
the order the document prints them, are *anchors*; between two anchors the template says which rows must
come (its row order), so the printed rows there that no label names can be placed:

* a misprinted label (``2.其他法律行政止公开``) is scored against the rows the gap leaves room for
  (``labels.fuzzy_s3_row``) — the order is the tie-breaker, the spelling the evidence;
* rows with no label at all, or one nothing recognizes (a PDF extraction that detached labels from their
  numbers: 上海科委 2024), are placed by order where their count is exactly the count of rows the gap
  misses — never where it is not.

A row placed by order is never sure; one placed by a misprinted label is sure only where the label is
unambiguous and the arithmetic confirms it (decided by the caller, which has every cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.reading.labels import fuzzy_s3_row, match_s3_row, norm


@dataclass
class Candidate:
    """A printed row of seven numbers, in document order."""

    label: str  # as printed ("" where the row has none)
    values: tuple[str, ...]
    group: int = 0  # rows of one table share a group: the order is trusted only within one
    how: str = ""  # how its numbers were aligned ("" | "realigned")
    sure: bool = True  # whether that alignment is sure
    exact: bool = True  # its region holds no figure besides the seven
    # Filled in by ``place``:
    key: str | None = None
    placed: str = ""  # "" (its own label) | "fuzzy_label" | "order"
    unambiguous: bool = False  # a fuzzy label that names one row clearly


def place(cands: Sequence[Candidate], rows: Sequence[str], template: str, done: set[str]) -> list[Candidate]:
    """Give each candidate its row key where it can be told; returns the placed ones, anchors first.

    ``rows`` are the template's 表三 row keys in order; ``done`` the keys already read (by an earlier pass),
    which are neither placed again nor used as anchors here.
    """
    index = {k: i for i, k in enumerate(rows)}
    placed: list[Candidate] = []
    taken = set(done)
    anchors: list[int] = []  # candidate positions of the recognized rows, in document order
    for pos, c in enumerate(cands):
        key = match_s3_row(norm(c.label)) if c.label else None
        if key is None:
            continue
        c.key = key  # a row of the other format (or read already) still blocks the order around it
        if key in index and key not in taken:
            taken.add(key)
            placed.append(c)
        anchors.append(pos)
    # Gaps are bounded by anchors whose template order rises with the document's (the longest such run).
    chain = _rising([p for p in anchors if cands[p].key in index], lambda p: index[cands[p].key])  # type: ignore[index]
    bounds = [(-1, -1), *((p, index[cands[p].key]) for p in chain), (len(cands), len(rows))]  # type: ignore[index]
    for (p0, t0), (p1, t1) in zip(bounds, bounds[1:], strict=False):
        gap = [c for c in cands[p0 + 1 : p1] if c.key is None]
        missing = [k for k in rows[t0 + 1 : t1] if k not in taken]
        if not gap or not missing:
            continue
        edge = p0 < 0 or p1 >= len(cands)
        placed += _fill_gap(gap, missing, template, taken, edge, cands, p0, p1)
    return placed


def _fill_gap(
    gap: list[Candidate],
    missing: list[str],
    template: str,
    taken: set[str],
    edge: bool,
    cands: Sequence[Candidate],
    p0: int,
    p1: int,
) -> list[Candidate]:
    out: list[Candidate] = []
    allowed = frozenset(missing)
    # Misprinted labels first: each splits the gap where it stands.
    for c in gap:
        if not c.label:
            continue
        hit = fuzzy_s3_row(norm(c.label), template, allowed)
        if hit is None:
            continue
        key, _score, unambiguous = hit
        if key in taken:
            continue
        if edge and not unambiguous:
            continue  # before the first or after the last anchor the order bounds nothing on one side
        c.key, c.placed, c.unambiguous = key, "fuzzy_label", unambiguous
        taken.add(key)
        out.append(c)
    if edge and not _same_group(gap, cands, p0, p1):
        return out
    return out + _order_stretches(gap, missing, taken)


def _order_stretches(gap: list[Candidate], missing: list[str], taken: set[str]) -> list[Candidate]:
    """Split the gap at its placed rows and fill every stretch whose unplaced count fits its missing rows."""
    order = {k: i for i, k in enumerate(missing)}
    out: list[Candidate] = []
    lo = -1
    stretch: list[Candidate] = []
    for c in [*gap, None]:
        if c is not None and c.key is None:
            stretch.append(c)
            continue
        hi = order[c.key] if c is not None and c.key in order else len(missing)
        want = [k for k in missing[lo + 1 : hi] if k not in taken]
        usable = [s for s in stretch if s.exact]
        if usable and len(usable) == len(stretch) == len(want):
            for s, k in zip(stretch, want, strict=True):
                s.key, s.placed = k, "order"
                taken.add(k)
                out.append(s)
        stretch = []
        if c is not None:
            lo = order.get(c.key, lo)  # type: ignore[arg-type]
    return out


def _same_group(gap: list[Candidate], cands: Sequence[Candidate], p0: int, p1: int) -> bool:
    """Before the first anchor or after the last, only rows of the anchor's own table are placed by order."""
    anchor = cands[p0] if p0 >= 0 else cands[p1] if p1 < len(cands) else None
    return anchor is not None and all(c.group == anchor.group for c in gap)


def _rising(items: list[int], rank) -> list[int]:  # noqa: ANN001
    """The longest subsequence of ``items`` whose ``rank`` strictly rises (patience sorting)."""
    import bisect

    tails: list[int] = []  # rank of the smallest tail of a rising run of each length
    tail_at: list[int] = []  # the item ending it
    prev: dict[int, int | None] = {}
    for it in items:
        r = rank(it)
        j = bisect.bisect_left(tails, r)
        prev[it] = tail_at[j - 1] if j else None
        if j == len(tails):
            tails.append(r)
            tail_at.append(it)
        else:
            tails[j], tail_at[j] = r, it
    out: list[int] = []
    cur = tail_at[-1] if tail_at else None
    while cur is not None:
        out.append(cur)
        cur = prev[cur]
    return out[::-1]
