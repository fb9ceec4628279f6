"""Receiving a delivery: check it (``riskline.channel.protocol.check_delivery``), log it and sign a receipt.

One write transaction per delivery: the duplicate check, the append to our Merkle log, the message row, the
peer's new state (last seq, last cosigned head), the cosignature, our new signed head, the receipt and — for
a ``link_test`` — the automatic ``link_test_reply`` are committed together or not at all. A re-delivery of
an envelope already logged is answered with the stored receipt re-signed with ``duplicate: true``.

Every rejection raises the ``ChannelError`` that says why and is written to ``security_events`` (in its own
transaction, since the delivery's was rolled back), with the portable proof when a peer equivocated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from riskline.channel.canonical import canonical_json, sha256_hex
from riskline.channel.checkpoint import cosign
from riskline.channel.errors import ChannelError, EquivocationDetected, ForeignChannel, ReplayedEnvelope, UnknownKey
from riskline.channel.messages import InvalidField, MessageType
from riskline.channel.protocol import (
    ConsistencyBaseMismatch,
    DeliveryRequest,
    Outcome,
    OutOfOrder,
    PeerState,
    PinnedPeer,
    check_delivery,
)
from riskline.channel.receipt import Receipt, make_receipt, mark_duplicate
from riskline.channel.signing import VerifyKey
from riskline.node import tls
from riskline.node.errors import NodeError, NotAuthenticated
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, append_envelope, send_in
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
    return {
        row.node: PinnedPeer(node=row.node, party=row.party, key=VerifyKey.from_text(row.key))
        for row in store.list_peers(connection)
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


def receive(node: LocalNode, channel: str, body: object, caller: Caller) -> Receipt:
    """Check and log one delivery; the receipt to answer with, or the ``ChannelError`` of the rejection."""
    sender: str | None = None
    envelope_id: str | None = None
    try:
        client_peer = authenticated_peer(node, caller)
        if not isinstance(body, Mapping):
            raise InvalidField("request", "the body must be a JSON object")
        request = DeliveryRequest.from_wire(body)
        envelope = request.envelope.envelope
        sender, envelope_id = envelope.sender.node, envelope.id
        if client_peer is not None and client_peer.node != sender:
            raise NotAuthenticated(
                f"the client certificate is {client_peer.node}'s, the envelope is signed as {sender}"
            )
        return _accept(node, channel, request)
    except ChannelError as error:
        record_rejection(node, error, caller=caller, channel=channel, peer=sender, envelope_id=envelope_id)
        setattr(error, "riskline_recorded", True)  # noqa: B010 (the app's handler must not record it twice)
        raise


def _accept(node: LocalNode, channel: str, request: DeliveryRequest) -> Receipt:
    config = node.reload_config()
    signed = request.envelope
    envelope = signed.envelope
    if not config.has_channel(channel):
        raise ForeignChannel(f"node {config.id} has no channel {channel!r}")
    if envelope.channel != channel:
        raise ForeignChannel(f"envelope is for channel {envelope.channel!r} but was posted to {channel!r}")
    policy = config.channel(channel)
    now = node.clock()
    with node.writing() as connection:
        peers = pinned_peers(connection)
        sender = envelope.sender.node
        if sender not in peers:
            raise UnknownKey(f"envelope from unpinned node {sender!r} (key {envelope.sender.key.fingerprint})")
        stored_state = store.peer_state_of(connection, sender)
        state = (
            None
            if stored_state.receiver_state is None
            else PeerState.from_dict(json.loads(stored_state.receiver_state))
        )

        def seen(message_id: str) -> str | None:
            entry = store.log_entry_by_envelope(connection, message_id)
            return None if entry is None else sha256_hex(entry.data)

        def local_root(size: int) -> bytes | None:
            return node.tree.root(size) if size <= node.tree.size else None

        verdict = check_delivery(
            request,
            policy=policy,
            local_party=config.party,
            peers=peers,
            state=state,
            seen=seen,
            now=now,
            local_origin=node.origin,
            local_root=local_root,
        )
        if verdict.outcome is Outcome.DUPLICATE:
            original = store.receipt(connection, envelope.id, "in", sender)
            if original is None:
                raise ReplayedEnvelope(
                    f"envelope {envelope.id} is already in this log, but not as received from {sender}"
                )
            return mark_duplicate(Receipt.from_wire(json.loads(original)), node.identity)
        assert verdict.checkpoint is not None
        message = append_envelope(node, connection, signed, direction="in", at=now, policy=policy)
        head_seen = verdict.checkpoint
        cosignature = cosign(node.identity, head_seen.checkpoint, now)
        origin, size, root = head_seen.checkpoint.origin, head_seen.checkpoint.size, head_seen.checkpoint.root
        store.store_peer_checkpoint(connection, "head", origin, size, root, sender, to_json(head_seen.to_dict()), now)
        store.store_peer_checkpoint(
            connection, "cosigned_by_us", origin, size, root, sender, to_json(cosignature.to_dict()), now
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
        receipt = make_receipt(
            envelope=signed,
            receiver=node.receiver,
            received=now,
            log_index=message.log_index,
            receiver_checkpoint=head,
            inclusion_proof=node.tree.inclusion_proof(message.log_index, head.checkpoint.size),
            cosignature=cosignature,
            key=node.identity,
        )
        store.store_receipt(connection, envelope.id, "in", sender, to_json(receipt.to_wire()), now)
        if envelope.type is MessageType.LINK_TEST:
            _answer_link_test(node, connection, envelope.id, str(envelope.body["nonce"]), channel, now)
        return receipt


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
    with node.database.begin() as connection:
        store.record_security_event(
            connection,
            at=now,
            kind=type(error).__name__,
            status=error.status,
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
