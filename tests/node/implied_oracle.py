"""The oracle of ``audit_implied``'s one pass over the log and its messages: the three queries it replaced, as
they were (``log_entries`` columns, then ``messages`` missing, orphaned and differing), kept to hold it against."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.engine import Connection

from riskline.node.audit_implied import Implied, Since, _log_row, _message_fields, _rows
from riskline.node.audit_sql import AuditSql


def implied_rows(connection: Connection, origin: str, size: int, since: Since) -> list[Implied]:
    """What the log implies of ``log_entries`` and ``messages``, found as before the single pass."""
    return [*_log_columns(connection, origin, size, since), *_messages(connection, size, since)]


def _log_columns(connection: Connection, origin: str, size: int, since: Since) -> Iterator[Implied]:
    q = AuditSql.of(connection)
    envelope = q.envelope()
    id_sql, channel_sql = q.json(envelope, "$.id"), q.json(envelope, "$.channel")
    direction_sql = f"CASE WHEN {q.text(envelope, '$.sender.node')} = :origin THEN 'out' ELSE 'in' END"
    sql = f"""
        SELECT l.idx, l.envelope_id, {id_sql}, l.channel, {channel_sql}, l.direction, {direction_sql}
        FROM log_entries AS l{q.envelope_source()} WHERE l.idx >= :start AND l.idx < :size
            AND ({q.differs(q.value("l.envelope_id"), id_sql)}
            OR {q.differs(q.value("l.channel"), channel_sql)}
            OR {q.differs("l.direction", direction_sql)})
        ORDER BY l.idx"""
    for row in _rows(connection, sql, origin=origin, size=size, start=since.entry):
        yield _log_row(*row)  # the wording is shared; the query is the oracle


def _messages(connection: Connection, size: int, since: Since) -> Iterator[Implied]:
    q = AuditSql.of(connection)
    missing = _rows(
        connection,
        """SELECT l.idx, l.envelope_id FROM log_entries AS l
           LEFT JOIN messages AS m ON m.envelope_id = l.envelope_id
           WHERE l.idx >= :start AND l.idx < :size AND m.envelope_id IS NULL ORDER BY l.idx""",
        size=size,
        start=since.entry,
    )
    for idx, envelope_id in missing:
        yield Implied("messages", f"envelope_id={envelope_id!r}", f"missing: log entry {idx} has no message row")
    orphans = _rows(
        connection,
        f"""SELECT m.envelope_id, m.log_index FROM messages AS m
           LEFT JOIN log_entries AS l ON l.envelope_id = m.envelope_id
           WHERE {q.above_mark("m")} AND l.envelope_id IS NULL ORDER BY m.log_index""",
        mark=since.mark("messages"),
    )
    for envelope_id, log_index in orphans:
        yield Implied("messages", f"envelope_id={envelope_id!r}", f"names log entry {log_index}, which is not there")
    fields = _message_fields(q)
    stored = ", ".join(f"m.{name}" for name, _ in fields)
    derived = ", ".join(expression for _, expression in fields)
    differs = " OR ".join(q.differs(q.value(f"m.{name}"), expression) for name, expression in fields)
    sql = f"""SELECT m.envelope_id, m.log_index, l.idx, {stored}, {derived}
              FROM messages AS m JOIN log_entries AS l ON l.envelope_id = m.envelope_id{q.envelope_source()}
              WHERE l.idx >= :start AND l.idx < :size AND ({q.differs("m.log_index", "l.idx")} OR {differs})
              ORDER BY l.idx"""
    count = len(fields)
    for row in _rows(connection, sql, size=size, start=since.entry):
        envelope_id, log_index, idx = row[:3]
        values, signed = row[3 : 3 + count], row[3 + count :]
        reasons = [] if log_index == idx else [f"log_index is {log_index!r}, the entry sits at {idx}"]
        reasons += [
            f"{name} is {value!r}, the log says {truth!r}"
            for (name, _), value, truth in zip(fields, values, signed, strict=True)
            if value != truth
        ]
        yield Implied("messages", f"envelope_id={envelope_id!r}", "; ".join(reasons))
