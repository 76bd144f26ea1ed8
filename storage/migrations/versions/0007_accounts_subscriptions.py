"""operator accounts and subscriptions: web logins stored in the database (``gkwatch user add``; config.yaml's
``web.users`` seeds them) and digest subscribers managed on the web page (``alerts.subscribers`` seeds them)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # each table skipped where already made (init_db's create_all safety net)
    if not _has("operatoraccount"):
        op.create_table(
            "operatoraccount",
            sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("username"),
        )
    if not _has("subscription"):
        op.create_table(
            "subscription",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("regions", sa.JSON(), nullable=False),
            sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.Column("unsubscribed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("email"),
        )


def downgrade() -> None:
    op.drop_table("subscription")
    op.drop_table("operatoraccount")
