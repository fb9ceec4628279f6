"""Sending: one transaction appends the signed envelope to the log, records the message and queues delivery.

Transactional outbox (channel.md "Delivery loses nothing"): the envelope is signed, appended to the Merkle
log, written to ``messages`` and to one ``outbox`` row per recipient node in ONE SQLite transaction, with
our newly signed log head, committed (``synchronous=FULL``) before anything is sent. A crash before the commit
leaves nothing; after it, delivery (``delivery.py``) finds the rows and sends them, however often it takes.

The sender's sequence number on a channel is ``max(seq) + 1`` over its own messages on that channel, taken
inside the write transaction, so it has no gaps and no duplicates even with the CLI and the server writing.
``send_many`` queues several messages in one transaction (one commit for all: a burst, or the benchmark).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from riskline.channel.checkpoint import SignedCheckpoint
from riskline.channel.deadlines import obligations_after
from riskline.channel.envelope import (
    MAX_ATTACHMENT_SIZE,
    Attachment,
    Author,
    LogHead,
    PeerHead,
    SignedEnvelope,
    attachment_too_large,
    new_envelope,
    sign_envelope,
)
from riskline.channel.meetings import DIALOGUE_TYPES, summarize_dialogue
from riskline.channel.merkle import leaf_hash
from riskline.channel.messages import ContactLevel, InvalidField, MessageType, answers
from riskline.channel.policy import ChannelPolicy
from riskline.node.dialogue_checks import check_outgoing
from riskline.node.errors import MessageNotFound, NodeConfigError, UnknownPeer
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What an operator (or the node itself) asks to send."""

    type: MessageType
    channel: str | None
    """None: the channel of the message replied to."""
    body: Mapping[str, Any]
    level: ContactLevel | str | None = None
    """None: the level of the message replied to, else the channel's lowest."""
    language: str | None = None
    """None: the language of the message replied to, else the channel's first."""
    author: Author | None = None
    """None: the node's configured author."""
    in_reply_to: str | None = None
    """A message id (or an unambiguous prefix of one)."""
    thread: str | None = None
    """Only for messages that join a thread without replying to one message (None: derived)."""
    attachments: tuple[Attachment, ...] = ()
    deadline_span: float | None = None  # [s] None: the channel policy's span for the type


@dataclass(frozen=True, slots=True)
class Sent:
    """A message committed to the log and queued for its recipients."""

    message: store.MessageRow
    envelope: SignedEnvelope
    recipients: tuple[str, ...]
    """Peer node ids it is queued for."""


def send(node: LocalNode, outgoing: Outgoing) -> Sent:
    """Sign, log and queue ``outgoing`` in one transaction."""
    with node.writing() as connection:
        return send_in(node, connection, outgoing)


def send_many(node: LocalNode, outgoing: Sequence[Outgoing]) -> list[Sent]:
    """Sign, log and queue every message of ``outgoing``, in order, in ONE transaction: all or none."""
    with node.writing() as connection:
        composer = _Composer(node, connection)
        sent = [composer.compose(message) for message in outgoing]
        composer.flush()
        return sent


def resolve_message(connection: Connection, reference: str) -> store.MessageRow:
    """The message whose id is ``reference`` or starts with it (at least 6 characters when a prefix)."""
    found = store.message(connection, reference)
    if found is not None:
        return found
    if len(reference) < 6:
        raise MessageNotFound(f"no message {reference!r} (give the id or at least its first 6 characters)")
    candidates = store.messages_by_prefix(connection, reference)
    if not candidates:
        raise MessageNotFound(f"no message with id {reference!r}")
    if len(candidates) > 1:
        raise MessageNotFound(f"message id prefix {reference!r} is ambiguous; give more characters")
    return candidates[0]


def recipient_peers(
    connection: Connection, policy: ChannelPolicy, local_party: str, pinned: Sequence[store.PeerRow] | None = None
) -> list[store.PeerRow]:
    """The pinned peer node of every other member party of the channel (``UnknownPeer`` when one is missing)."""
    pinned = store.list_peers(connection) if pinned is None else pinned
    result = []
    for party in policy.recipients_for(local_party):
        matches = [peer for peer in pinned if peer.party == party]
        if not matches:
            raise UnknownPeer(
                f"channel {policy.id} needs a peer node for party {party}; pin it with `riskline peer add`"
            )
        result.append(matches[0])
    return result


