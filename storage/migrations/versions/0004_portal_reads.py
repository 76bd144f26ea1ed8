"""portal reads: whether each crawl run read each portal's listing to the end (the proof ``missing`` needs)

Runs from before this revision did not record it: they are read back from what they left — a finished run
that archived listing pages of a portal and recorded no blocking problem for it (unreachable, blocked,
robots) read that portal completely, as the code of the time judged; anything else did not.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("portalread"):
        return  # made by create_all in a database from before this revision (init_db's safety net)
    _create()
    _backfill()


def _create() -> None:
    op.create_table(
        "portalread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("listing_pages", sa.Integer(), nullable=False),
        sa.Column("failed_pages", sa.Integer(), nullable=False),
        sa.Column("report_links", sa.Integer(), nullable=False),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "portal_id"),
    )
    with op.batch_alter_table("portalread", schema=None) as batch_op:
        batch_op.create_index("ix_portalread_portal_time", ["portal_id", "finished_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_portalread_run_id"), ["run_id"], unique=False)


def _backfill() -> None:
    conn = op.get_bind()
    runs = conn.execute(sa.text("SELECT id, started_at, finished_at, status FROM crawlrun ORDER BY id")).all()
    for run_id, started, finished, status in runs:
        window = "fetched_at >= :start" + (" AND fetched_at <= :end" if finished is not None else "")
        params = {"start": started, "end": finished, "run": run_id}
        pages = conn.execute(
            sa.text(
                f"SELECT portal_id, count(*), max(fetched_at) FROM listingsnapshot WHERE {window} GROUP BY portal_id"
            ),
            params,
        ).all()
        blocked = {
            portal: kind
            for portal, kind in conn.execute(
                sa.text(
                    "SELECT portal_id, kind FROM crawlproblem WHERE run_id = :run "
                    "AND kind IN ('unreachable', 'blocked', 'robots')"
                ),
                params,
            )
        }
        portals = {portal: (n, last) for portal, n, last in pages}
        for portal in sorted(set(portals) | set(blocked)):
            n, last = portals.get(portal, (0, None))
            complete = status == "finished" and n > 0 and portal not in blocked
            reason = (
                "finished" if complete else blocked.get(portal) or ("interrupted" if n else "unreachable")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO portalread (run_id, portal_id, started_at, finished_at, complete, listing_pages, "
                    "failed_pages, report_links, end_reason) VALUES (:run, :portal, :start, :end, :complete, :n, "
                    "0, 0, :reason)"
                ),
                {
                    "run": run_id,
                    "portal": portal,
                    "start": started,
                    "end": finished or last or started,
                    "complete": complete,
                    "n": n,
                    "reason": reason,
                },  # fmt: skip
            )


def downgrade() -> None:
    op.drop_table("portalread")
