"""The delivery protocol between two nodes, as pure functions: no I/O, no clock, no storage.

This is the "protocol logic without I/O" shape of httpx's ``Auth.auth_flow``: the node (``riskline.node``)
owns sockets, the database and the clock, and asks this module what to send and whether to accept.

Sending (``prepare_delivery``): the sender has appended the signed envelope to its own Merkle log; the
request carries the envelope, the sender's current signed checkpoint (which includes it), the envelope's
inclusion proof in that checkpoint and a consistency proof from the last size *this* peer cosigned.

Receiving (``check_delivery``) decides on the receiver's own clock and pinned keys, trusting nothing the
sender says that is not signed and consistent with what was accepted before. Checks, in this order:

1. the sender node is pinned (``UnknownKey``), with a key of its history valid when it signed and not revoked
   (``KeyChanged``, ``KeyRevoked``: ``key_history.py``), and the party it was pinned for (``UnknownKey``);
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

Batches (``prepare_batch``/``check_batch``): several envelopes of one channel, in ``seq`` order, under ONE signed
checkpoint of the sender's log that includes them all, each with its inclusion proof, and one consistency
proof. The receiver checks them in order exactly as single deliveries (checks 1–6 and 9 per envelope; the
checkpoint's signature and the witnessing of check 8 once, at the first new envelope; the inclusion of each
new envelope). The first envelope that fails stops the batch: the ones before it stand (the verdict lists
them), it and those after it are not taken, and the verdict carries its error. A single delivery is a batch
of one whose error is raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
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
from riskline.channel.key_bodies import KEY_MESSAGE_TYPES, statement_of
from riskline.channel.key_history import KeyHistory
from riskline.channel.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from riskline.channel.messages import InvalidField
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import VerifyKey


class OutOfOrder(ChannelError):
    """An envelope whose sequence number skips ahead (whose fault: the sender, who must deliver in order).

    ``expected_seq`` is the number the receiver waits for on ``channel``; the sender retries from there.
    """

    http_status = 409

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
    history: KeyHistory | None = field(default=None, compare=False)
    """Its keys over time from ``key`` on (rotations, revocations it announced); None: ``key`` alone."""

    def __post_init__(self) -> None:
        if not self.origin:
            object.__setattr__(self, "origin", self.node)

    def key_history(self) -> KeyHistory:
        """A copy of the peer's key history, to check against and extend."""
        return KeyHistory(self.node, self.key) if self.history is None else self.history.copy()


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


MAX_BATCH = 500
"""Most envelopes in one delivery batch; a larger batch is refused whole (``InvalidField``, 422)."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One envelope of a batch and its inclusion proof in the batch's checkpoint."""

    envelope: SignedEnvelope
    inclusion: Inclusion


