"""The meeting and action-item checks that need the channel's log, on both ends (``channel.meetings``).

The sender runs them before signing (``messaging``), the receiver before logging a delivery (``receiving``):
a message that does not fit the log (an acceptance from a party that was not invited, an approval of minutes
whose hash differs, an agenda item citing an unknown incident, …) is refused with 422 and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

from riskline.channel.envelope import Envelope, SignedEnvelope
from riskline.channel.meetings import DIALOGUE_TYPES, ChannelDialogue, check_in_context
from riskline.channel.messages import InvalidField, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store

_DIALOGUE_TYPE_NAMES = tuple(sorted(str(kind) for kind in DIALOGUE_TYPES))


def needs_context(envelope: Envelope) -> bool:
    return envelope.type in DIALOGUE_TYPES and not (
        envelope.type is MessageType.MEETING_PROPOSAL and envelope.schema == 1
    )


def dialogue_envelopes(connection: Connection, channel: str) -> list[Envelope]:
    """The meeting and action-item envelopes of ``channel`` in this node's log, in log order: only those are
    parsed (the message rows say their type), not the whole log."""
    rows = store.list_messages(connection, channel=channel, types=_DIALOGUE_TYPE_NAMES)
    entries = store.log_entries_by_envelopes(connection, [row.envelope_id for row in rows])
    return [
        SignedEnvelope.from_leaf(entries[row.envelope_id].data, recanonicalize=False).envelope
        for row in rows
        if row.envelope_id in entries
    ]


def _lookup(connection: Connection, channel: str) -> Callable[[str], Envelope | None]:
    def find(message_id: str) -> Envelope | None:
        entry = store.log_entry_by_envelope(connection, message_id)
        if entry is None or entry.channel != channel:
            return None
        return SignedEnvelope.from_leaf(entry.data, recanonicalize=False).envelope

    return find


def channel_dialogue(
    node: LocalNode, connection: Connection, channel: str, pending: Iterable[Envelope] = ()
) -> ChannelDialogue:
    """The channel's logged dialogue (and ``pending`` envelopes not yet written), indexed for the checks."""
    dialogue = ChannelDialogue(dialogue_envelopes(connection, channel), lookup=_lookup(connection, channel))
    for envelope in pending:
        dialogue.add(envelope)
    return dialogue


def check_outgoing(
    node: LocalNode, connection: Connection, policy: ChannelPolicy, envelope: Envelope, pending: Iterable[Envelope]
) -> None:
    """``InvalidField`` when ``envelope`` (about to be signed) does not fit the channel's log."""
    if needs_context(envelope):
        check_in_context(envelope, channel_dialogue(node, connection, policy.id, pending), policy)


def first_misfit(
    node: LocalNode, connection: Connection, policy: ChannelPolicy, envelopes: Sequence[Envelope]
) -> tuple[int, InvalidField] | None:
    """Position and error of the first of ``envelopes`` (a delivery batch, in order) that does not fit the log."""
    if not any(needs_context(envelope) for envelope in envelopes):
        return None
    dialogue = channel_dialogue(node, connection, policy.id)
    for position, envelope in enumerate(envelopes):
        if needs_context(envelope) and dialogue.get(envelope.id) is None:
            try:
                check_in_context(envelope, dialogue, policy)
            except InvalidField as error:
                return position, error
        dialogue.add(envelope)
    return None
