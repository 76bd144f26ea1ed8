"""Operators (``gkwatch user add``, stored in the database, config.yaml's ``web.users`` as the seed) and
subscribers (a page, a test mail over real SMTP, the signed unsubscribe link of every digest)."""

from __future__ import annotations

import io
import re
import sys
from functools import partial

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from domain.config import Subscriber
from monitor.alerts import queue_alerts, send_test_mail
from monitor.alerts.outbox import deliver_outbox
from monitor.cli import main
from monitor.web import create_app
from storage.db import session_scope
from storage.models import OperatorAccount, Subscription
from storage.subscriptions import active_subscribers, token_email, unsubscribe_token
from tests.monitor.alerts_fixtures import SmtpServer
from tests.web.conftest import csrf_from, login
from tests.web.evidence_seed import build
from tests.web.seed import PASSWORD


@pytest.fixture
def judged(tmp_path):  # noqa: ANN001, ANN201
    return build(tmp_path)


@pytest.fixture
def smtp():  # noqa: ANN201
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def write_config(judged, tmp_path, smtp_port: int = 25) -> str:  # noqa: ANN001
    cfg = {
        "database": {"url": judged.config.database_url},
        "archive": {"dir": str(judged.config.archive_dir)},
        "alerts": {"smtp": {"host": "127.0.0.1", "port": smtp_port}, "unsubscribe_secret": "s3cret"},
    }
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return str(path)


