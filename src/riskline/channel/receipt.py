"""The receiver's signed receipt for an envelope (docs/channel.md, "Receipt").

A receipt binds, under the receiver's key (``Purpose.RECEIPT``, over the canonical JSON without
``"signature"``): the envelope's hash, where the receiver put it in its own log (index, signed checkpoint and
RFC 9162 inclusion proof), and the receiver's cosignature of the sender's checkpoint. With it the sender holds
portable proof that the receiver got this exact envelope and saw the sender's log at that head; the receiver
cannot later deny either without its log showing an inconsistency.

A node answers a delivery batch with one receipt per envelope; they share the receiver's signed checkpoint and
its cosignature of the sender's checkpoint, so a verifier checks those two signatures once per batch
(``SignatureMemo``) and one receipt signature per envelope.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from riskline.channel.canonical import canonical_json, encode_base64
from riskline.channel.checkpoint import (
    Checkpoint,
    Cosignature,
    SignedCheckpoint,
    verify_checkpoint,
    verify_cosignature,
)
from riskline.channel.envelope import (
    MAX_JSON_INTEGER,
    SignedEnvelope,
    require_fields,
    require_hashes,
    require_id,
    require_int,
    require_key,
    require_part,
    require_seconds,
    require_signature,
    require_text,
)
from riskline.channel.errors import ChannelError, InvalidProof, KeyChanged, MalformedEnvelope
from riskline.channel.merkle import leaf_hash, verify_inclusion
from riskline.channel.messages import InvalidField, is_message_id
from riskline.channel.signing import Purpose, SigningKey, VerifyKey

RECEIPT_VERSION = 1
RECEIPT_FIELDS: tuple[str, ...] = (
    "v",
    "envelope_id",
    "envelope_hash",
    "channel",
    "receiver",
    "received",
    "log_index",
    "receiver_checkpoint",
    "inclusion_proof",
    "cosignature",
    "duplicate",
    "signature",
)


@dataclass(frozen=True, slots=True)
class Receiver:
    """The node that received the envelope, its party and the key it signs receipts with."""

    node: str
    party: str
    key: VerifyKey

    def to_wire(self) -> dict[str, Any]:
        return {"node": self.node, "party": self.party, "key": self.key.to_text()}


@dataclass(frozen=True, slots=True)
class Receipt:
    """A signed receipt; ``received`` [s] is the receiver's clock (recorded, not trusted by the sender)."""

    envelope_id: str
    envelope_hash: str
    channel: str
    receiver: Receiver
    received: float  # [s]
    log_index: int
    """Where the envelope sits in the receiver's log."""
    receiver_checkpoint: SignedCheckpoint
    inclusion_proof: tuple[bytes, ...]
    """RFC 9162 audit path of ``log_index`` in ``receiver_checkpoint``."""
    cosignature: Cosignature
    """The receiver's cosignature of the sender's checkpoint carried by the delivery."""
    duplicate: bool
    """True when the envelope had already been received: a re-delivery answered with the original facts."""
    signature: bytes
    v: int = RECEIPT_VERSION
    _payload: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def unsigned_wire(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "envelope_id": self.envelope_id,
            "envelope_hash": self.envelope_hash,
            "channel": self.channel,
            "receiver": self.receiver.to_wire(),
            "received": self.received,
            "log_index": self.log_index,
            "receiver_checkpoint": self.receiver_checkpoint.to_dict(),
            "inclusion_proof": [element.hex() for element in self.inclusion_proof],
            "cosignature": self.cosignature.to_dict(),
            "duplicate": self.duplicate,
        }

    def payload(self) -> bytes:
        """The canonical bytes the receiver signs: ``canonical_json(unsigned_wire())``, computed once.

        The receipts of a batch share their head, cosignature and receiver: those parts are serialised once
        (``_canonical_part``) and the members put together in RFC 8785 order; anything out of the ordinary
        goes through ``canonical_json`` whole, so the bytes (and errors) are always exactly its.
        """
        if self._payload is None:
            try:
                payload = _assembled_payload(self)
            except MalformedEnvelope:
                payload = None
            object.__setattr__(self, "_payload", payload or canonical_json(self.unsigned_wire()))
        assert self._payload is not None
        return self._payload

    def canonical(self) -> bytes:
        """The canonical JSON of the signed receipt (what nodes store), equal to ``canonical_json(to_wire())``.

        RFC 8785 orders ``"signature"`` just before ``"v"``, the last member, so it is spliced into the signed
        payload instead of serialising the receipt a second time.
        """
        payload = self.payload()
        tail = b',"v":' + str(self.v).encode("ascii") + b"}"
        if not payload.endswith(tail):  # pragma: no cover - the payload always ends with "v"
            return canonical_json(self.to_wire())
        member = b',"signature":"' + encode_base64(self.signature).encode("ascii") + b'"'
        return payload[: -len(tail)] + member + tail

    def to_wire(self) -> dict[str, Any]:
        wire = self.unsigned_wire()
        wire["signature"] = encode_base64(self.signature)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Receipt:
        """Parse strictly; ``InvalidField`` (422) names the first bad member. Nothing is verified here."""
        fields = require_fields(data, RECEIPT_FIELDS, "")
        if fields["v"] != RECEIPT_VERSION or isinstance(fields["v"], bool):
            raise InvalidField(
                "v", f"receipt format {fields['v']!r} is not supported (this node speaks {RECEIPT_VERSION})"
            )
        envelope_hash = fields["envelope_hash"]
        if not isinstance(envelope_hash, str) or len(envelope_hash) != 64 or envelope_hash.strip("0123456789abcdef"):
            raise InvalidField("envelope_hash", "must be 64 lower-case hex digits")
        receiver_fields = require_fields(fields["receiver"], ("node", "party", "key"), "receiver.")
        duplicate = fields["duplicate"]
        if not isinstance(duplicate, bool):
            raise InvalidField("duplicate", "must be true or false")
        return cls(
            envelope_id=require_id(fields["envelope_id"], "envelope_id"),
            envelope_hash=envelope_hash,
            channel=require_text(fields["channel"], "channel"),
            receiver=Receiver(
                node=require_text(receiver_fields["node"], "receiver.node"),
                party=require_text(receiver_fields["party"], "receiver.party"),
                key=_shared("receiver.key", receiver_fields["key"], require_key),
            ),
            received=require_seconds(fields["received"], "received"),
            log_index=require_int(fields["log_index"], "log_index", 0),
            receiver_checkpoint=_shared(
                "receiver_checkpoint", fields["receiver_checkpoint"], _part(SignedCheckpoint.from_dict)
            ),
            inclusion_proof=require_hashes(fields["inclusion_proof"], "inclusion_proof"),
            cosignature=_shared("cosignature", fields["cosignature"], _part(Cosignature.from_dict)),
            duplicate=duplicate,
            signature=require_signature(fields["signature"], "signature"),
        )


