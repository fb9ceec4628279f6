"""The watch's tables: ingest runs, platform identities, incidents.

Revision ID: 0001_watch
Revises: (none, the first revision)

Written with alembic ops, not ``metadata.create_all``, so it runs the same on SQLite and PostgreSQL and stays
a frozen record of this revision when ``schema.py`` moves on. Types are spelled out here for the same reason.
``sqlite_autoincrement`` is SQLite-only (ids are never reused); PostgreSQL ignores it and uses a sequence.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_watch"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("started", sa.Double, nullable=False),
        sa.Column("finished", sa.Double, nullable=True),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("stats", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_runs")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "platforms",
        sa.Column("platform_id", sa.String, nullable=False),
        sa.Column("party", sa.String, nullable=False),
        sa.Column("domain", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("platform_type", sa.String, nullable=True),
        sa.Column("name", sa.String, nullable=True),
        sa.Column("callsign", sa.String, nullable=True),
        sa.Column("flag", sa.String, nullable=True),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("first_seen", sa.Double, nullable=False),
        sa.Column("last_seen", sa.Double, nullable=False),
        sa.Column("updated", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("platform_id", name=op.f("pk_platforms")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("a", sa.String, nullable=False),
        sa.Column("b", sa.String, nullable=False),
        sa.Column("party_a", sa.String, nullable=False),
        sa.Column("party_b", sa.String, nullable=False),
        sa.Column("occurred", sa.Boolean, nullable=False),
        sa.Column("start_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double, nullable=False),
        sa.Column("t_cpa", sa.Double, nullable=False),
        sa.Column("min_distance_m", sa.Double, nullable=False),
        sa.Column("min_horizontal_m", sa.Double, nullable=False),
        sa.Column("min_vertical_m", sa.Double, nullable=True),
        sa.Column("first_alert", sa.Double, nullable=True),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=True),
        sa.Column("created", sa.Double, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["ingest_runs.id"], name=op.f("fk_incidents_run_id_ingest_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_incidents_rule"), "incidents", ["rule"])
    op.create_index(op.f("ix_incidents_start_time"), "incidents", ["start_time"])
    op.create_index(op.f("ix_incidents_a_b"), "incidents", ["a", "b"])
    op.create_index(op.f("ix_incidents_run_id"), "incidents", ["run_id"])


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("platforms")
    op.drop_table("ingest_runs")
