"""Escalation: take the ladder steps ``riskline.channel.escalation.due_escalations`` says are due, now.

Run by the server every second or so, and by ``riskline escalate --now``. Each step is taken in the same
write transaction that records it (``escalations``, unique per (original, step)), so a step is taken
exactly once however many processes look:

* ``escalation_notice``: a signed, logged envelope on the original's channel and thread, replying to the
  original, at the next level of contact, with the step's own deadline;
* ``council_meeting_proposal``: a ``meeting_proposal`` on the council channel (when this node has it);
* ``record_only`` (or a step that cannot be sent): recorded locally.

Every step also writes a ``node_events`` row: the operator is told (``riskline inbox`` shows them).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from riskline.channel.errors import ChannelError
from riskline.channel.escalation import EscalationAction, EscalationStep, due_escalations
from riskline.channel.messages import MessageType
from riskline.node.errors import NodeError
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send_in
from riskline.storage import channel_store as store

MEETING_LEAD = 172_800.0  # [s] Vienna Document ch. III: a meeting within 48 hours


def escalate_due(node: LocalNode) -> list[store.EscalationRow]:
    """Take every escalation step due on this node's clock; the rows recorded by this call."""
    with node.writing() as connection:
        books = node.books(connection)
        now = node.clock()
        recorded = store.list_escalations(connection)
        already = {(row.original, row.step) for row in recorded}
        for policy in node.config.channels:
            book = books.book(policy.id)
            if book is None:
                continue
            for step in due_escalations(book, now=now, policy=policy, already=already):
                _take(node, connection, step, now)
                already.add(step.key)
        return store.list_escalations(connection)[len(recorded) :]


def _take(node: LocalNode, connection: Connection, step: EscalationStep, now: float) -> None:
    notice_id: str | None = None
    channel: str | None = None
    note: str
    try:
        if step.action is EscalationAction.ESCALATION_NOTICE:
            sent = _send(
                node,
                connection,
                Outgoing(
                    type=MessageType.ESCALATION_NOTICE,
                    channel=step.channel,
                    body=step.notice_body(),
                    level=step.to_level,
                    in_reply_to=step.original_id,
                    deadline_span=step.span,
                ),
            )
            notice_id, channel = sent, step.channel
            note = f"escalation_notice sent on {step.channel} at level {step.to_level}"
        elif step.action is EscalationAction.COUNCIL_MEETING_PROPOSAL:
            council = node.config.channel(str(node.config.channel(step.channel).council))
            level = step.to_level if step.to_level in council.levels else council.ladder[-1]
            sent = _send(
                node,
                connection,
                Outgoing(
                    type=MessageType.MEETING_PROPOSAL,
                    channel=council.id,
                    body=step.meeting_body(
                        start=now + MEETING_LEAD, members=council.members, basis=council.agreements, level=level
                    ),
                    level=level,
                ),
            )
            notice_id, channel = sent, council.id
            note = f"meeting_proposal sent on council channel {council.id}"
        else:
            note = "last step of the ladder: no council channel, recorded here only"
    except (ChannelError, NodeError) as error:
        note = f"could not be sent ({error}); recorded here only"
    store.insert_escalation(
        connection,
        original=step.original_id,
        step=step.step,
        from_level=str(step.from_level),
        to_level=str(step.to_level),
        notice_id=notice_id,
        channel=channel,
        overdue_since=step.overdue_since,
        created=now,
        note=note,
    )
    store.record_node_event(
        connection,
        at=now,
        kind="escalation",
        message=f"{step.reason()}: step {step.step} {step.from_level} → {step.to_level}: {note}",
        envelope_id=step.original_id,
    )


def _send(node: LocalNode, connection: Connection, outgoing: Outgoing) -> str:
    """Send inside a savepoint, so a step that cannot be sent is still recorded."""
    savepoint = connection.begin_nested()
    try:
        sent = send_in(node, connection, outgoing)
    except BaseException:
        savepoint.rollback()
        node.rebuild_tree(connection)
        raise
    savepoint.commit()
    return sent.envelope.id
