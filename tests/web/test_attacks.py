"""The web app and CLI under attack and extreme values (issue 11: items 1, 6, 8 and the agency id with ``/``).

Each test reproduces one defect a hostile tester found (docs/faults.md lists them with their bounds):
a saved cookie acting after logout, 500s and tracebacks on extreme years and days, a login lockout any
stranger could impose on the operator, a forged ``X-Forwarded-For`` getting around the per-address limit,
a session cookie without ``Secure`` behind HTTPS, and an agency id with ``/`` linking to a 404.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
from datetime import date, timedelta
from html import unescape
from urllib.parse import quote, unquote, urlsplit

import httpx
import itsdangerous
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from domain.config import AlertsConfig, ConfigError, WebConfig, load_config
from monitor.alerts.text import agency_year_url, evidence_url, evidence_zip_url
from monitor.cli import main as cli_main
from monitor.service import Service, serve
from monitor.web import create_app
from monitor.web.audit import OperatorAction
from monitor.web.auth import LoginLimiter, client_address
from storage.db import session_scope
from storage.models import Agency, AgencyYearStatus, WebSession
from tests.monitor.alerts_fixtures import free_port
from tests.web.conftest import csrf_from, login
from tests.web.seed import PASSWORD, password_hash
from tests.web.server import serve_in_thread

ATTACKER = ("203.0.113.66", 40000)
OPERATOR = ("198.51.100.7", 50000)


def client_from(seeded, address=OPERATOR, app=None, **kw) -> TestClient:  # noqa: ANN001
    """A browser at ``address``; on ``app`` when given (the login limits live in one app's memory)."""
    return TestClient(app or create_app(seeded.config, engine=seeded.engine), client=address, **kw)


def with_web(seeded, **web) -> None:  # noqa: ANN001, ANN003
    """Change the seeded config's ``web:`` section (alice stays the one operator)."""
    section = {
        "secret_key": "test-secret",
        "users": [{"username": "alice", "password_hash": password_hash()}],
    }
    seeded.config.web = WebConfig.model_validate({**section, **web})


# --- 1. logout ends the session; idle and absolute timeouts ------------------------------------------------


def _crawl_as(client: TestClient, csrf: str):  # noqa: ANN202
    return client.post("/actions/crawl", data={"csrf": csrf}, follow_redirects=False)


def _crawls(seeded) -> list[str]:  # noqa: ANN001
    with Session(seeded.engine) as s:
        return [a.username for a in s.exec(select(OperatorAction).where(OperatorAction.action == "crawl"))]


def test_a_cookie_saved_before_logout_acts_as_nobody(seeded):
    operator = client_from(seeded)
    assert login(operator).status_code == 303
    csrf = csrf_from(operator.get("/").text)
    saved = dict(operator.cookies)  # what an attacker copied off the operator's machine
    operator.post("/logout", data={"csrf": csrf})

    thief = client_from(seeded, address=ATTACKER, cookies=saved)
    r = _crawl_as(thief, csrf)
    assert r.status_code == 401
    assert "立即抓取" not in thief.get("/").text and "操作员：alice" not in thief.get("/").text
    assert _crawls(seeded) == []  # nothing was recorded in the operator's name
    with Session(seeded.engine) as s:
        (row,) = s.exec(select(WebSession)).all()
    assert row.username == "alice" and row.ended_at is not None


def _age_sessions(seeded, **delta) -> None:  # noqa: ANN001, ANN003
    with session_scope(seeded.engine) as s:
        for row in s.exec(select(WebSession)):
            if "idle" in delta:
                row.last_seen_at = row.last_seen_at - delta["idle"]
            if "age" in delta:
                row.created_at = row.created_at - delta["age"]
            s.add(row)


@pytest.mark.parametrize(
    ("aged", "acts"),
    [
        ({"idle": timedelta(minutes=59)}, True),
        ({"idle": timedelta(minutes=61)}, False),  # session_idle_minutes: 60
        ({"age": timedelta(hours=11, minutes=59)}, True),
        ({"age": timedelta(hours=12, minutes=1)}, False),  # session_max_hours: 12, though just used
    ],
)
def test_idle_and_absolute_timeouts(seeded, aged, acts):
    with_web(seeded, session_idle_minutes=60, session_max_hours=12)
    operator = client_from(seeded)
    login(operator)
    csrf = csrf_from(operator.get("/").text)
    _age_sessions(seeded, **aged)
    assert (_crawl_as(operator, csrf).status_code == 303) is acts
    assert ("操作员：alice" in operator.get("/").text) is acts
    if not acts:  # and it stays ended, however it is used afterwards
        with Session(seeded.engine) as s:
            assert all(r.ended_at is not None for r in s.exec(select(WebSession)))


def test_each_login_gets_a_new_session(seeded):
    """No fixation: logging in again ends the session the cookie named before and starts another."""
    operator = client_from(seeded)
    login(operator)
    before = dict(operator.cookies)
    login(operator)
    with Session(seeded.engine) as s:
        rows = s.exec(select(WebSession).order_by(WebSession.created_at)).all()
    assert len(rows) == 2 and rows[0].id != rows[1].id
    assert rows[0].ended_at is not None and rows[1].ended_at is None
    stale = client_from(seeded, cookies=before)
    assert "操作员：alice" not in stale.get("/").text
    assert "操作员：alice" in operator.get("/").text


def test_the_cookie_names_a_session_and_a_user_field_is_not_believed(seeded):
    """A cookie of the old scheme (``user`` in the signed cookie), as anyone holding the secret key could
    forge it, names no live session: it acts as nobody."""
    signer = itsdangerous.TimestampSigner("test-secret")
    forged = signer.sign(base64.b64encode(json.dumps({"user": "alice", "csrf": "x"}).encode())).decode()
    c = client_from(seeded, cookies={"gkwatch_session": forged})
    assert _crawl_as(c, "x").status_code == 401
    operator = client_from(seeded)
    login(operator)
    operator.get("/")  # the flash message is shown and gone
    payload = operator.cookies["gkwatch_session"].split(".")[0]
    assert set(json.loads(base64.b64decode(payload + "=="))) == {"sid", "csrf"}


# --- 6. extreme values: a clear 400 or one error line, never a 500 or a traceback ---------------------------


@pytest.mark.parametrize(
    "query",
    [
        "year=9223372036854775808",
        "year=" + "9" * 40,
        "year=-1",
        "year=0",
        "year=1999",
        "year=2101",
        "year=１２",
        "as_of=9999-12-31",
        "as_of=0001-01-01",
        "as_of=1999-12-31",
        "as_of=2101-01-01",
        "as_of=2024-02-30",
        "limit=0",
        "limit=-1",
        "limit=" + "9" * 40,
        "limit=10&cursor=" + "A" * 5000,
        "limit=10&cursor=bm90IGEgY3Vyc29y",
    ],
)
def test_api_status_refuses_extreme_years_and_days(client, query):
    r = client.get("/api/status?" + query)
    assert r.status_code == 400, r.text
    assert r.json()["error"]


def test_api_status_accepts_the_bounds(client):
    assert client.get("/api/status?year=2000").status_code == 200
    rows = client.get("/api/status?as_of=2100-12-31&year=2021").json()
    assert rows and {r["year"] for r in rows} == {2021}
    r = client.get("/api/status?as_of=2000-01-01")
    assert r.status_code == 200 and {row["year"] for row in r.json()} <= {1999}  # as_of.year - 1 at most


@pytest.mark.parametrize(
    "query",
    [
        "year=9223372036854775808",
        "year=" + "9" * 40,
        "year=1999",
        "year=2101",
        "page=" + "9" * 40,
        "page=0",
        "page=1000001",
        "per_page=" + "9" * 40,
        "per_page=0",
        "per_page=501",
    ],
)
@pytest.mark.parametrize("path", ["/", "/export.csv", "/export.xlsx"])
def test_the_table_and_exports_refuse_extreme_parameters(client, path, query):
    r = client.get(f"{path}?{query}")
    assert r.status_code == 400, (path, query, r.status_code)


def test_operator_forms_refuse_extreme_years_and_days(client):
    login(client)
    csrf = csrf_from(client.get("/agency/zichuan-zsj").text)
    review = {"rule": "s3.row_total", "verdict": "dismissed", "csrf": csrf}
    for year in ("9" * 40, "9223372036854775808", "1999", "2101"):
        r = client.post("/agency/zichuan-zsj/review", data={**review, "year": year})
        assert r.status_code == 400, year
    fix = {"kind": "date", "reason": "门户日期有误", "csrf": csrf}
    for year in ("9" * 40, "1999"):
        r = client.post(f"/agency/zichuan-zsj/{year}/correct", data={**fix, "published": "2022-01-01"})
        assert r.status_code == 400, year
    for day in ("9999-12-31", "0001-01-01", "2101-01-01"):
        r = client.post("/agency/zichuan-zsj/2021/correct", data={**fix, "published": day})
        assert r.status_code == 400, day


def _cli(capsys, *argv: str) -> tuple[int, str]:  # noqa: ANN001
    """``gkwatch ARGV`` in-process: its exit code and what it printed on stderr (a traceback fails)."""
    try:
        code = cli_main(list(argv))
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ("check", "--as-of", "9999-12-31"),
        ("check", "--as-of", "0001-01-01"),
        ("check", "--as-of", "1999-12-31"),
        ("status", "--as-of", "9999-12-31"),
        ("status", "--as-of", "2101-01-01"),
        ("status", "--year", "9223372036854775808"),
        ("status", "--year", "9" * 40),
        ("status", "--year", "1999"),
        ("status", "--year", "-1"),
        ("reparse", "--since", "0001-01-01"),
    ],
)
def test_cli_refuses_extreme_days_and_years_in_one_line(tmp_path, capsys, argv):
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: sqlite:///gk.db\narchive:\n  dir: archive\n", encoding="utf-8")
    code, err = _cli(capsys, *argv, "--config", str(config))
    assert code == 2
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and ("2000" in errors[0] and "2100" in errors[0]), err


