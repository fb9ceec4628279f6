"""Transparency: observed military activity per watch run, and compare findings with their evidence.

Revision ID: 0005
Revises: 0006

Written with alembic ops, types spelled out, so it stays a frozen record of this revision when
``storage/transparency_store.py`` moves on (a storage test compares the migrated database with the metadata).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "observed_activity",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("t", sa.Double, nullable=False),
        sa.Column("platform_id", sa.String, nullable=False),
        sa.Column("party", sa.String, nullable=False),
        sa.Column("domain", sa.String, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("bin_s", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observed_activity")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["ingest_runs.id"], name=op.f("fk_observed_activity_run_id_ingest_runs"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("domain IN ('air', 'sea')", name=op.f("ck_observed_activity_domain")),
    )
    op.create_index(op.f("ix_observed_activity_t"), "observed_activity", ["t"])
    op.create_index(op.f("ix_observed_activity_run_id"), "observed_activity", ["run_id"])
    op.create_table(
        "transparency_findings",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("party", sa.String, nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("platforms", sa.Integer, nullable=False),
        sa.Column("platform_hours", sa.Double, nullable=False),
        sa.Column("declared", sa.String, nullable=True),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("png", sa.LargeBinary, nullable=True),
        sa.Column("created", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transparency_findings")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_transparency_findings_start_time"), "transparency_findings", ["start_time"])


def downgrade() -> None:
    op.drop_table("transparency_findings")
    op.drop_table("observed_activity")
