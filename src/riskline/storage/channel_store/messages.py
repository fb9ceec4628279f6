"""The operator's view of the log (``messages``): one row per envelope — thread, type, who, the peer's clock
(``created``), ours (``received``/``sent``/``deadline``) and whether it awaits a reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store._common import fields
from riskline.storage.channel_store.states import Direction, MessageStatus, check_in
from riskline.storage.schema import Seconds, metadata

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("envelope_id", sa.String, primary_key=True),
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
    sa.Column("created", Seconds(), nullable=False),
    sa.Column("received", Seconds(), nullable=True),
    sa.Column("sent", Seconds(), nullable=True),
    sa.Column("deadline", Seconds(), nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("answered_by", sa.String, nullable=True),
    sa.Column("answered_at", Seconds(), nullable=True),
    sa.ForeignKeyConstraint(["log_index"], ["log_entries.idx"]),
    sa.CheckConstraint(check_in("direction", Direction), name="direction"),
    sa.CheckConstraint(check_in("status", MessageStatus), name="status"),
    sa.Index(None, "channel", "direction", "sender_node", "seq"),
    sa.Index(None, "thread"),
    sa.Index(None, "status", "deadline"),
    sa.Index(None, "type"),  # the logged key statements (``key_rotation.logged_both_ways``; 0012)
)
"""One row per envelope. ``created`` is the sender's clock (recorded, not trusted); ``received``, ``sent`` and
``deadline`` are this node's clock. ``status``: ``open`` awaits a reply, ``answered``, ``closed`` needs none."""


@dataclass(frozen=True, slots=True)
class MessageRow:
    envelope_id: str
    log_index: int
    direction: Direction
    channel: str
    thread: str
    type: str
    seq: int
    sender_node: str
    sender_party: str
    in_reply_to: str | None
    author: str
    level: str
    language: str
    summary: str
    created: float  # [s] the sender's clock: recorded, not trusted
    received: float | None  # [s] our clock
    sent: float | None  # [s] our clock
    deadline: float | None  # [s] our clock
    status: MessageStatus
    answered_by: str | None
    answered_at: float | None  # [s] our clock


def insert_messages(connection: Connection, rows: Sequence[MessageRow]) -> None:
    """Insert several message rows with one statement (``executemany``)."""
    if rows:
        connection.execute(messages.insert(), [fields(row) for row in rows])


def _message(row: sa.Row[Any]) -> MessageRow:
    values = row._asdict()
    return MessageRow(
        **{**values, "direction": Direction(values["direction"]), "status": MessageStatus(values["status"])}
    )


def message(connection: Connection, envelope_id: str) -> MessageRow | None:
    row = connection.execute(sa.select(messages).where(messages.c.envelope_id == envelope_id)).first()
    return None if row is None else _message(row)


def messages_by_prefix(connection: Connection, prefix: str, limit: int = 3) -> list[MessageRow]:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = connection.execute(
        sa.select(messages).where(messages.c.envelope_id.like(escaped + "%", escape="\\")).limit(limit)
    )
    return [_message(row) for row in rows]


def list_messages(
    connection: Connection,
    *,
    direction: str | None = None,
    channel: str | None = None,
    thread: str | None = None,
    types: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> list[MessageRow]:
    query = sa.select(messages)
    if direction is not None:
        query = query.where(messages.c.direction == direction)
    if channel is not None:
        query = query.where(messages.c.channel == channel)
    if thread is not None:
        query = query.where(messages.c.thread == thread)
    if types is not None:
        query = query.where(messages.c.type.in_(types))
    query = query.order_by(messages.c.log_index)
    if limit is not None:
        query = query.order_by(None).order_by(messages.c.log_index.desc()).limit(limit)
        return list(reversed([_message(row) for row in connection.execute(query)]))
    return [_message(row) for row in connection.execute(query)]


def last_seq(connection: Connection, channel: str, direction: str, sender_node: str) -> int:
    """Highest ``seq`` on ``channel`` from ``sender_node`` in ``direction`` (0 when none)."""
    value = connection.execute(
        sa.select(sa.func.max(messages.c.seq)).where(
            messages.c.channel == channel,
            messages.c.direction == direction,
            messages.c.sender_node == sender_node,
        )
    ).scalar()
    return 0 if value is None else int(value)


def mark_answered(connection: Connection, envelope_id: str, answered_by: str, at: float) -> bool:
    """Mark an open message answered; True when it was open."""
    result = connection.execute(
        messages.update()
        .where(messages.c.envelope_id == envelope_id, messages.c.status == MessageStatus.OPEN)
        .values(status=MessageStatus.ANSWERED.value, answered_by=answered_by, answered_at=at)
    )
    return bool(result.rowcount)
