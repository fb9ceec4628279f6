"""The delivery protocol: every reason to refuse an envelope, with its exact error, status and message."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from channel_builders import DAY, NRC, RU_EE, T0, Node, deliver, key_for, pins, text

import riskline.channel
from riskline.channel.checkpoint import Checkpoint, EquivocationProof, sign_checkpoint
from riskline.channel.envelope import PeerHead, SignedEnvelope, sign_envelope
from riskline.channel.errors import (
    BadSignature,
    ChannelError,
    EquivocationDetected,
    ForeignChannel,
    InvalidProof,
    KeyChanged,
    ReplayedEnvelope,
    StaleEnvelope,
    UnknownKey,
)
from riskline.channel.messages import ContactLevel, InvalidField, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.channel.protocol import (
    ConsistencyBaseMismatch,
    DeliveryRequest,
    Inclusion,
    Outcome,
    OutOfOrder,
    PeerState,
    PinnedPeer,
    check_delivery,
    prepare_delivery,
)


@pytest.fixture
def ru() -> Node:
    return Node("ru-nmdc", "RU")


@pytest.fixture
def ee() -> Node:
    return Node("ee-mod", "EE")


def say(node: Node, words: str, *, at: float, policy: ChannelPolicy = RU_EE, **options: Any) -> SignedEnvelope:
    return node.compose(policy, MessageType.FREE_TEXT, text(words), created=at, **options)


def check(
    receiver: Node,
    request: DeliveryRequest,
    *,
    now: float = T0 + 60.0,
    policy: ChannelPolicy = RU_EE,
    peers: dict[str, PinnedPeer] | None = None,
    local_party: str | None = None,
) -> Any:
    sender = request.envelope.envelope.sender.node
    return check_delivery(
        request,
        policy=policy,
        local_party=receiver.party if local_party is None else local_party,
        peers=_pins_for(request, receiver) if peers is None else peers,
        state=receiver.states.get(sender),
        seen=receiver.seen.get,
        now=now,
        local_origin=receiver.name,
        local_root=receiver._root_at,
    )


def _pins_for(request: DeliveryRequest, receiver: Node) -> dict[str, PinnedPeer]:
    sender = request.envelope.envelope.sender
    return {sender.node: PinnedPeer(sender.node, sender.party, key_for(sender.node).public_key), **pins(receiver)}


def refused(error: type[ChannelError], receiver: Node, request: DeliveryRequest, **options: Any) -> ChannelError:
    with pytest.raises(error) as caught:
        check(receiver, request, **options)
    assert type(caught.value) is error
    return caught.value


def test_a_valid_first_envelope_is_accepted_with_the_state_and_checkpoint_to_cosign(ru: Node, ee: Node) -> None:
    signed = say(ru, "hello", at=T0)
    request = ru.request_for(signed, ee)
    verdict = check(ee, request, now=T0 + 1.5)
    assert verdict.outcome is Outcome.ACCEPT
    assert verdict.accepted
    assert verdict.received == T0 + 1.5
    assert verdict.checkpoint == request.checkpoint
    assert verdict.state == PeerState(
        peer="ru-nmdc", party="RU", key=ru.key.public_key, last_seq={"RU-EE": 1}, cosigned=request.checkpoint
    )
    assert "ru-nmdc" not in ee.states  # pure: nothing changed until the caller persists it


def test_the_same_envelope_delivered_again_is_a_duplicate_that_changes_nothing(ru: Node, ee: Node) -> None:
    signed = say(ru, "hello", at=T0)
    deliver(ru, ee, signed, policy=RU_EE, now=T0 + 1)
    say(ru, "the log grew meanwhile", at=T0 + 2)
    verdict = check(ee, ru.request_for(signed, ee))
    assert verdict.outcome is Outcome.DUPLICATE
    assert verdict.checkpoint is None
    assert verdict.state == ee.states["ru-nmdc"]
    assert deliver(ru, ee, signed, policy=RU_EE, now=T0 + 3) == ee.receipt_by_id[signed.id]


def test_a_forged_signature_is_refused_with_401(ru: Node, ee: Node) -> None:
    signed = say(ru, "hello", at=T0)
    request = ru.request_for(signed, ee)
    forged = replace(request, envelope=SignedEnvelope(signed.envelope, bytes(64)))
    error = refused(BadSignature, ee, forged)
    assert error.http_status == 401
    assert str(error) == f"envelope signature does not verify with key {ru.key.public_key.fingerprint}"


def test_an_altered_body_breaks_the_signature(ru: Node, ee: Node) -> None:
    signed = say(ru, "hello", at=T0)
    request = ru.request_for(signed, ee)
    altered = replace(signed.envelope, body={"text": "goodbye"})
    error = refused(BadSignature, ee, replace(request, envelope=SignedEnvelope(altered, signed.signature)))
    assert str(error) == f"envelope signature does not verify with key {ru.key.public_key.fingerprint}"


def test_an_unpinned_sender_is_refused_with_403(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    error = refused(UnknownKey, ee, request, peers=pins(ee))
    assert error.http_status == 403
    assert str(error) == f"envelope from unpinned node 'ru-nmdc' (key {ru.key.public_key.fingerprint})"


def test_a_pinned_sender_with_a_new_key_is_refused(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    old = Node("old-key", "RU").key.public_key
    error = refused(KeyChanged, ee, request, peers={"ru-nmdc": PinnedPeer("ru-nmdc", "RU", old), **pins(ee)})
    assert error.http_status == 403
    assert str(error) == (
        f"node 'ru-nmdc' signs with {ru.key.public_key.fingerprint}, the pinned key is {old.fingerprint}"
    )


def test_a_sender_claiming_another_party_than_pinned_is_refused(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    peers = {"ru-nmdc": PinnedPeer("ru-nmdc", "EE", ru.key.public_key), **pins(ee)}
    assert str(refused(UnknownKey, ee, request, peers=peers)) == "node 'ru-nmdc' is pinned for party 'EE', not 'RU'"


def test_an_envelope_for_another_channel_is_refused_with_400(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    error = refused(ForeignChannel, ee, request, policy=NRC)
    assert error.http_status == 400
    assert str(error) == "envelope is for channel 'RU-EE', not 'NRC'"


def test_a_receiver_that_is_not_a_member_of_the_channel_refuses(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    error = refused(ForeignChannel, ee, request, local_party="FI")
    assert str(error) == "party 'FI' is not a member of channel 'RU-EE'"


def _tampered(ru: Node, ee: Node, policy: ChannelPolicy, **changes: Any) -> DeliveryRequest:
    honest = say(ru, "to the council", at=T0, policy=policy, log=False)
    signed = sign_envelope(replace(honest.envelope, **changes), ru.key)
    ru.append(signed.leaf_data(), T0)
    return ru.request_for(signed, ee)


def test_an_envelope_not_addressed_to_the_receiver_is_refused(ru: Node, ee: Node) -> None:
    request = _tampered(ru, ee, NRC, recipients=("US",))
    error = refused(ForeignChannel, ee, request, policy=NRC)
    assert str(error) == f"envelope {request.envelope.id} is not addressed to 'EE'"


def test_a_collective_message_must_go_to_every_other_member(ru: Node, ee: Node) -> None:
    request = _tampered(ru, ee, NRC, recipients=("EE",))
    error = refused(ForeignChannel, ee, request, policy=NRC)
    assert str(error) == "recipients EE are not the other members of 'NRC': EE, US"


def test_a_level_the_channel_does_not_use_is_refused_by_the_receiver(ru: Node, ee: Node) -> None:
    request = _tampered(ru, ee, RU_EE, level=ContactLevel.MINISTER)
    with pytest.raises(InvalidField) as caught:
        check(ee, request)
    assert caught.value.http_status == 422
    assert str(caught.value) == "level: minister is not a level of contact of channel 'RU-EE'"


def test_the_same_id_with_other_content_is_a_replay(ru: Node, ee: Node) -> None:
    first = say(ru, "hello", at=T0)
    deliver(ru, ee, first, policy=RU_EE, now=T0 + 1)
    second = say(ru, "hello again", at=T0 + 2, message_id=first.id)
    error = refused(ReplayedEnvelope, ee, ru.request_for(second, ee))
    assert error.http_status == 409
    assert str(error) == f"envelope {first.id} was already received with another content (hash {first.hash[:16]}…)"


def test_an_old_sequence_number_under_a_new_id_is_a_replay(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "hello", at=T0), policy=RU_EE, now=T0 + 1)
    again = say(ru, "hello", at=T0 + 2, seq=1)
    error = refused(ReplayedEnvelope, ee, ru.request_for(again, ee))
    assert str(error) == "seq 1 on RU-EE was already accepted (last 1) under another id"


def test_a_sequence_gap_asks_the_sender_to_deliver_in_order(ru: Node, ee: Node) -> None:
    first = say(ru, "one", at=T0)
    second = say(ru, "two", at=T0 + 1)
    error = refused(OutOfOrder, ee, ru.request_for(second, ee))
    assert isinstance(error, OutOfOrder)
    assert error.http_status == 409
    assert error.expected_seq == 1
    assert error.channel == "RU-EE"
    assert str(error) == "seq 2 on RU-EE skips ahead: expected 1"
    deliver(ru, ee, first, policy=RU_EE, now=T0 + 2)
    deliver(ru, ee, second, policy=RU_EE, now=T0 + 3)
    assert ee.states["ru-nmdc"].last_seq == {"RU-EE": 2}


def test_an_envelope_created_too_long_ago_by_our_clock_is_stale(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    error = refused(StaleEnvelope, ee, request, now=T0 + 30 * DAY + 1)
    assert error.http_status == 400
    assert str(error) == f"envelope {request.envelope.id} was created 2592001 s ago by our clock, more than 2592000 s"
    assert check(ee, request, now=T0 + 30 * DAY).accepted


def test_a_checkpoint_smaller_than_the_last_cosigned_is_stale(ru: Node, ee: Node) -> None:
    first, second = say(ru, "one", at=T0), say(ru, "two", at=T0 + 1)
    say(ru, "three", at=T0 + 2)
    deliver(ru, ee, first, policy=RU_EE, now=T0 + 3)
    assert ee.states["ru-nmdc"].cosigned_size == 3
    request = prepare_delivery(envelope=second, index=1, tree=ru.tree, checkpoint=ru.heads[1], cosigned_size=0)
    error = refused(StaleEnvelope, ee, request)
    assert str(error) == "checkpoint of 'ru-nmdc' has size 2, smaller than the cosigned 3"


def test_a_consistency_proof_from_another_size_says_which_size_to_prove_from(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "one", at=T0), policy=RU_EE, now=T0 + 1)
    second = say(ru, "two", at=T0 + 2)
    ru.cosigned_by["ee-mod"] = 0  # a receipt lost in a crash
    error = refused(ConsistencyBaseMismatch, ee, ru.request_for(second, ee))
    assert isinstance(error, ConsistencyBaseMismatch)
    assert isinstance(error, InvalidProof)
    assert error.http_status == 409
    assert error.expected_from_size == 1
    assert str(error) == "consistency proof starts at size 0, the last size cosigned is 1"


def test_a_bad_consistency_proof_is_refused(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "one", at=T0), policy=RU_EE, now=T0 + 1)
    second = say(ru, "two", at=T0 + 2)
    say(ru, "three", at=T0 + 3)
    request = ru.request_for(second, ee)
    assert request.consistency.from_size == 1
    assert len(request.consistency.proof) == 2
    altered = (bytes(32), *request.consistency.proof[1:])
    error = refused(InvalidProof, ee, replace(request, consistency=replace(request.consistency, proof=altered)))
    assert error.http_status == 409
    assert str(error) == "consistency proof does not lead to the new root of size 3"


def test_a_bad_inclusion_proof_is_refused(ru: Node, ee: Node) -> None:
    say(ru, "earlier, on the council", at=T0, policy=NRC)
    request = ru.request_for(say(ru, "hello", at=T0 + 1), ee)
    broken = replace(request, inclusion=Inclusion(1, (bytes(32),)))
    assert str(refused(InvalidProof, ee, broken)) == "inclusion proof of leaf 1 does not lead to the root of size 2"
    moved = replace(request, inclusion=Inclusion(0, request.inclusion.proof))
    assert str(refused(InvalidProof, ee, moved)) == ("inclusion proof is for index 0, the envelope says it is entry 1")


def test_a_checkpoint_of_another_log_is_refused(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    foreign = replace(request, checkpoint=ee.head(T0))
    assert str(refused(ForeignChannel, ee, foreign)) == ("checkpoint is of log 'ee-mod', the sender's log is 'ru-nmdc'")


def test_a_checkpoint_signed_by_another_key_is_refused(ru: Node, ee: Node) -> None:
    request = ru.request_for(say(ru, "hello", at=T0), ee)
    impostor = Node("ru-nmdc", "RU")
    impostor.key = Node("impostor", "RU").key
    impostor.tree = ru.tree
    error = refused(KeyChanged, ee, replace(request, checkpoint=impostor.head(T0)))
    assert str(error).startswith("checkpoint of 'ru-nmdc' is signed by SHA256:")


def test_two_heads_of_the_same_size_with_different_roots_are_proven_equivocation(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "the true history", at=T0), policy=RU_EE, now=T0 + 1)
    fork = Node("ru-nmdc", "RU")  # same name, same key, another history of the same length
    rewritten = say(fork, "a rewritten history", at=T0 + 2, seq=2)
    error = refused(EquivocationDetected, ee, fork.request_for(rewritten, ee))
    assert isinstance(error, EquivocationDetected)
    assert error.http_status == 409
    assert str(error) == "log 'ru-nmdc' signed two different roots for size 1"
    assert error.proof is not None
    portable = EquivocationProof.from_dict(json.loads(json.dumps(error.proof.to_dict())))
    portable.verify()
    assert portable.size == 1
    assert portable.signer == ru.key.public_key
    assert {portable.first.checkpoint.root, portable.second.checkpoint.root} == {ru.tree.root(), fork.tree.root()}


def test_an_envelope_citing_a_false_head_of_the_receiver_s_log_is_refused(ru: Node, ee: Node) -> None:
    deliver(ee, ru, say(ee, "hello from EE", at=T0), policy=RU_EE, now=T0 + 1)
    ru.peer_heads["ee-mod"] = Checkpoint("ee-mod", 1, bytes(32), T0)
    request = ru.request_for(say(ru, "answer", at=T0 + 2, to=ee), ee)
    error = refused(InvalidProof, ee, request)
    assert str(error) == (
        f"envelope cites our log 'ee-mod' at size 1 with root {'00' * 8}…, ours is {ee.tree.root(1).hex()[:16]}…"
    )


def test_an_envelope_citing_the_receiver_s_log_beyond_its_end_is_refused(ru: Node, ee: Node) -> None:
    ru.peer_heads["ee-mod"] = Checkpoint("ee-mod", 5, bytes(32), T0)
    request = ru.request_for(say(ru, "answer", at=T0 + 2, to=ee), ee)
    assert str(refused(InvalidProof, ee, request)) == "envelope cites our log 'ee-mod' at size 5, beyond its end"


def test_an_envelope_citing_the_receiver_s_true_head_is_accepted(ru: Node, ee: Node) -> None:
    deliver(ee, ru, say(ee, "hello from EE", at=T0), policy=RU_EE, now=T0 + 1)
    signed = say(ru, "answer", at=T0 + 2, to=ee)
    assert signed.envelope.peer_checkpoint == PeerHead("ee-mod", 1, ee.tree.root(1))
    assert check(ee, ru.request_for(signed, ee)).accepted


def test_the_delivery_request_round_trips_through_json(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "one", at=T0), policy=RU_EE, now=T0 + 1)
    request = ru.request_for(say(ru, "two", at=T0 + 2), ee)
    wire = json.loads(json.dumps(request.to_wire()))
    assert set(wire) == {"envelope", "checkpoint", "inclusion", "consistency"}
    assert wire["consistency"]["from_size"] == 1
    assert wire["inclusion"]["index"] == 1
    assert DeliveryRequest.from_wire(wire) == request


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.pop("inclusion"), "inclusion: missing"),
        (
            lambda w: w["envelope"]["sender"].update(key=3),
            "envelope.sender.key: must be key text like 'ed25519:<base64>', got 3",
        ),
        (
            lambda w: w["consistency"].update(from_size=-1),
            "consistency.from_size: must be a whole number from 0, got -1",
        ),
        (lambda w: w["inclusion"].update(proof=["zz"]), "inclusion.proof.0: not valid hex"),
        (
            lambda w: w["checkpoint"]["checkpoint"].update(size="1"),
            "checkpoint: checkpoint size must be a whole number from 0 to 2**53-1, got '1'",
        ),
    ],
)  # fmt: skip
def test_a_malformed_delivery_request_is_refused_naming_the_field(
    ru: Node, ee: Node, change: Any, message: str
) -> None:
    wire = json.loads(json.dumps(ru.request_for(say(ru, "one", at=T0), ee).to_wire()))
    change(wire)
    with pytest.raises(InvalidField) as caught:
        DeliveryRequest.from_wire(wire)
    assert caught.value.http_status == 422
    assert str(caught.value) == message


def test_peer_state_persists_through_json(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "one", at=T0), policy=RU_EE, now=T0 + 1)
    deliver(ru, ee, say(ru, "two", at=T0 + 2, policy=NRC), policy=NRC, now=T0 + 3)
    state = ee.states["ru-nmdc"]
    assert state.last_seq == {"RU-EE": 1, "NRC": 1}
    assert state.cosigned_size == 2
    assert PeerState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_preparing_a_delivery_refuses_an_entry_that_is_not_the_envelope(ru: Node, ee: Node) -> None:
    first = say(ru, "one", at=T0)
    say(ru, "two", at=T0 + 1)
    false_head = sign_checkpoint(ru.key, Checkpoint("ru-nmdc", 1, bytes(32), T0))
    with pytest.raises(InvalidProof) as caught:
        prepare_delivery(envelope=first, index=1, tree=ru.tree, checkpoint=ru.heads[-1], cosigned_size=0)
    assert str(caught.value) == f"entry 1 of the local log is not envelope {first.id}"
    with pytest.raises(InvalidProof) as caught:
        prepare_delivery(envelope=first, index=0, tree=ru.tree, checkpoint=false_head, cosigned_size=0)
    assert str(caught.value) == "checkpoint of size 1 does not match the local log of 2 entries"


def test_envelopes_on_two_channels_may_reach_a_peer_out_of_log_order() -> None:
    ru, ee, us = Node("ru-nmdc", "RU"), Node("ee-mod", "EE"), Node("us-eucom", "US")
    council = say(ru, "to the council", at=T0, policy=NRC)
    bilateral = say(ru, "to Estonia", at=T0 + 1)
    deliver(ru, ee, bilateral, policy=RU_EE, now=T0 + 2)
    deliver(ru, ee, council, policy=NRC, now=T0 + 3)
    deliver(ru, us, council, policy=NRC, now=T0 + 4)
    reply = say(us, "noted", at=T0 + 5, policy=NRC, thread=council.id, in_reply_to=council.id)
    deliver(us, ru, reply, policy=NRC, now=T0 + 6)
    deliver(us, ee, reply, policy=NRC, now=T0 + 7)
    assert ee.states["ru-nmdc"].last_seq == {"RU-EE": 1, "NRC": 1}
    assert ee.states["us-eucom"].last_seq == {"NRC": 1}
    assert [r.log_index for r in ee.receipts_issued] == [0, 1, 2]
    assert ru.cosigned_by == {"ee-mod": 2, "us-eucom": 2}


def test_the_package_exports_a_sorted_all_that_resolves() -> None:
    names = riskline.channel.__all__

    def isort_order(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert names == sorted(names, key=isort_order)
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(riskline.channel, name) is not None
    errors = {name for name in names if isinstance(getattr(riskline.channel, name), type)
              and issubclass(getattr(riskline.channel, name), ChannelError)}  # fmt: skip
    assert errors >= {"OutOfOrder", "ConsistencyBaseMismatch", "InvalidField", "InvalidPolicy", "ReplayedEnvelope"}


def test_a_key_re_pinned_by_the_operator_takes_over_the_peer_s_state(ru: Node, ee: Node) -> None:
    deliver(ru, ee, say(ru, "signed with the old key", at=T0), policy=RU_EE, now=T0 + 1)
    rekeyed = Node("ru-nmdc", "RU")
    rekeyed.key = Node("ru-nmdc-2024", "RU").key
    rekeyed.tree, rekeyed.leaves, rekeyed.heads = ru.tree, ru.leaves, ru.heads
    rekeyed.seq, rekeyed.cosigned_by = ru.seq, ru.cosigned_by
    request = rekeyed.request_for(say(rekeyed, "signed with the new key", at=T0 + 2), ee)
    refused(KeyChanged, ee, request, peers=pins(ru, ee))
    ee.receive(request, policy=RU_EE, peers=pins(rekeyed, ee), now=T0 + 3)
    state = ee.states["ru-nmdc"]
    assert state.key == rekeyed.key.public_key
    assert state.last_seq == {"RU-EE": 2}
    assert state.cosigned_size == 2
