"""The delivery protocol between two nodes, as pure functions: no I/O, no clock, no storage.

This is the "protocol logic without I/O" shape of httpx's ``Auth.auth_flow``: the node (``riskline.node``)
owns sockets, the database and the clock, and asks this module what to send and whether to accept.

Sending (``prepare_delivery``): the sender has appended the signed envelope to its own Merkle log; the
request carries the envelope, the sender's current signed checkpoint (which includes it), the envelope's
inclusion proof in that checkpoint and a consistency proof from the last size *this* peer cosigned.

Receiving (``check_delivery``) decides on the receiver's own clock and pinned keys, trusting nothing the
sender says that is not signed and consistent with what was accepted before. Checks, in this order:

1. the sender node is pinned (``UnknownKey``), with the same key (``KeyChanged``) and party (``UnknownKey``);
2. the envelope's signature (``BadSignature``);
3. channel, membership and recipients (``ForeignChannel``), level and language (``InvalidField``);
4. the id: already received with the same hash → the ``duplicate`` verdict (answer with the stored receipt);
   with another hash → ``ReplayedEnvelope``;
5. the channel sequence: a gap → ``OutOfOrder`` (409: deliver the missing ones first), an old number under a
   new id → ``ReplayedEnvelope``;
6. age by the receiver's clock beyond the policy's ``max_age_s`` → ``StaleEnvelope``;
7. the sender's checkpoint: its log (``ForeignChannel``) and signature (``KeyChanged``/``BadSignature``), the
   envelope's inclusion in it (``InvalidProof``);
8. witnessing (C2SP tlog-witness pattern, RFC 9162 §2.1.4): same size as the last cosigned head with another
   root → ``EquivocationDetected`` with a portable ``EquivocationProof``; smaller → ``StaleEnvelope``; a
   consistency proof from another size than the last cosigned → ``ConsistencyBaseMismatch`` (409, says which);
   a proof that fails → ``InvalidProof``;
9. optionally, the sender's view of the receiver's own log (``peer_checkpoint``) against that log.

Then ``accept``: the verdict carries the new ``PeerState`` and the checkpoint to cosign. The caller appends the
envelope to its log, cosigns, signs the receipt and persists state, all in one transaction. Calls for one peer
must be serialised: the state is one value per peer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from riskline.channel.checkpoint import SignedCheckpoint, detect_equivocation, verify_checkpoint
from riskline.channel.envelope import (
    SignedEnvelope,
    check_membership,
    require_fields,
    require_hashes,
    require_int,
    require_key,
    require_part,
    require_text,
)
from riskline.channel.errors import (
    ChannelError,
    EquivocationDetected,
    ForeignChannel,
    InvalidProof,
    KeyChanged,
    ReplayedEnvelope,
    StaleEnvelope,
    UnknownKey,
)
from riskline.channel.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from riskline.channel.messages import InvalidField
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import VerifyKey


class OutOfOrder(ChannelError):
    """An envelope whose sequence number skips ahead (whose fault: the sender, who must deliver in order).

    ``expected_seq`` is the number the receiver waits for on ``channel``; the sender retries from there.
    """

    status = 409

    def __init__(self, message: str, *, channel: str, expected_seq: int) -> None:
        super().__init__(message)
        self.channel = channel
        self.expected_seq = expected_seq


class ConsistencyBaseMismatch(InvalidProof):
    """The consistency proof starts at another size than the last one this receiver cosigned.

    Whose fault: the sender's idea of what was cosigned (e.g. a receipt lost in a crash); it retries with a
    proof from ``expected_from_size``.
    """

    def __init__(self, message: str, *, expected_from_size: int) -> None:
        super().__init__(message)
        self.expected_from_size = expected_from_size


@dataclass(frozen=True, slots=True)
class PinnedPeer:
    """A peer node as pinned by the operator (``riskline peer add``): its name, party, key and log origin."""

    node: str
    party: str
    key: VerifyKey
    origin: str = ""
    """The origin its checkpoints carry; defaults to the node name."""

    def __post_init__(self) -> None:
        if not self.origin:
            object.__setattr__(self, "origin", self.node)


@dataclass(frozen=True, slots=True)
class PeerState:
    """What a receiver remembers about one peer; persist it with ``to_dict`` after every accepted delivery."""

    peer: str
    """The peer's node name."""
    party: str
    key: VerifyKey
    """The pinned key of the last accepted delivery (a re-pinned key takes over the state)."""
    last_seq: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    """The last sequence number accepted from this peer, per channel."""
    cosigned: SignedCheckpoint | None = None
    """The last checkpoint of the peer's log this node cosigned (its witness state), None before the first."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "last_seq", MappingProxyType(dict(self.last_seq)))

    @classmethod
    def initial(cls, peer: PinnedPeer) -> PeerState:
        return cls(peer=peer.node, party=peer.party, key=peer.key)

    def expected_seq(self, channel: str) -> int:
        """The sequence number the next envelope on ``channel`` must carry."""
        return self.last_seq.get(channel, 0) + 1

    @property
    def cosigned_size(self) -> int:
        """Where the next consistency proof must start: the last cosigned size, 0 before the first."""
        return 0 if self.cosigned is None else self.cosigned.checkpoint.size

    def to_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "party": self.party,
            "key": self.key.to_text(),
            "last_seq": dict(sorted(self.last_seq.items())),
            "cosigned": None if self.cosigned is None else self.cosigned.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PeerState:
        fields = require_fields(data, ("peer", "party", "key", "last_seq", "cosigned"), "")
        last_seq = fields["last_seq"]
        if not isinstance(last_seq, Mapping):
            raise InvalidField("last_seq", "must be an object of channel → seq")
        return cls(
            peer=require_text(fields["peer"], "peer"),
            party=require_text(fields["party"], "party"),
            key=require_key(fields["key"], "key"),
            last_seq={require_text(k, "last_seq"): require_int(v, f"last_seq.{k}", 0) for k, v in last_seq.items()},
            cosigned=None
            if fields["cosigned"] is None
            else require_part(SignedCheckpoint.from_dict, fields["cosigned"], "cosigned"),
        )


@dataclass(frozen=True, slots=True)
class Inclusion:
    """The envelope's leaf index in the sender's log and its RFC 9162 audit path to the sent checkpoint."""

    index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Consistency:
    """RFC 9162 consistency proof from ``from_size`` (the last size the receiver cosigned) to the sent checkpoint."""

    from_size: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    """The body of ``POST /v1/channels/{channel}/envelopes``."""

    envelope: SignedEnvelope
    checkpoint: SignedCheckpoint
    """The sender's signed log head at delivery time; it includes the envelope."""
    inclusion: Inclusion
    consistency: Consistency

    def to_wire(self) -> dict[str, Any]:
        return {
            "envelope": self.envelope.to_wire(),
            "checkpoint": self.checkpoint.to_dict(),
            "inclusion": {"index": self.inclusion.index, "proof": [h.hex() for h in self.inclusion.proof]},
            "consistency": {
                "from_size": self.consistency.from_size,
                "proof": [h.hex() for h in self.consistency.proof],
            },
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> DeliveryRequest:
        """Parse strictly; ``InvalidField`` (422) names the first bad member (``envelope.sender.key``, …)."""
        fields = require_fields(data, ("envelope", "checkpoint", "inclusion", "consistency"), "")
        try:
            envelope = SignedEnvelope.from_wire(fields["envelope"])
        except InvalidField as error:
            raise InvalidField(f"envelope.{error.field}", str(error)[len(error.field) + 2 :]) from None
        inclusion = require_fields(fields["inclusion"], ("index", "proof"), "inclusion.")
        consistency = require_fields(fields["consistency"], ("from_size", "proof"), "consistency.")
        return cls(
            envelope=envelope,
            checkpoint=require_part(SignedCheckpoint.from_dict, fields["checkpoint"], "checkpoint"),
            inclusion=Inclusion(
                index=require_int(inclusion["index"], "inclusion.index", 0),
                proof=require_hashes(inclusion["proof"], "inclusion.proof"),
            ),
            consistency=Consistency(
                from_size=require_int(consistency["from_size"], "consistency.from_size", 0),
                proof=require_hashes(consistency["proof"], "consistency.proof"),
            ),
        )


class Outcome(StrEnum):
    ACCEPT = "accept"
    """New and valid: log it, cosign ``Verdict.checkpoint``, sign a receipt, persist ``Verdict.state``."""
    DUPLICATE = "duplicate"
    """Already received with the same hash: answer with the stored receipt, change nothing."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``check_delivery`` decided."""

    outcome: Outcome
    envelope: SignedEnvelope
    state: PeerState
    """The peer's state to persist (unchanged for a duplicate)."""
    checkpoint: SignedCheckpoint | None
    """The sender's verified checkpoint to cosign (None for a duplicate)."""
    received: float  # [s] the receiver's clock

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPT


def check_delivery(
    request: DeliveryRequest,
    *,
    policy: ChannelPolicy,
    local_party: str,
    peers: Mapping[str, PinnedPeer],
    state: PeerState | None,
    seen: Callable[[str], str | None],
    now: float,
    local_origin: str | None = None,
    local_root: Callable[[int], bytes | None] | None = None,
) -> Verdict:
    """Accept, recognise as a duplicate, or raise the ``ChannelError`` that says why not (module docstring).

    ``peers`` maps pinned node names to peers; ``state`` is the stored state of the sending peer (None before
    its first delivery); ``seen(id)`` returns the hash of the envelope already received under ``id``, or None;
    ``now`` [s] is the receiver's clock. With ``local_origin`` and ``local_root(size)`` (this node's log root
    at ``size``, None beyond its end), the sender's view of this node's log is checked too.
    """
    signed = request.envelope
    envelope = signed.envelope
    sender = envelope.sender
    peer = peers.get(sender.node)
    if peer is None:
        raise UnknownKey(f"envelope from unpinned node {sender.node!r} (key {sender.key.fingerprint})")
    if sender.key != peer.key:
        raise KeyChanged(
            f"node {sender.node!r} signs with {sender.key.fingerprint}, the pinned key is {peer.key.fingerprint}"
        )
    if sender.party != peer.party:
        raise UnknownKey(f"node {sender.node!r} is pinned for party {peer.party!r}, not {sender.party!r}")
    if state is None:
        state = PeerState.initial(peer)
    if state.peer != peer.node:
        raise ValueError(f"state of {state.peer!r} passed for a delivery from {peer.node!r}")
    signed.verify(peer.key)
    check_membership(envelope, policy, local_party)

    earlier = seen(envelope.id)
    if earlier is not None:
        if earlier == signed.hash:
            return Verdict(Outcome.DUPLICATE, signed, state, None, now)
        raise ReplayedEnvelope(
            f"envelope {envelope.id} was already received with another content (hash {earlier[:16]}…)"
        )
    expected = state.expected_seq(envelope.channel)
    if envelope.seq > expected:
        raise OutOfOrder(
            f"seq {envelope.seq} on {envelope.channel} skips ahead: expected {expected}",
            channel=envelope.channel,
            expected_seq=expected,
        )
    if envelope.seq < expected:
        raise ReplayedEnvelope(
            f"seq {envelope.seq} on {envelope.channel} was already accepted (last {expected - 1}) under another id"
        )
    age = now - envelope.created  # [s] on our clock
    if age > policy.max_age_s:
        raise StaleEnvelope(
            f"envelope {envelope.id} was created {age:.0f} s ago by our clock, more than {policy.max_age_s:.0f} s"
        )

    head = request.checkpoint
    if head.checkpoint.origin != peer.origin:
        raise ForeignChannel(f"checkpoint is of log {head.checkpoint.origin!r}, the sender's log is {peer.origin!r}")
    verify_checkpoint(head, trusted=peer.key)
    index = request.inclusion.index
    if index != envelope.sender_checkpoint.size:
        raise InvalidProof(
            f"inclusion proof is for index {index}, the envelope says it is entry {envelope.sender_checkpoint.size}"
        )
    verify_inclusion(
        leaf_hash(signed.leaf_data()), index, head.checkpoint.size, request.inclusion.proof, head.checkpoint.root
    )
    _witness(state.cosigned, head, request.consistency)
    if local_origin is not None and local_root is not None:
        _check_view_of_our_log(signed, local_origin, local_root)

    last_seq = dict(state.last_seq)
    last_seq[envelope.channel] = envelope.seq
    new_state = PeerState(peer=peer.node, party=peer.party, key=peer.key, last_seq=last_seq, cosigned=head)
    return Verdict(Outcome.ACCEPT, signed, new_state, head, now)


def _witness(cosigned: SignedCheckpoint | None, head: SignedCheckpoint, consistency: Consistency) -> None:
    old_size = 0 if cosigned is None else cosigned.checkpoint.size
    old_root = EMPTY_ROOT if cosigned is None else cosigned.checkpoint.root
    new = head.checkpoint
    if cosigned is not None:
        proof = detect_equivocation(cosigned, head)
        if proof is not None:
            raise EquivocationDetected(
                f"log {new.origin!r} signed two different roots for size {new.size}", proof=proof
            )
        if new.size < old_size:
            raise StaleEnvelope(
                f"checkpoint of {new.origin!r} has size {new.size}, smaller than the cosigned {old_size}"
            )
    if consistency.from_size != old_size:
        raise ConsistencyBaseMismatch(
            f"consistency proof starts at size {consistency.from_size}, the last size cosigned is {old_size}",
            expected_from_size=old_size,
        )
    verify_consistency(old_size, new.size, old_root, new.root, consistency.proof)


def _check_view_of_our_log(signed: SignedEnvelope, origin: str, root_at: Callable[[int], bytes | None]) -> None:
    view = signed.envelope.peer_checkpoint
    if view is None or view.origin != origin:
        return
    ours = root_at(view.size)
    if ours is None:
        raise InvalidProof(f"envelope cites our log {origin!r} at size {view.size}, beyond its end")
    if ours != view.root:
        raise InvalidProof(
            f"envelope cites our log {origin!r} at size {view.size} with root {view.root.hex()[:16]}…, "
            f"ours is {ours.hex()[:16]}…"
        )


def prepare_delivery(
    *,
    envelope: SignedEnvelope,
    index: int,
    tree: MerkleTree,
    checkpoint: SignedCheckpoint,
    cosigned_size: int,
) -> DeliveryRequest:
    """The delivery request for ``envelope``, stored at ``index`` of the sender's ``tree``.

    ``checkpoint`` is the sender's signed head (normally of the whole tree, so it is never older than what the
    peer cosigned on another channel); ``cosigned_size`` is the last size this peer cosigned (from its
    receipts; 0 before the first). Raises ``InvalidProof`` when the inputs disagree with the tree.
    """
    head = checkpoint.checkpoint
    if head.size > tree.size or tree.root(head.size) != head.root:
        raise InvalidProof(f"checkpoint of size {head.size} does not match the local log of {tree.size} entries")
    if not 0 <= index < head.size:
        raise InvalidProof(f"entry {index} is not in the checkpoint of size {head.size}")
    if tree.leaf_hash_at(index) != leaf_hash(envelope.leaf_data()):
        raise InvalidProof(f"entry {index} of the local log is not envelope {envelope.id}")
    if envelope.envelope.sender_checkpoint.size != index:
        raise InvalidProof(
            f"envelope {envelope.id} says it is entry {envelope.envelope.sender_checkpoint.size}, not {index}"
        )
    if not 0 <= cosigned_size <= head.size:
        raise InvalidProof(f"the peer cosigned size {cosigned_size}, beyond the checkpoint of size {head.size}")
    return DeliveryRequest(
        envelope=envelope,
        checkpoint=checkpoint,
        inclusion=Inclusion(index, tuple(tree.inclusion_proof(index, head.size))),
        consistency=Consistency(cosigned_size, tuple(tree.consistency_proof(cosigned_size, head.size))),
    )
