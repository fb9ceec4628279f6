"""Indexes an incremental ``log verify`` reads instead of whole tables.

Revision ID: 0012
Revises: 0011

* ``log_entries (idx, leaf_hash)``: the stored leaf hashes before the mark of the last sound check are held
  against its digest (``node/audit.py``, ``_leaf_digest``) by a scan of this index, some 46 bytes an entry,
  not of the table, whose rows carry the envelopes (a million entries: 46 MB read instead of 840 MB). The index
  is kept by the database on every write, so a row rewritten through SQL changes it as it changes the table
  (a byte-level edit of the file that leaves the index stale is, like an edit of ``data`` alone, for
  ``log verify --full``).
* ``messages (type)``: the logged key rotations and revocations (``key_rotation.logged_both_ways``) are found
  by their type, not by reading every message (some 18 MB a million messages).

Building both on a node of a million entries took some 5 s (SQLite).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_log_entries_idx_leaf_hash", "log_entries", ["idx", "leaf_hash"])
    op.create_index("ix_messages_type", "messages", ["type"])


def downgrade() -> None:
    op.drop_index("ix_messages_type", table_name="messages")
    op.drop_index("ix_log_entries_idx_leaf_hash", table_name="log_entries")
