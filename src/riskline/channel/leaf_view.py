"""What checking a log needs of one entry's signed envelope, read at about half ``SignedEnvelope.from_leaf``'s cost.

``riskline log verify`` parses every entry strictly (``envelope.parse_envelope``) before it checks the signature;
for a million entries the parse's calls and the value objects it builds cost almost half as much as the
signatures. ``read_leaf`` makes the very same checks of the very same parse (``json.loads``), written out flat,
and keeps only what the log's checks use (``SignedLeaf``). It never decides a doubtful case: whenever anything is
not plainly right it answers ``None``, and the caller takes ``from_leaf``, which accepts the entry or names its
problem exactly as before. So whatever it accepts, ``from_leaf(leaf, recanonicalize=False)`` accepts with the same
values; ``tests/channel/test_leaf_view.py`` holds it to that on real and broken entries.
"""

from __future__ import annotations

import json
import math
import re
from typing import NamedTuple

from riskline.channel.body_types import MESSAGE_ID
from riskline.channel.envelope import (
    _MARKER,
    _TAIL,
    ENVELOPE_FIELDS,
    MAX_JSON_INTEGER,
    WIRE_VERSION,
    SignedEnvelope,
    _attachments,
    _key_from_text,
    require_signature,
)
from riskline.channel.errors import MalformedEnvelope
from riskline.channel.messages import READABLE_SCHEMAS, ContactLevel, MessageType, validate_body
from riskline.channel.signing import VerifyKey


class SignedLeaf(NamedTuple):
    """One entry's envelope as the log's checks use it (``bundle.EntryChecker``)."""

    id: str
    channel: str
    seq: int
    sender_node: str
    sender_key: VerifyKey
    head_size: int
    """``sender_checkpoint.size``: the size of the sender's log before it appended the envelope."""
    head_root: bytes
    signature: bytes
    payload: bytes
    """What the signature covers: the leaf without its ``"signature"`` member."""


_FIELDS = frozenset(ENVELOPE_FIELDS)
_SENDER = frozenset(("node", "party", "key"))
_AUTHOR = frozenset(("name", "role"))
_HEAD = frozenset(("size", "root"))
_PEER = frozenset(("origin", "size", "root"))
_TYPES = {member.value: member for member in MessageType}
_LEVELS = {member.value: member for member in ContactLevel}
_is_id = MESSAGE_ID.fullmatch
_is_hash = re.compile(r"[0-9a-f]{64}").fullmatch


def strict_leaf(leaf: bytes, *, recanonicalize: bool = False) -> SignedLeaf:
    """What ``SignedEnvelope.from_leaf`` reads of ``leaf``, kept as a ``SignedLeaf``; raises ``MalformedEnvelope``
    naming what is wrong (``read_leaf``'s oracle, and its fallback)."""
    signed = SignedEnvelope.from_leaf(leaf, recanonicalize=recanonicalize)
    envelope = signed.envelope
    head = envelope.sender_checkpoint
    return SignedLeaf(
        envelope.id,
        envelope.channel,
        envelope.seq,
        envelope.sender.node,
        envelope.sender.key,
        head.size,
        head.root,
        signed.signature,
        signed.signing_payload(),
    )


def read_leaf(leaf: bytes) -> SignedLeaf | None:
    """``from_leaf(leaf, recanonicalize=False)`` of a plainly well-formed entry, or None: ask ``from_leaf``."""
    try:
        data = json.loads(leaf)
    except ValueError:  # UnicodeDecodeError is one
        return None
    if type(data) is not dict or data.keys() != _FIELDS:
        return None
    version, message_id, channel, type_name = data["v"], data["id"], data["channel"], data["type"]
    if type(version) is not int or version != WIRE_VERSION:
        return None
    if type(message_id) is not str or not _is_id(message_id) or type(channel) is not str or not channel:
        return None
    message_type = _TYPES.get(type_name) if type(type_name) is str else None
    schema, seq, thread, in_reply_to = data["schema"], data["seq"], data["thread"], data["in_reply_to"]
    if message_type is None or not _whole(schema, 1) or schema not in READABLE_SCHEMAS[message_type]:
        return None
    if not _whole(seq, 1) or type(thread) is not str or not _is_id(thread):
        return None
    if in_reply_to is not None and (type(in_reply_to) is not str or not _is_id(in_reply_to)):
        return None
    sender = data["sender"]
    if type(sender) is not dict or sender.keys() != _SENDER:
        return None
    node, party, key_text = sender["node"], sender["party"], sender["key"]
    if not _text(node) or not _text(party) or type(key_text) is not str:
        return None
    try:
        key = _key_from_text(key_text)
    except MalformedEnvelope:
        return None
    recipients = data["recipients"]
    if type(recipients) is not list or not recipients or not all(_text(party) for party in recipients):
        return None
    if len(set(recipients)) != len(recipients):
        return None
    author = data["author"]
    if type(author) is not dict or author.keys() != _AUTHOR or not _text(author["name"]) or not _text(author["role"]):
        return None
    level, language = data["level"], data["language"]
    if type(level) is not str or level not in _LEVELS or not _text(language):
        return None
    created = _seconds(data["created"])
    deadline = data["deadline"]
    if created is None or (deadline is not None and ((deadline := _seconds(deadline)) is None or deadline < created)):
        return None
    try:  # the body's schema and the envelope's other parts, by the strict parser's own functions
        validate_body(message_type, data["body"], created=created, schema=schema)
        _attachments(data["attachments"])
        signature = require_signature(data["signature"], "signature")
    except MalformedEnvelope:
        return None
    head, peer = data["sender_checkpoint"], data["peer_checkpoint"]
    if type(head) is not dict or head.keys() != _HEAD or not _whole(head["size"], 0) or not _hex(head["root"]):
        return None
    if peer is not None and (
        type(peer) is not dict
        or peer.keys() != _PEER
        or not _text(peer["origin"])
        or not _whole(peer["size"], 0)
        or not _hex(peer["root"])
    ):
        return None
    member = b',"signature":"' + data["signature"].encode("ascii") + b'"'  # canonical base64, checked above
    position = leaf.rfind(member + _MARKER)
    if position < 0 or not _TAIL.fullmatch(leaf, position + len(member)):
        return None
    payload = leaf[:position] + leaf[position + len(member) :]
    return SignedLeaf(
        message_id, channel, seq, node, key, head["size"], bytes.fromhex(head["root"]), signature, payload
    )


def _text(value: object) -> bool:
    return type(value) is str and bool(value)


def _whole(value: object, minimum: int) -> bool:
    return type(value) is int and minimum <= value <= MAX_JSON_INTEGER


def _hex(value: object) -> bool:
    return type(value) is str and _is_hash(value) is not None


def _seconds(value: object) -> float | None:
    """``require_seconds`` of a plain float or a whole number a float holds exactly; else None."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int and -MAX_JSON_INTEGER <= value <= MAX_JSON_INTEGER:
        return float(value)
    return None
