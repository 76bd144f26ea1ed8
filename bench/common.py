"""What every benchmark shares: the ``--quick`` flag, timing, and the printed table of rates and ratios.

Absolute times depend on the machine; a ratio to a baseline measured in the same run (the bare cost of
reading the same bytes, say) does not, so every benchmark prints both.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


def arguments(
    description: str, *, full: int, quick: int, flags: dict[str, str] | None = None
) -> argparse.Namespace:
    """``--quick`` for a small run (CI, a first look); ``--n`` to choose the size; ``flags`` are extra
    on/off options of one benchmark (``{"--no-libreoffice": "skip .doc"}``)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help=f"a small run ({quick} items instead of {full})")
    p.add_argument("--n", type=int, default=None, help="items per case (overrides --quick)")
    for flag, help_text in (flags or {}).items():
        p.add_argument(flag, action="store_true", help=help_text)
    args = p.parse_args()
    args.n = args.n or (quick if args.quick else full)
    return args


def seconds(fn: Callable[[], object], repeat: int = 1, *, cpu: bool = False) -> float:
    """The best of ``repeat`` runs of ``fn`` (best: the least disturbed by other processes).

    ``cpu`` measures this process's CPU time instead of wall-clock time: on a shared machine other
    processes' load then does not count. Only for work done in this process (not LibreOffice).
    """
    clock = time.process_time if cpu else time.perf_counter
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def seconds_each(
    fns: dict[str, Callable[[], object]], repeat: int = 2, *, cpu: bool = True
) -> dict[str, float]:
    """Best CPU (or wall) time of several thunks, run interleaved so that a measurement and its baseline
    see the same conditions."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            best[name] = min(best[name], seconds(fn, cpu=cpu))
    return best


def each(items: Iterable, fn: Callable) -> Callable[[], list]:
    """A thunk applying ``fn`` to every item: what ``seconds`` times."""
    items = list(items)
    return lambda: [fn(x) for x in items]


@dataclass
class Result:
    case: str
    n: int
    seconds: float
    baseline_seconds: float | None = None
    target_per_second: float | None = None
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.n / self.seconds if self.seconds else float("inf")

    @property
    def ratio(self) -> float | None:
        """How many times the baseline's cost the measured work takes."""
        if not self.baseline_seconds:
            return None
        return self.seconds / self.baseline_seconds

    @property
    def verdict(self) -> str:
        if self.target_per_second is None:
            return ""
        return "ok" if self.per_second >= self.target_per_second else "SLOW"


def print_table(results: list[Result], *, baseline_name: str, out=sys.stdout) -> None:
    head = ("case", "n", "per s", f"{baseline_name} per s", "ratio", "target/s", "", "note")
    rows = [
        (
            r.case,
            str(r.n),
            f"{r.per_second:,.1f}",
            f"{r.n / r.baseline_seconds:,.1f}" if r.baseline_seconds else "-",
            f"{r.ratio:,.1f}x" if r.ratio is not None else "-",
            f"{r.target_per_second:g}" if r.target_per_second else "-",
            r.verdict,
            r.note,
        )
        for r in results
    ]
    widths = [max(_width(x) for x in col) for col in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        print("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
