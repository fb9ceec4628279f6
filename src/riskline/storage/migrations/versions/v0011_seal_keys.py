"""Row seals keyed by primary key on PostgreSQL: ``row_seals.row_id`` becomes ``BIGINT`` there.

Revision ID: 0011
Revises: 0010

PostgreSQL has no ``rowid``; its seals (``storage/seals_pg.py``) are keyed by the row's primary key, or by a
63-bit keyed hash of it for tables whose key is not one integer, which ``INTEGER`` cannot hold. SQLite's
``INTEGER`` is already 64 bits wide: nothing changes there. (The triggers themselves are made when a node
opens, ``seals_pg.install``; going back below this revision drops them on PostgreSQL.)
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
        # Back to where PostgreSQL kept no seals (an older riskline does not make them): no triggers to refuse
        # its writes, and no seals to go stale; the node adopts its rows afresh when it is upgraded again.
        op.execute(
            sa.text(
                "DO $$ DECLARE f text; BEGIN FOR f IN SELECT p.oid::regprocedure::text FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
                "AND p.proname LIKE 'riskline\\_seal\\_note\\_%' LOOP "
                "EXECUTE 'DROP FUNCTION ' || f || ' CASCADE'; END LOOP; END $$"
            )
        )
        op.execute(sa.text("DELETE FROM row_seals"))
        op.execute(sa.text("DELETE FROM seal_heads"))
        op.alter_column("row_seals", "row_id", type_=sa.Integer, existing_type=sa.BigInteger, existing_nullable=False)