_T = TypeVar("_T")
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_MOST = 1024


def _part(parse: Callable[[object], _T]) -> Callable[[object, str], _T]:
    def parsed(value: object, name: str) -> _T:
        result: _T = require_part(parse, value, name)
        return result

    return parsed


def _shared(name: str, value: object, parse: Callable[[object, str], _T]) -> _T:
    """``parse(value, name)``, remembered: the receipts of one batch carry the very same head, cosignature and key.

    The memory is keyed by the ``repr`` of the whole JSON value, which tells apart everything a parse could
    (``1``, ``1.0`` and ``True``; quoted strings); only successful parses are kept, so errors are raised exactly
    as without it.
    """
    key = (name, repr(value))
    found = _PARSED.get(key)
    if found is None:
        found = parse(value, name)
        if len(_PARSED) >= _PARSED_MOST:
            _PARSED.clear()
        _PARSED[key] = found
    result: _T = found
    return result


_HASH_HEX = re.compile(r"[0-9a-f]{64}")


@functools.lru_cache(maxsize=256)
def _canonical_part(value: SignedCheckpoint | Cosignature | Receiver) -> bytes:
    """RFC 8785 bytes of a part many receipts share (equal values are one cache entry)."""
    return canonical_json(value.to_wire() if isinstance(value, Receiver) else value.to_dict())


@functools.lru_cache(maxsize=256, typed=True)
def _canonical_scalar(value: str | float | int) -> bytes:
    """RFC 8785 bytes of a channel name, a time or a version many receipts share (typed: 1 is not 1.0)."""
    return canonical_json(value)