@dataclass(frozen=True, slots=True)
class DeliveryBatch:
    """The body of ``POST /v1/channels/{channel}/batches``: envelopes of one channel in ``seq`` order, one head."""

    items: tuple[BatchItem, ...]
    checkpoint: SignedCheckpoint
    """The sender's signed log head at delivery time; it includes every envelope of the batch."""
    consistency: Consistency

    @classmethod
    def of(cls, request: DeliveryRequest) -> DeliveryBatch:
        """A single delivery as a batch of one."""
        return cls((BatchItem(request.envelope, request.inclusion),), request.checkpoint, request.consistency)

    def to_wire(self) -> dict[str, Any]:
        return {
            "items": [
                {
                    "envelope": item.envelope.to_wire(),
                    "inclusion": {"index": item.inclusion.index, "proof": [h.hex() for h in item.inclusion.proof]},
                }
                for item in self.items
            ],
            "checkpoint": self.checkpoint.to_dict(),
            "consistency": {
                "from_size": self.consistency.from_size,
                "proof": [h.hex() for h in self.consistency.proof],
            },
        }

    def wire_bytes(self) -> bytes:
        """``to_wire()`` as compact JSON, each envelope written as its leaf data (the canonical JSON of the same
        signed envelope) instead of being serialised again."""
        items = b",".join(
            b'{"envelope":'
            + item.envelope.leaf_data()
            + b',"inclusion":{"index":'
            + str(item.inclusion.index).encode("ascii")
            + b',"proof":['
            + b",".join(b'"' + element.hex().encode("ascii") + b'"' for element in item.inclusion.proof)
            + b"]}}"
            for item in self.items
        )
        rest = json.dumps(
            {
                "checkpoint": self.checkpoint.to_dict(),
                "consistency": {
                    "from_size": self.consistency.from_size,
                    "proof": [h.hex() for h in self.consistency.proof],
                },
            },
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode("utf-8")
        return b'{"items":[' + items + b"]," + rest[1:]

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> DeliveryBatch:
        """Parse strictly; ``InvalidField`` (422) names the first bad member (``items.3.envelope.seq``, …).

        A batch that does not parse is refused whole: nothing in it is taken.
        """
        fields = require_fields(data, ("items", "checkpoint", "consistency"), "")
        raw_items = fields["items"]
        if not isinstance(raw_items, list) or not raw_items:
            raise InvalidField("items", "must be a non-empty list of {envelope, inclusion}")
        if len(raw_items) > MAX_BATCH:
            raise InvalidField("items", f"holds {len(raw_items)} envelopes, at most {MAX_BATCH} go in one batch")
        items: list[BatchItem] = []
        for position, raw in enumerate(raw_items):
            where = f"items.{position}."
            item = require_fields(raw, ("envelope", "inclusion"), where)
            try:
                envelope = SignedEnvelope.from_wire(item["envelope"])
            except InvalidField as error:
                raise InvalidField(f"{where}envelope.{error.field}", str(error)[len(error.field) + 2 :]) from None
            first = items[0].envelope.envelope.sender.node if items else envelope.envelope.sender.node
            if envelope.envelope.sender.node != first:
                raise InvalidField(
                    f"{where}envelope.sender.node",
                    f"a batch carries the envelopes of one sender node ({first!r}),"
                    f" not {envelope.envelope.sender.node!r}",
                )
            inclusion = require_fields(item["inclusion"], ("index", "proof"), f"{where}inclusion.")
            items.append(
                BatchItem(
                    envelope,
                    Inclusion(
                        index=require_int(inclusion["index"], f"{where}inclusion.index", 0),
                        proof=require_hashes(inclusion["proof"], f"{where}inclusion.proof"),
                    ),
                )
            )
        consistency = require_fields(fields["consistency"], ("from_size", "proof"), "consistency.")
        return cls(
            items=tuple(items),
            checkpoint=require_part(SignedCheckpoint.from_dict, fields["checkpoint"], "checkpoint"),
            consistency=Consistency(
                from_size=require_int(consistency["from_size"], "consistency.from_size", 0),
                proof=require_hashes(consistency["proof"], "consistency.proof"),
            ),
        )


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    """What ``check_batch`` decided: one outcome per envelope taken, in order, and what stopped the rest."""

    outcomes: tuple[Outcome, ...]
    """For ``items[:len(outcomes)]``: ``ACCEPT`` (log it) or ``DUPLICATE`` (answer with its first receipt)."""
    state: PeerState | None
    """The peer's state after the envelopes taken (unchanged when none was new; None when the first envelope's
    sender is not pinned)."""
    checkpoint: SignedCheckpoint | None
    """The sender's verified checkpoint to cosign; None when no envelope was new."""
    error: ChannelError | None
    """Why ``items[len(outcomes)]`` was refused (the items after it were not looked at); None when all were taken."""
    received: float  # [s] the receiver's clock

    @property
    def refused_index(self) -> int | None:
        """The position in the batch of the refused envelope, None when all were taken."""
        return None if self.error is None else len(self.outcomes)


def check_batch(
    batch: DeliveryBatch,
    *,
    policy: ChannelPolicy,
    local_party: str,
    peers: Mapping[str, PinnedPeer],
    state: PeerState | None,
    seen: Callable[[str], str | None],
    now: float,
    local_origin: str | None = None,
    local_root: Callable[[int], bytes | None] | None = None,
) -> BatchVerdict:
    """Check a batch envelope by envelope, in order; stop at the first refusal (module docstring).

    Arguments as for ``check_delivery``; every envelope of a batch is from one sender (``DeliveryBatch.from_wire``
    makes sure), whose stored state ``state`` is. An envelope repeated inside the batch is a duplicate of its
    first occurrence; ``seen`` is asked only about ids not taken earlier in the batch.
    """
    outcomes: list[Outcome] = []
    taken: dict[str, str] = {}
    head: SignedCheckpoint | None = None
    current = state
    histories: dict[str, KeyHistory] = {}
    for item in batch.items:
        try:
            signed = item.envelope
            peer = _pinned_sender(signed, peers)
            history = histories.setdefault(peer.node, peer.key_history())
            _check_key_in_history(signed, history, now)
            if current is None:
                current = PeerState.initial(peer)
            if current.peer != peer.node:
                raise ValueError(f"state of {current.peer!r} passed for a delivery from {peer.node!r}")
            signed.verify(signed.envelope.sender.key)
            check_membership(signed.envelope, policy, local_party)
            earlier = taken.get(signed.id) or seen(signed.id)
            if earlier is not None:
                if earlier != signed.hash:
                    raise ReplayedEnvelope(
                        f"envelope {signed.id} was already received with another content (hash {earlier[:16]}…)"
                    )
                outcomes.append(Outcome.DUPLICATE)
                continue
            _check_sequence_and_age(signed, current, policy, now)
            if head is None:
                _check_head_signature(batch.checkpoint, peer, _announced_in(batch, history), now)
            _check_inclusion(signed, item.inclusion, batch.checkpoint)
            if head is None:
                _witness(current.cosigned, batch.checkpoint, batch.consistency)
                head = batch.checkpoint
            if local_origin is not None and local_root is not None:
                _check_view_of_our_log(signed, local_origin, local_root)
            if signed.envelope.type in KEY_MESSAGE_TYPES:
                histories[peer.node] = _take_key_statement(signed, history)
        except ChannelError as error:
            cosign = head if Outcome.ACCEPT in outcomes else None
            return BatchVerdict(tuple(outcomes), current, cosign, error, now)
        last_seq = dict(current.last_seq)
        last_seq[signed.envelope.channel] = signed.envelope.seq
        current = PeerState(peer=peer.node, party=peer.party, key=peer.key, last_seq=last_seq, cosigned=head)
        taken[signed.id] = signed.hash
        outcomes.append(Outcome.ACCEPT)
    return BatchVerdict(tuple(outcomes), current, head, None, now)


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
    verdict = check_batch(
        DeliveryBatch.of(request),
        policy=policy,
        local_party=local_party,
        peers=peers,
        state=state,
        seen=seen,
        now=now,
        local_origin=local_origin,
        local_root=local_root,
    )
    if verdict.error is not None:
        raise verdict.error
    assert verdict.state is not None
    return Verdict(verdict.outcomes[0], request.envelope, verdict.state, verdict.checkpoint, now)


def _pinned_sender(signed: SignedEnvelope, peers: Mapping[str, PinnedPeer]) -> PinnedPeer:
    """Check 1: the sender node is pinned, with the key it signs with, for the party it claims."""
    sender = signed.envelope.sender
    peer = peers.get(sender.node)
    if peer is None:
        raise UnknownKey(f"envelope from unpinned node {sender.node!r} (key {sender.key.fingerprint})")
    if sender.party != peer.party:
        raise UnknownKey(f"node {sender.node!r} is pinned for party {peer.party!r}, not {sender.party!r}")
    return peer


def _check_key_in_history(signed: SignedEnvelope, history: KeyHistory, now: float) -> None:
    """Check 1, the key: one of the sender's keys, its key when the envelope was signed, not revoked by then
    (nor by ``now`` on our clock: a thief holding a revoked key could backdate)."""
    sender = signed.envelope.sender
    if sender.key not in history:
        raise KeyChanged(
            f"node {sender.node!r} signs with {sender.key.fingerprint}, the pinned key is {history.current.fingerprint}"
        )
    history.check(sender.key, signed.envelope.created, received=now)


def _take_key_statement(signed: SignedEnvelope, history: KeyHistory) -> KeyHistory:
    """A ``key_rotation`` / ``key_revocation`` from the sender about itself, applied to a copy of its history:
    refused (nothing stored) when the sender's current key did not sign it (``KeyChanged``) or it does not hold."""
    envelope = signed.envelope
    statement = statement_of(envelope.type, envelope.body)
    if statement.node != envelope.sender.node:
        raise InvalidField(
            "body.node", f"{envelope.sender.node} may announce only its own keys, not {statement.node}'s"
        )
    extended = history.copy()
    extended.apply(statement)
    return extended


def _check_sequence_and_age(signed: SignedEnvelope, state: PeerState, policy: ChannelPolicy, now: float) -> None:
    """Checks 5 and 6: the next ``seq`` of the channel, and not older than the policy allows by our clock."""
    envelope = signed.envelope
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


def _announced_in(batch: DeliveryBatch, history: KeyHistory) -> KeyHistory:
    """``history`` with the key statements the batch carries (each proves itself): its head may be signed by
    a key the batch announces before the envelopes signed with it."""
    prospective = history.copy()
    for item in batch.items:
        envelope = item.envelope.envelope
        if envelope.type in KEY_MESSAGE_TYPES:
            try:
                prospective.apply(statement_of(envelope.type, envelope.body))
            except ChannelError:
                break
    return prospective


def _check_head_signature(head: SignedCheckpoint, peer: PinnedPeer, history: KeyHistory, now: float) -> None:
    """Check 7, first half: the checkpoint is of the sender's log and signed by its key of the moment."""
    if head.checkpoint.origin != peer.origin:
        raise ForeignChannel(f"checkpoint is of log {head.checkpoint.origin!r}, the sender's log is {peer.origin!r}")
    signer = head.signer if head.signer in history else history.current
    history.check(signer, head.checkpoint.timestamp, received=now)
    verify_checkpoint(head, trusted=signer)


def _check_inclusion(signed: SignedEnvelope, inclusion: Inclusion, head: SignedCheckpoint) -> None:
    """Check 7, second half: the envelope sits at its cited index under the checkpoint."""
    index = inclusion.index
    if index != signed.envelope.sender_checkpoint.size:
        raise InvalidProof(
            f"inclusion proof is for index {index},"
            f" the envelope says it is entry {signed.envelope.sender_checkpoint.size}"
        )
    verify_inclusion(leaf_hash(signed.leaf_data()), index, head.checkpoint.size, inclusion.proof, head.checkpoint.root)


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
    batch = prepare_batch(envelopes=[(envelope, index)], tree=tree, checkpoint=checkpoint, cosigned_size=cosigned_size)
    return DeliveryRequest(
        envelope=envelope, checkpoint=checkpoint, inclusion=batch.items[0].inclusion, consistency=batch.consistency
    )


def prepare_batch(
    *,
    envelopes: Sequence[tuple[SignedEnvelope, int]],
    tree: MerkleTree,
    checkpoint: SignedCheckpoint,
    cosigned_size: int,
) -> DeliveryBatch:
    """The delivery batch for ``envelopes`` (each with its index in the sender's ``tree``), in the order given.

    Arguments and checks as ``prepare_delivery``, for each envelope; one checkpoint and one consistency proof
    for all of them.
    """
    if not envelopes:
        raise ValueError("a delivery batch needs at least one envelope")
    head = checkpoint.checkpoint
    if head.size > tree.size or tree.root(head.size) != head.root:
        raise InvalidProof(f"checkpoint of size {head.size} does not match the local log of {tree.size} entries")
    if not 0 <= cosigned_size <= head.size:
        raise InvalidProof(f"the peer cosigned size {cosigned_size}, beyond the checkpoint of size {head.size}")
    items = []
    for envelope, index in envelopes:
        if not 0 <= index < head.size:
            raise InvalidProof(f"entry {index} is not in the checkpoint of size {head.size}")
        if tree.leaf_hash_at(index) != leaf_hash(envelope.leaf_data()):
            raise InvalidProof(f"entry {index} of the local log is not envelope {envelope.id}")
        if envelope.envelope.sender_checkpoint.size != index:
            raise InvalidProof(
                f"envelope {envelope.id} says it is entry {envelope.envelope.sender_checkpoint.size}, not {index}"
            )
        items.append(BatchItem(envelope, Inclusion(index, tuple(tree.inclusion_proof(index, head.size)))))
    return DeliveryBatch(
        items=tuple(items),
        checkpoint=checkpoint,
        consistency=Consistency(cosigned_size, tuple(tree.consistency_proof(cosigned_size, head.size))),
    )
