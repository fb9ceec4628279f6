"""Row seals and the last fully verified head of the log (``storage/seals.py``).

Revision ID: 0008
Revises: 0003

The seal triggers are not created here: they are generated from the live schema each time a node opens
(``seals.install``), so that tables of later revisions are sealed too and the triggers never fall behind.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "row_seals",
        sa.Column("tbl", sa.String, nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tbl", "row_id", name=op.f("pk_row_seals")),
    )
    op.create_table(
        "seal_heads",
        sa.Column("tbl", sa.String, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("mac", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("tbl", name=op.f("pk_seal_heads")),
    )
    op.create_table(
        "log_verified",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("verified", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_verified")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # the seal triggers are SQLite's (storage/seals.py); PostgreSQL has none
        triggers = bind.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'riskline_seal_%'"
        )
        for (name,) in triggers.fetchall():
            op.execute(sa.text(f'DROP TRIGGER IF EXISTS "{name}"'))
    for name in ("log_verified", "seal_heads", "row_seals"):
        op.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