def _assembled_payload(receipt: Receipt) -> bytes | None:
    """``canonical_json(receipt.unsigned_wire())`` put together member by member; None when a value is unusual."""
    if (
        not _HASH_HEX.fullmatch(receipt.envelope_hash)
        or not is_message_id(receipt.envelope_id)
        or isinstance(receipt.log_index, bool)
        or not isinstance(receipt.log_index, int)
        or not 0 <= receipt.log_index <= MAX_JSON_INTEGER
        or not isinstance(receipt.duplicate, bool)
        or not all(isinstance(element, bytes) for element in receipt.inclusion_proof)
    ):
        return None
    proof = b",".join(b'"' + element.hex().encode("ascii") + b'"' for element in receipt.inclusion_proof)
    # Members in RFC 8785 order (all keys are ASCII, so code-unit order is byte order).
    return b"".join(
        (
            b'{"channel":',
            _canonical_scalar(receipt.channel),
            b',"cosignature":',
            _canonical_part(receipt.cosignature),
            b',"duplicate":',
            b"true" if receipt.duplicate else b"false",
            b',"envelope_hash":"',
            receipt.envelope_hash.encode("ascii"),
            b'","envelope_id":"',
            receipt.envelope_id.encode("ascii"),
            b'","inclusion_proof":[',
            proof,
            b'],"log_index":',
            str(receipt.log_index).encode("ascii"),
            b',"received":',
            _canonical_scalar(receipt.received),
            b',"receiver":',
            _canonical_part(receipt.receiver),
            b',"receiver_checkpoint":',
            _canonical_part(receipt.receiver_checkpoint),
            b',"v":',
            _canonical_scalar(receipt.v),
            b"}",
        )
    )


def make_receipt(
    *,
    envelope: SignedEnvelope,
    receiver: Receiver,
    received: float,
    log_index: int,
    receiver_checkpoint: SignedCheckpoint,
    inclusion_proof: Sequence[bytes],
    cosignature: Cosignature,
    duplicate: bool = False,
    key: SigningKey,
) -> Receipt:
    """The receipt for ``envelope``, signed with the receiver's ``key`` (which must be ``receiver.key``)."""
    if key.public_key != receiver.key:
        raise InvalidField(
            "receiver.key", f"names {receiver.key.fingerprint} but the signing key is {key.public_key.fingerprint}"
        )
    unsigned = Receipt(
        envelope_id=envelope.id,
        envelope_hash=envelope.hash,
        channel=envelope.envelope.channel,
        receiver=receiver,
        received=require_seconds(received, "received"),
        log_index=require_int(log_index, "log_index", 0),
        receiver_checkpoint=receiver_checkpoint,
        inclusion_proof=tuple(inclusion_proof),
        cosignature=cosignature,
        duplicate=duplicate,
        signature=b"",
    )
    return _signed(unsigned, key)


def mark_duplicate(receipt: Receipt, key: SigningKey) -> Receipt:
    """The original receipt re-signed with ``duplicate`` true, for answering an idempotent re-delivery."""
    return _signed(replace(receipt, duplicate=True, signature=b""), key)


def _signed(unsigned: Receipt, key: SigningKey) -> Receipt:
    """``unsigned`` with ``key``'s signature; the canonical payload is computed once, for both."""
    payload = unsigned.payload()
    signed = replace(unsigned, signature=key.sign(Purpose.RECEIPT, payload))
    object.__setattr__(signed, "_payload", payload)
    return signed


class SignatureMemo:
    """Signatures already verified in one run, so each is checked once.

    The receipts of one delivery batch share the receiver's checkpoint and its cosignature: with a memo their
    signatures are verified for the first receipt only. A value is remembered only after its signature held;
    checkpoints and cosignatures are remembered whole (the checkpoint, the signer and the signature), other
    signatures by key, purpose, SHA-256 of the payload and signature — so anything different is checked.
    ``trust`` adds a signature verified elsewhere (e.g. by a worker process checking many in parallel).
    """

    __slots__ = ("_signatures", "_verified")

    def __init__(self) -> None:
        self._verified: set[SignedCheckpoint | Cosignature] = set()
        self._signatures: set[tuple[bytes, str, bytes, bytes]] = set()

    def checkpoint(self, scp: SignedCheckpoint, trusted: VerifyKey) -> None:
        """``verify_checkpoint(scp, trusted)``, once per distinct ``scp``."""
        if scp.signer != trusted or scp not in self._verified:
            verify_checkpoint(scp, trusted=trusted)
            self._verified.add(scp)

    def cosignature(self, cosignature: Cosignature, trusted: VerifyKey) -> None:
        """``verify_cosignature(cosignature, trusted)``, once per distinct cosignature."""
        if cosignature.witness != trusted or cosignature not in self._verified:
            verify_cosignature(cosignature, trusted=trusted)
            self._verified.add(cosignature)

    def signature(self, key: VerifyKey, purpose: Purpose, payload: bytes, signature: bytes) -> None:
        """``key.verify(purpose, payload, signature)``, once per distinct signature."""
        fact = _signature_fact(key, purpose, payload, signature)
        if fact not in self._signatures:
            key.verify(purpose, payload, signature)
            self._signatures.add(fact)

    def trust(self, key: VerifyKey, purpose: Purpose, payload: bytes, signature: bytes) -> None:
        """Remember a signature that was verified elsewhere (only ever call it with one that was)."""
        self._signatures.add(_signature_fact(key, purpose, payload, signature))

    def __len__(self) -> int:
        return len(self._verified) + len(self._signatures)


