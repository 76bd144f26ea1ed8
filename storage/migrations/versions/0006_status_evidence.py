"""status evidence: every agency-year's row keeps the facts that prove its verdict; operators' corrections
of a verdict's facts (a wrong date, a wrong attribution, a report the crawler could not reach)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # each step skipped where already done (init_db's create_all safety net)
    if "evidence" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("agencyyearstatus")}:
        with op.batch_alter_table("agencyyearstatus", schema=None) as batch_op:
            batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="{}"))
        with op.batch_alter_table("agencyyearstatus", schema=None) as batch_op:
            batch_op.alter_column("evidence", server_default=None)
    if not sa.inspect(op.get_bind()).has_table("verdictcorrection"):
        op.create_table(
            "verdictcorrection",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("agency_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("year", sa.Integer(), nullable=False),
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("published", sa.Date(), nullable=True),
            sa.Column("report_url", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
            sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("verdictcorrection", schema=None) as batch_op:
            batch_op.create_index("ix_verdictcorrection_agency_year", ["agency_id", "year"], unique=False)


def downgrade() -> None:
    op.drop_table("verdictcorrection")
    with op.batch_alter_table("agencyyearstatus", schema=None) as batch_op:
        batch_op.drop_column("evidence")
