"""report dates: the date beside the listing's link kept apart from the page's own, and every set of dates
printed for a report (a re-upload with a new date keeps the first on record)

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "pub_history" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("report")}:
        return  # made by create_all (init_db's safety net)
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listing_date", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("pub_history", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.alter_column("pub_history", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("pub_history")
        batch_op.drop_column("listing_date")