def test_user_add_from_stdin_then_log_in(judged, tmp_path, monkeypatch, capsys):
    path = write_config(judged, tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password 口令\n"))
    assert main(["user", "add", "bob", "--password-stdin", "--config", path]) == 0
    assert "operator bob added" in capsys.readouterr().out
    with Session(judged.engine) as s:
        row = s.get(OperatorAccount, "bob")
        assert (
            row.source == "cli"
            and row.password_hash.startswith("scrypt$")
            and "口令" not in row.password_hash
        )
    c = TestClient(create_app(judged.config, engine=judged.engine))
    assert login(c, "bob", "a long enough password 口令").status_code == 303
    assert "操作员：bob" in c.get("/").text
    assert (
        login(TestClient(create_app(judged.config, engine=judged.engine)), "bob", "wrong").status_code == 401
    )


def test_user_add_refuses_what_it_cannot_ask_or_accept(judged, tmp_path, monkeypatch, capsys):
    path = write_config(judged, tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # piped, not a terminal, no --password-stdin
    assert main(["user", "add", "carol", "--config", path]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["user", "add", "carol", "--password-stdin", "--config", path]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("x" * 12 + "\n"))
    assert main(["user", "add", "bad name!", "--password-stdin", "--config", path]) == 2
    with Session(judged.engine) as s:
        assert s.get(OperatorAccount, "carol") is None
    assert main(["user", "list", "--config", path]) == 0
    assert capsys.readouterr().out.split() == []  # alice is seeded by the web app, not yet here


def test_config_users_seed_the_accounts(judged):
    TestClient(create_app(judged.config, engine=judged.engine))
    with Session(judged.engine) as s:
        assert s.get(OperatorAccount, "alice").source == "config"


def test_an_operator_removed_or_given_a_new_password_is_logged_out_at_once(
    judged, tmp_path, monkeypatch, capsys
):
    path = write_config(judged, tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("the first long password\n"))
    assert main(["user", "add", "dave", "--password-stdin", "--config", path]) == 0
    browser = TestClient(create_app(judged.config, engine=judged.engine))
    assert login(browser, "dave", "the first long password").status_code == 303
    assert "操作员：dave" in browser.get("/").text
    # a new password ends the logins made with the old one
    monkeypatch.setattr(sys, "stdin", io.StringIO("the second long password\n"))
    assert main(["user", "add", "dave", "--password-stdin", "--config", path]) == 0
    assert "操作员：dave" not in browser.get("/").text
    assert login(browser, "dave", "the second long password").status_code == 303
    assert "操作员：dave" in browser.get("/").text
    # removed: the live session ends, the login is refused, the row stays (audit records name it)
    assert main(["user", "remove", "dave", "--config", path]) == 0
    assert "deactivated" in capsys.readouterr().out
    assert "操作员：dave" not in browser.get("/").text
    assert login(browser, "dave", "the second long password").status_code == 401
    with Session(judged.engine) as s:
        assert s.get(OperatorAccount, "dave").active is False
    assert main(["user", "remove", "dave", "--config", path]) == 1  # no such active operator
    assert main(["user", "list", "--config", path]) == 0
    assert "dave" not in capsys.readouterr().out.split()


def test_a_user_dropped_from_config_yaml_is_deactivated_at_the_next_start(judged):
    browser = TestClient(create_app(judged.config, engine=judged.engine))
    assert login(browser, "alice", PASSWORD).status_code == 303
    assert "操作员：alice" in browser.get("/").text
    judged.config.web.users = []
    TestClient(create_app(judged.config, engine=judged.engine))  # the next start seeds from config.yaml
    with Session(judged.engine) as s:
        assert s.get(OperatorAccount, "alice").active is False
    assert "操作员：alice" not in browser.get("/").text  # logged out at once
    assert login(browser, "alice", PASSWORD).status_code == 401


def test_subscribers_page_add_remove_and_test_mail_over_smtp(judged, smtp):
    judged.config.alerts.smtp.port = smtp.port
    judged.config.alerts.subscribers = []
    app = create_app(judged.config, engine=judged.engine)
    app.state.web.test_mail = partial(send_test_mail, judged.config, judged.engine)  # as the service does
    c = TestClient(app)
    assert c.get("/subscribers").status_code == 401  # operators only
    login(c)
    token = csrf_from(c.get("/subscribers").text)
    r = c.post(
        "/subscribers",
        data={"csrf": token, "email": "Reader@Example.org", "regions": "山东省\n湖南省/怀化市"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get("/subscribers").text
    assert "reader@example.org" in page and "山东省、湖南省/怀化市" in page and "网页（alice）" in page
    assert c.post("/subscribers", data={"csrf": token, "email": "not an address"}).status_code == 400
    sent = c.post("/subscribers/test", data={"csrf": token, "email": "reader@example.org"})  # → the page
    assert "测试邮件 → reader@example.org：已发送" in sent.text
    (got,) = smtp.received
    assert got.rcpt_tos == ["reader@example.org"] and got.message["Subject"] == "gkwatch 测试邮件"
    assert "/unsubscribe?token=" in got.part("plain")
    c.post("/subscribers/remove", data={"csrf": token, "email": "reader@example.org"})
    with Session(judged.engine) as s:
        row = s.exec(select(Subscription)).one()
        assert (row.active, row.unsubscribed_at is not None) == (False, True)


def test_test_mail_to_a_server_that_is_down_says_so_in_chinese(judged):
    judged.config.alerts.smtp.port = SmtpServer().port  # nothing listens there
    judged.config.alerts.smtp.timeout_seconds = 3
    said = send_test_mail(judged.config, judged.engine, "x@example.org")
    assert said.startswith("未能发送：") and "连接被拒绝" in said and "refused" not in said


def test_every_digest_has_a_working_unsubscribe_link(judged, smtp):
    judged.config.alerts.smtp.port = smtp.port
    judged.config.alerts.subscribers = [Subscriber("sd@example.org", ["山东省"])]
    with session_scope(judged.engine) as s:
        assert queue_alerts(s, judged.config) == 1
    assert deliver_outbox(judged.engine, judged.config).sent == 1
    (mail,) = smtp.received
    link = re.search(r"退订：(\S+)", mail.part("plain"))[1]
    assert link.startswith("http://watch.example.org/unsubscribe?token=")
    assert 'href="' + link.replace("&", "&amp;") + '"' in mail.part("html")
    path = link.removeprefix("http://watch.example.org")
    c = TestClient(create_app(judged.config, engine=judged.engine))
    page = c.get(path)
    assert page.status_code == 200 and "sd@example.org" in page.text and "确认退订" in page.text
    with Session(judged.engine) as s:
        assert (
            s.exec(select(Subscription)).one().active
        )  # a mail scanner that follows the link changes nothing
    done = c.post("/unsubscribe", data={"csrf": csrf_from(page.text), "token": path.split("token=")[1]})
    assert done.status_code == 200 and "已退订" in done.text
    with Session(judged.engine) as s:
        assert not s.exec(select(Subscription)).one().active
    # the seed (config.yaml) does not subscribe the address again, and the next digest skips it
    with session_scope(judged.engine) as s:
        assert active_subscribers(s, judged.config) == []


def test_forged_or_broken_tokens_are_refused(judged):
    c = TestClient(create_app(judged.config, engine=judged.engine))
    secret = judged.config.alerts.unsubscribe_secret
    assert token_email(secret, unsubscribe_token(secret, "a@example.org")) == "a@example.org"
    forged = unsubscribe_token("another secret", "a@example.org")
    assert c.get("/unsubscribe", params={"token": forged}).status_code == 400
    assert c.get("/unsubscribe", params={"token": "garbage"}).status_code == 400
    assert c.get("/unsubscribe").status_code == 400
