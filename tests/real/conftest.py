"""The real published reports: ``tests/fixtures/real-reports`` (a copy of ``../shared/real-reports``) and the
samples (``tests/fixtures/samples``, or ``../shared/samples`` beside the checkout)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT, SAMPLES

REAL = ROOT / "tests" / "fixtures" / "real-reports"


def real_path(name: str) -> Path:
    """A real report by file name, from either folder."""
    path = REAL / name
    return path if path.exists() else SAMPLES / name


def read_real(name: str) -> bytes:
    return real_path(name).read_bytes()