def test_cli_accepts_the_bounds(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: sqlite:///gk.db\narchive:\n  dir: archive\n", encoding="utf-8")
    assert _cli(capsys, "check", "--as-of", "2100-12-31", "--config", str(config))[0] == 0
    assert _cli(capsys, "status", "--year", "2000", "--as-of", "2000-01-01", "--config", str(config))[0] == 0


# --- 8. login limits: backoff per account and address, never a lockout a stranger can impose ---------------


def test_wrong_guesses_from_a_stranger_do_not_lock_the_operator_out(seeded):
    app = create_app(seeded.config, engine=seeded.engine)
    attacker = client_from(seeded, address=ATTACKER, app=app)
    codes = [login(attacker, password=f"guess{i}").status_code for i in range(12)]
    assert codes[:5] == [401] * 5 and 429 in codes  # the attacker is slowed down …
    operator = client_from(seeded, address=OPERATOR, app=app)
    assert login(operator).status_code == 303  # … the operator, elsewhere, is not


def test_a_blocked_login_says_when_to_retry_and_checks_no_password(seeded):
    attacker = client_from(seeded, address=ATTACKER)
    for i in range(5):
        login(attacker, password=f"guess{i}")
    r = login(attacker)  # the right password, during the delay: refused without being tried
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_after_each_failure_and_a_success_clears_it():
    clock = Clock()
    lim = LoginLimiter(max_failures=5, window_seconds=300, clock=clock)
    waits = []
    for _ in range(9):
        assert lim.wait("alice", "203.0.113.66") == 0
        lim.fail("alice", "203.0.113.66")
        waits.append(lim.wait("alice", "203.0.113.66"))
        clock.now += waits[-1]
    assert waits[:4] == [0, 0, 0, 0] and waits[4:] == [1, 2, 4, 8, 16]  # doubling after the 5th failure
    assert lim.wait("alice", "198.51.100.7") == 0  # another address: untouched
    lim.succeed("alice", "203.0.113.66")
    assert lim.wait("alice", "203.0.113.66") == 0


def test_backoff_is_capped_and_forgotten_after_a_quiet_day():
    clock = Clock()
    lim = LoginLimiter(max_failures=5, window_seconds=300, clock=clock)
    for _ in range(1100):  # a patient attacker for 11 days: 2 ** 1100 would overflow a float
        clock.now += lim.wait("alice", "203.0.113.66")
        lim.fail("alice", "203.0.113.66")
        clock.now += 301  # slow enough to stay under the per-address limit
    assert 0 < lim.wait("alice", "203.0.113.66") <= LoginLimiter.MAX_DELAY
    clock.now += 24 * 3600 + 1
    assert lim.wait("alice", "203.0.113.66") == 0


def test_an_account_under_attack_from_many_addresses_still_admits_a_clean_address():
    clock = Clock()
    lim = LoginLimiter(max_failures=5, window_seconds=300, clock=clock)
    for i in range(50):  # a botnet: one guess from each of fifty addresses
        lim.fail("alice", f"203.0.113.{i}")
    assert lim.wait("alice", "198.51.100.7") == 0  # the operator's address has no failures
    assert lim.wait("alice", "203.0.113.3") > 0  # an address that already failed waits at once
    lim.fail("alice", "198.51.100.7")  # one typo while under attack: a short wait, not a lockout
    assert 0 < lim.wait("alice", "198.51.100.7") <= 2


def test_one_address_spraying_many_accounts_hits_the_coarse_limit():
    clock = Clock()
    lim = LoginLimiter(max_failures=5, window_seconds=300, clock=clock)
    for i in range(LoginLimiter.ADDRESS_FACTOR * 5):
        assert lim.wait(f"user{i}", "203.0.113.66") == 0
        lim.fail(f"user{i}", "203.0.113.66")
    assert lim.wait("someone-new", "203.0.113.66") > 0
    assert lim.wait("someone-new", "198.51.100.7") == 0
    clock.now += 301
    assert lim.wait("someone-new", "203.0.113.66") == 0


def test_made_up_usernames_do_not_grow_the_limiter_without_bound():
    clock = Clock()
    lim = LoginLimiter(max_failures=5, window_seconds=300, clock=clock)
    for i in range(3 * LoginLimiter.MAX_KEYS):
        lim.fail(f"user{i}", f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}")
    assert lim.size() <= 3 * LoginLimiter.MAX_KEYS  # pairs, addresses, accounts: each bounded


def _request(peer: str, xff: str | None):  # noqa: ANN202
    from starlette.requests import Request

    headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers, "method": "GET", "path": "/"})


