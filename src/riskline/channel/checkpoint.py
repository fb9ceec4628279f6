"""Signed log heads, witness cosignatures and portable proof of equivocation.

A node's channel history is an RFC 9162 Merkle log (``merkle.py``). Its *checkpoint* states "my log
``origin`` had ``size`` entries with root ``root``" and is signed by the log's key (``Purpose.CHECKPOINT``).
The peer acts as a *witness* (the transparency-log witness pattern, cf. C2SP tlog-witness): it cosigns a
checkpoint only after checking that it extends, by an RFC 9162 consistency proof, the last one it cosigned.
So a node cannot later rewrite what the peer has cosigned, and the peer cannot deny having cosigned it.

A log that shows two different roots for the same size has *equivocated*. Both signed checkpoints together
are an ``EquivocationProof`` that any third party can check from its dict form alone, with no access to
either node.

Times are POSIX seconds [s] read from the signer's own clock: they are recorded, never trusted.
All dict forms use lower-case hex for hashes, ``ed25519:<base64>`` for keys and standard base64 for
signatures, and round-trip exactly; malformed dicts raise ``MalformedEnvelope`` with a one-line reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskline.channel.canonical import canonical_json, decode_base64, decode_hex, encode_base64
from riskline.channel.errors import (
    BadSignature,
    ChannelError,
    EquivocationDetected,
    ForeignChannel,
    InvalidProof,
    KeyChanged,
    MalformedEnvelope,
    StaleEnvelope,
)
from riskline.channel.merkle import HASH_SIZE, verify_consistency
from riskline.channel.signing import Purpose, SigningKey, VerifyKey

_MAX_JSON_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of one log at one moment: what a log signs and a witness cosigns."""

    origin: str
    """The log's identity, e.g. the node's name and its key fingerprint; unique per log."""
    size: int
    """How many entries the log holds."""
    root: bytes
    """RFC 9162 root (32 bytes) of the tree of those ``size`` entries."""
    timestamp: float  # [s] POSIX, the signer's clock: recorded, not trusted
    """When the log's signer made this checkpoint."""

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise MalformedEnvelope("checkpoint origin must be non-empty text")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= _MAX_JSON_INTEGER:
            raise MalformedEnvelope(f"checkpoint size must be a whole number from 0 to 2**53-1, got {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise MalformedEnvelope(f"checkpoint root must be {HASH_SIZE} bytes")
        object.__setattr__(self, "timestamp", _finite_seconds(self.timestamp, "checkpoint timestamp"))

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "size": self.size, "root": self.root.hex(), "timestamp": self.timestamp}

    @classmethod
    def from_dict(cls, data: object) -> Checkpoint:
        fields = _exact_fields(data, ("origin", "size", "root", "timestamp"), "checkpoint")
        return cls(
            origin=fields["origin"],
            size=fields["size"],
            root=decode_hex(fields["root"], "checkpoint root", HASH_SIZE),
            timestamp=fields["timestamp"],
        )

    def payload(self) -> bytes:
        """The canonical JSON (RFC 8785) bytes that the log's key signs."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with the log key's signature over ``checkpoint.payload()`` for ``Purpose.CHECKPOINT``."""

    checkpoint: Checkpoint
    signer: VerifyKey
    signature: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint.to_dict(),
            "signer": self.signer.to_text(),
            "signature": encode_base64(self.signature),
        }

    @classmethod
    def from_dict(cls, data: object) -> SignedCheckpoint:
        fields = _exact_fields(data, ("checkpoint", "signer", "signature"), "signed checkpoint")
        return cls(
            checkpoint=Checkpoint.from_dict(fields["checkpoint"]),
            signer=_verify_key(fields["signer"], "checkpoint signer"),
            signature=decode_base64(fields["signature"], "checkpoint signature"),
        )


def sign_checkpoint(key: SigningKey, cp: Checkpoint) -> SignedCheckpoint:
    """The log's signature over ``cp``."""
    return SignedCheckpoint(cp, key.public_key, key.sign(Purpose.CHECKPOINT, cp.payload()))


