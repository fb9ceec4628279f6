"""What a verified log implies about the rest of a node's database, checked by ``riskline log verify``.

The log's entries are signed; every other channel table either restates them or was written in the same
transaction as a step the log records. An auditor from the other party would ask for exactly these, each
one a single SQL pass (SQLite's JSON functions read the canonical envelopes and receipts where they lie):

* ``log_entries``: the unsigned columns (``envelope_id``, ``channel``, ``direction``) say what the signed
  ``data`` says; ``direction`` is ``out`` exactly for envelopes this node signed.
* ``messages``: one row per log entry, and its columns derived from the envelope are the envelope's
  (``type``, ``thread``, ``seq``, sender, ``in_reply_to``, ``author``, ``level``, ``language``, ``created``,
  and our ``received``/``sent`` time, which is the entry's ``appended_at``).
* ``checkpoints``: none signs a size beyond the log (that is a truncated log: its last entries deleted).
* ``receipts``: each envelope we received has the receipt we gave; each receipt names a logged envelope of
  its direction; the heads and cosignatures a receipt carries were kept (``checkpoints``, and
  ``peer_checkpoints`` ``head`` / ``cosigned_by_us`` / ``cosigned_by_peer``).
* ``outbox``: each row is a logged envelope of ours; delivered exactly when the recipient's receipt is kept.
* ``escalations``: the notice an escalation step sent is in the log.

Problems are ``(table, row, reason)``; the row is named by its key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.node.audit_sql import AuditSql


@dataclass(frozen=True, slots=True)
class Implied:
    """One row that the log implies and that is missing or says otherwise."""

    table: str
    row: str
    reason: str


def _message_fields(sql: AuditSql) -> tuple[tuple[str, str], ...]:
    """Each derived column of ``messages`` and the expression of the log entry ``l`` it must equal."""
    envelope = sql.envelope()

    def signed(path: str) -> str:
        return sql.json(envelope, path)

    author = f"{sql.text(envelope, '$.author.name')} || ' (' || {sql.text(envelope, '$.author.role')} || ')'"
    return (
        ("channel", signed("$.channel")),
        ("direction", sql.value("l.direction")),
        ("thread", signed("$.thread")),
        ("type", signed("$.type")),
        ("seq", signed("$.seq")),
        ("sender_node", signed("$.sender.node")),
        ("sender_party", signed("$.sender.party")),
        ("in_reply_to", signed("$.in_reply_to")),
        ("author", sql.value(author)),
        ("level", signed("$.level")),
        ("language", signed("$.language")),
        ("created", signed("$.created")),
        ("received", sql.value("CASE WHEN l.direction = 'in' THEN l.appended_at END")),
        ("sent", sql.value("CASE WHEN l.direction = 'out' THEN l.appended_at END")),
    )


@dataclass(frozen=True, slots=True)
class Since:
    """An incremental check: entries from ``entry`` on, and rows of each table above its ``rowids`` mark."""

    entry: int = 0
    rowids: Mapping[str, int] = field(default_factory=dict)

    def mark(self, table: str) -> int:
        return self.rowids.get(table, 0)


EVERYTHING = Since()


def implied_problems(connection: Connection, origin: str, size: int, since: Since = EVERYTHING) -> Iterator[Implied]:
    """Every row the first ``size`` entries of the log (already verified) imply and the database lacks or
    contradicts; ``origin`` is this node's id. With ``since``, only what was added after it."""
    yield from _entries_and_messages(connection, origin, size, since)
    yield from _checkpoints(connection, size)
    yield from _receipts(connection, origin, size, since)
    yield from _outbox(connection, since)
    yield from _escalations(connection)


def _rows(connection: Connection, sql: str, **parameters: object) -> list[tuple[object, ...]]:
    return [tuple(row) for row in connection.execute(sa.text(sql), parameters).fetchall()]