def test_x_forwarded_for_is_believed_only_from_trusted_proxies():
    from ipaddress import ip_network

    proxies = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    assert client_address(_request("203.0.113.66", "1.2.3.4"), proxies) == "203.0.113.66"
    assert client_address(_request("127.0.0.1", "1.2.3.4"), ()) == "127.0.0.1"  # none configured
    assert client_address(_request("127.0.0.1", "1.2.3.4"), proxies) == "1.2.3.4"
    # the client can write anything left of what our proxies appended: the rightmost untrusted hop counts
    assert client_address(_request("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.1.1"), proxies) == "1.2.3.4"
    assert client_address(_request("127.0.0.1", "garbage, 1.2.3.4"), proxies) == "1.2.3.4"
    assert client_address(_request("127.0.0.1", "1.2.3.4, not-an-ip"), proxies) == "127.0.0.1"
    assert client_address(_request("127.0.0.1", ""), proxies) == "127.0.0.1"


def test_forged_x_forwarded_for_does_not_get_around_the_address_limit(seeded):
    """Password spraying (a new account each guess) from one address, a new forged header each time."""
    attacker = client_from(seeded, address=("127.0.0.1", 40000))
    limit = LoginLimiter.ADDRESS_FACTOR * seeded.config.web.login_max_failures
    codes = []
    for i in range(limit + 3):
        attacker.headers["X-Forwarded-For"] = f"192.0.2.{i}"
        codes.append(login(attacker, username=f"user{i}").status_code)
    assert codes == [401] * limit + [429] * 3


