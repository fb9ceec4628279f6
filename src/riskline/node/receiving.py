"""Receiving deliveries: check them (``riskline.channel.protocol.check_batch``), log them and sign receipts.

A single delivery is a batch of one. One write transaction per batch: the duplicate checks, the appends to
our Merkle log, the message rows, the peer's new state (last seq, last cosigned head), ONE cosignature of the
sender's checkpoint, ONE new signed head of ours, a receipt per envelope and — for each ``link_test`` — the
automatic ``link_test_reply`` are committed together or not at all (one ``synchronous=FULL`` commit for the
batch). A re-delivery of an envelope already logged is answered with the stored receipt re-signed with
``duplicate: true``.

The envelopes of a batch are checked in order; the first one refused stops the batch: those before it are
logged and receipted, it and those after it are not taken, and the answer says which one and why (the
sender resends the rest after dealing with it). When not one envelope is taken the batch is refused as a
single delivery is: the ``ChannelError`` that says why, with its HTTP status.

Every refusal is written to ``security_events`` (in its own transaction, after the batch's), with the portable
proof when a peer equivocated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection

from riskline.channel.canonical import canonical_json, sha256_hex
from riskline.channel.checkpoint import cosign
from riskline.channel.errors import ChannelError, EquivocationDetected, ForeignChannel, ReplayedEnvelope
from riskline.channel.messages import InvalidField, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.channel.protocol import (
    BatchVerdict,
    ConsistencyBaseMismatch,
    DeliveryBatch,
    DeliveryRequest,
    Outcome,
    OutOfOrder,
    PeerState,
    PinnedPeer,
    check_batch,
)
from riskline.channel.receipt import Receipt, make_receipt, mark_duplicate
from riskline.channel.signing import VerifyKey
from riskline.node import tls
from riskline.node.attachments import queue_fetches_for
from riskline.node.dialogue_checks import first_misfit
from riskline.node.errors import NodeError, NotAuthenticated
from riskline.node.key_rotation import peer_histories
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, append_envelopes, send_in
from riskline.storage import channel_store as store


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is on the other end of an HTTP request."""

    remote: str | None
    """``host:port`` of the client, for the security log."""
    tls: bool
    """True when the request came over HTTPS (then a client certificate is required)."""
    client_certificate: bytes | None = None
    """DER of the client's certificate, verified by the TLS layer against the pinned peers' CAs."""


def to_json(value: object) -> str:
    return canonical_json(value).decode("utf-8")


def pinned_peers(connection: Connection) -> dict[str, PinnedPeer]:
    rows = store.list_peers(connection)
    histories = peer_histories(connection, rows)
    return {
        row.node: PinnedPeer(
            node=row.node, party=row.party, key=VerifyKey.from_text(row.key), history=histories[row.node]
        )
        for row in rows
    }


def authenticated_peer(node: LocalNode, caller: Caller) -> store.PeerRow | None:
    """The pinned peer whose CA issued the caller's certificate; None over plain HTTP.

    Raises ``NotAuthenticated`` over HTTPS without a certificate from a pinned peer's CA.
    """
    if not caller.tls:
        return None
    if caller.client_certificate is None:
        raise NotAuthenticated("this endpoint needs a client certificate issued by a pinned peer's CA (mutual TLS)")
    with node.reading() as connection:
        peers = [row for row in store.list_peers(connection) if row.ca_pem]
    index = tls.issuing_ca_index(caller.client_certificate, [row.ca_pem.encode("ascii") for row in peers if row.ca_pem])
    if index is None:
        raise NotAuthenticated("the client certificate is not issued by the CA of any pinned peer")
    return peers[index]


REFUSED_INDEX = "riskline_refused_index"
"""Attribute of a ``ChannelError`` refusing a whole batch: the position of the envelope it is about (0)."""


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """What a batch got: a receipt per envelope taken (in order), and why the next one was refused, if one was."""

    receipts: tuple[Receipt, ...]
    error: ChannelError | None = None

    @property
    def refused_index(self) -> int | None:
        """Position in the batch of the refused envelope; None when every envelope was taken."""
        return None if self.error is None else len(self.receipts)


def receive(node: LocalNode, channel: str, body: object, caller: Caller) -> Receipt:
    """Check and log one delivery; the receipt to answer with, or the ``ChannelError`` of the rejection."""
    answer = _receive(node, channel, body, caller, single=True)
    if answer.error is not None:  # pragma: no cover - a refused single delivery raises in _receive
        raise answer.error
    return answer.receipts[0]


def receive_batch(node: LocalNode, channel: str, body: object, caller: Caller) -> BatchAnswer:
    """Check and log a delivery batch; raises the ``ChannelError`` when not one envelope of it was taken."""
    return _receive(node, channel, body, caller, single=False)


