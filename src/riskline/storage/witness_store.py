"""Queries of what a node witnessed, for ``riskline log audit`` and its peers' ``/v1/log/witness``.

Reads only: the heads and cosignatures are written by delivery (``channel_store``); the audit stores the heads
it is shown with ``channel_store.store_peer_checkpoint`` like any other.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store import checkpoints, peer_checkpoints


def latest_cosigned_by_us(connection: Connection, origin: str) -> str | None:
    """The JSON of the cosignature we gave of the largest head of ``origin``'s log, if any."""
    row = connection.execute(
        sa.select(peer_checkpoints.c.data)
        .where(peer_checkpoints.c.kind == "cosigned_by_us", peer_checkpoints.c.origin == origin)
        .order_by(peer_checkpoints.c.size.desc(), peer_checkpoints.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def latest_heads(connection: Connection) -> list[str]:
    """The JSON of the largest heads we hold of each other node's log (two, if it signed two of that size)."""
    rows = connection.exec_driver_sql(
        "SELECT p.data FROM peer_checkpoints AS p JOIN (SELECT origin, max(size) AS size FROM peer_checkpoints"
        " WHERE kind = 'head' GROUP BY origin) AS m ON p.origin = m.origin AND p.size = m.size"
        " WHERE p.kind = 'head' ORDER BY p.origin, p.id"
    )
    return list(dict.fromkeys(str(row[0]) for row in rows))


def heads_of(connection: Connection, origin: str) -> list[str]:
    """The JSON of every head of ``origin``'s log we hold, smallest first."""
    rows = connection.execute(
        sa.select(peer_checkpoints.c.data)
        .where(peer_checkpoints.c.kind == "head", peer_checkpoints.c.origin == origin)
        .order_by(peer_checkpoints.c.size, peer_checkpoints.c.id)
    )
    return [str(row[0]) for row in rows]


def all_heads(connection: Connection) -> list[str]:
    """The JSON of every head of other logs we hold."""
    rows = connection.execute(
        sa.select(peer_checkpoints.c.data).where(peer_checkpoints.c.kind == "head").order_by(peer_checkpoints.c.id)
    )
    return [str(row[0]) for row in rows]


def our_heads_of_sizes(connection: Connection, sizes: set[int]) -> dict[int, str]:
    """Our own signed heads of these sizes, as JSON."""
    if not sizes:
        return {}
    rows = connection.execute(
        sa.select(checkpoints.c.size, checkpoints.c.data).where(checkpoints.c.size.in_(sorted(sizes)[:500]))
    )
    return {int(row.size): str(row.data) for row in rows}
