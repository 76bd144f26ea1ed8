"""The per-process cache behind the page's counts and ``/api/status``."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import update

from monitor.web import create_app
from monitor.web.queries import TTLCache
from storage.models import Agency, AgencyYearStatus
from tests.web.conftest import login


def test_cache_expires_and_computes_once_per_key_under_concurrency():
    cache = TTLCache(seconds=0.3)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.1)
        return len(calls)

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 8 and len(calls) == 1  # single flight
    time.sleep(0.35)
    assert cache.get_or_compute("k", slow) == 2  # expired: computed again


def test_zero_seconds_means_no_caching():
    cache = TTLCache(seconds=0)
    n = iter(range(10))
    assert cache.get_or_compute("k", lambda: next(n)) == 0
    assert cache.get_or_compute("k", lambda: next(n)) == 1


def test_anonymous_status_pages_are_shared_but_never_an_operators(seeded):
    """The rendered page is kept for anonymous readers only: an operator's page (name, CSRF token) is
    neither served from nor put into the shared cache."""
    app = create_app(seeded.config, engine=seeded.engine)
    reader, operator = TestClient(app), TestClient(app)
    first = reader.get("/?year=2021").text
    assert login(operator).status_code == 303
    mine = operator.get("/?year=2021").text
    assert "操作员：alice" in mine and 'name="csrf"' in mine
    with seeded.engine.begin() as conn:  # what a new ``gkwatch check`` would write
        conn.execute(update(AgencyYearStatus).values(agency="改名后的机关"))
    assert "改名后的机关" in operator.get("/?year=2021").text  # operators always see the table as it is
    again = TestClient(app).get("/?year=2021").text
    assert again == first and "操作员：" not in again and 'name="csrf"' not in again  # shared, stale ≤ TTL
    assert "改名后的机关" in TestClient(app).get("/?year=2021&page=1").text  # another query: rendered anew


def test_anonymous_agency_pages_are_shared_until_an_operator_acts(seeded):
    """An agency page is rendered once for every anonymous reader (within the TTL), never for an operator,
    and an operator's correction is seen by the next anonymous reader at once (the act clears the cache)."""
    from tests.web.conftest import csrf_from

    app = create_app(seeded.config, engine=seeded.engine)
    first = TestClient(app).get("/agency/zichuan-zsj").text
    with seeded.engine.begin() as conn:  # what a new registry sync would write
        conn.execute(update(Agency).values(name="改名后的机关"))
    assert TestClient(app).get("/agency/zichuan-zsj").text == first  # shared, stale ≤ TTL
    assert "改名后的机关" in TestClient(app).get("/agency/zichuan-zsj/2021").text  # another page: anew
    operator = TestClient(app)
    assert login(operator).status_code == 303
    page = operator.get("/agency/zichuan-zsj").text
    assert "操作员：alice" in page and 'name="csrf"' in page
    r = operator.post(
        "/agency/zichuan-zsj/2021/correct",
        data={"csrf": csrf_from(page), "kind": "date", "published": "2022-01-20", "reason": "页面落款日期"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = TestClient(app).get("/agency/zichuan-zsj").text
    assert "操作员更正" in after and "操作员：" not in after and 'name="csrf"' not in after
