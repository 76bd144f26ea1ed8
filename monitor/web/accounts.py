"""Operators' accounts in the database (``OperatorAccount``): ``gkwatch user add NAME`` writes one, config.yaml's
``web.users`` seeds them at start, the login form checks them.

A seeded account follows config.yaml (a changed hash there is taken at the next start, a user dropped from it
is deactivated); an account added with ``gkwatch user add`` is the database's own and config.yaml does not
touch it. Whenever an account loses its password (deactivated, or given a new one) its live sessions end at
once: a login does not outlive the right to log in.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.config import Config
from storage.db import session_scope
from storage.models import OperatorAccount, WebSession
from storage.types import utcnow


def seed_accounts(engine: Engine, config: Config) -> None:
    """The ``web.users`` of config.yaml as accounts: added where missing, updated where seeded from it, and
    deactivated where config.yaml no longer names them."""
    users = {u.username: u.password_hash for u in config.web.users}
    with session_scope(engine) as s:
        now = utcnow()
        for row in s.exec(select(OperatorAccount).where(OperatorAccount.source == "config")):
            if row.username not in users and row.active:
                row.active, row.updated_at = False, now
                s.add(row)
                end_sessions(s, row.username)
        have = {
            a.username: a for a in s.exec(select(OperatorAccount).where(OperatorAccount.username.in_(users)))
        }
        for name, digest in users.items():
            row = have.get(name)
            if row is None:
                s.add(
                    OperatorAccount(
                        username=name, password_hash=digest, source="config", created_at=now, updated_at=now
                    )
                )
            elif row.source == "config" and (row.password_hash != digest or not row.active):
                if row.password_hash != digest:
                    end_sessions(s, name)
                row.password_hash, row.active, row.updated_at = digest, True, now
                s.add(row)


def end_sessions(s: Session, username: str) -> int:
    """End every live web session of an operator (in the caller's transaction); how many there were."""
    done = s.execute(
        update(WebSession)
        .where(WebSession.username == username, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return done.rowcount or 0


def remove_account(engine: Engine, username: str) -> bool:
    """Deactivate an operator (the row stays: audit records name it) and end their sessions; False when
    there is no such active operator."""
    with session_scope(engine) as s:
        row = s.get(OperatorAccount, username)
        if row is None or not row.active:
            return False
        row.active, row.updated_at = False, utcnow()
        s.add(row)
        end_sessions(s, username)
        return True


def set_account(engine: Engine, username: str, password_hash: str, source: str = "cli") -> bool:
    """Add an operator, or give an existing one a new password; True when the account is new."""
    with session_scope(engine) as s:
        row = s.get(OperatorAccount, username)
        now = utcnow()
        if row is None:
            s.add(
                OperatorAccount(
                    username=username,
                    password_hash=password_hash,
                    source=source,
                    created_at=now,
                    updated_at=now,
                )
            )
            return True
        row.password_hash, row.source, row.active, row.updated_at = password_hash, source, True, now
        s.add(row)
        end_sessions(s, username)  # a new password: logins made with the old one end
        return False


def operator_hashes(engine: Engine) -> dict[str, str]:
    """Username → password hash of every active operator (what the login form checks)."""
    with session_scope(engine) as s:
        active = OperatorAccount.active == True  # noqa: E712
        rows = s.exec(select(OperatorAccount.username, OperatorAccount.password_hash).where(active))
        return dict(rows.all())
