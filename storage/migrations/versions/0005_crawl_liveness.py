"""crawl liveness and incremental sweeps: a heartbeat (and host, pid) on each crawl run, one lock per portal
(one crawl of a portal at a time), each report URL's validators (ETag / Last-Modified) for conditional
requests, and the run each listing snapshot belongs to

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _has(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # Each step is skipped where already done (a table made by init_db's create_all safety net).
    if "heartbeat_at" not in _columns("crawlrun"):
        with op.batch_alter_table("crawlrun", schema=None) as batch_op:
            batch_op.add_column(sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
            batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column("heartbeat_at", storage.types.UTCDateTime(timezone=True), nullable=True)
            )
    if "run_id" not in _columns("listingsnapshot"):
        with op.batch_alter_table("listingsnapshot", schema=None) as batch_op:
            batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f("ix_listingsnapshot_run_id"), ["run_id"], unique=False)
    if not _has("portallock"):
        op.create_table(
            "portallock",
            sa.Column("portal_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("pid", sa.Integer(), nullable=False),
            sa.Column("acquired_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.Column("heartbeat_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("portal_id"),
        )
    if not _has("urlstate"):
        op.create_table(
            "urlstate",
            sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("portal_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("etag", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
            sa.Column("last_modified", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
            sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("fetched_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.Column("checked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("url"),
        )
        with op.batch_alter_table("urlstate", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_urlstate_portal_id"), ["portal_id"], unique=False)


def downgrade() -> None:
    op.drop_table("urlstate")
    op.drop_table("portallock")
    with op.batch_alter_table("listingsnapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listingsnapshot_run_id"))
        batch_op.drop_column("run_id")
    with op.batch_alter_table("crawlrun", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("pid")
        batch_op.drop_column("host")
