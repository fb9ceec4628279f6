"""The dashboard's tables: operator accounts, alarms and the operator action log.

Revision ID: 0006
Revises: 0008

Written with alembic ops, types spelled out, so it stays a frozen record of this revision when
``storage/dashboard_store.py`` moves on (a storage test compares the migrated database with the metadata).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("name", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_operators")),
        sa.CheckConstraint("role IN ('viewer', 'duty_officer', 'commander')", name=op.f("ck_operators_role")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("a", sa.String, nullable=False),
        sa.Column("b", sa.String, nullable=False),
        sa.Column("party_a", sa.String, nullable=False),
        sa.Column("party_b", sa.String, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("occurred", sa.Boolean, nullable=False),
        sa.Column("incident_id", sa.Integer, nullable=True),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("raised_at", sa.Double, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("acknowledged_by", sa.String, nullable=True),
        sa.Column("acknowledged_at", sa.Double, nullable=True),
        sa.Column("snoozed_by", sa.String, nullable=True),
        sa.Column("snoozed_until", sa.Double, nullable=True),
        sa.Column("snooze_reason", sa.String, nullable=True),
        sa.Column("resolved_by", sa.String, nullable=True),
        sa.Column("resolved_at", sa.Double, nullable=True),
        sa.Column("note", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("key", name=op.f("uq_alarms_key")),
        sa.CheckConstraint(
            "state IN ('raised', 'acknowledged', 'snoozed', 'resolved')", name=op.f("ck_alarms_state")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_alarms_state"), "alarms", ["state"])
    op.create_index(op.f("ix_alarms_incident_id"), "alarms", ["incident_id"])
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("operator", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=True),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_operator_actions_target"), "operator_actions", ["target"])


def downgrade() -> None:
    op.drop_table("operator_actions")
    op.drop_table("alarms")
    op.drop_table("operators")