def send_in(node: LocalNode, connection: Connection, outgoing: Outgoing) -> Sent:
    """``send`` inside a write transaction the caller holds (used by receive for automatic replies)."""
    composer = _Composer(node, connection)
    sent = composer.compose(outgoing)
    composer.flush()
    return sent


class _Composer:
    """Signs and logs outgoing envelopes inside one write transaction the caller holds.

    Nothing else writes while it is held (``BEGIN IMMEDIATE``), so the pinned peers, the last seq of each channel
    and the last head seen of each peer are read once and kept; every envelope is appended to the in-memory tree
    at once (the next one cites it), and the rows are written together by ``flush``, before anything reads them.
    """

    def __init__(self, node: LocalNode, connection: Connection) -> None:
        self.node = node
        self.connection = connection
        self._pinned: list[store.PeerRow] | None = None
        self._last_seq: dict[str, int] = {}
        self._heads: dict[str, PeerHead | None] = {}
        self._entries: list[tuple[store.LogEntry, store.MessageRow, SignedEnvelope]] = []
        self._outbox: list[store.OutboxRow] = []

    def compose(self, outgoing: Outgoing) -> Sent:
        node, connection = self.node, self.connection
        now = node.clock()
        config = node.reload_config()
        if outgoing.in_reply_to is not None:
            self.flush()  # the message replied to may be one composed here
        original = None if outgoing.in_reply_to is None else resolve_message(connection, outgoing.in_reply_to)
        channel_id = outgoing.channel or (original.channel if original is not None else None)
        if channel_id is None:
            raise NodeConfigError("say which channel to send on (--channel)")
        policy = config.channel(channel_id)
        if self._pinned is None:
            self._pinned = store.list_peers(connection)
        peers = recipient_peers(connection, policy, config.party, self._pinned)
        thread = outgoing.thread or (original.thread if original is not None else None)
        level = outgoing.level or _default_level(original, policy)
        language = outgoing.language or (
            original.language if original is not None and original.language in policy.languages else policy.languages[0]
        )
        author = outgoing.author or Author(config.author.name, config.author.role)
        if policy.id not in self._last_seq:
            self._last_seq[policy.id] = store.last_seq(connection, policy.id, "out", config.id)
        seq = self._last_seq[policy.id] + 1
        if peers[0].node not in self._heads:
            self._heads[peers[0].node] = _last_head_seen(connection, peers[0].node)
        envelope = new_envelope(
            channel=policy,
            msg_type=outgoing.type,
            body=outgoing.body,
            sender=node.sender,
            author=author,
            level=_contact_level(level, policy),
            language=language,
            seq=seq,
            created=now,
            sender_checkpoint=LogHead(node.tree.size, node.tree.root()),
            peer_checkpoint=self._heads[peers[0].node],
            thread=thread,
            in_reply_to=None if original is None else original.envelope_id,
            attachments=outgoing.attachments,
            deadline_span=outgoing.deadline_span,
        )
        pending = [composed.envelope for _, _, composed in self._entries]
        check_outgoing(node, connection, policy, envelope, pending)
        signed = sign_envelope(envelope, node.identity)
        entry, message = _log_rows(node, signed, direction="out", at=now, policy=policy)
        self._last_seq[policy.id] = seq
        self._entries.append((entry, message, signed))
        self._outbox += [
            store.OutboxRow(
                envelope_id=signed.id,
                peer=peer.node,
                channel=policy.id,
                seq=seq,
                state=store.OutboxState.PENDING,
                attempts=0,
                next_attempt=now,
                last_error=None,
                queued=now,
                delivered=None,
            )
            for peer in peers
        ]
        return Sent(message, signed, tuple(peer.node for peer in peers))

    def flush(self) -> None:
        """Write the rows of every envelope composed since the last flush, and sign our head that includes them
        (delivery sends it; signed here, it is committed with them and delivery need not write first)."""
        if not self._entries:
            return
        _write_rows(self.connection, self._entries)
        store.insert_outbox_rows(self.connection, self._outbox)
        self._entries, self._outbox = [], []
        self.node.head(self.connection)


