"""The node's channel tables: Merkle log, messages, outbox, receipts, checkpoints, peers, escalations, events.

Revision ID: 0002_channel
Revises: 0001_watch

Written with alembic ops, types spelled out, so it stays a frozen record of this revision when
``storage/channel_store/`` moves on (a storage test compares the migrated database with the metadata).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_channel"
down_revision: str | None = "0001_watch"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("direction", sa.String, nullable=False),
        sa.Column("envelope_id", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("appended_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_entries")),
        sa.UniqueConstraint("envelope_id", name=op.f("uq_log_entries_envelope_id")),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_log_entries_direction")),
    )
    op.create_table(
        "messages",
        sa.Column("envelope_id", sa.String, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("direction", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("thread", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("sender_node", sa.String, nullable=False),
        sa.Column("sender_party", sa.String, nullable=False),
        sa.Column("in_reply_to", sa.String, nullable=True),
        sa.Column("author", sa.String, nullable=False),
        sa.Column("level", sa.String, nullable=False),
        sa.Column("language", sa.String, nullable=False),
        sa.Column("summary", sa.String, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("received", sa.Double, nullable=True),
        sa.Column("sent", sa.Double, nullable=True),
        sa.Column("deadline", sa.Double, nullable=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("answered_by", sa.String, nullable=True),
        sa.Column("answered_at", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("envelope_id", name=op.f("pk_messages")),
        sa.ForeignKeyConstraint(["log_index"], ["log_entries.idx"], name=op.f("fk_messages_log_index_log_entries")),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name=op.f("ck_messages_status")),
    )
    op.create_index(
        op.f("ix_messages_channel_direction_sender_node_seq"),
        "messages",
        ["channel", "direction", "sender_node", "seq"],
    )
    op.create_index(op.f("ix_messages_thread"), "messages", ["thread"])
    op.create_index(op.f("ix_messages_status_deadline"), "messages", ["status", "deadline"])
    op.create_table(
        "outbox",
        sa.Column("envelope_id", sa.String, nullable=False),
        sa.Column("peer", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.Double, nullable=False),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("queued", sa.Double, nullable=False),
        sa.Column("delivered", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("envelope_id", "peer", name=op.f("pk_outbox")),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed-permanent')", name=op.f("ck_outbox_state")),
    )
    op.create_index(op.f("ix_outbox_peer_state_channel_seq"), "outbox", ["peer", "state", "channel", "seq"])
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("envelope_id", sa.String, nullable=False),
        sa.Column("direction", sa.String, nullable=False),
        sa.Column("peer", sa.String, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("stored", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("envelope_id", "direction", "peer", name=op.f("uq_receipts_envelope_id_direction_peer")),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_receipts_direction")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("signed", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "peer_checkpoints",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("origin", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("peer", sa.String, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("seen", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_checkpoints")),
        sa.CheckConstraint(
            "kind IN ('head', 'cosigned_by_us', 'cosigned_by_peer')", name=op.f("ck_peer_checkpoints_kind")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_peer_checkpoints_origin_kind_size"), "peer_checkpoints", ["origin", "kind", "size"])
    op.create_table(
        "peers",
        sa.Column("name", sa.String, nullable=False),
        sa.Column("node", sa.String, nullable=False),
        sa.Column("party", sa.String, nullable=False),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("fingerprint", sa.String, nullable=False),
        sa.Column("ca_pem", sa.Text, nullable=True),
        sa.Column("added", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_peers")),
        sa.UniqueConstraint("node", name=op.f("uq_peers_node")),
        sa.UniqueConstraint("key", name=op.f("uq_peers_key")),
    )
    op.create_table(
        "peer_state",
        sa.Column("peer", sa.String, nullable=False),
        sa.Column("receiver_state", sa.Text, nullable=True),
        sa.Column("cosigned_size", sa.Integer, nullable=False),
        sa.Column("verified_size", sa.Integer, nullable=False),
        sa.Column("verified_root", sa.LargeBinary, nullable=True),
        sa.Column("updated", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("peer", name=op.f("pk_peer_state")),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("original", sa.String, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("from_level", sa.String, nullable=False),
        sa.Column("to_level", sa.String, nullable=False),
        sa.Column("notice_id", sa.String, nullable=True),
        sa.Column("channel", sa.String, nullable=True),
        sa.Column("overdue_since", sa.Double, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("note", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("original", "step", name=op.f("uq_escalations_original_step")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("message", sa.String, nullable=False),
        sa.Column("peer", sa.String, nullable=True),
        sa.Column("remote", sa.String, nullable=True),
        sa.Column("channel", sa.String, nullable=True),
        sa.Column("envelope_id", sa.String, nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_security_events_at"), "security_events", ["at"])
    op.create_table(
        "node_events",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("message", sa.String, nullable=False),
        sa.Column("envelope_id", sa.String, nullable=True),
        sa.Column("peer", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_node_events_at"), "node_events", ["at"])


def downgrade() -> None:
    op.drop_table("node_events")
    op.drop_table("security_events")
    op.drop_table("escalations")
    op.drop_table("peer_state")
    op.drop_table("peers")
    op.drop_table("peer_checkpoints")
    op.drop_table("checkpoints")
    op.drop_table("receipts")
    op.drop_table("outbox")
    op.drop_table("messages")
    op.drop_table("log_entries")
