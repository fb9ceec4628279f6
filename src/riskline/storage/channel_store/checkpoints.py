"""Signed log heads: ours (``checkpoints``, the first signed for each size) and the peers' heads and the
cosignatures given and received (``peer_checkpoints``, ``CheckpointKind``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store._common import insert_if_absent
from riskline.storage.channel_store.states import CheckpointKind, check_in
from riskline.storage.schema import Seconds, metadata

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("size", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("signed", Seconds(), nullable=False),
)
"""Our own signed log heads (``SignedCheckpoint`` JSON), the first one signed for each size."""


peer_checkpoints = sa.Table(
    "peer_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("origin", sa.String, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("peer", sa.String, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("seen", Seconds(), nullable=False),
    sa.CheckConstraint(check_in("kind", CheckpointKind), name="kind"),
    sa.Index(None, "origin", "kind", "size"),
    sqlite_autoincrement=True,
)
"""``head``: a peer's ``SignedCheckpoint``; ``cosigned_by_us``: a ``Cosignature`` we gave of a peer's head;
``cosigned_by_peer``: a ``Cosignature`` a peer gave of one of our heads. ``peer`` is the peer's node id."""


def store_checkpoint(connection: Connection, size: int, root: bytes, data: str, at: float) -> None:
    """Keep the first signed head of each size (one ``INSERT … SELECT … WHERE NOT EXISTS``)."""
    connection.execute(_INSERT_CHECKPOINT, {"size": size, "root": root, "data": data, "signed": at})


_INSERT_CHECKPOINT = insert_if_absent(checkpoints, ("size", "root", "data", "signed"), ("size",))


def latest_checkpoint(connection: Connection) -> tuple[int, str] | None:
    """(size, data) of our largest signed head, None before the first."""
    row = connection.execute(
        sa.select(checkpoints.c.size, checkpoints.c.data).order_by(checkpoints.c.size.desc()).limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def checkpoint_at(connection: Connection, size: int) -> str | None:
    value = connection.execute(sa.select(checkpoints.c.data).where(checkpoints.c.size == size)).scalar()
    return None if value is None else str(value)


def all_checkpoints(connection: Connection) -> list[tuple[int, bytes, str]]:
    rows = connection.execute(
        sa.select(checkpoints.c.size, checkpoints.c.root, checkpoints.c.data).order_by(checkpoints.c.size)
    )
    return [(int(row[0]), bytes(row[1]), str(row[2])) for row in rows]


def store_peer_checkpoint(
    connection: Connection, kind: str, origin: str, size: int, root: bytes, peer: str, data: str, at: float
) -> None:
    """Keep one row per (kind, origin, size, root): the first seen (one ``INSERT … SELECT … WHERE NOT EXISTS``)."""
    connection.execute(
        _INSERT_PEER_CHECKPOINT,
        {"kind": kind, "origin": origin, "size": size, "root": root, "peer": peer, "data": data, "seen": at},
    )


_INSERT_PEER_CHECKPOINT = insert_if_absent(
    peer_checkpoints, ("kind", "origin", "size", "root", "peer", "data", "seen"), ("kind", "origin", "size", "root")
)


def peer_checkpoints_of_size(connection: Connection, kind: str, origin: str, size: int) -> list[str]:
    rows = connection.execute(
        sa.select(peer_checkpoints.c.data)
        .where(peer_checkpoints.c.kind == kind, peer_checkpoints.c.origin == origin, peer_checkpoints.c.size == size)
        .order_by(peer_checkpoints.c.id)
    )
    return [str(row[0]) for row in rows]


def latest_peer_checkpoint(connection: Connection, kind: str, origin: str) -> str | None:
    value = connection.execute(
        sa.select(peer_checkpoints.c.data)
        .where(peer_checkpoints.c.kind == kind, peer_checkpoints.c.origin == origin)
        .order_by(peer_checkpoints.c.size.desc(), peer_checkpoints.c.id.desc())
        .limit(1)
    ).scalar()
    return None if value is None else str(value)


def all_peer_checkpoints(connection: Connection) -> list[tuple[str, str, int, str, str]]:
    """(kind, origin, size, peer, data) of every stored peer checkpoint and cosignature."""
    rows = connection.execute(
        sa.select(
            peer_checkpoints.c.kind,
            peer_checkpoints.c.origin,
            peer_checkpoints.c.size,
            peer_checkpoints.c.peer,
            peer_checkpoints.c.data,
        ).order_by(peer_checkpoints.c.id)
    )
    return [(row[0], row[1], int(row[2]), row[3], row[4]) for row in rows]
