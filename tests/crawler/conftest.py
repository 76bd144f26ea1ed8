"""Saved portal pages for the crawler tests, read as bytes (as the crawler receives them)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_text(name: str) -> str:
    """Decode a fixture the way the crawler does: charset decided from the bytes."""
    from crawler.portal.middlewares import decide_encoding

    data = fixture_bytes(name)
    return data.decode(decide_encoding(data))


@pytest.fixture
def read_fixture():
    return fixture_text
