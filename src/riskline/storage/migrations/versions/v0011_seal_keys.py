"""Row seals keyed by primary key on PostgreSQL: ``row_seals.row_id`` becomes ``BIGINT`` there.

Revision ID: 0011
Revises: 0010

PostgreSQL has no ``rowid``; its seals (``storage/seals_pg.py``) are keyed by the row's primary key, or by a
63-bit keyed hash of it for tables whose key is not one integer, which ``INTEGER`` cannot hold. SQLite's
``INTEGER`` is already 64 bits wide: nothing changes there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("row_seals", "row_id", type_=sa.BigInteger, existing_type=sa.Integer, existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Keys too wide for INTEGER go (an older riskline keeps no seals on PostgreSQL).
        op.execute(sa.text("DELETE FROM row_seals WHERE row_id > 2147483647"))
        op.alter_column("row_seals", "row_id", type_=sa.Integer, existing_type=sa.BigInteger, existing_nullable=False)
