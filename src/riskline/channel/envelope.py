"""The signed envelope every channel message travels in (docs/channel.md, "Envelope").

An envelope is a JSON object; its signature (Ed25519, ``Purpose.ENVELOPE``) covers the RFC 8785 canonical
JSON of the object without the ``"signature"`` member. The *leaf data* a node appends to its Merkle log is
the canonical JSON of the whole signed object, and the envelope's *hash* is the SHA-256 hex of those bytes.

``from_wire`` is strict: every member must be present with the right type, nothing extra, and the body must
pass its type's schema; a failure is one ``InvalidField`` naming the member (``sender.key: …``). The body is
kept exactly as received, so the signed bytes are reproduced exactly.

Canonical JSON sorts members by name, so the ``"signature"`` member always sits between ``"seq"`` and
``"thread"``: the leaf is the payload with that member spliced in, and the payload is the leaf with it cut
out. That saves one canonicalisation per envelope, which matters when a log of a million entries is checked.
"""

from __future__ import annotations

import functools
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from riskline.channel.canonical import canonical_json, decode_base64, decode_hex, encode_base64, sha256_hex
from riskline.channel.checkpoint import Checkpoint
from riskline.channel.errors import ForeignChannel, MalformedEnvelope
from riskline.channel.merkle import HASH_SIZE
from riskline.channel.messages import (
    READABLE_SCHEMAS,
    SCHEMA_VERSIONS,
    ContactLevel,
    InvalidField,
    MessageType,
    is_message_id,
    validate_body,
)
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import SIGNATURE_SIZE, Purpose, SigningKey, VerifyKey

_T = TypeVar("_T")

