"""What happened that someone must know: every rejected request or failed check (``security_events``) and
what the operator must be told (``node_events``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.schema import Json, Seconds, metadata

security_events = sa.Table(
    "security_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Seconds(), nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("peer", sa.String, nullable=True),
    sa.Column("remote", sa.String, nullable=True),
    sa.Column("channel", sa.String, nullable=True),
    sa.Column("envelope_id", sa.String, nullable=True),
    sa.Column("detail", Json(), nullable=True),
    sa.Index(None, "at"),
    sqlite_autoincrement=True,
)
"""Every rejection (``kind`` is the error type, ``status`` the HTTP status) and failed check; ``detail`` may hold
portable evidence, e.g. an equivocation proof."""


node_events = sa.Table(
    "node_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Seconds(), nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("envelope_id", sa.String, nullable=True),
    sa.Column("peer", sa.String, nullable=True),
    sa.Index(None, "at"),
    sqlite_autoincrement=True,
)
"""What the operator must be told (shown by ``riskline inbox``/``outbox``): ``delivery_failed``,
``escalation``, ``equivocation``, ``invalid_proof``."""


@dataclass(frozen=True, slots=True)
class SecurityEventRow:
    id: int
    at: float  # [s]
    kind: str
    status: int
    message: str
    peer: str | None
    remote: str | None
    channel: str | None
    envelope_id: str | None
    detail: Any


@dataclass(frozen=True, slots=True)
class NodeEventRow:
    id: int
    at: float  # [s]
    kind: str
    message: str
    envelope_id: str | None
    peer: str | None


def record_security_event(
    connection: Connection,
    *,
    at: float,
    kind: str,
    status: int,
    message: str,
    peer: str | None = None,
    remote: str | None = None,
    channel: str | None = None,
    envelope_id: str | None = None,
    detail: Any = None,
) -> None:
    connection.execute(
        security_events.insert().values(
            at=at,
            kind=kind,
            status=status,
            message=message,
            peer=peer,
            remote=remote,
            channel=channel,
            envelope_id=envelope_id,
            detail=detail,
        )
    )


def list_security_events(connection: Connection, limit: int | None = None) -> list[SecurityEventRow]:
    query = sa.select(security_events).order_by(security_events.c.id)
    if limit is not None:
        query = query.order_by(None).order_by(security_events.c.id.desc()).limit(limit)
        return list(reversed([SecurityEventRow(**row._asdict()) for row in connection.execute(query)]))
    return [SecurityEventRow(**row._asdict()) for row in connection.execute(query)]


def record_node_event(
    connection: Connection,
    *,
    at: float,
    kind: str,
    message: str,
    envelope_id: str | None = None,
    peer: str | None = None,
) -> None:
    connection.execute(
        node_events.insert().values(at=at, kind=kind, message=message, envelope_id=envelope_id, peer=peer)
    )


def list_node_events(connection: Connection, kinds: tuple[str, ...] | None = None) -> list[NodeEventRow]:
    query = sa.select(node_events)
    if kinds is not None:
        query = query.where(node_events.c.kind.in_(kinds))
    return [NodeEventRow(**row._asdict()) for row in connection.execute(query.order_by(node_events.c.id))]