def _entries_and_messages(connection: Connection, origin: str, size: int, since: Since) -> Iterator[Implied]:
    """The unsigned columns of ``log_entries``, then the ``messages`` rows missing, orphaned or differing from the
    log, in that order: one pass over the entries with their message rows (each envelope's JSON read once for
    both), and one over the messages for the orphans."""
    q = AuditSql.of(connection)
    envelope = q.envelope()
    id_sql, channel_sql = q.json(envelope, "$.id"), q.json(envelope, "$.channel")
    direction_sql = f"CASE WHEN {q.text(envelope, '$.sender.node')} = :origin THEN 'out' ELSE 'in' END"
    log_differs = (
        f"{q.differs(q.value('l.envelope_id'), id_sql)} OR {q.differs(q.value('l.channel'), channel_sql)}"
        f" OR {q.differs('l.direction', direction_sql)}"
    )
    fields = _message_fields(q)
    stored = ", ".join(f"m.{name}" for name, _ in fields)
    derived = ", ".join(expression for _, expression in fields)
    message_differs = " OR ".join(q.differs(q.value(f"m.{name}"), expression) for name, expression in fields)
    message_differs = f"{q.differs('m.log_index', 'l.idx')} OR {message_differs}"
    sql = f"""
        SELECT CASE WHEN {log_differs} THEN 1 ELSE 0 END, CASE WHEN m.envelope_id IS NULL THEN 1 ELSE 0 END,
            CASE WHEN m.envelope_id IS NOT NULL AND ({message_differs}) THEN 1 ELSE 0 END,
            l.idx, l.envelope_id, {id_sql}, l.channel, {channel_sql}, l.direction, {direction_sql},
            m.envelope_id, m.log_index, {stored}, {derived}
        FROM log_entries AS l{q.envelope_source()} LEFT JOIN messages AS m ON m.envelope_id = l.envelope_id
        WHERE l.idx >= :start AND l.idx < :size AND ({log_differs} OR m.envelope_id IS NULL OR {message_differs})
        ORDER BY l.idx"""
    log_rows: list[Implied] = []
    missing: list[Implied] = []
    differing: list[Implied] = []
    count = len(fields)
    for row in _rows(connection, sql, origin=origin, size=size, start=since.entry):
        log_bad, message_missing, message_bad = row[:3]
        idx, stored_id, signed_id, channel, signed_channel, direction, signed_direction = row[3:10]
        if log_bad:
            log_rows.append(_log_row(idx, stored_id, signed_id, channel, signed_channel, direction, signed_direction))
        if message_missing:
            missing.append(
                Implied("messages", f"envelope_id={stored_id!r}", f"missing: log entry {idx} has no message row")
            )
        if message_bad:
            envelope_id, log_index = row[10:12]
            values, signed = row[12 : 12 + count], row[12 + count :]
            reasons = [] if log_index == idx else [f"log_index is {log_index!r}, the entry sits at {idx}"]
            reasons += [
                f"{name} is {value!r}, the log says {truth!r}"
                for (name, _), value, truth in zip(fields, values, signed, strict=True)
                if value != truth
            ]
            differing.append(Implied("messages", f"envelope_id={envelope_id!r}", "; ".join(reasons)))
    yield from log_rows
    yield from missing
    orphans = _rows(
        connection,
        f"""SELECT m.envelope_id, m.log_index FROM messages AS m
           LEFT JOIN log_entries AS l ON l.envelope_id = m.envelope_id
           WHERE {q.above_mark("m")} AND l.envelope_id IS NULL ORDER BY m.log_index""",
        mark=since.mark("messages"),
    )
    for envelope_id, log_index in orphans:
        yield Implied("messages", f"envelope_id={envelope_id!r}", f"names log entry {log_index}, which is not there")
    yield from differing


def _log_row(
    idx: object,
    stored_id: object,
    signed_id: object,
    channel: object,
    signed_channel: object,
    direction: object,
    signed_direction: object,
) -> Implied:
    differs = [
        f"{name} is {stored!r}, the signed envelope says {signed!r}"
        for name, stored, signed in (
            ("envelope_id", stored_id, signed_id),
            ("channel", channel, signed_channel),
            ("direction", direction, signed_direction),
        )
        if stored != signed
    ]
    return Implied("log_entries", f"idx={idx}", "; ".join(differs))


def _checkpoints(connection: Connection, size: int) -> Iterator[Implied]:
    for (beyond,) in _rows(connection, "SELECT size FROM checkpoints WHERE size > :size ORDER BY size", size=size):
        last = int(str(beyond)) - 1
        missing = f"entry {size} is" if last == size else f"entries {size}..{last} are"
        yield Implied(
            "checkpoints",
            f"size={beyond}",
            f"our signed head covers {beyond} entries but the log holds {size}: {missing} missing (truncated)",
        )


