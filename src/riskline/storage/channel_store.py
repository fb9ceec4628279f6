"""The node's channel tables (migration ``0002_channel``), declared on the shared ``metadata``.

Each party's node keeps in its own database:

* ``log_entries``  the append-only RFC 9162 Merkle log: every envelope sent or received, as the exact
                   canonical bytes that were hashed (``data``), in log order (``idx``, from 0).
* ``messages``     one row per envelope, the operator's view: thread, type, who, the peer's clock
                   (``created``), ours (``received``/``sent``/``deadline``) and whether it awaits a reply.
* ``outbox``       one row per (envelope, recipient node): the transactional outbox that delivery drains.
* ``receipts``     signed receipts, both the ones we gave (``direction = 'in'``) and got (``'out'``).
* ``checkpoints``  our own signed log heads, one per size.
* ``peer_checkpoints``  signed heads of peers' logs we have seen, and cosignatures given and received.
* ``peers``        pinned peers: local name, node id, party, URL, key, fingerprint, TLS CA.
* ``peer_state``   per peer: what we accepted from it (last seq per channel, the last head of its log we
                   cosigned) and the last size of our log it cosigned (where the next consistency proof starts).
* ``escalations``  each escalation step taken for an unanswered message.
* ``security_events``  every rejected request or failed check, with the peer and the reason.
* ``node_events``  what the operator must be told: permanent delivery failures, escalations, equivocation.

Everything a delivery changes is written in the same transaction as its log entry.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.storage.schema import Json, Seconds, metadata

_IN_CHUNK = 500
"""Most values in one SQL ``IN (…)`` list (SQLite allows 32,766 bound parameters; PostgreSQL 65,535)."""

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
    sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
)
"""The Merkle log: ``data`` is the canonical JSON of the signed envelope, ``leaf_hash`` its RFC 9162 leaf hash."""

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
    sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
    sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name="status"),
    sa.Index(None, "channel", "direction", "sender_node", "seq"),
    sa.Index(None, "thread"),
    sa.Index(None, "status", "deadline"),
)
"""One row per envelope. ``created`` is the sender's clock (recorded, not trusted); ``received``, ``sent`` and
``deadline`` are this node's clock. ``status``: ``open`` awaits a reply, ``answered``, ``closed`` needs none."""

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
    sa.CheckConstraint("state IN ('pending', 'delivered', 'failed-permanent')", name="state"),
    sa.Index(None, "peer", "state", "channel", "seq"),
)
"""The transactional outbox: committed with the log entry, before anything is sent; ``peer`` is a node id."""

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
    sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
    sqlite_autoincrement=True,
)
"""Signed receipts as canonical JSON: ``in`` = we received the envelope and gave this receipt (``peer`` is the
sender); ``out`` = we sent it and ``peer`` gave this receipt."""

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
    sa.CheckConstraint("kind IN ('head', 'cosigned_by_us', 'cosigned_by_peer')", name="kind"),
    sa.Index(None, "origin", "kind", "size"),
    sqlite_autoincrement=True,
)
"""``head``: a peer's ``SignedCheckpoint``; ``cosigned_by_us``: a ``Cosignature`` we gave of a peer's head;
``cosigned_by_peer``: a ``Cosignature`` a peer gave of one of our heads. ``peer`` is the peer's node id."""

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


# --- rows ---------------------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class MessageRow:
    envelope_id: str
    log_index: int
    direction: str
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
    status: str
    answered_by: str | None
    answered_at: float | None  # [s] our clock


@dataclass(frozen=True, slots=True)
class OutboxRow:
    envelope_id: str
    peer: str
    channel: str
    seq: int
    state: str
    attempts: int
    next_attempt: float  # [s] our clock
    last_error: str | None
    queued: float  # [s]
    delivered: float | None  # [s]


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


def _insert_if_absent(table: sa.Table, columns: tuple[str, ...], key: tuple[str, ...]) -> sa.Insert:
    """``INSERT INTO table (columns) SELECT :columns WHERE NOT EXISTS (a row with the same key)``."""
    values = sa.select(*(sa.bindparam(name, type_=table.c[name].type) for name in columns))
    present = sa.exists().where(*(table.c[name] == sa.bindparam(name, type_=table.c[name].type) for name in key))
    return table.insert().from_select(list(columns), values.where(~present))


# --- queries (each takes the connection of a transaction the caller holds) ----------------------------------


def log_size(connection: Connection) -> int:
    """Number of entries: ``max(idx) + 1`` (entries are dense from 0; ``log verify`` checks that)."""
    value = connection.execute(sa.select(sa.func.max(log_entries.c.idx))).scalar()
    return 0 if value is None else int(value) + 1


