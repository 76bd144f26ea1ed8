"""Ruled tables on a page image: their rows, columns and merged cells, from the ruling lines alone.

The report's tables are ruled (国办 formats print every border). Ruling lines are found by morphology: ink
that runs much longer than any character in one direction. Within each table the distinct line positions
make a fine grid; two neighbouring fine cells with no line between them belong to one merged cell (表三's
申请人情况 header over six columns, the 三、本年度办理结果 label down twenty rows). The result is what
the recognizer expects of any reader: rows of cells, a horizontally merged cell once, a vertically merged
one blank in the rows below its first.

Only OpenCV's core is used (``opencv-python-headless``, the one OpenCV package gkwatch installs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Cell:
    """A (possibly merged) cell: fine-grid rows ``r0..r1`` and columns ``c0..c1``, and its box in pixels."""

    r0: int
    c0: int
    r1: int
    c1: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 inside the ruling
    words: list = field(default_factory=list)  # the recognizer's words placed in it (``page.Word``)


@dataclass
class Grid:
    """One ruled table: fine line positions and its merged cells."""

    xs: list[int]
    ys: list[int]
    cells: list[Cell]

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.xs[0], self.ys[0], self.xs[-1], self.ys[-1]

    def cell_at(self, x: float, y: float) -> Cell | None:
        """The cell whose ruled box holds the point (None outside the table)."""
        j = _index(self.xs, x)
        i = _index(self.ys, y)
        if i is None or j is None:
            return None
        return self._owner[i][j]

    def finish(self) -> None:
        self._owner: list[list[Cell | None]] = [[None] * (len(self.xs) - 1) for _ in range(len(self.ys) - 1)]
        for c in self.cells:
            for i in range(c.r0, c.r1 + 1):
                for j in range(c.c0, c.c1 + 1):
                    self._owner[i][j] = c

    def rows(self, text_of) -> list[list[str]]:  # noqa: ANN001 (Cell -> str)
        """The table as rows of cell text: a merged cell once per row it starts, blank in rows below."""
        out: list[list[str]] = []
        for i in range(len(self.ys) - 1):
            row: list[str] = []
            j = 0
            while j < len(self.xs) - 1:
                c = self._owner[i][j]
                if c is None:
                    row.append("")
                    j += 1
                    continue
                row.append(text_of(c) if c.r0 == i else "")
                j = c.c1 + 1
            out.append(row)
        return out


def _index(edges: list[int], v: float) -> int | None:
    if v < edges[0] or v >= edges[-1]:
        return None
    lo, hi = 0, len(edges) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= v:
            lo = mid
        else:
            hi = mid
    return lo


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0, robust to uneven lighting (adaptive threshold) and JPEG noise."""
    import cv2

    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    return cv2.adaptiveThreshold(blurred, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def char_height(ink: np.ndarray) -> int:
    """The typical height of a character in pixels (the median of mid-sized ink blobs)."""
    import cv2

    n, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    keep = (hs >= 8) & (hs <= 80) & (ws <= 3 * hs) & (ws >= 2)
    if keep.sum() < 10:
        return 24
    return int(np.median(hs[keep]))


def line_masks(ink: np.ndarray, ch: int) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) ruling: ink running well beyond any character's width or height."""
    import cv2

    h_len = max(30, 3 * ch)
    v_len = max(25, int(1.6 * ch))
    # Close small gaps first (JPEG, blur and speckle break thin lines), then keep only long runs.
    horiz = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    horiz = cv2.morphologyEx(horiz, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    vert = cv2.morphologyEx(vert, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    return horiz, vert


def _positions(profile: np.ndarray, minimum: float, gap: int) -> list[int]:
    """Centres of the runs of ``profile >= minimum`` (runs closer than ``gap`` are one line)."""
    idx = np.flatnonzero(profile >= minimum)
    if idx.size == 0:
        return []
    out: list[int] = []
    start = prev = int(idx[0])
    for v in idx[1:]:
        v = int(v)
        if v - prev > gap:
            out.append((start + prev) // 2)
            start = v
        prev = v
    out.append((start + prev) // 2)
    return out


def find_grids(gray: np.ndarray) -> tuple[list[Grid], np.ndarray, int]:
    """(the ruled tables of the page, its ruling mask, the character height)."""
    import cv2

    ink = binarize(gray)
    ch = char_height(ink)
    horiz, vert = line_masks(ink, ch)
    lines = cv2.bitwise_or(horiz, vert)
    # Tables: connected ruling whose box is large enough to hold rows and columns.
    joined = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    n, _labels, stats, _c = cv2.connectedComponentsWithStats(joined, connectivity=8)
    grids: list[Grid] = []
    for k in range(1, n):
        x, y, w, h = (int(v) for v in stats[k, :4])
        if w < 6 * ch or h < 2 * ch:
            continue
        g = _grid(
            horiz[y : y + h, x : x + w], vert[y : y + h, x : x + w], ink[y : y + h, x : x + w], x, y, ch
        )
        if g is not None:
            grids.append(g)
    grids.sort(key=lambda g: g.ys[0])
    return grids, cv2.dilate(lines, np.ones((3, 3), np.uint8)), ch


def _grid(horiz: np.ndarray, vert: np.ndarray, ink: np.ndarray, ox: int, oy: int, ch: int) -> Grid | None:
    """The table inside one ruling component (coordinates offset by ``ox``, ``oy``)."""
    h, w = horiz.shape
    min_run = max(2 * ch, 20)
    ys = _positions((horiz > 0).sum(axis=1), min_run, gap=max(3, ch // 4))
    xs = _positions((vert > 0).sum(axis=0), min_run, gap=max(3, ch // 4))
    ys = _merge_close(ys, ch // 2)
    xs = _merge_close(xs, ch // 2)
    tol = max(2, ch // 6)

    def has_vline(x: int, y0: int, y1: int, share: float = 0.6) -> bool:
        band = vert[y0 + tol : max(y0 + tol + 1, y1 - tol), max(0, x - tol) : x + tol + 1]
        return band.size > 0 and (band.max(axis=1) > 0).mean() >= share

    def has_hline(y: int, x0: int, x1: int, share: float = 0.6) -> bool:
        band = horiz[max(0, y - tol) : y + tol + 1, x0 + tol : max(x0 + tol + 1, x1 - tol)]
        return band.size > 0 and (band.max(axis=0) > 0).mean() >= share

    # A ruling line runs from one crossing line to the next somewhere; strokes of characters stacked in a
    # label cell (brackets, 申, 1) make vertical runs that stop short of the cell's borders.
    for _ in range(2):
        xs = [x for k, x in enumerate(xs) if k in (0, len(xs) - 1) or any(
            has_vline(x, a, b, 0.92) for a, b in zip(ys, ys[1:], strict=False))]  # fmt: skip
        ys = [y for k, y in enumerate(ys) if k in (0, len(ys) - 1) or any(
            has_hline(y, a, b, 0.92) for a, b in zip(xs, xs[1:], strict=False))]  # fmt: skip
    if len(ys) < 2 or len(xs) < 2:
        return None

    rows, cols = len(ys) - 1, len(xs) - 1
    parent = list(range(rows * cols))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and not (
                has_vline(xs[j + 1], ys[i], ys[i + 1])
                and _ink_line(ink, xs[j + 1], ys[i], ys[i + 1], tol, vertical=True, gap=3, share=0.95)
            ):
                parent[find(i * cols + j + 1)] = find(i * cols + j)
            if i + 1 < rows and not _ink_line(ink, ys[i + 1], xs[j], xs[j + 1], tol, vertical=False):
                parent[find((i + 1) * cols + j)] = find(i * cols + j)
    groups: dict[int, list[tuple[int, int]]] = {}
    for i in range(rows):
        for j in range(cols):
            groups.setdefault(find(i * cols + j), []).append((i, j))
    cells = []
    for members in groups.values():
        r0, r1 = min(m[0] for m in members), max(m[0] for m in members)
        c0, c1 = min(m[1] for m in members), max(m[1] for m in members)
        cells.append(Cell(r0, c0, r1, c1, (ox + xs[c0], oy + ys[r0], ox + xs[c1 + 1], oy + ys[r1 + 1])))
    g = Grid([ox + x for x in xs], [oy + y for y in ys], cells)
    g.finish()
    if rows * cols < 4:
        return None
    return g


def _ink_line(
    ink: np.ndarray, at: int, a: int, b: int, tol: int, *, vertical: bool, gap: int = 7, share: float = 0.85
) -> bool:
    """Whether a border runs at ``at`` from ``a`` to ``b`` (a cell's side), from the raw ink.

    A thin border that blur and JPEG broke into dashes is still a border, and it runs from one crossing
    line to the other; a character's stroke near ``at`` stops short of the cell's sides. So after small gaps
    are closed, some line of pixels near ``at`` must be inked over nearly the whole side, crossings included.
    """
    import cv2

    lo, hi = max(0, a - tol), b + tol + 1
    band = (
        ink[lo:hi, max(0, at - tol) : at + tol + 1].T
        if vertical
        else ink[max(0, at - tol) : at + tol + 1, lo:hi]
    )
    if band.size == 0:
        return False
    closed = cv2.morphologyEx(band, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)))
    need = max(3, int(share * band.shape[1]))
    opened = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (need, 1)))
    return bool(opened.any())


def _merge_close(vals: list[int], dist: int) -> list[int]:
    out: list[int] = []
    for v in vals:
        if out and v - out[-1] <= dist:
            out[-1] = (out[-1] + v) // 2
        else:
            out.append(v)
    return out
