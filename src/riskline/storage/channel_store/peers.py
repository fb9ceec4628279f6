"""Pinned peers (``peers``) and what each peer and we agreed so far (``peer_state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store._common import fields
from riskline.storage.schema import Seconds, metadata

peers = sa.Table(
    "peers",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("node", sa.String, nullable=False),
    sa.Column("party", sa.String, nullable=False),
    sa.Column("url", sa.String, nullable=False),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("fingerprint", sa.String, nullable=False),
    sa.Column("ca_pem", sa.Text, nullable=True),
    sa.Column("added", Seconds(), nullable=False),
    sa.UniqueConstraint("node"),
    sa.UniqueConstraint("key"),
)
"""Pinned peers. ``ca_pem`` is the peer's TLS CA (its key is ``key``); None for a plain-HTTP loopback peer."""


peer_state = sa.Table(
    "peer_state",
    metadata,
    sa.Column("peer", sa.String, primary_key=True),
    sa.Column("receiver_state", sa.Text, nullable=True),
    sa.Column("cosigned_size", sa.Integer, nullable=False),
    sa.Column("verified_size", sa.Integer, nullable=False),
    sa.Column("verified_root", sa.LargeBinary, nullable=True),
    sa.Column("updated", Seconds(), nullable=False),
)
"""Per peer node. As receiver: ``receiver_state`` is ``riskline.channel.protocol.PeerState`` as JSON (last seq
accepted per channel, the last head of its log we cosigned). As sender: ``cosigned_size`` is the last size of
our log it cosigned (where the next consistency proof starts); ``verified_size``/``verified_root`` the
largest head of its log we have checked by a consistency proof from the one before."""


@dataclass(frozen=True, slots=True)
class PeerRow:
    name: str
    node: str
    party: str
    url: str
    key: str
    fingerprint: str
    ca_pem: str | None
    added: float  # [s]


@dataclass(frozen=True, slots=True)
class PeerStateRow:
    peer: str
    receiver_state: str | None
    cosigned_size: int
    verified_size: int
    verified_root: bytes | None
    updated: float  # [s]


def _peer(row: sa.Row[Any]) -> PeerRow:
    return PeerRow(**row._asdict())


def list_peers(connection: Connection) -> list[PeerRow]:
    return [_peer(row) for row in connection.execute(sa.select(peers).order_by(peers.c.name))]


def peer_by_name(connection: Connection, name: str) -> PeerRow | None:
    row = connection.execute(sa.select(peers).where(peers.c.name == name)).first()
    return None if row is None else _peer(row)


def peer_by_node(connection: Connection, node: str) -> PeerRow | None:
    row = connection.execute(sa.select(peers).where(peers.c.node == node)).first()
    return None if row is None else _peer(row)


def peer_by_key(connection: Connection, key: str) -> PeerRow | None:
    row = connection.execute(sa.select(peers).where(peers.c.key == key)).first()
    return None if row is None else _peer(row)


def upsert_peer(connection: Connection, peer: PeerRow) -> None:
    """Insert a new pin, or update the URL/CA of an existing one (the key of a pin never changes here)."""
    existing = peer_by_name(connection, peer.name)
    if existing is None:
        connection.execute(peers.insert().values(**fields(peer)))
    else:
        connection.execute(peers.update().where(peers.c.name == peer.name).values(url=peer.url, ca_pem=peer.ca_pem))


def peer_state_of(connection: Connection, peer: str) -> PeerStateRow:
    row = connection.execute(sa.select(peer_state).where(peer_state.c.peer == peer)).first()
    if row is None:
        return PeerStateRow(peer, None, 0, 0, None, 0.0)
    return PeerStateRow(**row._asdict())


def save_peer_state(connection: Connection, state: PeerStateRow) -> None:
    values = fields(state)
    updated = connection.execute(peer_state.update().where(peer_state.c.peer == state.peer).values(**values))
    if not updated.rowcount:
        connection.execute(peer_state.insert().values(**values))


def delete_peer(connection: Connection, name: str) -> None:
    connection.execute(peers.delete().where(peers.c.name == name))
