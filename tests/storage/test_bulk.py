"""``storage.bulk.insert_rows`` stores exactly what SQLAlchemy's own INSERT stores, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select

from storage import bulk
from storage.bulk import insert_rows
from storage.models import AgencyYearStatus

T = AgencyYearStatus.__table__
NOW = datetime(2024, 6, 1, 8, 30, 15, 123456, tzinfo=UTC)


def _rows(n: int) -> list[dict]:
    return [
        {
            "agency_id": f"a{i}",
            "year": 2020 + i % 3,
            "agency": "机关'); DROP TABLE agency; --" if i == 1 else f"机关{i}",
            "region": "山东省/淄博市",
            "kind": "department",
            "status": ("late", "on_time", "missing")[i % 3],
            "due": date(2021, 1, 31),
            "due_reason": "department, 条例 art. 49",
            "published": None if i % 3 == 2 else date(2021, 1, 1) + timedelta(days=i % 50),
            "published_evidence": None if i % 3 == 2 else "page_meta",
            "first_seen": None if i % 3 == 2 else NOW - timedelta(hours=i),
            "inconsistent": (None, True, False)[i % 3],
            "findings": [["s3.balance"], [], ["history.changed", "s4.total"]][i % 3],
            "report_id": None if i % 3 == 2 else i,
            "report_url": None if i % 3 == 2 else f"http://x.gov.cn/{i}.html",
            "crawl_problem": None,
            "as_of": date(2024, 6, 1),
            "computed_at": NOW,
            "details": [],
            "days_late": None,
            "version_id": None,
            "evidence": {},
        }
        for i in range(n)
    ]


def _stored(conn) -> list[tuple]:  # noqa: ANN001
    return [tuple(r) for r in conn.execute(select(T).order_by(T.c.agency_id, T.c.year))]


def test_insert_rows_matches_sqlalchemy(engine, monkeypatch):
    monkeypatch.setattr(bulk, "MEMO_SIZE", 100)  # more distinct values than are remembered
    rows = _rows(bulk.BATCH + 500)  # more than one batch
    with engine.begin() as conn:
        conn.execute(insert(T), rows)
        expected = _stored(conn)
        conn.execute(delete(T))
        assert insert_rows(conn, T, rows) == len(rows)
        assert _stored(conn) == expected
    first = expected[0]
    assert first[T.c.keys().index("first_seen")] == NOW  # timezone-aware UTC on the way back


def test_insert_rows_needs_every_column(engine):
    row = _rows(1)[0]
    del row["findings"]
    with engine.begin() as conn, pytest.raises(KeyError):
        insert_rows(conn, T, [row])


def test_insert_rows_of_nothing(engine):
    with engine.begin() as conn:
        assert insert_rows(conn, T, []) == 0
