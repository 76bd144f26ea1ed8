"""portal reads: whether each crawl run read each portal's listing to the end (the proof ``missing`` needs)

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


def downgrade() -> None:
    op.drop_table("portalread")