def leaf_hashes_from(connection: Connection, start: int) -> list[bytes]:
    rows = connection.execute(
        sa.select(log_entries.c.leaf_hash).where(log_entries.c.idx >= start).order_by(log_entries.c.idx)
    )
    return [bytes(row[0]) for row in rows]


def append_log(connection: Connection, entry: LogEntry) -> None:
    connection.execute(
        log_entries.insert().values(
            idx=entry.index,
            leaf_hash=entry.leaf_hash,
            data=entry.data,
            direction=entry.direction,
            envelope_id=entry.envelope_id,
            channel=entry.channel,
            appended_at=entry.appended_at,
        )
    )


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
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
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


def insert_message(connection: Connection, message: MessageRow) -> None:
    connection.execute(messages.insert().values(**_fields(message)))


def insert_messages(connection: Connection, rows: Sequence[MessageRow]) -> None:
    """Insert several message rows with one statement (``executemany``)."""
    if rows:
        connection.execute(messages.insert(), [_fields(row) for row in rows])


def _message(row: sa.Row[Any]) -> MessageRow:
    return MessageRow(**row._asdict())


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


def open_messages(connection: Connection) -> list[MessageRow]:
    """Messages still awaiting a reply, with a deadline, oldest deadline first."""
    rows = connection.execute(
        sa.select(messages)
        .where(messages.c.status == "open", messages.c.deadline.is_not(None))
        .order_by(messages.c.deadline)
    )
    return [_message(row) for row in rows]


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
        .where(messages.c.envelope_id == envelope_id, messages.c.status == "open")
        .values(status="answered", answered_by=answered_by, answered_at=at)
    )
    return bool(result.rowcount)


def insert_outbox(connection: Connection, row: OutboxRow) -> None:
    connection.execute(outbox.insert().values(**_fields(row)))


def insert_outbox_rows(connection: Connection, rows: Sequence[OutboxRow]) -> None:
    """Insert several outbox rows with one statement (``executemany``)."""
    if rows:
        connection.execute(outbox.insert(), [_fields(row) for row in rows])


def _outbox(row: sa.Row[Any]) -> OutboxRow:
    return OutboxRow(**row._asdict())


def pending_outbox(connection: Connection, peer: str | None = None) -> list[OutboxRow]:
    """Pending rows in delivery order: by peer, channel, seq."""
    query = sa.select(outbox).where(outbox.c.state == "pending")
    if peer is not None:
        query = query.where(outbox.c.peer == peer)
    query = query.order_by(outbox.c.peer, outbox.c.channel, outbox.c.seq)
    return [_outbox(row) for row in connection.execute(query)]


def pending_due(connection: Connection) -> dict[str, float]:
    """Peers with pending rows, and when [s] each is due: the latest ``next_attempt`` of its rows.

    A backoff is the peer's, not a row's (``postpone_outbox`` sets it on every pending row of the peer): a row
    queued while it runs (``next_attempt`` = when it was queued) waits with the others instead of restarting
    delivery to a peer that is down — with the earliest, each message sent to a peer that is down was one
    more attempt at once.
    """
    rows = connection.execute(
        sa.select(outbox.c.peer, sa.func.max(outbox.c.next_attempt))
        .where(outbox.c.state == "pending")
        .group_by(outbox.c.peer)
    )
    return {str(peer): float(at) for peer, at in rows}