WIRE_VERSION = 1
ENVELOPE_FIELDS: tuple[str, ...] = (
    "v",
    "id",
    "channel",
    "type",
    "schema",
    "seq",
    "thread",
    "in_reply_to",
    "sender",
    "recipients",
    "author",
    "level",
    "language",
    "created",
    "deadline",
    "body",
    "attachments",
    "sender_checkpoint",
    "peer_checkpoint",
    "signature",
)
MAX_JSON_INTEGER = 2**53 - 1  # RFC 8785: numbers are IEEE 754 doubles
MAX_ATTACHMENT_SIZE = 16 * 1024 * 1024  # [bytes] an attachment larger than this is refused by sender and receiver
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_TAIL = re.compile(rb',"thread":"[0-9a-f]{32}","type":"[a-z_]+","v":[0-9]+}')
"""The canonical payload ends with these members, whose values cannot hide another ``,"thread":"``."""


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an envelope: the node, its party and the key it signs with."""

    node: str
    party: str
    key: VerifyKey

    def to_wire(self) -> dict[str, Any]:
        return {"node": self.node, "party": self.party, "key": self.key.to_text()}


@dataclass(frozen=True, slots=True)
class Author:
    """The operator who wrote the message."""

    name: str
    role: str
    """Free text, usually a level of contact, e.g. ``duty_officer``."""

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role}


@dataclass(frozen=True, slots=True)
class LogHead:
    """The sender's own log before it appended the envelope: ``size`` is the envelope's index in that log."""

    size: int
    root: bytes

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> LogHead:
        return cls(checkpoint.size, checkpoint.root)

    def to_wire(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root.hex()}


@dataclass(frozen=True, slots=True)
class PeerHead:
    """The last checkpoint the sender saw of the (first) recipient's log."""

    origin: str
    size: int
    root: bytes

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> PeerHead:
        return cls(checkpoint.origin, checkpoint.size, checkpoint.root)

    def to_wire(self) -> dict[str, Any]:
        return {"origin": self.origin, "size": self.size, "root": self.root.hex()}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file referenced by hash; its bytes travel separately and are checked against ``sha256`` and ``size``."""

    name: str
    sha256: str
    """Lower-case hex SHA-256 of the bytes."""
    media_type: str
    size: int  # [bytes]

    @classmethod
    def from_bytes(cls, name: str, data: bytes, media_type: str) -> Attachment:
        return cls(name=name, sha256=sha256_hex(data), media_type=media_type, size=len(data))

    def matches(self, data: bytes) -> bool:
        """True when ``data`` are the referenced bytes."""
        return len(data) == self.size and sha256_hex(data) == self.sha256

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "media_type": self.media_type, "size": self.size}


@dataclass(frozen=True, slots=True)
class Envelope:
    """An unsigned envelope, member for member the wire format (times [s] POSIX on the sender's clock)."""

    id: str
    channel: str
    type: MessageType
    schema: int
    seq: int
    """The sender's sequence number on this channel, from 1, without gaps."""
    thread: str
    """Id of the thread's first message."""
    in_reply_to: str | None
    sender: Sender
    recipients: tuple[str, ...]
    author: Author
    level: ContactLevel
    language: str
    created: float  # [s] sender's clock: recorded, not trusted
    deadline: float | None  # [s] sender's clock; the receiver recomputes its own
    body: Mapping[str, Any] = field(hash=False)
    attachments: tuple[Attachment, ...]
    sender_checkpoint: LogHead
    peer_checkpoint: PeerHead | None
    v: int = WIRE_VERSION

    def to_wire(self) -> dict[str, Any]:
        """The JSON object without ``"signature"``: what the signature covers."""
        return {
            "v": self.v,
            "id": self.id,
            "channel": self.channel,
            "type": str(self.type),
            "schema": self.schema,
            "seq": self.seq,
            "thread": self.thread,
            "in_reply_to": self.in_reply_to,
            "sender": self.sender.to_wire(),
            "recipients": list(self.recipients),
            "author": self.author.to_wire(),
            "level": str(self.level),
            "language": self.language,
            "created": self.created,
            "deadline": self.deadline,
            "body": dict(self.body),
            "attachments": [attachment.to_wire() for attachment in self.attachments],
            "sender_checkpoint": self.sender_checkpoint.to_wire(),
            "peer_checkpoint": None if self.peer_checkpoint is None else self.peer_checkpoint.to_wire(),
        }

    def payload(self) -> bytes:
        """The canonical bytes the sender signs."""
        return canonical_json(self.to_wire())


@dataclass(frozen=True, slots=True)
class SignedEnvelope:
    """An envelope with its sender's signature; leaf data and hash are computed once, at construction."""

    envelope: Envelope
    signature: bytes
    _payload: bytes = field(init=False, repr=False, compare=False)
    _leaf: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wire = self.envelope.to_wire()
        payload = canonical_json(wire)
        object.__setattr__(self, "_payload", payload)
        object.__setattr__(self, "_leaf", _splice_signature(payload, wire, self.signature))

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SignedEnvelope:
        """Parse a signed envelope strictly; ``InvalidField`` (422) names the first bad member. Signature unchecked."""
        envelope, signature = parse_envelope(data)
        return cls(envelope, signature)

    @classmethod
    def from_leaf(cls, leaf: bytes, *, recanonicalize: bool = True) -> SignedEnvelope:
        """Parse the leaf data of a log entry: the canonical JSON of a signed envelope, as a node writes it.

        With ``recanonicalize`` false the leaf is not serialised again; only the ``"signature"`` member's place
        is checked. The leaf is then canonical exactly when the payload cut out of it is, and a payload whose
        signature verifies is what the sender signed: riskline signs only canonical payloads and every node
        logs its own re-serialisation, so ``verify()`` completes the check at half the cost (log verification).
        """
        data = _load_json(leaf)
        envelope, signature = parse_envelope(data)
        payload = _cut_signature(leaf, signature)
        if payload is None or (recanonicalize and canonical_json(data) != leaf):
            raise MalformedEnvelope("entry is not the canonical JSON (RFC 8785) of a signed envelope")
        signed = object.__new__(cls)
        object.__setattr__(signed, "envelope", envelope)
        object.__setattr__(signed, "signature", signature)
        object.__setattr__(signed, "_payload", payload)
        object.__setattr__(signed, "_leaf", leaf)
        return signed

    def to_wire(self) -> dict[str, Any]:
        wire = self.envelope.to_wire()
        wire["signature"] = encode_base64(self.signature)
        return wire

    def leaf_data(self) -> bytes:
        """Canonical JSON of the signed envelope: what a node appends to its Merkle log."""
        return self._leaf

    def signing_payload(self) -> bytes:
        """Canonical JSON of the envelope without its signature: what the signature covers."""
        return self._payload

    @property
    def hash(self) -> str:
        """SHA-256 hex of the leaf data: the envelope's identity in receipts and proofs."""
        return sha256_hex(self._leaf)

    @property
    def id(self) -> str:
        return self.envelope.id

    def verify(self, key: VerifyKey) -> None:
        """Return quietly when ``key`` signed this envelope (``Purpose.ENVELOPE``), else raise ``BadSignature``."""
        key.verify(Purpose.ENVELOPE, self._payload, self.signature)


def new_envelope(
    *,
    channel: ChannelPolicy,
    msg_type: MessageType,
    body: Mapping[str, Any],
    sender: Sender,
    author: Author,
    level: ContactLevel,
    language: str,
    seq: int,
    created: float,
    sender_checkpoint: LogHead | Checkpoint,
    peer_checkpoint: PeerHead | Checkpoint | None,
    thread: str | None = None,
    in_reply_to: str | None = None,
    attachments: Iterable[Attachment] = (),
    id: str | None = None,
    deadline_span: float | None = None,
) -> Envelope:
    """A new envelope for ``channel``, checked as a receiver would check it; sign it with ``sign_envelope``.

    ``thread`` defaults to the new id (a new thread); a reply must name its thread. The deadline is
    ``created + span`` with the policy's span for the type, or ``deadline_span`` [s] when given (escalation
    notices carry their step's span). ``id`` defaults to a fresh UUID4.
    """
    message_type = MessageType(msg_type)
    message_id = uuid.uuid4().hex if id is None else id
    if not is_message_id(message_id):
        raise InvalidField("id", "a message id is 32 lower-case hex digits")
    if in_reply_to is not None and thread is None:
        raise InvalidField("thread", "a reply must name the thread of the message it answers")
    for name, value in (("thread", thread), ("in_reply_to", in_reply_to)):
        if value is not None and not is_message_id(value):
            raise InvalidField(name, "a message id is 32 lower-case hex digits")
    recipients = channel.recipients_for(sender.party)
    try:
        level = ContactLevel(level)
    except ValueError:
        raise InvalidField("level", f"unknown level of contact {level!r}") from None
    level = _member_of(level, channel.levels, "level", channel)
    language = _member_of(language, channel.languages, "language", channel)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_JSON_INTEGER:
        raise InvalidField("seq", f"must be a whole number from 1, got {seq!r}")
    created = _finite(created, "created")
    normal_body = validate_body(message_type, body, created=created)
    span = channel.deadline_for(message_type) if deadline_span is None else _finite(deadline_span, "deadline_span")
    if span is not None and span <= 0:
        raise InvalidField("deadline", f"a deadline span must be positive, got {span}")
    head = LogHead.of(sender_checkpoint) if isinstance(sender_checkpoint, Checkpoint) else sender_checkpoint
    peer = PeerHead.of(peer_checkpoint) if isinstance(peer_checkpoint, Checkpoint) else peer_checkpoint
    envelope = Envelope(
        id=message_id,
        channel=channel.id,
        type=message_type,
        schema=SCHEMA_VERSIONS[message_type],
        seq=seq,
        thread=message_id if thread is None else thread,
        in_reply_to=in_reply_to,
        sender=sender,
        recipients=recipients,
        author=author,
        level=level,
        language=language,
        created=created,
        deadline=None if span is None else created + span,
        body=normal_body,
        attachments=tuple(attachments),
        sender_checkpoint=head,
        peer_checkpoint=peer,
    )
    parse_envelope({**envelope.to_wire(), "signature": encode_base64(bytes(SIGNATURE_SIZE))})
    return envelope


def sign_envelope(envelope: Envelope, key: SigningKey) -> SignedEnvelope:
    """The envelope signed by its sender's key (``Purpose.ENVELOPE``)."""
    if envelope.sender.key != key.public_key:
        raise InvalidField(
            "sender.key",
            f"names {envelope.sender.key.fingerprint} but the signing key is {key.public_key.fingerprint}",
        )
    return SignedEnvelope(envelope, key.sign(Purpose.ENVELOPE, envelope.payload()))


def check_membership(envelope: Envelope, policy: ChannelPolicy, local_party: str) -> None:
    """``ForeignChannel`` unless the envelope is for this channel, between its members, addressed to us.

    On every channel the recipients are exactly the other members (a collective channel cannot whisper).
    """
    if envelope.channel != policy.id:
        raise ForeignChannel(f"envelope is for channel {envelope.channel!r}, not {policy.id!r}")
    if local_party not in policy.members:
        raise ForeignChannel(f"party {local_party!r} is not a member of channel {policy.id!r}")
    if envelope.sender.party not in policy.members:
        raise ForeignChannel(f"sender party {envelope.sender.party!r} is not a member of channel {policy.id!r}")
    if local_party not in envelope.recipients:
        raise ForeignChannel(f"envelope {envelope.id} is not addressed to {local_party!r}")
    expected = policy.recipients_for(envelope.sender.party)
    if sorted(envelope.recipients) != sorted(expected):
        raise ForeignChannel(
            f"recipients {', '.join(envelope.recipients)} are not the other members"
            f" of {policy.id!r}: {', '.join(expected)}"
        )
    if envelope.level not in policy.levels:
        raise InvalidField("level", f"{envelope.level} is not a level of contact of channel {policy.id!r}")
    if envelope.language not in policy.languages:
        raise InvalidField("language", f"{envelope.language!r} is not a language of channel {policy.id!r}")


# --- strict parsing of wire forms (shared by receipt.py, protocol.py and bundle.py) ---------------------------


def parse_envelope(data: object) -> tuple[Envelope, bytes]:
    """The envelope and its signature from a wire dict, or ``InvalidField`` naming the first bad member."""
    fields = require_fields(data, ENVELOPE_FIELDS, "")
    if fields["v"] != WIRE_VERSION or isinstance(fields["v"], bool):
        raise InvalidField("v", f"envelope format {fields['v']!r} is not supported (this node speaks {WIRE_VERSION})")
    message_id = require_id(fields["id"], "id")
    channel = require_text(fields["channel"], "channel")
    try:
        message_type = MessageType(require_text(fields["type"], "type"))
    except ValueError:
        raise InvalidField("type", f"unknown message type {fields['type']!r}") from None
    schema = require_int(fields["schema"], "schema", 1)
    if schema not in READABLE_SCHEMAS[message_type]:
        raise InvalidField(
            "schema",
            f"{message_type} schema {schema} is not supported (this node speaks {SCHEMA_VERSIONS[message_type]})",
        )
    seq = require_int(fields["seq"], "seq", 1)
    thread = require_id(fields["thread"], "thread")
    in_reply_to = None if fields["in_reply_to"] is None else require_id(fields["in_reply_to"], "in_reply_to")
    sender_fields = require_fields(fields["sender"], ("node", "party", "key"), "sender.")
    sender = Sender(
        node=require_text(sender_fields["node"], "sender.node"),
        party=require_text(sender_fields["party"], "sender.party"),
        key=require_key(sender_fields["key"], "sender.key"),
    )
    recipients = _recipients(fields["recipients"])
    author_fields = require_fields(fields["author"], ("name", "role"), "author.")
    author = Author(
        require_text(author_fields["name"], "author.name"), require_text(author_fields["role"], "author.role")
    )
    try:
        level = ContactLevel(require_text(fields["level"], "level"))
    except ValueError:
        raise InvalidField("level", f"unknown level of contact {fields['level']!r}") from None
    language = require_text(fields["language"], "language")
    created = require_seconds(fields["created"], "created")
    deadline = None if fields["deadline"] is None else require_seconds(fields["deadline"], "deadline")
    if deadline is not None and deadline < created:
        raise InvalidField("deadline", f"{deadline} is before the envelope was created ({created})")
    body = fields["body"]
    validate_body(message_type, body, created=created, schema=schema)
    attachments = _attachments(fields["attachments"])
    head_fields = require_fields(fields["sender_checkpoint"], ("size", "root"), "sender_checkpoint.")
    head = LogHead(
        require_int(head_fields["size"], "sender_checkpoint.size", 0),
        require_hash(head_fields["root"], "sender_checkpoint.root"),
    )
    peer: PeerHead | None = None
    if fields["peer_checkpoint"] is not None:
        peer_fields = require_fields(fields["peer_checkpoint"], ("origin", "size", "root"), "peer_checkpoint.")
        peer = PeerHead(
            require_text(peer_fields["origin"], "peer_checkpoint.origin"),
            require_int(peer_fields["size"], "peer_checkpoint.size", 0),
            require_hash(peer_fields["root"], "peer_checkpoint.root"),
        )
    signature = require_signature(fields["signature"], "signature")
    envelope = Envelope(
        id=message_id,
        channel=channel,
        type=message_type,
        schema=schema,
        seq=seq,
        thread=thread,
        in_reply_to=in_reply_to,
        sender=sender,
        recipients=recipients,
        author=author,
        level=level,
        language=language,
        created=created,
        deadline=deadline,
        body=dict(body),
        attachments=attachments,
        sender_checkpoint=head,
        peer_checkpoint=peer,
    )
    return envelope, signature


def require_fields(data: object, names: Sequence[str], prefix: str) -> Mapping[str, Any]:
    """``data`` as a mapping with exactly ``names``; ``prefix`` (``"sender."``) makes the field path."""
    where = prefix.rstrip(".") or "envelope"
    if not isinstance(data, Mapping):
        raise InvalidField(where, f"must be a JSON object, got {type(data).__name__}")
    for name in names:
        if name not in data:
            raise InvalidField(f"{prefix}{name}", "missing")
    if len(data) != len(names):
        extra = sorted(str(key) for key in data if key not in names)
        raise InvalidField(f"{prefix}{extra[0]}", "unexpected field")
    return data


def require_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidField(name, f"must be non-empty text, got {_kind(value)}")
    return value


def require_id(value: object, name: str) -> str:
    if not is_message_id(value):
        raise InvalidField(name, "a message id is 32 lower-case hex digits")
    assert isinstance(value, str)
    return value


def require_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_JSON_INTEGER:
        raise InvalidField(name, f"must be a whole number from {minimum}, got {_kind(value)}")
    return value


def require_seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidField(name, f"must be a finite number of seconds, got {_kind(value)}")
    return float(value)


def require_hash(value: object, name: str) -> bytes:
    try:
        return decode_hex(value, name, HASH_SIZE)
    except MalformedEnvelope as error:
        raise InvalidField(name, _reason(error, name)) from None


def require_hashes(value: object, name: str) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise InvalidField(name, f"must be a list of hex hashes, got {_kind(value)}")
    return tuple(require_hash(item, f"{name}.{index}") for index, item in enumerate(value))


def require_signature(value: object, name: str) -> bytes:
    try:
        signature = decode_base64(value, name)
    except MalformedEnvelope as error:
        raise InvalidField(name, _reason(error, name)) from None
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidField(name, f"an Ed25519 signature is {SIGNATURE_SIZE} bytes, got {len(signature)}")
    return signature


def require_key(value: object, name: str) -> VerifyKey:
    if not isinstance(value, str):
        raise InvalidField(name, f"must be key text like 'ed25519:<base64>', got {_kind(value)}")
    try:
        return _key_from_text(value)
    except MalformedEnvelope as error:
        raise InvalidField(name, str(error)) from None


@functools.lru_cache(maxsize=1024)
def _key_from_text(text: str) -> VerifyKey:
    """A log holds few distinct keys: parse each once (keys are immutable values)."""
    return VerifyKey.from_text(text)


def require_part(parse: Any, value: object, name: str) -> Any:
    """Run a crypto ``from_dict`` parser, naming ``name`` in its ``MalformedEnvelope``."""
    try:
        return parse(value)
    except InvalidField:
        raise
    except MalformedEnvelope as error:
        raise InvalidField(name, str(error)) from None


def _recipients(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidField("recipients", f"must be a non-empty list of parties, got {_kind(value)}")
    parties = tuple(require_text(item, f"recipients.{index}") for index, item in enumerate(value))
    if len(set(parties)) != len(parties):
        raise InvalidField("recipients", "a party is listed twice")
    return parties


def _attachments(value: object) -> tuple[Attachment, ...]:
    if not isinstance(value, list):
        raise InvalidField("attachments", f"must be a list, got {_kind(value)}")
    result = []
    for index, item in enumerate(value):
        prefix = f"attachments.{index}."
        fields = require_fields(item, ("name", "sha256", "media_type", "size"), prefix)
        digest = fields["sha256"]
        if not isinstance(digest, str) or _SHA256_HEX.fullmatch(digest) is None:
            raise InvalidField(f"{prefix}sha256", "must be 64 lower-case hex digits")
        media_type = require_text(fields["media_type"], f"{prefix}media_type")
        if _MEDIA_TYPE.fullmatch(media_type) is None:
            raise InvalidField(f"{prefix}media_type", f"not a media type like 'image/png': {media_type!r}")
        result.append(
            Attachment(
                name=require_text(fields["name"], f"{prefix}name"),
                sha256=digest,
                media_type=media_type,
                size=_attachment_size(fields["size"], f"{prefix}size"),
            )
        )
    return tuple(result)


def _attachment_size(value: object, name: str) -> int:
    size = require_int(value, name, 0)
    if size > MAX_ATTACHMENT_SIZE:
        raise InvalidField(name, attachment_too_large(size))
    return size


def attachment_too_large(size: int) -> str:
    """The reason an attachment of ``size`` bytes is refused."""
    return f"{size:,} bytes is larger than the limit of {MAX_ATTACHMENT_SIZE:,} bytes ({MAX_ATTACHMENT_SIZE >> 20} MiB)"


def _member_of(value: _T, allowed: Sequence[_T], name: str, policy: ChannelPolicy) -> _T:
    if value not in allowed:
        choices = ", ".join(map(str, allowed))
        raise InvalidField(name, f"{value!s} is not one of channel {policy.id}'s {name}s: {choices}")
    return value


def _finite(value: float, name: str) -> float:
    return require_seconds(value, name)


def _kind(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:39] + "…")
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return type(value).__name__


def _reason(error: MalformedEnvelope, name: str) -> str:
    text = str(error)
    if text.startswith(name + " "):
        text = text[len(name) + 1 :]
    return text.removeprefix("is ")


def _load_json(leaf: bytes) -> Any:
    try:
        return json.loads(leaf)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEnvelope(f"entry is not JSON: {error}") from None


_MARKER = b',"thread":"'


def _splice_signature(payload: bytes, wire: Mapping[str, Any], signature: bytes) -> bytes:
    member = b',"signature":"' + encode_base64(signature).encode("ascii") + b'"'
    position = payload.rfind(_MARKER)
    if position >= 0 and _TAIL.fullmatch(payload, position):
        return payload[:position] + member + payload[position:]
    return canonical_json({**wire, "signature": encode_base64(signature)})


def _cut_signature(leaf: bytes, signature: bytes) -> bytes | None:
    member = b',"signature":"' + encode_base64(signature).encode("ascii") + b'"'
    position = leaf.rfind(member + _MARKER)
    if position < 0 or not _TAIL.fullmatch(leaf, position + len(member)):
        return None
    return leaf[:position] + leaf[position + len(member) :]