def _receipts(connection: Connection, origin: str, size: int, since: Since) -> Iterator[Implied]:
    unreceipted = _rows(
        connection,
        """SELECT l.idx, l.envelope_id FROM log_entries AS l WHERE l.idx >= :start AND l.idx < :size
           AND l.direction = 'in' AND NOT EXISTS
           (SELECT 1 FROM receipts AS r WHERE r.envelope_id = l.envelope_id AND r.direction = 'in') ORDER BY l.idx""",
        size=size,
        start=since.entry,
    )
    for idx, envelope_id in unreceipted:
        yield Implied(
            "receipts", f"envelope_id={envelope_id!r}, direction='in'", f"missing: the receipt we gave for entry {idx}"
        )
    unlogged = _rows(
        connection,
        """SELECT r.id, r.envelope_id, r.direction, r.peer FROM receipts AS r
           WHERE r.id > :mark AND NOT EXISTS (SELECT 1 FROM log_entries AS l WHERE l.envelope_id = r.envelope_id
                             AND l.direction = r.direction AND l.idx < :size) ORDER BY r.id""",
        size=size,
        mark=since.mark("receipts"),
    )
    for _id, envelope_id, direction, peer in unlogged:
        yield Implied(
            "receipts",
            f"envelope_id={envelope_id!r}, direction={direction!r}, peer={peer!r}",
            "names an envelope that is not in the log with that direction",
        )
    heads = {
        (kind, origin_, size_, _blob(root))
        for kind, origin_, size_, root in _rows(connection, "SELECT kind, origin, size, root FROM peer_checkpoints")
    }
    ours = {size_: _blob(root) for size_, root in _rows(connection, "SELECT size, root FROM checkpoints")}
    q = AuditSql.of(connection)
    cited_fields = ",\n             ".join(
        q.json("data", f"$.{part}.checkpoint.{name}")
        for part in ("receiver_checkpoint", "cosignature")
        for name in ("origin", "size", "root")
    )
    cited = _rows(
        connection,
        f"""SELECT direction, peer,
             {cited_fields}, MIN(envelope_id)
           FROM receipts WHERE id > :mark GROUP BY 1, 2, 3, 4, 5, 6, 7, 8""",
        mark=since.mark("receipts"),
    )
    for direction, peer, head_origin, head_size, head_root, co_origin, co_size, co_root, example in cited:
        if not isinstance(head_root, str) or not isinstance(co_root, str):
            yield Implied("receipts", f"envelope_id={example!r}", "is not a receipt (no head or cosignature)")
            continue
        head = (head_origin, head_size, bytes.fromhex(head_root))
        cosigned = (co_origin, co_size, bytes.fromhex(co_root))
        where = f"receipts of envelope {example!r} and others of its batch"
        if direction == "in":
            if ours.get(int(str(head_size))) != head[2]:
                yield Implied("checkpoints", f"size={head_size}", f"missing: our signed head that the {where} carry")
            for kind in ("head", "cosigned_by_us"):
                if (kind, *cosigned) not in heads:
                    yield Implied(
                        "peer_checkpoints",
                        f"kind={kind!r}, origin={co_origin!r}, size={co_size}",
                        f"missing: {peer}'s head that we cosigned in the {where}",
                    )
        else:
            if ("head", *head) not in heads:
                yield Implied(
                    "peer_checkpoints",
                    f"kind='head', origin={head_origin!r}, size={head_size}",
                    f"missing: the head of {peer}'s log that the {where} carry",
                )
            if co_origin != origin or ("cosigned_by_peer", *cosigned) not in heads:
                yield Implied(
                    "peer_checkpoints",
                    f"kind='cosigned_by_peer', origin={co_origin!r}, size={co_size}",
                    f"missing: {peer}'s cosignature of our head that the {where} carry",
                )


def _blob(value: object) -> bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else b""


def _outbox(connection: Connection, since: Since) -> Iterator[Implied]:
    q = AuditSql.of(connection)
    rows = _rows(
        connection,
        f"""SELECT o.envelope_id, o.peer, o.state, l.idx, l.direction, l.channel, o.channel,
                  EXISTS (SELECT 1 FROM receipts AS r WHERE r.envelope_id = o.envelope_id AND r.direction = 'out'
                          AND r.peer = o.peer)
           FROM outbox AS o LEFT JOIN log_entries AS l ON l.envelope_id = o.envelope_id
           WHERE {q.above_mark("o")} ORDER BY o.envelope_id, o.peer""",
        mark=since.mark("outbox"),
    )
    for envelope_id, peer, state, idx, direction, channel, outbox_channel, receipted in rows:
        name = f"envelope_id={envelope_id!r}, peer={peer!r}"
        if idx is None or direction != "out":
            yield Implied("outbox", name, "queues an envelope that is not one of ours in the log")
        elif channel != outbox_channel:
            yield Implied("outbox", name, f"channel is {outbox_channel!r}, the log says {channel!r}")
        elif (state == "delivered") != bool(receipted):
            reason = "delivered without the recipient's receipt" if receipted == 0 else f"{state} though receipted"
            yield Implied("outbox", name, reason)
    orphans = _rows(
        connection,
        """SELECT r.envelope_id, r.peer FROM receipts AS r WHERE r.id > :mark AND r.direction = 'out' AND NOT EXISTS
           (SELECT 1 FROM outbox AS o WHERE o.envelope_id = r.envelope_id AND o.peer = r.peer) ORDER BY r.id""",
        mark=since.mark("receipts"),
    )
    for envelope_id, peer in orphans:
        yield Implied("outbox", f"envelope_id={envelope_id!r}, peer={peer!r}", "missing: the receipt says delivered")


def _escalations(connection: Connection) -> Iterator[Implied]:
    rows = _rows(
        connection,
        """SELECT e.original, e.step, e.notice_id FROM escalations AS e WHERE e.notice_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM log_entries AS l WHERE l.envelope_id = e.notice_id) ORDER BY e.id""",
    )
    for original, step, notice_id in rows:
        yield Implied(
            "escalations", f"original={original!r}, step={step}", f"its notice {notice_id!r} is not in the log"
        )
