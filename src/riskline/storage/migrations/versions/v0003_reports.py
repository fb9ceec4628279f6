"""Incident reports sent from stored incidents, the attachments a node fetches, and how a watch run ended.

Revision ID: 0003
Revises: 0002_channel

Written with alembic ops, types spelled out, so it stays a frozen record of this revision when
``storage/report_store.py`` moves on (a storage test compares the migrated database with the metadata).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002_channel"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("ingest_runs", sa.Column("ended_by", sa.String, nullable=True))
    op.create_table(
        "incident_reports",
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("envelope_id", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("reported", sa.Double, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_reports_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "envelope_id", name=op.f("pk_incident_reports")),
    )
    op.create_table(
        "attachment_fetches",
        sa.Column("envelope_id", sa.String, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("media_type", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("peer", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.Double, nullable=False),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("updated", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("envelope_id", "sha256", name=op.f("pk_attachment_fetches")),
        sa.CheckConstraint(
            "state IN ('pending', 'fetched', 'mismatch', 'too_large', 'missing')",
            name=op.f("ck_attachment_fetches_state"),
        ),
    )
    op.create_index(
        op.f("ix_attachment_fetches_state_next_attempt"), "attachment_fetches", ["state", "next_attempt"]
    )


def downgrade() -> None:
    op.drop_table("attachment_fetches")
    op.drop_table("incident_reports")
    with op.batch_alter_table("ingest_runs") as batch:
        batch.drop_column("ended_by")