def pending_by_channel(connection: Connection, peer: str, limit: int) -> dict[str, list[OutboxRow]]:
    """The first ``limit`` pending rows to ``peer`` of each channel, in seq order, by channel.

    Rows behind a ``failed-permanent`` row of their channel (a higher seq) wait for it and are left out.
    """
    channels = connection.execute(
        sa.select(outbox.c.channel)
        .where(outbox.c.peer == peer, outbox.c.state == "pending")
        .distinct()
        .order_by(outbox.c.channel)
    ).scalars()
    result: dict[str, list[OutboxRow]] = {}
    for channel in list(channels):
        blocked = connection.execute(
            sa.select(sa.func.min(outbox.c.seq)).where(
                outbox.c.peer == peer, outbox.c.channel == channel, outbox.c.state == "failed-permanent"
            )
        ).scalar()
        query = sa.select(outbox).where(outbox.c.peer == peer, outbox.c.channel == channel, outbox.c.state == "pending")
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
        failed.c.state == "failed-permanent",
        failed.c.seq < outbox.c.seq,
    )
    query = (
        sa.select(outbox)
        .where(outbox.c.peer == peer, outbox.c.channel == channel, outbox.c.state == "pending")
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
        state="delivered", delivered=sa.bindparam("b_delivered"), attempts=sa.bindparam("b_attempts"), last_error=None
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
    for start in range(0, len(ids), _IN_CHUNK):
        query = sa.select(receipts.c.envelope_id, receipts.c.direction, receipts.c.peer).where(
            receipts.c.envelope_id.in_(ids[start : start + _IN_CHUNK])
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
    for start in range(0, len(ids), _IN_CHUNK):
        query = (
            sa.select(receipts.c.envelope_id, receipts.c.data)
            .where(
                receipts.c.envelope_id.in_(ids[start : start + _IN_CHUNK]),
                receipts.c.direction == direction,
                receipts.c.peer == peer,
            )
            .order_by(receipts.c.id)
        )
        for envelope_id, data in connection.execute(query):
            found.setdefault(envelope_id, str(data))
    return found


def store_receipt(connection: Connection, envelope_id: str, direction: str, peer: str, data: str, at: float) -> None:
    """Insert or keep the first stored receipt for (envelope, direction, peer)."""
    exists = connection.execute(
        sa.select(receipts.c.id).where(
            receipts.c.envelope_id == envelope_id, receipts.c.direction == direction, receipts.c.peer == peer
        )
    ).first()
    if exists is None:
        connection.execute(
            receipts.insert().values(envelope_id=envelope_id, direction=direction, peer=peer, data=data, stored=at)
        )


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


def store_checkpoint(connection: Connection, size: int, root: bytes, data: str, at: float) -> None:
    """Keep the first signed head of each size (one ``INSERT … SELECT … WHERE NOT EXISTS``)."""
    connection.execute(_INSERT_CHECKPOINT, {"size": size, "root": root, "data": data, "signed": at})


_INSERT_CHECKPOINT = _insert_if_absent(checkpoints, ("size", "root", "data", "signed"), ("size",))


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


_INSERT_PEER_CHECKPOINT = _insert_if_absent(
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
        connection.execute(peers.insert().values(**_fields(peer)))
    else:
        connection.execute(peers.update().where(peers.c.name == peer.name).values(url=peer.url, ca_pem=peer.ca_pem))


def peer_state_of(connection: Connection, peer: str) -> PeerStateRow:
    row = connection.execute(sa.select(peer_state).where(peer_state.c.peer == peer)).first()
    if row is None:
        return PeerStateRow(peer, None, 0, 0, None, 0.0)
    return PeerStateRow(**row._asdict())


def save_peer_state(connection: Connection, state: PeerStateRow) -> None:
    values = _fields(state)
    updated = connection.execute(peer_state.update().where(peer_state.c.peer == state.peer).values(**values))
    if not updated.rowcount:
        connection.execute(peer_state.insert().values(**values))


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


def _fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


def failed_outbox(connection: Connection, peer: str) -> list[OutboxRow]:
    """Rows to ``peer`` that failed permanently, in (channel, seq) order."""
    rows = connection.execute(
        sa.select(outbox)
        .where(outbox.c.peer == peer, outbox.c.state == "failed-permanent")
        .order_by(outbox.c.channel, outbox.c.seq)
    )
    return [_outbox(row) for row in rows]


def postpone_outbox(connection: Connection, peer: str, next_attempt: float) -> None:
    """Every pending row to ``peer`` waits until ``next_attempt`` [s] (the peer is down)."""
    connection.execute(
        outbox.update().where(outbox.c.peer == peer, outbox.c.state == "pending").values(next_attempt=next_attempt)
    )


def resume_outbox(connection: Connection, peer: str, now: float) -> None:
    """The peer answered: its pending rows postponed past ``now`` [s] are due at once (its backoff ends)."""
    connection.execute(
        outbox.update()
        .where(outbox.c.peer == peer, outbox.c.state == "pending", outbox.c.next_attempt > now)
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
            outbox.c.state != "pending",
        )
        .values(state="pending", next_attempt=now, delivered=None)
    )
    return int(result.rowcount)


def retry_failed(connection: Connection, now: float) -> int:
    """Queue every ``failed-permanent`` row again (``riskline outbox --retry``); how many."""
    result = connection.execute(
        outbox.update()
        .where(outbox.c.state == "failed-permanent")
        .values(state="pending", next_attempt=now, attempts=0)
    )
    return int(result.rowcount)


def delete_peer(connection: Connection, name: str) -> None:
    connection.execute(peers.delete().where(peers.c.name == name))
