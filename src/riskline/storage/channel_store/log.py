"""The Merkle log (``log_entries``): every envelope sent or received, as the exact canonical bytes that were
hashed, in log order (RFC 9162 leaves, ``idx`` from 0). Append-only: nothing here updates or deletes."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.channel_store._common import IN_CHUNK
from riskline.storage.channel_store.states import Direction, check_in
from riskline.storage.schema import Seconds, metadata

log_entries = sa.Table(
    "log_entries",
    metadata,
    sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("direction", sa.String, nullable=False),
    sa.Column("envelope_id", sa.String, nullable=False),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("appended_at", Seconds(), nullable=False),
    sa.UniqueConstraint("envelope_id"),
    sa.CheckConstraint(check_in("direction", Direction), name="direction"),
    sa.Index(None, "idx", "leaf_hash"),  # the leaf hashes alone, for an incremental ``log verify`` (0012)
)
"""The Merkle log: ``data`` is the canonical JSON of the signed envelope, ``leaf_hash`` its RFC 9162 leaf hash."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    index: int
    leaf_hash: bytes
    data: bytes
    """Canonical JSON of the signed envelope: exactly the bytes that were hashed."""
    direction: str
    envelope_id: str
    channel: str
    appended_at: float  # [s] our clock


def log_size(connection: Connection) -> int:
    """Number of entries: ``max(idx) + 1`` (entries are dense from 0; ``log verify`` checks that)."""
    value = connection.execute(sa.select(sa.func.max(log_entries.c.idx))).scalar()
    return 0 if value is None else int(value) + 1


def leaf_hashes_from(connection: Connection, start: int) -> list[bytes]:
    rows = connection.execute(
        sa.select(log_entries.c.leaf_hash).where(log_entries.c.idx >= start).order_by(log_entries.c.idx)
    )
    return [bytes(row[0]) for row in rows]


def append_log_many(connection: Connection, entries: Sequence[LogEntry]) -> None:
    """Append several entries with one statement (``executemany``); their indexes are the caller's to get right."""
    if entries:
        connection.execute(
            log_entries.insert(),
            [
                {
                    "idx": entry.index,
                    "leaf_hash": entry.leaf_hash,
                    "data": entry.data,
                    "direction": entry.direction,
                    "envelope_id": entry.envelope_id,
                    "channel": entry.channel,
                    "appended_at": entry.appended_at,
                }
                for entry in entries
            ],
        )


def _bytes(value: bytes | str) -> bytes:
    """A BLOB as bytes, even when someone stored TEXT in it (SQLite does not enforce column types)."""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def _log_entry(row: sa.Row[Any]) -> LogEntry:
    return LogEntry(
        index=row.idx,
        leaf_hash=_bytes(row.leaf_hash),
        data=_bytes(row.data),
        direction=row.direction,
        envelope_id=row.envelope_id,
        channel=row.channel,
        appended_at=row.appended_at,
    )


def log_entry(connection: Connection, index: int) -> LogEntry | None:
    row = connection.execute(sa.select(log_entries).where(log_entries.c.idx == index)).first()
    return None if row is None else _log_entry(row)


def log_entry_by_envelope(connection: Connection, envelope_id: str) -> LogEntry | None:
    row = connection.execute(sa.select(log_entries).where(log_entries.c.envelope_id == envelope_id)).first()
    return None if row is None else _log_entry(row)


def log_entries_by_envelopes(connection: Connection, envelope_ids: Collection[str]) -> dict[str, LogEntry]:
    """The entries of these envelope ids (one query per 500 ids), by id; ids not in the log are left out."""
    found: dict[str, LogEntry] = {}
    wanted = list(dict.fromkeys(envelope_ids))
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        for row in connection.execute(sa.select(log_entries).where(log_entries.c.envelope_id.in_(chunk))):
            entry = _log_entry(row)
            found[entry.envelope_id] = entry
    return found


def log_range(connection: Connection, start: int, end: int) -> list[LogEntry]:
    """Entries with ``start <= idx < end``, in order."""
    rows = connection.execute(
        sa.select(log_entries).where(log_entries.c.idx >= start, log_entries.c.idx < end).order_by(log_entries.c.idx)
    )
    return [_log_entry(row) for row in rows]


def iter_leaves(connection: Connection, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes]]:
    """(index, stored leaf hash, data) of every entry in index order, read in batches (lighter than ``iter_log``)."""
    start = 0
    query = sa.select(log_entries.c.idx, log_entries.c.leaf_hash, log_entries.c.data).order_by(log_entries.c.idx)
    while True:
        chunk = connection.execute(query.where(log_entries.c.idx >= start).limit(batch)).all()
        if not chunk:
            return
        for index, leaf, data in chunk:
            yield int(index), _bytes(leaf), _bytes(data)
        start = chunk[-1][0] + 1


def envelope_ids_from(connection: Connection, start: int, end: int) -> list[str]:
    """Envelope ids of the entries ``start <= idx < end``."""
    query = sa.select(log_entries.c.envelope_id).where(log_entries.c.idx >= start, log_entries.c.idx < end)
    return [str(value) for value in connection.execute(query).scalars()]


def iter_log(connection: Connection, batch: int = 2000) -> Iterator[LogEntry]:
    """Every entry in index order, read in batches."""
    start = 0
    while True:
        chunk = connection.execute(
            sa.select(log_entries).where(log_entries.c.idx >= start).order_by(log_entries.c.idx).limit(batch)
        ).all()
        if not chunk:
            return
        for row in chunk:
            yield _log_entry(row)
        start = chunk[-1].idx + 1
