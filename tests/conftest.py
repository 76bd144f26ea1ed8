"""Shared test fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The real published reports of ../shared/samples beside the checkout; a copy travels with the tests
# (tests/fixtures/samples) so that a checkout without shared/ beside it still runs every sample test.
_SHARED = (ROOT.parent / "shared" / "samples").resolve()
SAMPLES = _SHARED if _SHARED.is_dir() else ROOT / "tests" / "fixtures" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample reports not found at {SAMPLES}")
    return SAMPLES


def read_sample(name: str) -> bytes:
    """Fixtures are read as bytes so that encodings stay real."""
    return (SAMPLES / name).read_bytes()
