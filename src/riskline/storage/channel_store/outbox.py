"""The transactional outbox (``outbox``): one row per (envelope, recipient node), committed with the log entry
before anything is sent; delivery (``riskline.node.delivery``) drains it. A row is ``pending``, ``delivered``
or ``failed-permanent`` (``OutboxState``); the backoff of a peer that is down is set on all its pending rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store._common import fields
from riskline.storage.channel_store.states import OutboxState, check_in
from riskline.storage.schema import Seconds, metadata

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("envelope_id", sa.String, nullable=False),
    sa.Column("peer", sa.String, nullable=False),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt", Seconds(), nullable=False),
    sa.Column("last_error", sa.String, nullable=True),
    sa.Column("queued", Seconds(), nullable=False),
    sa.Column("delivered", Seconds(), nullable=True),
    sa.PrimaryKeyConstraint("envelope_id", "peer"),
    sa.CheckConstraint(check_in("state", OutboxState), name="state"),
    sa.Index(None, "peer", "state", "channel", "seq"),
)
"""The transactional outbox: committed with the log entry, before anything is sent; ``peer`` is a node id."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    envelope_id: str
    peer: str
    channel: str
    seq: int
    state: OutboxState
    attempts: int
    next_attempt: float  # [s] our clock
    last_error: str | None
    queued: float  # [s]
    delivered: float | None  # [s]


def insert_outbox_rows(connection: Connection, rows: Sequence[OutboxRow]) -> None:
    """Insert several outbox rows with one statement (``executemany``)."""
    if rows:
        connection.execute(outbox.insert(), [fields(row) for row in rows])


def _outbox(row: sa.Row[Any]) -> OutboxRow:
    values = row._asdict()
    return OutboxRow(**{**values, "state": OutboxState(values["state"])})


def pending_due(connection: Connection) -> dict[str, float]:
    """Peers with pending rows, and when [s] each is due: the latest ``next_attempt`` of its rows.

    A backoff is the peer's, not a row's (``postpone_outbox`` sets it on every pending row of the peer): a row
    queued while it runs (``next_attempt`` = when it was queued) waits with the others instead of restarting
    delivery to a peer that is down — with the earliest, each message sent to a peer that is down was one
    more attempt at once.
    """
    rows = connection.execute(
        sa.select(outbox.c.peer, sa.func.max(outbox.c.next_attempt))
        .where(outbox.c.state == OutboxState.PENDING)
        .group_by(outbox.c.peer)
    )
    return {str(peer): float(at) for peer, at in rows}


def pending_by_channel(connection: Connection, peer: str, limit: int) -> dict[str, list[OutboxRow]]:
    """The first ``limit`` pending rows to ``peer`` of each channel, in seq order, by channel.

    Rows behind a ``failed-permanent`` row of their channel (a higher seq) wait for it and are left out.
    """
    channels = connection.execute(
        sa.select(outbox.c.channel)
        .where(outbox.c.peer == peer, outbox.c.state == OutboxState.PENDING)
        .distinct()
        .order_by(outbox.c.channel)
    ).scalars()
    result: dict[str, list[OutboxRow]] = {}
    for channel in list(channels):
        blocked = connection.execute(
            sa.select(sa.func.min(outbox.c.seq)).where(
                outbox.c.peer == peer, outbox.c.channel == channel, outbox.c.state == OutboxState.FAILED_PERMANENT
            )
        ).scalar()
        query = sa.select(outbox).where(
            outbox.c.peer == peer, outbox.c.channel == channel, outbox.c.state == OutboxState.PENDING
        )
        if blocked is not None:
            query = query.where(outbox.c.seq < blocked)
        rows = [_outbox(row) for row in connection.execute(query.order_by(outbox.c.seq).limit(limit))]
        if rows:
            result[channel] = rows
    return result


