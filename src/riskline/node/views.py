"""What ``riskline inbox``, ``outbox`` and ``thread`` show: messages, deadlines on our clock, delivery state.

Deadlines are this node's (``messages.deadline``: when we logged the message plus the channel's span); the
peer's ``created``/``deadline`` are shown as recorded, never decided on. A message is *overdue* when it still
awaits a reply and our clock has passed its deadline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import MalformedEnvelope
from riskline.node.local import LocalNode
from riskline.node.messaging import resolve_message
from riskline.storage import channel_store as store
from riskline.storage import report_store


@dataclass(frozen=True, slots=True)
class Delivery:
    peer: str
    state: str
    """``pending``, ``delivered`` or ``failed-permanent``."""
    attempts: int
    last_error: str | None
    delivered: float | None  # [s] our clock


@dataclass(frozen=True, slots=True)
class MessageView:
    id: str
    direction: str
    channel: str
    thread: str
    type: str
    seq: int
    sender: str
    party: str
    author: str
    level: str
    language: str
    summary: str
    in_reply_to: str | None
    created: float  # [s] the sender's clock, as recorded
    logged: float  # [s] our clock: when we sent or received it
    deadline: float | None  # [s] our clock
    status: str
    overdue: bool
    answered_by: str | None
    deliveries: tuple[Delivery, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "deliveries"}
        data["deliveries"] = [{name: getattr(d, name) for name in d.__dataclass_fields__} for d in self.deliveries]
        return data


@dataclass(frozen=True, slots=True)
class Listing:
    """An inbox or outbox: messages oldest first, and what the operator must be told."""

    now: float  # [s]
    messages: tuple[MessageView, ...]
    events: tuple[store.NodeEventRow, ...]
    overdue: int
    awaiting: int
    """Messages still awaiting a reply (ours to give in the inbox, theirs in the outbox)."""
    pending_deliveries: int
    failed_deliveries: int

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "overdue": self.overdue,
            "awaiting": self.awaiting,
            "pending_deliveries": self.pending_deliveries,
            "failed_deliveries": self.failed_deliveries,
            "messages": [m.to_json() for m in self.messages],
            "events": [{name: getattr(e, name) for name in e.__dataclass_fields__} for e in self.events],
        }


def _view(row: store.MessageRow, now: float, deliveries: tuple[Delivery, ...] = ()) -> MessageView:
    logged = row.received if row.direction == "in" else row.sent
    return MessageView(
        id=row.envelope_id,
        direction=row.direction,
        channel=row.channel,
        thread=row.thread,
        type=row.type,
        seq=row.seq,
        sender=row.sender_node,
        party=row.sender_party,
        author=row.author,
        level=row.level,
        language=row.language,
        summary=row.summary,
        in_reply_to=row.in_reply_to,
        created=row.created,
        logged=logged if logged is not None else row.created,
        deadline=row.deadline,
        status=row.status,
        overdue=row.status == "open" and row.deadline is not None and now >= row.deadline,
        answered_by=row.answered_by,
        deliveries=deliveries,
    )


def _listing(node: LocalNode, direction: str, channel: str | None, limit: int | None) -> Listing:
    now = node.clock()
    with node.database.read() as connection:
        rows = store.list_messages(connection, direction=direction, channel=channel, limit=limit)
        outbox = store.outbox_rows(connection) if direction == "out" else []
        counts = store.outbox_counts(connection)
        kinds = ("escalation", "equivocation", "invalid_proof", "link_test_unanswered")
        if direction == "out":
            kinds = ("delivery_failed", "redelivery", "delivery_error", "escalation")
        events = store.list_node_events(connection, kinds)[-20:]
    by_envelope: dict[str, list[Delivery]] = {}
    for item in outbox:
        by_envelope.setdefault(item.envelope_id, []).append(
            Delivery(item.peer, item.state, item.attempts, item.last_error, item.delivered)
        )
    views = tuple(_view(row, now, tuple(by_envelope.get(row.envelope_id, ()))) for row in rows)
    return Listing(
        now=now,
        messages=views,
        events=tuple(events),
        overdue=sum(v.overdue for v in views),
        awaiting=sum(v.status == "open" for v in views),
        pending_deliveries=counts.get("pending", 0),
        failed_deliveries=counts.get("failed-permanent", 0),
    )


def inbox(node: LocalNode, *, channel: str | None = None, limit: int | None = 50) -> Listing:
    """Messages received, with the replies we owe and their deadlines on our clock."""
    return _listing(node, "in", channel, limit)


def outbox(node: LocalNode, *, channel: str | None = None, limit: int | None = 50) -> Listing:
    """Messages sent, their delivery to each recipient node, and the replies we wait for."""
    return _listing(node, "out", channel, limit)


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    message: MessageView
    body: dict[str, Any]
    attachments: tuple[dict[str, Any], ...]


def _attachment(wire: dict[str, Any], fetch: report_store.AttachmentFetch | None) -> dict[str, Any]:
    """An attachment as shown: its reference, and for a received one what became of fetching it."""
    if fetch is None:
        return wire
    return {**wire, "state": fetch.state, "error": fetch.last_error}


def thread(node: LocalNode, reference: str) -> list[ThreadEntry]:
    """Every message of the thread of ``reference`` (a message or thread id, or a prefix), in log order."""
    now = node.clock()
    with node.database.read() as connection:
        message = resolve_message(connection, reference)
        rows = store.list_messages(connection, thread=message.thread)
        outbox = store.outbox_rows(connection)
        entries = []
        for row in rows:
            deliveries = tuple(
                Delivery(o.peer, o.state, o.attempts, o.last_error, o.delivered)
                for o in outbox
                if o.envelope_id == row.envelope_id
            )
            entry = store.log_entry(connection, row.log_index)
            body: dict[str, Any] = {}
            attachments: tuple[dict[str, Any], ...] = ()
            if entry is not None:
                try:
                    envelope = SignedEnvelope.from_leaf(entry.data).envelope
                    body = json.loads(json.dumps(dict(envelope.body)))
                    fetched = {f.sha256: f for f in report_store.fetches_of(connection, row.envelope_id)}
                    attachments = tuple(_attachment(a.to_wire(), fetched.get(a.sha256)) for a in envelope.attachments)
                except MalformedEnvelope:
                    body = {"unreadable": "log entry does not parse; run `riskline log verify`"}
            entries.append(ThreadEntry(_view(row, now, deliveries), body, attachments))
    return entries
