"""readings apart from judgements: the ``reading`` table (one per document), reparse passes; versions keep
only their bytes' identity; reports keep what their pages say (attribution and dates are decided later);
status rows keep their findings in full and the version they judged.

Existing databases come over without readings: ``gkwatch check`` says how many chosen reports await one,
and ``gkwatch reparse`` reads the archived documents again to make them.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERSION_CONTENT = (
    "template",
    "agency_name",
    "prose",
    "error",
    "cells",
    "findings",
    "format",
    "title",
    "year",
)


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Each step is skipped where already done: a database made by ``create_all`` before migrations existed
    # is stamped at 0001 and upgraded from there (``storage.db.init_db``), whatever tables it already has.
    if not sa.inspect(op.get_bind()).has_table("reading"):
        _create_reading()
    if not sa.inspect(op.get_bind()).has_table("readingpass"):
        _create_reading_pass()
    status = _columns("agencyyearstatus")
    if "details" not in status:
        with op.batch_alter_table("agencyyearstatus", schema=None) as batch_op:
            batch_op.add_column(sa.Column("days_late", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("details", sa.JSON(), nullable=False, server_default="[]"))
            batch_op.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
        with op.batch_alter_table("agencyyearstatus", schema=None) as batch_op:
            batch_op.alter_column("details", server_default=None)
    if "published" in _columns("report"):
        with op.batch_alter_table("report", schema=None) as batch_op:
            batch_op.add_column(sa.Column("attributed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
            batch_op.add_column(sa.Column("year_source", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
            batch_op.add_column(sa.Column("link_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
            batch_op.add_column(sa.Column("column", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
            batch_op.add_column(
                sa.Column("content_source", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
            )
            batch_op.drop_column("published_evidence")
            batch_op.drop_column("published")
    if "cells" in _columns("reportversion"):
        with op.batch_alter_table("reportversion", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_reportversion_sha256"), ["sha256"], unique=False)
            for column in _VERSION_CONTENT:
                batch_op.drop_column(column)


def _create_reading() -> None:
    op.create_table(
        "reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reader_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("read_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("year_source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("cell_values", sa.JSON(), nullable=False),
        sa.Column("cell_raw", sa.JSON(), nullable=False),
        sa.Column("cell_marks", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("period", sa.JSON(), nullable=True),
        sa.Column("prose_years", sa.JSON(), nullable=False),
        sa.Column("prose", sa.Text(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )


def _create_reading_pass() -> None:
    op.create_table(
        "readingpass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    with op.batch_alter_table("reportversion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reportversion_sha256"))
        batch_op.add_column(sa.Column("format", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("template", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agency_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("cells", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("prose", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("published_evidence", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        for column in ("content_source", "column", "link_text", "year_source", "attributed_by"):
            batch_op.drop_column(column)
    with op.batch_alter_table("agencyyearstatus", schema=None) as batch_op:
        for column in ("version_id", "details", "days_late"):
            batch_op.drop_column(column)
    op.drop_table("readingpass")
    op.drop_table("reading")
