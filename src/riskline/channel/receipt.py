"""The receiver's signed receipt for an envelope (docs/channel.md, "Receipt").

A receipt binds, under the receiver's key (``Purpose.RECEIPT``, over the canonical JSON without
``"signature"``): the envelope's hash, where the receiver put it in its own log (index, signed checkpoint and
RFC 9162 inclusion proof), and the receiver's cosignature of the sender's checkpoint. With it the sender holds
portable proof that the receiver got this exact envelope and saw the sender's log at that head; the receiver
cannot later deny either without its log showing an inconsistency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from riskline.channel.canonical import canonical_json, encode_base64
from riskline.channel.checkpoint import (
    Checkpoint,
    Cosignature,
    SignedCheckpoint,
    verify_checkpoint,
    verify_cosignature,
)
from riskline.channel.envelope import (
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
from riskline.channel.errors import InvalidProof, KeyChanged
from riskline.channel.merkle import leaf_hash, verify_inclusion
from riskline.channel.messages import InvalidField
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
        """The canonical bytes the receiver signs."""
        return canonical_json(self.unsigned_wire())

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
                key=require_key(receiver_fields["key"], "receiver.key"),
            ),
            received=require_seconds(fields["received"], "received"),
            log_index=require_int(fields["log_index"], "log_index", 0),
            receiver_checkpoint=require_part(
                SignedCheckpoint.from_dict, fields["receiver_checkpoint"], "receiver_checkpoint"
            ),
            inclusion_proof=require_hashes(fields["inclusion_proof"], "inclusion_proof"),
            cosignature=require_part(Cosignature.from_dict, fields["cosignature"], "cosignature"),
            duplicate=duplicate,
            signature=require_signature(fields["signature"], "signature"),
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
    return replace(unsigned, signature=key.sign(Purpose.RECEIPT, unsigned.payload()))


def mark_duplicate(receipt: Receipt, key: SigningKey) -> Receipt:
    """The original receipt re-signed with ``duplicate`` true, for answering an idempotent re-delivery."""
    unsigned = replace(receipt, duplicate=True, signature=b"")
    return replace(unsigned, signature=key.sign(Purpose.RECEIPT, unsigned.payload()))


def verify_receipt(
    receipt: Receipt, *, envelope: SignedEnvelope, receiver_key: VerifyKey, sender_checkpoint: Checkpoint
) -> None:
    """Return quietly when ``receipt`` proves the receiver logged ``envelope`` and cosigned ``sender_checkpoint``.

    Checks, in order: the receipt is by ``receiver_key`` (``KeyChanged``) and its signature holds
    (``BadSignature``); it names this envelope's id, hash and channel (``InvalidProof``); the receiver's
    checkpoint is signed by the same key; the inclusion proof leads from the envelope's leaf to that
    checkpoint's root (``InvalidProof``); the cosignature is the receiver's, over exactly ``sender_checkpoint``.
    """
    if receipt.receiver.key != receiver_key:
        raise KeyChanged(
            f"receipt names receiver key {receipt.receiver.key.fingerprint},"
            f" the pinned key is {receiver_key.fingerprint}"
        )
    receiver_key.verify(Purpose.RECEIPT, receipt.payload(), receipt.signature)
    if receipt.envelope_id != envelope.id:
        raise InvalidProof(f"receipt is for envelope {receipt.envelope_id}, not {envelope.id}")
    if receipt.envelope_hash != envelope.hash:
        raise InvalidProof(f"receipt is for envelope hash {receipt.envelope_hash[:16]}…, not {envelope.hash[:16]}…")
    if receipt.channel != envelope.envelope.channel:
        raise InvalidProof(f"receipt is for channel {receipt.channel!r}, not {envelope.envelope.channel!r}")
    verify_checkpoint(receipt.receiver_checkpoint, trusted=receiver_key)
    head = receipt.receiver_checkpoint.checkpoint
    verify_inclusion(leaf_hash(envelope.leaf_data()), receipt.log_index, head.size, receipt.inclusion_proof, head.root)
    verify_cosignature(receipt.cosignature, trusted=receiver_key)
    if receipt.cosignature.checkpoint != sender_checkpoint:
        cosigned = receipt.cosignature.checkpoint
        raise InvalidProof(
            f"receipt cosigns {cosigned.origin!r} at size {cosigned.size}, not the sender's checkpoint "
            f"{sender_checkpoint.origin!r} at size {sender_checkpoint.size}"
        )