def _receive(node: LocalNode, channel: str, body: object, caller: Caller, *, single: bool) -> BatchAnswer:
    sender: str | None = None
    envelope_id: str | None = None
    try:
        client_peer = authenticated_peer(node, caller)
        if not isinstance(body, Mapping):
            raise InvalidField("request", "the body must be a JSON object")
        batch = DeliveryBatch.of(DeliveryRequest.from_wire(body)) if single else DeliveryBatch.from_wire(body)
        first = batch.items[0].envelope.envelope
        sender, envelope_id = first.sender.node, first.id
        if client_peer is not None and client_peer.node != sender:
            raise NotAuthenticated(
                f"the client certificate is {client_peer.node}'s, the envelope is signed as {sender}"
            )
        answer = _accept(node, channel, batch)
        if answer.error is not None:
            refused = batch.items[len(answer.receipts)].envelope.id
            if not answer.receipts:
                envelope_id = refused
                if not single:
                    setattr(answer.error, REFUSED_INDEX, 0)
                raise answer.error
            record_rejection(node, answer.error, caller=caller, channel=channel, peer=sender, envelope_id=refused)
        return answer
    except ChannelError as error:
        record_rejection(node, error, caller=caller, channel=channel, peer=sender, envelope_id=envelope_id)
        setattr(error, "riskline_recorded", True)  # noqa: B010 (the app's handler must not record it twice)
        raise


def _accept(node: LocalNode, channel: str, batch: DeliveryBatch) -> BatchAnswer:
    config = node.reload_config()
    if not config.has_channel(channel):
        raise ForeignChannel(f"node {config.id} has no channel {channel!r}")
    misposted: ChannelError | None = None
    for position, item in enumerate(batch.items):
        if item.envelope.envelope.channel != channel:
            misposted = ForeignChannel(
                f"envelope is for channel {item.envelope.envelope.channel!r} but was posted to {channel!r}"
            )
            batch = replace(batch, items=batch.items[:position])
            break
    if not batch.items:
        return BatchAnswer((), misposted)
    policy = config.channel(channel)
    now = node.clock()
    with node.writing() as connection:
        answer = _accept_in(node, connection, policy, batch, now)
    if answer.error is None and misposted is not None:
        return replace(answer, error=misposted)
    return answer


