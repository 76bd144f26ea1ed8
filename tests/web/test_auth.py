"""Operator login, CSRF, the login rate limit, and the actions (review with audit trail, crawl request)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from monitor.web import create_app
from monitor.web.audit import OperatorAction
from monitor.web.auth import hash_password, verify_password
from storage.models import FindingReview
from tests.web.conftest import csrf_from, login
from tests.web.seed import seed


def test_password_hash_roundtrip():
    h = hash_password("秘密 pw")
    assert h.startswith("scrypt$") and "秘密" not in h
    assert verify_password("秘密 pw", h)
    assert not verify_password("秘密 pw ", h)
    assert hash_password("秘密 pw") != h  # salted
    assert not verify_password("x", "not-a-hash") and not verify_password("x", "scrypt$1$2$3$%%%$%%%")


def test_login_sets_a_safe_cookie_and_shows_actions(client):
    assert "立即抓取" not in client.get("/").text
    r = login(client)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/").text
    assert "操作员：alice" in page and "立即抓取" in page


def test_wrong_password_is_refused(client):
    r = login(client, password="wrong")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = login(client, username="mallory")
    assert r.status_code == 401
    assert "立即抓取" not in client.get("/").text


def test_login_without_csrf_token_is_refused(client):
    client.get("/login")
    r = client.post("/login", data={"username": "alice", "password": "x", "csrf": "forged"})
    assert r.status_code == 403


def test_login_rate_limit(client):
    """Five wrong passwords from one address: that address backs off (tests/web/test_attacks.py has the
    rest — other addresses, growing delays, spraying, forged X-Forwarded-For)."""
    for _ in range(5):
        assert login(client, password="wrong").status_code == 401
    r = login(client)  # even the right password, during the wait
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "秒后再试" in r.text


def test_open_redirect_is_refused(client):
    token = csrf_from(client.get("/login").text)
    from tests.web.seed import PASSWORD

    r = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_actions_need_login(client):
    r = client.post(
        "/agency/zichuan-zsj/review", data={"year": 2021, "rule": "s3.row_total", "verdict": "dismissed"}
    )
    assert r.status_code == 401
    assert client.post("/actions/crawl", data={}).status_code == 401


def test_review_needs_the_csrf_token(client, seeded):
    login(client)
    data = {"year": 2021, "rule": "s3.row_total", "verdict": "dismissed", "note": "OCR"}
    assert client.post("/agency/zichuan-zsj/review", data=data).status_code == 403
    assert client.post("/agency/zichuan-zsj/review", data={**data, "csrf": "forged"}).status_code == 403
    with Session(seeded.engine) as s:
        assert s.exec(select(FindingReview)).first() is None


def test_review_keeps_an_audit_trail(client, seeded):
    login(client)
    token = csrf_from(client.get("/agency/zichuan-zsj").text)
    base = {"year": 2021, "rule": "s3.row_total", "csrf": token}
    r = client.post(
        "/agency/zichuan-zsj/review",
        data={**base, "verdict": "dismissed", "note": "<b>OCR 误读</b>"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/agency/zichuan-zsj#y2021"
    client.post("/agency/zichuan-zsj/review", data={**base, "verdict": "confirmed", "note": "复查属实"})
    with Session(seeded.engine) as s:
        current = s.exec(select(FindingReview)).all()
        trail = s.exec(select(OperatorAction).order_by(OperatorAction.id)).all()
    assert [(c.rule, c.verdict, c.reviewer) for c in current] == [("s3.row_total", "confirmed", "alice")]
    assert [(t.verdict, t.note) for t in trail] == [
        ("dismissed", "<b>OCR 误读</b>"),
        ("confirmed", "复查属实"),
    ]
    page = client.get("/agency/zichuan-zsj").text
    assert "&lt;b&gt;OCR 误读&lt;/b&gt;" in page and "复查属实" in page and "<b>OCR" not in page
    assert "已确认" in page


def test_review_refuses_unknown_rule_verdict_or_agency(client):
    login(client)
    token = csrf_from(client.get("/agency/zichuan-zsj").text)
    ok = {"year": 2021, "rule": "s3.row_total", "verdict": "dismissed", "csrf": token}
    assert client.post("/agency/zichuan-zsj/review", data={**ok, "rule": "nope"}).status_code == 400
    assert client.post("/agency/zichuan-zsj/review", data={**ok, "verdict": "deleted"}).status_code == 400
    assert client.post("/agency/nobody/review", data=ok).status_code == 404
    assert client.post("/agency/zichuan-zsj/review", data={**ok, "year": "x"}).status_code == 400


def test_crawl_request_is_recorded(client, seeded):
    login(client)
    token = csrf_from(client.get("/").text)
    r = client.post("/actions/crawl", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    with Session(seeded.engine) as s:
        acts = s.exec(select(OperatorAction).where(OperatorAction.action == "crawl")).all()
    assert len(acts) == 1 and acts[0].username == "alice" and acts[0].outcome
    assert "抓取请求" in client.get("/").text  # the flash message tells the operator what happened


def test_logout(client):
    login(client)
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf": "bad"}).status_code == 403
    client.post("/logout", data={"csrf": token})
    assert "立即抓取" not in client.get("/").text


def test_no_users_configured_means_no_login(tmp_path):
    from tests.web.seed import seed

    s = seed(tmp_path, users=False)
    c = TestClient(create_app(s.config, engine=s.engine))
    assert login(c).status_code == 401


def test_crawl_button_asks_the_service(tmp_path):
    """The button calls the crawl trigger the service handed to the app; its answer reaches the operator."""
    seeded = seed(tmp_path)
    calls = []

    def trigger() -> bool:  # stands in for Service.trigger_crawl_now (tested in tests/monitor)
        calls.append(True)
        return len(calls) == 1  # the second press: a crawl is already running

    client = TestClient(create_app(seeded.config, engine=seeded.engine, crawl_trigger=trigger))
    login(client)
    client.post("/actions/crawl", data={"csrf": csrf_from(client.get("/").text)})
    client.post("/actions/crawl", data={"csrf": csrf_from(client.get("/").text)})
    assert len(calls) == 2
    with Session(seeded.engine) as s:
        assert [a.outcome for a in s.exec(select(OperatorAction))] == [
            "已开始抓取",
            "未启动：已有抓取正在进行",
        ]


def test_crawl_button_without_a_service_is_recorded(client, seeded):
    login(client)
    client.post("/actions/crawl", data={"csrf": csrf_from(client.get("/").text)})
    with Session(seeded.engine) as s:
        assert [a.outcome for a in s.exec(select(OperatorAction))] == ["已记录请求（本进程没有运行调度服务）"]
