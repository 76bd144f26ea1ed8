"""The table's filters, counts and exports on PostgreSQL (the LIKE path; SQLite adds an index range)."""

from __future__ import annotations

import csv
import io
import os
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from monitor.web import create_app
from storage.db import make_engine
from tests.web.seed import HOSTILE, seed

pytestmark = pytest.mark.postgres
PG_URL = os.environ.get("GKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def pg_client(tmp_path_factory):  # noqa: ANN001, ANN201
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as c:
            schema = f"gkw_web_{uuid.uuid4().hex[:10]}"
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:  # noqa: BLE001 - no server: skip with the reason
        pytest.skip(f"PostgreSQL at {PG_URL} does not answer: {e}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        seeded = seed(tmp_path_factory.mktemp("pg"), db_url=url)
        yield TestClient(create_app(seeded.config, engine=seeded.engine))
        seeded.engine.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ids(html: str) -> set[str]:
    return set(re.findall(r'class="name"><a href="/agency/([^"]+)"', html))


def test_filters_on_postgres(pg_client):
    assert ids(pg_client.get("/", params={"region": "山东省/淄博市"}).text) == {
        "zichuan-zsj",
        "zichuan-gov",
        "zhangdian-jyj",
    }
    assert ids(pg_client.get("/", params={"region": "山东省/淄博"}).text) == set()
    assert ids(pg_client.get("/", params={"q": "%"}).text) == {"percent"}
    assert ids(pg_client.get("/", params={"inconsistent": "unknown", "region": "湖南省"}).text) == {
        "huaihua-cz",
        "rtl",
        "formula",
    }
    assert ids(pg_client.get("/", params={"q": "淄川招商"}).text) == {"zichuan-zsj"}  # an alias (trigram)
    assert ids(pg_client.get("/", params={"region": "淄川区"}).text) == {"zichuan-zsj", "zichuan-gov"}
    r = pg_client.get("/", params={"q": "' OR 1=1 --"})
    assert r.status_code == 200 and ids(r.text) == set()


def test_counts_and_export_on_postgres(pg_client):
    html = pg_client.get("/", params={"region": "山东省"}).text
    assert re.search(r"<bdi>淄博市</bdi></a>.*?3 条，按时率 33%", html, re.S)
    r = pg_client.get("/export.csv", params={"status": "late"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["机关编号"] for row in rows} == {"zichuan-zsj", "hostile"}
    assert HOSTILE in {row["机关"] for row in rows}