def _contact_level(level: ContactLevel | str, policy: ChannelPolicy) -> ContactLevel:
    try:
        return ContactLevel(level)
    except ValueError:
        allowed = ", ".join(str(known) for known in policy.levels)
        reason = f"unknown level of contact {level!r}; channel {policy.id} allows {allowed}"
        raise InvalidField("level", reason) from None


def _default_level(original: store.MessageRow | None, policy: ChannelPolicy) -> ContactLevel:
    if original is not None and original.level in policy.levels:
        return ContactLevel(original.level)
    return policy.ladder[0] if policy.ladder else policy.levels[0]


def _last_head_seen(connection: Connection, peer_node: str) -> PeerHead | None:
    data = store.latest_peer_checkpoint(connection, store.CheckpointKind.HEAD, peer_node)
    if data is None:
        return None
    return PeerHead.of(SignedCheckpoint.from_dict(json.loads(data)).checkpoint)


def append_envelope(
    node: LocalNode,
    connection: Connection,
    signed: SignedEnvelope,
    *,
    direction: str,
    at: float,
    policy: ChannelPolicy,
) -> store.MessageRow:
    """Append ``signed`` to the log (index = the tree's size) and record its message row; marks what it answers."""
    return append_envelopes(node, connection, [signed], direction=direction, at=at, policy=policy)[0]


def append_envelopes(
    node: LocalNode,
    connection: Connection,
    envelopes: Sequence[SignedEnvelope],
    *,
    direction: str,
    at: float,
    policy: ChannelPolicy,
) -> list[store.MessageRow]:
    """``append_envelope`` for several envelopes, in order, with one insert per table; their message rows."""
    rows = [(*_log_rows(node, signed, direction=direction, at=at, policy=policy), signed) for signed in envelopes]
    _write_rows(connection, rows)
    return [message for _, message, _ in rows]


def _log_rows(
    node: LocalNode, signed: SignedEnvelope, *, direction: str, at: float, policy: ChannelPolicy
) -> tuple[store.LogEntry, store.MessageRow]:
    """Append ``signed`` to the in-memory tree (index = its size); the log and message rows to write for it."""
    envelope = signed.envelope
    data = signed.leaf_data()
    leaf = leaf_hash(data)
    index = node.tree.size
    node.tree.append_leaf_hash(leaf)
    node.remember(index, signed)
    entry = store.LogEntry(
        index=index,
        leaf_hash=leaf,
        data=data,
        direction=direction,
        envelope_id=envelope.id,
        channel=envelope.channel,
        appended_at=at,
    )
    obligations = obligations_after(signed, received=at, policy=policy)
    deadline = min((ob.due for ob in obligations), default=None)
    message = store.MessageRow(
        envelope_id=envelope.id,
        log_index=index,
        direction=store.Direction(direction),
        channel=envelope.channel,
        thread=envelope.thread,
        type=str(envelope.type),
        seq=envelope.seq,
        sender_node=envelope.sender.node,
        sender_party=envelope.sender.party,
        in_reply_to=envelope.in_reply_to,
        author=f"{envelope.author.name} ({envelope.author.role})",
        level=str(envelope.level),
        language=envelope.language,
        summary=summarize(envelope.type, envelope.body),
        created=envelope.created,
        received=at if direction == "in" else None,
        sent=at if direction == "out" else None,
        deadline=deadline,
        status=store.MessageStatus.OPEN if deadline is not None else store.MessageStatus.CLOSED,
        answered_by=None,
        answered_at=None,
    )
    return entry, message


def _write_rows(
    connection: Connection, rows: Sequence[tuple[store.LogEntry, store.MessageRow, SignedEnvelope]]
) -> None:
    """Insert the log and message rows (one statement each), then mark what each envelope answers."""
    if not rows:
        return
    store.append_log_many(connection, [entry for entry, _, _ in rows])
    store.insert_messages(connection, [message for _, message, _ in rows])
    for entry, _, signed in rows:
        envelope = signed.envelope
        _mark_answered(
            connection, envelope.in_reply_to, envelope.type, envelope.sender.party, envelope.id, entry.appended_at
        )