def _accept_in(
    node: LocalNode, connection: Connection, policy: ChannelPolicy, batch: DeliveryBatch, now: float
) -> BatchAnswer:
    """Check and log ``batch`` inside the caller's write transaction (which commits it, whatever was refused)."""
    config = node.config
    peers = pinned_peers(connection)
    sender = batch.items[0].envelope.envelope.sender.node
    stored_state = store.peer_state_of(connection, sender)
    state = (
        None if stored_state.receiver_state is None else PeerState.from_dict(json.loads(stored_state.receiver_state))
    )
    ids = [item.envelope.id for item in batch.items]
    logged = store.log_entries_by_envelopes(connection, ids)
    given = store.receipts_of(connection, [i for i in ids if i in logged], "in", sender)

    def seen(message_id: str) -> str | None:
        entry = logged.get(message_id)
        return None if entry is None else sha256_hex(entry.data)

    def local_root(size: int) -> bytes | None:
        return node.tree.root(size) if size <= node.tree.size else None

    def check(items: DeliveryBatch) -> BatchVerdict:
        return check_batch(
            items,
            policy=policy,
            local_party=config.party,
            peers=peers,
            state=state,
            seen=seen,
            now=now,
            local_origin=node.origin,
            local_root=local_root,
        )

    verdict = check(batch)
    for position, outcome in enumerate(verdict.outcomes):
        envelope_id = batch.items[position].envelope.id
        if outcome is Outcome.DUPLICATE and envelope_id in logged and envelope_id not in given:
            # Logged, but not as received from this sender: a replay; nothing from here on is taken.
            verdict = replace(
                check(replace(batch, items=batch.items[:position])),
                error=ReplayedEnvelope(
                    f"envelope {envelope_id} is already in this log, but not as received from {sender}"
                ),
            )
            break
    checked = [item.envelope.envelope for item in batch.items[: len(verdict.outcomes)]]
    misfit = first_misfit(node, connection, policy, checked)
    if misfit is not None:
        position, error = misfit
        verdict = replace(check(replace(batch, items=batch.items[:position])), error=error)
    if not verdict.outcomes:
        return BatchAnswer((), verdict.error)
    taken = batch.items[: len(verdict.outcomes)]
    fresh = [item.envelope for item, outcome in zip(taken, verdict.outcomes, strict=True) if outcome is Outcome.ACCEPT]
    new_receipts: dict[str, Receipt] = {}
    if fresh:
        assert verdict.checkpoint is not None
        assert verdict.state is not None
        messages = append_envelopes(node, connection, fresh, direction="in", at=now, policy=policy)
        queue_fetches_for(connection, fresh, now)
        head_seen = verdict.checkpoint
        cosignature = cosign(node.identity, head_seen.checkpoint, now)
        origin, size, root = head_seen.checkpoint.origin, head_seen.checkpoint.size, head_seen.checkpoint.root
        store.store_peer_checkpoint(
            connection, store.CheckpointKind.HEAD, origin, size, root, sender, to_json(head_seen.to_dict()), now
        )
        store.store_peer_checkpoint(
            connection,
            store.CheckpointKind.COSIGNED_BY_US,
            origin,
            size,
            root,
            sender,
            to_json(cosignature.to_dict()),
            now,
        )
        store.save_peer_state(
            connection,
            store.PeerStateRow(
                peer=sender,
                receiver_state=to_json(verdict.state.to_dict()),
                cosigned_size=stored_state.cosigned_size,
                verified_size=stored_state.verified_size,
                verified_root=stored_state.verified_root,
                updated=now,
            ),
        )
        head = node.head(connection)
        for signed, message in zip(fresh, messages, strict=True):
            new_receipts[signed.id] = make_receipt(
                envelope=signed,
                receiver=node.receiver,
                received=now,
                log_index=message.log_index,
                receiver_checkpoint=head,
                inclusion_proof=node.tree.inclusion_proof(message.log_index, head.checkpoint.size),
                cosignature=cosignature,
                key=node.identity,
            )
        store.store_receipts(
            connection,
            [
                store.StoredReceipt(signed_id, "in", sender, receipt.canonical().decode("utf-8"), now)
                for signed_id, receipt in new_receipts.items()
            ],
        )
    receipts: list[Receipt] = []
    for item, outcome in zip(taken, verdict.outcomes, strict=True):
        envelope_id = item.envelope.id
        if outcome is Outcome.ACCEPT:
            receipts.append(new_receipts[envelope_id])
        elif envelope_id in new_receipts:
            receipts.append(mark_duplicate(new_receipts[envelope_id], node.identity))
        else:
            receipts.append(mark_duplicate(Receipt.from_wire(json.loads(given[envelope_id])), node.identity))
    for signed in fresh:
        if signed.envelope.type is MessageType.LINK_TEST:
            _answer_link_test(node, connection, signed.id, str(signed.envelope.body["nonce"]), policy.id, now)
    return BatchAnswer(tuple(receipts), verdict.error)


def _answer_link_test(
    node: LocalNode, connection: Connection, test_id: str, nonce: str, channel: str, now: float
) -> None:
    """The "regularly tested" line: answer a link test at once, in the same transaction as its receipt."""
    savepoint = connection.begin_nested()
    try:
        send_in(
            node,
            connection,
            Outgoing(
                type=MessageType.LINK_TEST_REPLY,
                channel=channel,
                body={"nonce": nonce, "received": now},
                in_reply_to=test_id,
            ),
        )
    except (ChannelError, NodeError) as error:
        savepoint.rollback()
        node.rebuild_tree(connection)
        store.record_node_event(
            connection, at=now, kind="link_test_unanswered", message=f"cannot answer link test {test_id}: {error}"
        )
    else:
        savepoint.commit()


def record_rejection(
    node: LocalNode,
    error: ChannelError,
    *,
    caller: Caller,
    channel: str | None,
    peer: str | None,
    envelope_id: str | None,
) -> None:
    """Write one ``security_events`` row (and a ``node_events`` row for equivocation) for a rejection."""
    detail: dict[str, Any] | None = None
    if isinstance(error, EquivocationDetected) and error.proof is not None:
        detail = {"equivocation_proof": error.proof.to_dict()}
    elif isinstance(error, OutOfOrder):
        detail = {"expected_seq": error.expected_seq}
    elif isinstance(error, ConsistencyBaseMismatch):
        detail = {"expected_from_size": error.expected_from_size}
    now = node.clock()
    with node.recording() as connection:
        store.record_security_event(
            connection,
            at=now,
            kind=type(error).__name__,
            status=error.http_status,
            message=str(error),
            peer=peer,
            remote=caller.remote,
            channel=channel,
            envelope_id=envelope_id,
            detail=detail,
        )
        if isinstance(error, EquivocationDetected):
            store.record_node_event(
                connection,
                at=now,
                kind="equivocation",
                message=f"peer {peer} equivocated: {error} (proof in security_events)",
                peer=peer,
            )
