"""A test mail to one subscriber, sent at once through the outbox and SMTP — what the subscribers page's
"发送测试邮件" button does (the service hands it to the web app as ``WebState.test_mail``)."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine
from sqlmodel import select

from domain.config import Config
from monitor.alerts.digest import WHAT_YOU_CAN_DO
from monitor.alerts.outbox import deliver_outbox, enqueue
from monitor.alerts.text import unsubscribe_url
from monitor.status.wording import problem_text
from storage.db import session_scope
from storage.models import Outbox
from storage.subscriptions import unsubscribe_secret


def test_mail_bodies(config: Config, email: str) -> tuple[str, str, str]:
    base = config.alerts.base_url.rstrip("/")
    secret = unsubscribe_secret(config)
    leave = unsubscribe_url(base, secret, email) if secret else None
    lines = [
        "这是一封 gkwatch 测试邮件：您的地址可以收到政府信息公开工作年度报告监测提醒。",
        "",
        f"全部情况：{base}/",
        WHAT_YOU_CAN_DO,
    ]
    if config.alerts.contact:
        lines.append(f"联系我们：{config.alerts.contact}")
    if leave:
        lines.append(f"退订：{leave}")
    text = "\n".join(lines) + "\n"
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        + "".join(f"<p>{line}</p>" for line in lines if line and "://" not in line)
        + "</body></html>"
    )
    return "gkwatch 测试邮件", text, html


def send_test_mail(config: Config, engine: Engine, email: str) -> str:
    """Queue and deliver now; the outcome in words (a failure stays queued and is retried like any mail)."""
    subject, text, html = test_mail_bodies(config, email)
    with session_scope(engine) as s:
        row = enqueue(
            s,
            dedupe_key=f"test:{email}:{uuid.uuid4().hex}",
            recipient=email,
            kind="test",
            subject=subject,
            body_text=text,
            body_html=html,
            from_addr=config.alerts.smtp.from_addr,
        )
        s.flush()
        row_id = row.id if row is not None else None
    deliver_outbox(engine, config)
    with session_scope(engine) as s:
        sent, error = s.exec(select(Outbox.sent_at, Outbox.last_error).where(Outbox.id == row_id)).one()
    if sent is not None:
        return "已发送（邮件服务器已接收）"
    return f"未能发送：{problem_text(None, error) or '原因不明'}；邮件已留在发件队列，稍后自动重试"