def verify_checkpoint(scp: SignedCheckpoint, trusted: VerifyKey | None = None) -> None:
    """Return quietly when ``scp`` is validly signed (by ``trusted`` when given).

    Raises ``KeyChanged`` when the signer is not the trusted key, ``BadSignature`` when the signature fails.
    """
    if trusted is not None and scp.signer != trusted:
        raise KeyChanged(
            f"checkpoint of {scp.checkpoint.origin!r} is signed by {scp.signer.fingerprint}, "
            f"the pinned key is {trusted.fingerprint}"
        )
    scp.signer.verify(Purpose.CHECKPOINT, scp.checkpoint.payload(), scp.signature)


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A witness's signature that it saw ``checkpoint`` as a consistent extension of what it saw before."""

    checkpoint: Checkpoint
    witness: VerifyKey
    signature: bytes
    timestamp: float  # [s] POSIX, the witness's clock: recorded, not trusted
    """When the witness cosigned; part of the signed payload."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", _finite_seconds(self.timestamp, "cosignature timestamp"))

    def payload(self) -> bytes:
        """The canonical bytes the witness signs: the checkpoint and the witness's time."""
        return cosignature_payload(self.checkpoint, self.timestamp)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint.to_dict(),
            "witness": self.witness.to_text(),
            "signature": encode_base64(self.signature),
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: object) -> Cosignature:
        fields = _exact_fields(data, ("checkpoint", "witness", "signature", "timestamp"), "cosignature")
        return cls(
            checkpoint=Checkpoint.from_dict(fields["checkpoint"]),
            witness=_verify_key(fields["witness"], "cosignature witness"),
            signature=decode_base64(fields["signature"], "cosignature signature"),
            timestamp=fields["timestamp"],
        )


def cosignature_payload(cp: Checkpoint, t: float) -> bytes:
    """Canonical JSON of ``{"checkpoint": cp.to_dict(), "timestamp": t}``."""
    return canonical_json({"checkpoint": cp.to_dict(), "timestamp": _finite_seconds(t, "cosignature timestamp")})


def cosign(key: SigningKey, cp: Checkpoint, t: float) -> Cosignature:
    """The witness ``key``'s cosignature of ``cp`` at its time ``t`` [s] (``Purpose.COSIGNATURE``)."""
    return Cosignature(cp, key.public_key, key.sign(Purpose.COSIGNATURE, cosignature_payload(cp, t)), t)


def verify_cosignature(c: Cosignature, trusted: VerifyKey | None = None) -> None:
    """Return quietly when ``c`` is validly signed (by ``trusted`` when given); else KeyChanged/BadSignature."""
    if trusted is not None and c.witness != trusted:
        raise KeyChanged(
            f"cosignature of {c.checkpoint.origin!r} is by {c.witness.fingerprint}, "
            f"the pinned witness key is {trusted.fingerprint}"
        )
    c.witness.verify(Purpose.COSIGNATURE, c.payload(), c.signature)


