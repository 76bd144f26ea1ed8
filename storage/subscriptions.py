"""Digest subscribers in the database (``Subscription``): config.yaml's ``alerts.subscribers`` seeds them,
operators manage them on the web page, a reader leaves with the signed link in every digest.

Shared by the digests (``monitor.alerts``: who gets what) and the web page (``monitor.web``: the list, the
unsubscribe link) — which may not import each other — hence here, beside the registry sync.

An unsubscribe token is ``base64(email) . HMAC-SHA256(secret, "unsubscribe:" + email)``: it names one address
and cannot be forged for another without ``alerts.unsubscribe_secret`` (``web.secret_key`` where that is not
set). It does not expire: a link in an old mail still works, and using it twice changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlmodel import Session, select

from domain.config import Config
from storage.models import Subscription
from storage.types import utcnow


@dataclass(frozen=True)
class Subscriber:
    email: str
    regions: tuple[str, ...]


def seed_subscriptions(session: Session, config: Config) -> None:
    """config.yaml's subscribers as rows: added where missing, regions kept in step while the row is the
    seed's (one edited on the page is the page's); one who unsubscribed stays unsubscribed."""
    seeds = {s.email.lower(): list(s.regions) for s in config.alerts.subscribers}
    if not seeds:
        return
    rows = {r.email.lower(): r for r in session.exec(select(Subscription))}
    now = utcnow()
    for email, regions in seeds.items():
        row = rows.get(email)
        if row is None:
            session.add(
                Subscription(email=email, regions=regions, source="config", created_at=now, updated_at=now)
            )
        elif row.source == "config" and row.active and list(row.regions) != regions:
            row.regions, row.updated_at = regions, now
            session.add(row)
    session.flush()


def active_subscribers(session: Session, config: Config) -> list[Subscriber]:
    """Who gets digests now (the seed applied first)."""
    seed_subscriptions(session, config)
    rows = session.exec(select(Subscription).where(Subscription.active == True).order_by(Subscription.email))  # noqa: E712
    return [Subscriber(r.email, tuple(r.regions or ())) for r in rows]


def add_subscriber(session: Session, email: str, regions: list[str], by: str) -> Subscription:
    """Subscribe (again) an address with these regions; returns the row."""
    email = email.strip().lower()
    now = utcnow()
    row = session.exec(select(Subscription).where(Subscription.email == email)).first()
    if row is None:
        row = Subscription(
            email=email, regions=regions, source="web", added_by=by, created_at=now, updated_at=now
        )
    else:
        row.regions, row.active, row.source, row.added_by = regions, True, "web", by
        row.unsubscribed_at, row.updated_at = None, now
    session.add(row)
    session.flush()
    return row


def unsubscribe(session: Session, email: str) -> bool:
    """End an address's digests; True when it was subscribed."""
    row = session.exec(select(Subscription).where(Subscription.email == email.strip().lower())).first()
    if row is None or not row.active:
        return False
    row.active, row.unsubscribed_at = False, utcnow()
    row.updated_at = row.unsubscribed_at
    session.add(row)
    session.flush()
    return True


# --- the signed unsubscribe link -------------------------------------------------------------------------


def unsubscribe_secret(config: Config) -> str | None:
    return config.alerts.unsubscribe_secret or config.web.secret_key or None


def _mac(secret: str, email: str) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"unsubscribe:{email.lower()}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def unsubscribe_token(secret: str, email: str) -> str:
    who = base64.urlsafe_b64encode(email.lower().encode("utf-8")).decode("ascii").rstrip("=")
    return f"{who}.{_mac(secret, email)}"


def token_email(secret: str, token: str) -> str | None:
    """The address a token was made for, or None when it was not made with this secret."""
    try:
        who, mac = token.split(".", 1)
        email = base64.urlsafe_b64decode(who + "=" * (-len(who) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if "@" not in email or len(email) > 320:
        return None
    return email if hmac.compare_digest(mac, _mac(secret, email)) else None