def _mark_answered(
    connection: Connection, in_reply_to: str | None, reply_type: MessageType, by_party: str, reply_id: str, at: float
) -> None:
    """Mark the message replied to (or, through an escalation notice, its original) answered when it counts."""
    if in_reply_to is None:
        return
    target = store.message(connection, in_reply_to)
    if target is None or target.sender_party == by_party:
        return
    if target.type == MessageType.ESCALATION_NOTICE:
        notice = store.log_entry_by_envelope(connection, target.envelope_id)
        if notice is not None:
            original = SignedEnvelope.from_leaf(notice.data).envelope.body.get("original")
            if isinstance(original, str):
                _mark_answered(connection, original, reply_type, by_party, reply_id, at)
    if reply_type in answers(MessageType(target.type)):
        store.mark_answered(connection, target.envelope_id, reply_id, at)


def summarize(msg_type: MessageType, body: Mapping[str, Any], limit: int = 80) -> str:
    """One line for inbox and outbox listings."""
    kind = MessageType(msg_type)
    text: str
    if kind is MessageType.FREE_TEXT:
        text = str(body.get("text", ""))
    elif kind is MessageType.REQUEST_FOR_CLARIFICATION:
        text = f"{body.get('subject', '')}: " + " / ".join(str(q) for q in body.get("questions", []))
    elif kind is MessageType.CLARIFICATION:
        text = " / ".join(str(a) for a in body.get("answers", []))
    elif kind is MessageType.INCIDENT_REPORT:
        incident = body.get("incident", {})
        text = f"{incident.get('rule', '?')} ({incident.get('severity', '?')}) {incident.get('a', '?')}–" + str(
            incident.get("b", "?")
        )
    elif kind is MessageType.HAZARD_NOTICE:
        text = ("CANCELS: " if body.get("cancels") else "") + str(body.get("nature", ""))
    elif kind in (MessageType.ACTIVITY_NOTIFICATION, MessageType.OBSERVATION_INVITATION):
        text = f"{body.get('designation', '')} ({body.get('start') or body.get('arrival', '')})"
    elif kind is MessageType.ANNUAL_CALENDAR:
        text = f"{body.get('party', '')} {body.get('year', '')}: {len(body.get('activities', []))} activities"
    elif kind is MessageType.MEETING_PROPOSAL and ("date" in body or body.get("forum") == "escalation"):
        text = f"{body.get('level', '')}: " + "; ".join(str(item.get("title", "")) for item in body.get("agenda", []))
    elif kind in DIALOGUE_TYPES:
        text = summarize_dialogue(kind, body)
    elif kind is MessageType.ESCALATION_NOTICE:
        text = f"step {body.get('step')} {body.get('from_level')} → {body.get('to_level')}: {body.get('reason', '')}"
    elif kind in (MessageType.LINK_TEST, MessageType.LINK_TEST_REPLY):
        text = f"nonce {body.get('nonce', '')}"
    elif kind is MessageType.KEY_ROTATION:  # channel/key_bodies.py
        text = f"{body.get('node', '')} rotates its key to {body.get('new_key', '')}"
    elif kind is MessageType.KEY_REVOCATION:
        text = f"{body.get('node', '')} revokes {body.get('revoked', '')}: {body.get('reason', '')}"
    else:
        text = str(body.get("note") or "")
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def attachment_from_file(node: LocalNode, path: Path, *, index: int = 0) -> Attachment:
    """Reference a file by hash and keep a copy under ``DIR/attachments/<sha256>``.

    A file larger than ``MAX_ATTACHMENT_SIZE`` is refused (``InvalidField`` naming ``attachments.INDEX.size``)
    before anything is read or kept.
    """
    try:
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_SIZE:
            raise InvalidField(f"attachments.{index}.size", f"{path.name}: {attachment_too_large(size)}")
        data = path.read_bytes()
    except OSError as error:
        raise NodeConfigError(f"cannot read attachment {path}: {error.strerror}") from None
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    attachment = Attachment.from_bytes(path.name, data, media_type)
    folder = node.paths.root / "attachments"
    folder.mkdir(exist_ok=True)
    target = folder / attachment.sha256
    if not target.exists():
        target.write_bytes(data)
    return attachment


def attachments_from_files(node: LocalNode, paths: Sequence[Path]) -> tuple[Attachment, ...]:
    return tuple(attachment_from_file(node, path, index=index) for index, path in enumerate(paths))