@dataclass(frozen=True, slots=True)
class EquivocationProof:
    """Two validly signed checkpoints of one log, by one key, with the same size and different roots.

    ``first`` is the one with the smaller root, so the same pair always makes the same proof.
    """

    first: SignedCheckpoint
    second: SignedCheckpoint

    @property
    def origin(self) -> str:
        return self.first.checkpoint.origin

    @property
    def signer(self) -> VerifyKey:
        return self.first.signer

    @property
    def size(self) -> int:
        return self.first.checkpoint.size

    def verify(self) -> None:
        """Return quietly when this is genuine evidence of equivocation; else raise ``InvalidProof`` saying why."""
        a, b = self.first, self.second
        if a.checkpoint.origin != b.checkpoint.origin:
            raise InvalidProof(f"not equivocation: two logs ({a.checkpoint.origin!r}, {b.checkpoint.origin!r})")
        if a.signer != b.signer:
            raise InvalidProof(f"not equivocation: two signers ({a.signer.fingerprint}, {b.signer.fingerprint})")
        if a.checkpoint.size != b.checkpoint.size:
            raise InvalidProof(f"not equivocation: different sizes ({a.checkpoint.size}, {b.checkpoint.size})")
        if a.checkpoint.root == b.checkpoint.root:
            raise InvalidProof(f"not equivocation: both checkpoints have the same root at size {a.checkpoint.size}")
        for name, scp in (("first", a), ("second", b)):
            try:
                verify_checkpoint(scp)
            except BadSignature as error:
                raise InvalidProof(f"not equivocation: the {name} checkpoint's signature fails: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first.to_dict(), "second": self.second.to_dict()}

    @classmethod
    def from_dict(cls, data: object) -> EquivocationProof:
        """Parse only; call ``verify()`` to check the evidence."""
        fields = _exact_fields(data, ("first", "second"), "equivocation proof")
        return cls(SignedCheckpoint.from_dict(fields["first"]), SignedCheckpoint.from_dict(fields["second"]))


def detect_equivocation(a: SignedCheckpoint, b: SignedCheckpoint) -> EquivocationProof | None:
    """The proof when ``a`` and ``b`` are one log's, by one key, of one size, with different roots; else None.

    Both signatures are checked only for such a pair, and a failing one raises ``BadSignature``: a forged
    checkpoint is no evidence against anyone. Different signers for one origin are not equivocation by one
    key (it may be a key change); ``verify_checkpoint`` with the pinned key catches that.
    """
    same_log = a.checkpoint.origin == b.checkpoint.origin and a.signer == b.signer
    if not same_log or a.checkpoint.size != b.checkpoint.size or a.checkpoint.root == b.checkpoint.root:
        return None
    verify_checkpoint(a)
    verify_checkpoint(b)
    first, second = sorted((a, b), key=lambda scp: scp.checkpoint.root)
    return EquivocationProof(first, second)


class Witness:
    """What a witness remembers about one peer log: the last checkpoint it cosigned (pure state, no I/O).

    ``observe`` checks a new signed checkpoint against that one; ``cosign`` then signs the observed one and
    makes it the new reference. Restore a witness from storage by passing its last cosigned checkpoint.
    """

    __slots__ = ("_cosigned", "_observed", "_origin", "_peer_key")

    def __init__(self, origin: str, peer_key: VerifyKey, cosigned: SignedCheckpoint | None = None) -> None:
        self._origin = origin
        self._peer_key = peer_key
        self._observed: SignedCheckpoint | None = None
        self._cosigned: SignedCheckpoint | None = None
        if cosigned is not None:
            self._check_origin_and_signature(cosigned)
        self._cosigned = cosigned

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def peer_key(self) -> VerifyKey:
        return self._peer_key

    @property
    def cosigned(self) -> SignedCheckpoint | None:
        """The last checkpoint this witness cosigned, or None before the first."""
        return self._cosigned

    @property
    def observed(self) -> SignedCheckpoint | None:
        """The checkpoint accepted by ``observe`` and not yet cosigned, or None."""
        return self._observed

    def observe(self, new: SignedCheckpoint, consistency_proof: Sequence[bytes]) -> None:
        """Accept ``new`` as the peer's head when it is signed by the pinned key and extends the cosigned one.

        ``consistency_proof`` runs from the last cosigned size to ``new``'s size (ignored for the first one).
        Raises ``ForeignChannel`` (another log), ``KeyChanged``/``BadSignature`` (signature),
        ``EquivocationDetected`` with ``.proof`` (same size as a head seen before, different root),
        ``StaleEnvelope`` (smaller than the cosigned size) or ``InvalidProof`` (does not extend it).
        Nothing changes when it raises.
        """
        self._check_origin_and_signature(new)
        for seen in (self._cosigned, self._observed):
            if seen is None:
                continue
            proof = detect_equivocation(seen, new)
            if proof is not None:
                raise EquivocationDetected(
                    f"log {self._origin!r} signed two different roots for size {proof.size}", proof=proof
                )
        reference = self._cosigned
        if reference is not None:
            old, grown = reference.checkpoint, new.checkpoint
            if grown.size < old.size:
                raise StaleEnvelope(
                    f"checkpoint of {self._origin!r} has size {grown.size}, smaller than the cosigned {old.size}"
                )
            verify_consistency(old.size, grown.size, old.root, grown.root, consistency_proof)
        self._observed = new

    def cosign(self, key: SigningKey, t: float) -> Cosignature:
        """Cosign the observed checkpoint at witness time ``t`` [s] and make it the reference.

        Without a newly observed one, the last cosigned checkpoint is cosigned again (a fresher timestamp).
        """
        head = self._observed if self._observed is not None else self._cosigned
        if head is None:
            raise ChannelError(f"witness of {self._origin!r} has observed no checkpoint to cosign yet")
        cosignature = cosign(key, head.checkpoint, t)
        self._cosigned = head
        self._observed = None
        return cosignature

    def _check_origin_and_signature(self, scp: SignedCheckpoint) -> None:
        if scp.checkpoint.origin != self._origin:
            raise ForeignChannel(
                f"checkpoint is for log {scp.checkpoint.origin!r}, this witness follows {self._origin!r}"
            )
        verify_checkpoint(scp, trusted=self._peer_key)


def _finite_seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedEnvelope(f"{what} must be a finite number of seconds, got {value!r}")
    return float(value)


def _exact_fields(data: object, names: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedEnvelope(f"{what} must be a JSON object, got {type(data).__name__}")
    missing = [name for name in names if name not in data]
    if missing:
        raise MalformedEnvelope(f"{what} lacks {', '.join(missing)}")
    unexpected = sorted(str(name) for name in data if name not in names)
    if unexpected:
        raise MalformedEnvelope(f"{what} has unexpected fields: {', '.join(unexpected)}")
    return data


def _verify_key(text: object, what: str) -> VerifyKey:
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{what} must be key text like 'ed25519:<base64>', got {type(text).__name__}")
    return VerifyKey.from_text(text)
