"""Escalation steps taken for unanswered messages (``escalations``)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.schema import Seconds, metadata

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("original", sa.String, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("from_level", sa.String, nullable=False),
    sa.Column("to_level", sa.String, nullable=False),
    sa.Column("notice_id", sa.String, nullable=True),
    sa.Column("channel", sa.String, nullable=True),
    sa.Column("overdue_since", Seconds(), nullable=False),
    sa.Column("created", Seconds(), nullable=False),
    sa.Column("note", sa.String, nullable=False),
    sa.UniqueConstraint("original", "step"),
    sqlite_autoincrement=True,
)
"""One row per escalation step; ``notice_id`` is the escalation_notice (or meeting_proposal) sent, None when the
step could only be recorded locally."""


@dataclass(frozen=True, slots=True)
class EscalationRow:
    id: int
    original: str
    step: int
    from_level: str
    to_level: str
    notice_id: str | None
    channel: str | None
    overdue_since: float  # [s]
    created: float  # [s]
    note: str


def insert_escalation(
    connection: Connection,
    *,
    original: str,
    step: int,
    from_level: str,
    to_level: str,
    notice_id: str | None,
    channel: str | None,
    overdue_since: float,
    created: float,
    note: str,
) -> None:
    connection.execute(
        escalations.insert().values(
            original=original,
            step=step,
            from_level=from_level,
            to_level=to_level,
            notice_id=notice_id,
            channel=channel,
            overdue_since=overdue_since,
            created=created,
            note=note,
        )
    )


def list_escalations(connection: Connection, original: str | None = None) -> list[EscalationRow]:
    query = sa.select(escalations)
    if original is not None:
        query = query.where(escalations.c.original == original)
    return [EscalationRow(**row._asdict()) for row in connection.execute(query.order_by(escalations.c.id))]
