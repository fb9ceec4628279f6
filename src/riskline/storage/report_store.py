"""Which stored incidents were reported on which channel, and the attachments a node fetches from its peers.

Two tables of the node's database (migration ``0003_reports``):

* ``incident_reports``: one row per ``incident_report`` sent from a stored incident (``riskline incident
  report``), so that a second report of the same incident is noticed and the dashboard can mark it reported.
* ``attachment_fetches``: one row per attachment of a *received* message: the hash and size the sender signed,
  who to fetch it from, and what happened — ``pending`` (not fetched yet; retried), ``fetched`` (the bytes are
  kept under ``DIR/attachments/<sha256>``, their hash checked), ``mismatch`` (the sender served bytes whose hash
  differs: nothing kept), ``too_large`` (larger than the declared size or the limit: nothing kept), ``missing``
  (the sender no longer has it). A missing or mismatched attachment stays visible as such; it is never dropped.

Rows are queued in the transaction that logs the message (``queue_fetches``), so none is lost in a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from riskline.storage.schema import Seconds, metadata

FETCH_STATES = ("pending", "fetched", "mismatch", "too_large", "missing")
"""What can become of an attachment a node fetches; all but ``pending`` are final."""

incident_reports = sa.Table(
    "incident_reports",
    metadata,
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("envelope_id", sa.String, primary_key=True),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("reported", Seconds(), nullable=False),
)
"""An ``incident_report`` sent from a stored incident."""

attachment_fetches = sa.Table(
    "attachment_fetches",
    metadata,
    sa.Column("envelope_id", sa.String, primary_key=True),
    sa.Column("sha256", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("media_type", sa.String, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("peer", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt", Seconds(), nullable=False),
    sa.Column("last_error", sa.String, nullable=True),
    sa.Column("updated", Seconds(), nullable=False),
    sa.CheckConstraint(
        "state IN ('pending', 'fetched', 'mismatch', 'too_large', 'missing')", name="state"
    ),
    sa.Index(None, "state", "next_attempt"),
)
"""One attachment of a received message and what became of fetching it."""


@dataclass(frozen=True, slots=True)
class IncidentReportRow:
    incident_id: int
    envelope_id: str
    channel: str
    reported: float
    """[s] POSIX, the node's clock."""


@dataclass(frozen=True, slots=True)
class AttachmentFetch:
    """One attachment of a received message, as the node fetches (or failed to fetch) it."""

    envelope_id: str
    sha256: str
    name: str
    media_type: str
    size: int
    """[bytes] as the sender declared and signed it."""
    peer: str
    """The node it is fetched from: the message's sender."""
    state: str
    attempts: int
    next_attempt: float
    """[s] POSIX"""
    last_error: str | None
    updated: float
    """[s] POSIX"""


def record_incident_report(connection: Connection, row: IncidentReportRow) -> None:
    connection.execute(
        sa.insert(incident_reports),
        {"incident_id": row.incident_id, "envelope_id": row.envelope_id, "channel": row.channel,
         "reported": row.reported},
    )


def reports_of_incident(connection: Connection, incident_id: int) -> list[IncidentReportRow]:
    """Every report sent of one incident, oldest first."""
    rows = connection.execute(
        sa.select(incident_reports)
        .where(incident_reports.c.incident_id == incident_id)
        .order_by(incident_reports.c.reported, incident_reports.c.envelope_id)
    ).mappings()
    return [
        IncidentReportRow(int(r["incident_id"]), r["envelope_id"], r["channel"], float(r["reported"])) for r in rows
    ]


def incident_of_report(connection: Connection, envelope_id: str) -> int | None:
    """The stored incident a sent report was made from (None: not made from a stored incident)."""
    found = connection.execute(
        sa.select(incident_reports.c.incident_id).where(incident_reports.c.envelope_id == envelope_id)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def queue_fetches(connection: Connection, fetches: Sequence[AttachmentFetch]) -> None:
    """Queue attachments to fetch; one already queued for the same message and hash is left as it is."""
    if not fetches:
        return
    existing = {
        (r.envelope_id, r.sha256)
        for r in connection.execute(
            sa.select(attachment_fetches.c.envelope_id, attachment_fetches.c.sha256).where(
                attachment_fetches.c.envelope_id.in_({f.envelope_id for f in fetches})
            )
        )
    }
    rows = [_row(f) for f in fetches if (f.envelope_id, f.sha256) not in existing]
    if rows:
        connection.execute(sa.insert(attachment_fetches), rows)


def due_fetches(connection: Connection, now: float, limit: int = 20) -> list[AttachmentFetch]:
    """Pending fetches whose next attempt is due, oldest first."""
    rows = connection.execute(
        sa.select(attachment_fetches)
        .where(attachment_fetches.c.state == "pending", attachment_fetches.c.next_attempt <= now)
        .order_by(attachment_fetches.c.next_attempt, attachment_fetches.c.envelope_id)
        .limit(limit)
    ).mappings()
    return [_fetch(r) for r in rows]


def fetches_of(connection: Connection, envelope_id: str) -> list[AttachmentFetch]:
    """The attachments of one received message and their state, in the order of the hashes."""
    rows = connection.execute(
        sa.select(attachment_fetches)
        .where(attachment_fetches.c.envelope_id == envelope_id)
        .order_by(attachment_fetches.c.sha256)
    ).mappings()
    return [_fetch(r) for r in rows]


def fetched_with_hash(connection: Connection, sha256: str) -> bool:
    """True when some message's attachment with this hash was fetched and checked."""
    return connection.execute(
        sa.select(sa.literal(1))
        .select_from(attachment_fetches)
        .where(attachment_fetches.c.sha256 == sha256, attachment_fetches.c.state == "fetched")
        .limit(1)
    ).first() is not None


def settle_fetch(
    connection: Connection,
    fetch: AttachmentFetch,
    *,
    state: str,
    at: float,
    error: str | None = None,
    retry_at: float | None = None,
) -> None:
    """Record one attempt: its outcome ``state`` (``pending`` again with ``retry_at`` to try later)."""
    if state not in FETCH_STATES:
        raise ValueError(f"state must be one of {', '.join(FETCH_STATES)}, not {state!r}")
    connection.execute(
        sa.update(attachment_fetches)
        .where(attachment_fetches.c.envelope_id == fetch.envelope_id, attachment_fetches.c.sha256 == fetch.sha256)
        .values(
            state=state,
            attempts=attachment_fetches.c.attempts + 1,
            next_attempt=at if retry_at is None else retry_at,
            last_error=error,
            updated=at,
        )
    )


def _row(fetch: AttachmentFetch) -> dict[str, object]:
    return {
        "envelope_id": fetch.envelope_id,
        "sha256": fetch.sha256,
        "name": fetch.name,
        "media_type": fetch.media_type,
        "size": fetch.size,
        "peer": fetch.peer,
        "state": fetch.state,
        "attempts": fetch.attempts,
        "next_attempt": fetch.next_attempt,
        "last_error": fetch.last_error,
        "updated": fetch.updated,
    }


def _fetch(row: RowMapping) -> AttachmentFetch:
    return AttachmentFetch(
        envelope_id=row["envelope_id"],
        sha256=row["sha256"],
        name=row["name"],
        media_type=row["media_type"],
        size=int(row["size"]),
        peer=row["peer"],
        state=row["state"],
        attempts=int(row["attempts"]),
        next_attempt=float(row["next_attempt"]),
        last_error=row["last_error"],
        updated=float(row["updated"]),
    )
