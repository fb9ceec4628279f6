"""An in-memory two-or-more-node harness for the channel protocol: real keys, logs, receipts; no I/O.

Each ``Node`` keeps what a real node keeps in its database — its Merkle log, a signed head after every append,
per-peer state, received ids and receipts — and runs the pure protocol functions exactly as ``riskline.node``
does, so tests can build conversations, tamper with any piece and watch the right error come out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskline.channel.checkpoint import Checkpoint, Cosignature, SignedCheckpoint, cosign, sign_checkpoint
from riskline.channel.envelope import Author, LogHead, PeerHead, Sender, SignedEnvelope, new_envelope, sign_envelope
from riskline.channel.merkle import MerkleTree
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.policy import ChannelKind, ChannelPolicy
from riskline.channel.protocol import DeliveryRequest, Outcome, PeerState, PinnedPeer, check_delivery, prepare_delivery
from riskline.channel.receipt import Receipt, Receiver, make_receipt, verify_receipt
from riskline.channel.signing import SigningKey

T0 = 1_700_000_000.0  # [s] 2023-11-14T22:13:20Z
HOUR = 3_600.0  # [s]
DAY = 86_400.0  # [s]

RU_EE = ChannelPolicy(
    id="RU-EE",
    kind=ChannelKind.BILATERAL,
    members=("RU", "EE"),
    agreements=(),
    rulebook="default",
    levels=(
        ContactLevel.DUTY_OFFICER,
        ContactLevel.MILITARY_COMMANDER,
        ContactLevel.CHARGE_D_AFFAIRES,
        ContactLevel.AMBASSADOR,
    ),
    languages=("en", "ru", "et"),
    council="NRC",
)
NRC = ChannelPolicy(
    id="NRC",
    kind=ChannelKind.COLLECTIVE,
    members=("RU", "EE", "US"),
    agreements=("Vienna Document 2011",),
    languages=("en", "ru"),
)


def key_for(name: str) -> SigningKey:
    """A fixed key per node name, so failures are reproducible."""
    seed = (name.encode() * 32)[:32]
    return SigningKey.from_seed(seed)


def author_for(party: str) -> Author:
    return Author(name=f"duty officer {party}", role="duty_officer")


@dataclass
class Node:
    name: str
    party: str
    key: SigningKey = field(init=False)
    tree: MerkleTree = field(default_factory=MerkleTree)
    leaves: list[bytes] = field(default_factory=list)
    heads: list[SignedCheckpoint] = field(default_factory=list)
    seq: dict[str, int] = field(default_factory=dict)
    states: dict[str, PeerState] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    receipt_by_id: dict[str, Receipt] = field(default_factory=dict)
    cosigned_by: dict[str, int] = field(default_factory=dict)
    peer_heads: dict[str, Checkpoint] = field(default_factory=dict)
    receipts_issued: list[Receipt] = field(default_factory=list)
    receipts_received: list[Receipt] = field(default_factory=list)
    cosignatures_received: list[Cosignature] = field(default_factory=list)
    logged_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = key_for(self.name)

    @property
    def sender(self) -> Sender:
        return Sender(self.name, self.party, self.key.public_key)

    @property
    def pinned(self) -> PinnedPeer:
        return PinnedPeer(self.name, self.party, self.key.public_key)

    @property
    def receiver(self) -> Receiver:
        return Receiver(self.name, self.party, self.key.public_key)

    def head(self, t: float) -> SignedCheckpoint:
        return sign_checkpoint(self.key, Checkpoint(self.name, self.tree.size, self.tree.root(), t))

    def append(self, leaf: bytes, t: float) -> int:
        index = self.tree.append(leaf)
        self.leaves.append(leaf)
        self.logged_at.append(t)
        self.heads.append(self.head(t))
        return index

    def compose(
        self,
        policy: ChannelPolicy,
        msg_type: MessageType,
        body: Mapping[str, Any],
        *,
        created: float,
        to: Node | None = None,
        level: ContactLevel = ContactLevel.DUTY_OFFICER,
        thread: str | None = None,
        in_reply_to: str | None = None,
        message_id: str | None = None,
        deadline_span: float | None = None,
        seq: int | None = None,
        log: bool = True,
    ) -> SignedEnvelope:
        """A new signed envelope from this node, appended to its log (the outbox commit)."""
        number = self.seq.get(policy.id, 0) + 1 if seq is None else seq
        peer_head = self.peer_heads.get(to.name) if to is not None else None
        envelope = new_envelope(
            channel=policy,
            msg_type=msg_type,
            body=body,
            sender=self.sender,
            author=author_for(self.party),
            level=level,
            language="en",
            seq=number,
            created=created,
            sender_checkpoint=LogHead(self.tree.size, self.tree.root()),
            peer_checkpoint=None if peer_head is None else PeerHead.of(peer_head),
            thread=thread,
            in_reply_to=in_reply_to,
            id=message_id,
            deadline_span=deadline_span,
        )
        signed = sign_envelope(envelope, self.key)
        if log:
            self.seq[policy.id] = max(self.seq.get(policy.id, 0), number)
            self.append(signed.leaf_data(), created)
        return signed

    def request_for(self, signed: SignedEnvelope, peer: Node) -> DeliveryRequest:
        return prepare_delivery(
            envelope=signed,
            index=self.leaves.index(signed.leaf_data()),
            tree=self.tree,
            checkpoint=self.heads[-1],
            cosigned_size=self.cosigned_by.get(peer.name, 0),
        )

    def receive(
        self, request: DeliveryRequest, *, policy: ChannelPolicy, peers: Mapping[str, PinnedPeer], now: float
    ) -> Receipt:
        sender = request.envelope.envelope.sender.node
        verdict = check_delivery(
            request,
            policy=policy,
            local_party=self.party,
            peers=peers,
            state=self.states.get(sender),
            seen=self.seen.get,
            now=now,
            local_origin=self.name,
            local_root=self._root_at,
        )
        if verdict.outcome is Outcome.DUPLICATE:
            return self.receipt_by_id[verdict.envelope.id]
        assert verdict.checkpoint is not None
        signed = verdict.envelope
        index = self.append(signed.leaf_data(), now)
        head = self.heads[-1]
        receipt = make_receipt(
            envelope=signed,
            receiver=self.receiver,
            received=now,
            log_index=index,
            receiver_checkpoint=head,
            inclusion_proof=self.tree.inclusion_proof(index, head.checkpoint.size),
            cosignature=cosign(self.key, verdict.checkpoint.checkpoint, now),
            key=self.key,
        )
        self.states[sender] = verdict.state
        self.peer_heads[sender] = verdict.checkpoint.checkpoint
        self.seen[signed.id] = signed.hash
        self.receipt_by_id[signed.id] = receipt
        self.receipts_issued.append(receipt)
        return receipt

    def _root_at(self, size: int) -> bytes | None:
        return self.tree.root(size) if size <= self.tree.size else None


def pins(*nodes: Node) -> dict[str, PinnedPeer]:
    return {node.name: node.pinned for node in nodes}


def deliver(sender: Node, receiver: Node, signed: SignedEnvelope, *, policy: ChannelPolicy, now: float) -> Receipt:
    """Deliver like the node does, check the receipt like the sender does, and record what the sender learns."""
    request = sender.request_for(signed, receiver)
    fresh = signed.id not in receiver.seen
    receipt = receiver.receive(request, policy=policy, peers=pins(sender, receiver), now=now)
    verify_receipt(
        receipt,
        envelope=signed,
        receiver_key=receiver.key.public_key,
        sender_checkpoint=request.checkpoint.checkpoint if fresh else receipt.cosignature.checkpoint,
    )
    sender.cosigned_by[receiver.name] = receipt.cosignature.checkpoint.size
    sender.peer_heads[receiver.name] = receipt.receiver_checkpoint.checkpoint
    sender.receipts_received.append(receipt)
    sender.cosignatures_received.append(receipt.cosignature)
    return receipt


def text(words: str) -> dict[str, Any]:
    return {"text": words}


def questions_and_answers(rounds: int, *, answer_after_s: float = 2.0) -> tuple[Node, Node]:
    """RU and EE after ``rounds`` exchanges on RU-EE, a minute apart: RU asks, EE answers ``answer_after_s`` [s]
    later in the question's thread. EE's log holds received entries at even and sent ones at odd indexes."""
    ru, ee = Node("ru-nmdc", "RU"), Node("ee-mod", "EE")
    for number in range(rounds):
        at = T0 + 60.0 * number
        asked = ru.compose(RU_EE, MessageType.FREE_TEXT, text(f"question {number}"), created=at, to=ee)
        deliver(ru, ee, asked, policy=RU_EE, now=at + 1)
        answer = ee.compose(
            RU_EE, MessageType.FREE_TEXT, text(f"answer {number}"), created=at + answer_after_s, to=ru,
            thread=asked.id, in_reply_to=asked.id,
        )  # fmt: skip
        deliver(ee, ru, answer, policy=RU_EE, now=at + 3)
    return ru, ee


def meeting_proposal_body(
    *,
    start: float,
    parties: tuple[str, ...] = ("RU", "EE"),
    level: str = "ambassador",
    hours: float = 2.0,
    references: list[dict[str, Any]] | None = None,
    forum: str = "nrc-ambassadors",
) -> dict[str, Any]:
    """A ``meeting_proposal`` body (schema 2) starting at ``start`` [s] for ``hours``, inviting ``parties``."""
    from riskline.timeutil import to_iso

    return {
        "forum": forum,
        "basis": ["NATO–Russia Founding Act 1997"],
        "level": level,
        "start": to_iso(start),
        "end": to_iso(start + hours * HOUR),
        "timezone": "Europe/Brussels",
        "place": "NATO HQ, Brussels",
        "participants": {party: [{"name": f"Head of delegation {party}", "role": level}] for party in parties},
        "agenda": [{"title": "Baltic air safety", "references": references or []}],
    }
