"""The agency registry in the database, kept in step with config.yaml and ``agencies_file``.

Watchdogs edit their lists (a spreadsheet of agencies) between seasons. An agency that disappears from the
list is not deleted — its history and evidence stay — but marked ``active = False`` so that the monitor
stops judging new years for it and the change is visible ("gone from the registry"). Agencies that the
crawler discovered on a portal but nobody registered keep ``source = "discovered"`` and are never
deactivated by a sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from domain.config import Config
from storage.db import insert_ignoring
from storage.models import Agency, Portal
from storage.types import utcnow


@dataclass
class RegistryChanges:
    """What one sync changed, for logs and the crawl summary."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)  # listed before, gone from the registry now
    reactivated: list[str] = field(default_factory=list)


def sync_registry(session: Session, config: Config) -> RegistryChanges:
    """Upsert the configured portals and agencies; mark registered agencies no longer listed inactive."""
    now = utcnow()
    for p in config.portals:
        row = session.get(Portal, p.id)
        if row is None:
            _insert_unless_there(session, Portal(id=p.id, name=p.name, updated_at=now))
            row = session.get(Portal, p.id)
        row.name, row.start_urls, row.allowed_domains = p.name, list(p.start_urls), list(p.allowed_domains)
        if p.platform:
            row.platform = p.platform
        row.updated_at = now

    changes = RegistryChanges()
    listed = {a.id for a in config.agencies}
    new_agencies: list[dict] = []
    for a in config.agencies:
        row = session.get(Agency, a.id)
        if row is None:
            new_agencies.append(
                Agency(
                    id=a.id,
                    name=a.name,
                    aliases=list(a.aliases),
                    kind=a.kind,
                    region=a.region,
                    portal_id=a.portal,
                    source=a.source,
                    registered_at=now,
                    last_listed_at=now,
                ).model_dump()
            )
            changes.added.append(a.id)
            continue
        before = (row.name, list(row.aliases), row.kind, row.region, row.portal_id, row.source)
        row.name, row.aliases, row.kind, row.region = a.name, list(a.aliases), a.kind, a.region
        row.portal_id, row.source, row.last_listed_at = a.portal, a.source, now
        if not row.active:
            row.active = True
            changes.reactivated.append(a.id)
        elif before != (row.name, row.aliases, row.kind, row.region, row.portal_id, row.source):
            changes.updated.append(a.id)
    if new_agencies:  # one statement, leaving alone the rows a concurrent sync inserted first
        session.execute(insert_ignoring(session.get_bind(), Agency.__table__, ["id"]), new_agencies)

    for row in session.exec(select(Agency).where(Agency.active == True)):  # noqa: E712
        if row.id not in listed and row.source != "discovered":
            row.active = False
            changes.deactivated.append(row.id)
    session.flush()
    return changes


def _insert_unless_there(session: Session, row: Portal) -> None:
    """INSERT a new row now, leaving alone one that a concurrent sync (two crawls started together)
    inserted first: a plain INSERT would fail its whole transaction with a UNIQUE violation."""
    session.execute(insert_ignoring(session.get_bind(), Portal.__table__, ["id"]), [row.model_dump()])
