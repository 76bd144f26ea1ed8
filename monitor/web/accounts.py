"""Operators' accounts in the database (``OperatorAccount``): ``gkwatch user add NAME`` writes one, config.yaml's
``web.users`` seeds them at start, the login form checks them.

A seeded account follows config.yaml (a changed hash there is taken at the next start); an account added
with ``gkwatch user add`` is the database's own and config.yaml does not touch it.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from domain.config import Config
from storage.db import session_scope
from storage.models import OperatorAccount
from storage.types import utcnow


def seed_accounts(engine: Engine, config: Config) -> None:
    """The ``web.users`` of config.yaml as accounts (added where missing, updated where seeded from it)."""
    users = {u.username: u.password_hash for u in config.web.users}
    if not users:
        return
    with session_scope(engine) as s:
        have = {
            a.username: a for a in s.exec(select(OperatorAccount).where(OperatorAccount.username.in_(users)))
        }
        now = utcnow()
        for name, digest in users.items():
            row = have.get(name)
            if row is None:
                s.add(
                    OperatorAccount(
                        username=name, password_hash=digest, source="config", created_at=now, updated_at=now
                    )
                )
            elif row.source == "config" and row.password_hash != digest:
                row.password_hash, row.updated_at = digest, now
                s.add(row)


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
        return False


def operator_hashes(engine: Engine) -> dict[str, str]:
    """Username → password hash of every active operator (what the login form checks)."""
    with session_scope(engine) as s:
        active = OperatorAccount.active == True  # noqa: E712
        rows = s.exec(select(OperatorAccount.username, OperatorAccount.password_hash).where(active))
        return dict(rows.all())