def _signature_fact(
    key: VerifyKey, purpose: Purpose, payload: bytes, signature: bytes
) -> tuple[bytes, str, bytes, bytes]:
    return (key.raw, str(purpose), hashlib.sha256(payload).digest(), signature)


def signatures_hold(items: Sequence[tuple[VerifyKey, Purpose, bytes, bytes]]) -> list[bool]:
    """Whether each (key, purpose, payload, signature) verifies (one task for a worker process)."""
    result = []
    for key, purpose, payload, signature in items:
        try:
            key.verify(purpose, payload, signature)
        except ChannelError:
            result.append(False)
        else:
            result.append(True)
    return result


@dataclass(frozen=True, slots=True)
class ReceiptSubject:
    """What a receipt must match of the envelope it is for (a ``SignedEnvelope`` has it, so do a log's facts)."""

    envelope_id: str
    envelope_hash: str
    """SHA-256 hex of the leaf data."""
    channel: str
    leaf_hash: bytes
    """RFC 9162 leaf hash of the leaf data."""

    @classmethod
    def of(cls, envelope: SignedEnvelope) -> ReceiptSubject:
        return cls(envelope.id, envelope.hash, envelope.envelope.channel, leaf_hash(envelope.leaf_data()))


def verify_receipt(
    receipt: Receipt,
    *,
    envelope: SignedEnvelope | ReceiptSubject,
    receiver_key: VerifyKey,
    sender_checkpoint: Checkpoint,
    memo: SignatureMemo | None = None,
) -> None:
    """Return quietly when ``receipt`` proves the receiver logged ``envelope`` and cosigned ``sender_checkpoint``.

    Checks, in order: the receipt is by ``receiver_key`` (``KeyChanged``) and its signature holds
    (``BadSignature``); it names this envelope's id, hash and channel (``InvalidProof``); the receiver's
    checkpoint is signed by the same key; the inclusion proof leads from the envelope's leaf to that
    checkpoint's root (``InvalidProof``); the cosignature is the receiver's, over exactly ``sender_checkpoint``.
    With ``memo``, a checkpoint or cosignature already verified in this run is not verified again.
    """
    memo = SignatureMemo() if memo is None else memo
    subject = envelope if isinstance(envelope, ReceiptSubject) else ReceiptSubject.of(envelope)
    if receipt.receiver.key != receiver_key:
        raise KeyChanged(
            f"receipt names receiver key {receipt.receiver.key.fingerprint},"
            f" the pinned key is {receiver_key.fingerprint}"
        )
    memo.signature(receiver_key, Purpose.RECEIPT, receipt.payload(), receipt.signature)
    if receipt.envelope_id != subject.envelope_id:
        raise InvalidProof(f"receipt is for envelope {receipt.envelope_id}, not {subject.envelope_id}")
    if receipt.envelope_hash != subject.envelope_hash:
        raise InvalidProof(
            f"receipt is for envelope hash {receipt.envelope_hash[:16]}…, not {subject.envelope_hash[:16]}…"
        )
    if receipt.channel != subject.channel:
        raise InvalidProof(f"receipt is for channel {receipt.channel!r}, not {subject.channel!r}")
    memo.checkpoint(receipt.receiver_checkpoint, receiver_key)
    head = receipt.receiver_checkpoint.checkpoint
    verify_inclusion(subject.leaf_hash, receipt.log_index, head.size, receipt.inclusion_proof, head.root)
    memo.cosignature(receipt.cosignature, receiver_key)
    if receipt.cosignature.checkpoint != sender_checkpoint:
        cosigned = receipt.cosignature.checkpoint
        raise InvalidProof(
            f"receipt cosigns {cosigned.origin!r} at size {cosigned.size}, not the sender's checkpoint "
            f"{sender_checkpoint.origin!r} at size {sender_checkpoint.size}"
        )