def test_x_forwarded_for_from_a_trusted_proxy_tells_clients_apart(seeded):
    with_web(seeded, trusted_proxies=["127.0.0.1"])
    proxy = client_from(seeded, address=("127.0.0.1", 40000))
    proxy.headers["X-Forwarded-For"] = ATTACKER[0]
    assert [login(proxy, password=f"guess{i}").status_code for i in range(6)][-1] == 429
    proxy.headers["X-Forwarded-For"] = "6.6.6.6, " + OPERATOR[0]  # the proxy appended the operator's
    assert login(proxy).status_code == 303


def test_forged_x_forwarded_for_through_the_real_server(seeded):
    """``gkwatch serve``'s uvicorn must not rewrite the client address from the header (its default does,
    for loopback peers): the app decides, from ``web.trusted_proxies`` (none here)."""
    limit = LoginLimiter.ADDRESS_FACTOR * seeded.config.web.login_max_failures
    codes: list[int] = []

    def attack(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            for i in range(limit + 2):
                token = csrf_from(c.get("/login").text)
                data = {"username": f"user{i}", "password": "guess", "csrf": token, "next": "/"}
                r = c.post("/login", data=data, headers={"X-Forwarded-For": f"192.0.2.{i}"})
                codes.append(r.status_code)

    def ready(url: str) -> None:
        async def run() -> None:
            try:
                await asyncio.to_thread(attack, url)
            finally:
                os.kill(os.getpid(), signal.SIGTERM)

        asyncio.get_running_loop().create_task(run())

    service = Service(seeded.config, with_scheduler=False)
    run = serve(seeded.config, "127.0.0.1", free_port(), scheduler=False, on_ready=ready, service=service)
    asyncio.run(asyncio.wait_for(run, 90))
    assert codes == [401] * limit + [429] * 2, codes


@pytest.mark.parametrize(
    ("base_url", "https_only", "secure"),
    [
        ("http://127.0.0.1:8000", False, False),
        ("https://gkwatch.example.org", False, True),
        ("http://127.0.0.1:8000", True, True),
    ],
)
def test_session_cookie_is_secure_behind_https(seeded, base_url, https_only, secure):
    with_web(seeded, https_only=https_only)
    seeded.config.alerts = AlertsConfig.model_validate({"base_url": base_url})
    c = client_from(seeded, base_url="https://testserver")
    r = login(c)
    assert r.status_code == 303
    assert ("secure" in [p.strip().lower() for p in r.headers["set-cookie"].split(";")]) is secure
    assert "操作员：alice" in c.get("/").text


# --- 9. agency ids with "/" and other reserved characters ---------------------------------------------------

# "/", "?", "#", "%", "&", "+", a space; ids that end like the routes under an agency's page; an escape
ODD_IDS = ["济南/历城 a?b#c%d&e+f", "x/review", "y/2021/correct", "370302/2021", "370302", "%2F..%2Fetc"]


@pytest.fixture
def odd(seeded):
    """The seeded site with agencies whose ids hold reserved characters, served by uvicorn on loopback
    (Starlette's TestClient decodes a path twice: "%2541" would arrive as "A", hiding the very bug)."""
    with session_scope(seeded.engine) as s:
        for i, aid in enumerate(ODD_IDS):
            s.add(Agency(id=aid, name=f"奇怪编号局{i}", region="山东省/济南市/历城区", kind="department"))
            s.add(
                AgencyYearStatus(
                    agency_id=aid,
                    agency=f"奇怪编号局{i}",
                    region="山东省/济南市/历城区",
                    kind="department",
                    year=2021,
                    status="missing",
                    due=date(2022, 1, 31),
                    due_reason="department, 条例 art. 49",
                )
            )
    with serve_in_thread(create_app(seeded.config, engine=seeded.engine)) as url:
        with httpx.Client(base_url=url, timeout=30) as c:
            yield seeded, c


def _links(html: str, prefix: str = "/agency/") -> list[str]:
    found = (unescape(m) for m in re.findall(r'(?:href|action)="([^"]+)"', html))
    return [m for m in found if m.startswith(prefix)]


def _agency_in(path: str) -> str:
    """The id a link carries: its first segment after /agency/, decoded (so a raw "/" would cut it)."""
    return unquote(urlsplit(path).path.split("/")[2])


def _real_login(c: httpx.Client) -> None:
    token = csrf_from(c.get("/login").text)
    r = c.post("/login", data={"username": "alice", "password": PASSWORD, "csrf": token, "next": "/"})
    assert r.status_code == 303


def test_links_to_agencies_with_reserved_characters_resolve(odd):
    _, c = odd
    page = c.get("/?year=2021&per_page=500&region=山东省/济南市").text
    links = {_agency_in(h): h for h in _links(page)}
    for i, aid in enumerate(ODD_IDS):
        assert aid in links, (aid, sorted(links))
        r = c.get(links[aid])
        assert r.status_code == 200 and f"奇怪编号局{i}" in r.text, links[aid]


def test_mail_links_to_agencies_with_reserved_characters_resolve(odd):
    _, c = odd
    for i, aid in enumerate(ODD_IDS):
        url = evidence_url("http://127.0.0.1:8000/", aid)
        path = urlsplit(url).path
        assert _agency_in(path) == aid
        r = c.get(path)
        assert r.status_code == 200 and f"奇怪编号局{i}<" in r.text
        r = c.get(urlsplit(agency_year_url("http://127.0.0.1:8000", aid, 2021)).path)
        assert r.status_code == 200 and f"奇怪编号局{i}<" in r.text
        r = c.get(urlsplit(evidence_zip_url("http://127.0.0.1:8000", aid, 2021)).path)
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"


def test_operator_forms_of_agencies_with_reserved_characters_reach_them(odd):
    seeded, c = odd
    _real_login(c)
    for aid in ODD_IDS:
        page = c.get(f"/agency/{quote(aid, safe='')}")
        assert page.status_code == 200
        csrf = csrf_from(page.text)
        actions = _links(page.text)
        assert actions and all(_agency_in(a) == aid for a in actions), actions
        correct = next(a for a in actions if a.endswith("/2021/correct"))
        data = {"kind": "date", "published": "2022-01-05", "reason": "门户日期有误", "csrf": csrf}
        r = c.post(correct, data=data)
        assert r.status_code == 303, r.text
        assert _agency_in(r.headers["location"]) == aid
        assert c.get(r.headers["location"]).status_code == 200
        login_link = _links(c.get(r.headers["location"]).text, "/login")
        assert not login_link  # logged in: no login link
    with Session(seeded.engine) as s:
        done = {a.agency_id for a in s.exec(select(OperatorAction).where(OperatorAction.action == "correct"))}
    assert done == set(ODD_IDS)


def test_login_returns_to_an_agency_with_reserved_characters(odd):
    _, c = odd
    aid = ODD_IDS[-1]
    page = c.get(f"/agency/{quote(aid, safe='')}")
    (login_link,) = _links(page.text, "/login")
    form = c.get(login_link)
    nxt = unescape(re.search(r'name="next" value="([^"]*)"', form.text).group(1))
    data = {"username": "alice", "password": PASSWORD, "csrf": csrf_from(form.text), "next": nxt}
    r = c.post("/login", data=data)
    assert r.status_code == 303 and _agency_in(r.headers["location"]) == aid


def test_every_agency_route_takes_an_id_with_a_slash(odd):
    """Every route under /agency/ takes the id as one segment (``monitor.web.paths.AGENCY``), so no id can
    be mistaken for another id's sub-page (``370302/2021`` is not the 2021 page of ``370302``)."""
    from monitor.web import routes_actions, routes_agency, routes_auth, routes_table
    from monitor.web.paths import AGENCY

    routers = [m.router for m in (routes_table, routes_agency, routes_auth, routes_actions)]
    paths = [r.path for router in routers for r in router.routes if r.path.startswith("/agency/")]
    assert AGENCY in paths and all(p == AGENCY or p.startswith(AGENCY + "/") for p in paths), paths
    _, c = odd
    for i, aid in enumerate(ODD_IDS):
        r = c.get(f"/agency/{quote(aid, safe='')}")
        assert r.status_code == 200 and f"奇怪编号局{i}<" in r.text, aid
        r = c.get(f"/agency/{quote(aid, safe='')}/2021/evidence.zip")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip", (aid, r.status_code)
        r = c.get(f"/agency/{quote(aid, safe='')}/2021")  # the agency-year page
        assert r.status_code == 200 and f"奇怪编号局{i}<" in r.text, aid
    for tail in ("9" * 40, "1999", "9" * 40 + "/evidence.zip", "1999/evidence.zip"):
        assert c.get(f"/agency/zichuan-zsj/{tail}").status_code == 400, tail
    assert c.get("/agency/370302/2021/evidence.zip").status_code == 200
    assert c.get("/agency/370302/2021/x").status_code == 404  # a raw "/" is a path separator, as ever


@pytest.mark.parametrize("bad", [".", "..", " .. "])
def test_config_refuses_agency_ids_no_url_can_carry(tmp_path, bad):
    """ "." and ".." are dot segments: browsers and HTTP clients resolve them away, encoded or not."""
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"agencies": [{"id": bad, "name": "某局"}], "database": {"url": "sqlite:///x.db"}}),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="id"):
        load_config(path)


def test_config_keeps_agency_ids_with_a_slash(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {"agencies": [{"id": "济南/历城", "name": "某局"}], "database": {"url": "sqlite:///x.db"}}
        ),
        encoding="utf-8",
    )
    assert [a.id for a in load_config(path).agencies] == ["济南/历城"]