def pending_after(connection: Connection, peer: str, channel: str, after_seq: int, limit: int) -> list[OutboxRow]:
    """The first ``limit`` pending rows to ``peer`` on ``channel`` after ``after_seq``, in seq order, but none
    behind a ``failed-permanent`` row of the channel."""
    failed = outbox.alias("failed")
    blocked = sa.exists().where(
        failed.c.peer == peer,
        failed.c.channel == channel,
        failed.c.state == OutboxState.FAILED_PERMANENT,
        failed.c.seq < outbox.c.seq,
    )
    query = (
        sa.select(outbox)
        .where(outbox.c.peer == peer, outbox.c.channel == channel, outbox.c.state == OutboxState.PENDING)
        .where(outbox.c.seq > after_seq, ~blocked)
        .order_by(outbox.c.seq)
        .limit(limit)
    )
    return [_outbox(row) for row in connection.execute(query)]


def outbox_rows(connection: Connection, envelope_id: str | None = None) -> list[OutboxRow]:
    query = sa.select(outbox)
    if envelope_id is not None:
        query = query.where(outbox.c.envelope_id == envelope_id)
    return [_outbox(row) for row in connection.execute(query.order_by(outbox.c.queued, outbox.c.seq))]


def outbox_counts(connection: Connection) -> dict[str, int]:
    rows = connection.execute(sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state))
    return {state: int(count) for state, count in rows}


def update_outbox(connection: Connection, envelope_id: str, peer: str, **values: Any) -> None:
    connection.execute(
        outbox.update().where(outbox.c.envelope_id == envelope_id, outbox.c.peer == peer).values(**values)
    )


_DELIVERED = (
    outbox.update()
    .where(outbox.c.envelope_id == sa.bindparam("b_envelope_id"), outbox.c.peer == sa.bindparam("b_peer"))
    .values(
        state=OutboxState.DELIVERED.value,
        delivered=sa.bindparam("b_delivered"),
        attempts=sa.bindparam("b_attempts"),
        last_error=None,
    )
)


@dataclass(frozen=True, slots=True)
class Delivered:
    """An outbox row to mark delivered: its envelope, peer, when [s] our clock, and the attempts it took."""

    envelope_id: str
    peer: str
    at: float  # [s]
    attempts: int


def mark_delivered(connection: Connection, rows: Sequence[Delivered]) -> None:
    """Mark several outbox rows delivered with one statement (``executemany``)."""
    if rows:
        connection.execute(
            _DELIVERED,
            [
                {
                    "b_envelope_id": row.envelope_id,
                    "b_peer": row.peer,
                    "b_delivered": row.at,
                    "b_attempts": row.attempts,
                }
                for row in rows
            ],
        )


def postpone_outbox(connection: Connection, peer: str, next_attempt: float) -> None:
    """Every pending row to ``peer`` waits until ``next_attempt`` [s] (the peer is down)."""
    connection.execute(
        outbox.update()
        .where(outbox.c.peer == peer, outbox.c.state == OutboxState.PENDING)
        .values(next_attempt=next_attempt)
    )


def resume_outbox(connection: Connection, peer: str, now: float) -> None:
    """The peer answered: its pending rows postponed past ``now`` [s] are due at once (its backoff ends)."""
    connection.execute(
        outbox.update()
        .where(outbox.c.peer == peer, outbox.c.state == OutboxState.PENDING, outbox.c.next_attempt > now)
        .values(next_attempt=now)
    )


def requeue_outbox(connection: Connection, peer: str, channel: str, from_seq: int, now: float) -> int:
    """Queue rows to ``peer`` on ``channel`` from ``from_seq`` on again; how many changed state."""
    result = connection.execute(
        outbox.update()
        .where(
            outbox.c.peer == peer,
            outbox.c.channel == channel,
            outbox.c.seq >= from_seq,
            outbox.c.state != OutboxState.PENDING,
        )
        .values(state=OutboxState.PENDING.value, next_attempt=now, delivered=None)
    )
    return int(result.rowcount)


def retry_failed(connection: Connection, now: float) -> int:
    """Queue every ``failed-permanent`` row again (``riskline outbox --retry``); how many."""
    result = connection.execute(
        outbox.update()
        .where(outbox.c.state == OutboxState.FAILED_PERMANENT)
        .values(state=OutboxState.PENDING.value, next_attempt=now, attempts=0)
    )
    return int(result.rowcount)
