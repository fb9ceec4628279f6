"""Signed receipts (``receipts``) as canonical JSON: those we gave (``Direction.IN``) and got (``Direction.OUT``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store._common import IN_CHUNK
from riskline.storage.channel_store.states import Direction, check_in
from riskline.storage.schema import Seconds, metadata

receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("envelope_id", sa.String, nullable=False),
    sa.Column("direction", sa.String, nullable=False),
    sa.Column("peer", sa.String, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("stored", Seconds(), nullable=False),
    sa.UniqueConstraint("envelope_id", "direction", "peer"),
    sa.CheckConstraint(check_in("direction", Direction), name="direction"),
    sqlite_autoincrement=True,
)
"""Signed receipts as canonical JSON: ``in`` = we received the envelope and gave this receipt (``peer`` is the
sender); ``out`` = we sent it and ``peer`` gave this receipt."""


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A signed receipt to keep: the envelope, ``in`` (we gave it) or ``out`` (a peer gave it), the peer, its
    canonical JSON and when [s] it was stored."""

    envelope_id: str
    direction: str
    peer: str
    data: str
    at: float  # [s]


def store_receipts(connection: Connection, rows: Sequence[StoredReceipt]) -> None:
    """``store_receipt`` for several receipts: one query for those already kept, one ``executemany`` insert."""
    if not rows:
        return
    kept: set[tuple[str, str, str]] = set()
    ids = list(dict.fromkeys(row.envelope_id for row in rows))
    for start in range(0, len(ids), IN_CHUNK):
        query = sa.select(receipts.c.envelope_id, receipts.c.direction, receipts.c.peer).where(
            receipts.c.envelope_id.in_(ids[start : start + IN_CHUNK])
        )
        kept.update((row[0], row[1], row[2]) for row in connection.execute(query))
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = (row.envelope_id, row.direction, row.peer)
        if key in kept:
            continue
        kept.add(key)
        fresh.append(
            {
                "envelope_id": row.envelope_id,
                "direction": row.direction,
                "peer": row.peer,
                "data": row.data,
                "stored": row.at,
            }
        )
    if fresh:
        connection.execute(receipts.insert(), fresh)


def receipts_of(connection: Connection, envelope_ids: Collection[str], direction: str, peer: str) -> dict[str, str]:
    """The first stored receipt of each of these envelopes for (``direction``, ``peer``), by envelope id."""
    found: dict[str, str] = {}
    ids = list(dict.fromkeys(envelope_ids))
    for start in range(0, len(ids), IN_CHUNK):
        query = (
            sa.select(receipts.c.envelope_id, receipts.c.data)
            .where(
                receipts.c.envelope_id.in_(ids[start : start + IN_CHUNK]),
                receipts.c.direction == direction,
                receipts.c.peer == peer,
            )
            .order_by(receipts.c.id)
        )
        for envelope_id, data in connection.execute(query):
            found.setdefault(envelope_id, str(data))
    return found


def receipt(connection: Connection, envelope_id: str, direction: str, peer: str | None = None) -> str | None:
    query = sa.select(receipts.c.data).where(receipts.c.envelope_id == envelope_id, receipts.c.direction == direction)
    if peer is not None:
        query = query.where(receipts.c.peer == peer)
    value = connection.execute(query.order_by(receipts.c.id)).scalar()
    return None if value is None else str(value)


def all_receipts(connection: Connection) -> list[tuple[str, str, str, str]]:
    """(envelope_id, direction, peer, data) of every stored receipt."""
    rows = connection.execute(
        sa.select(receipts.c.envelope_id, receipts.c.direction, receipts.c.peer, receipts.c.data).order_by(
            receipts.c.id
        )
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]
