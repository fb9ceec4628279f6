"""Receipts: what the receiver signs, how the sender checks it, and every way a forged one fails."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import rfc8785
from channel_builders import RU_EE, T0, Node, deliver, text
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.canonical import sha256_hex
from riskline.channel.checkpoint import cosign
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import BadSignature, InvalidProof, KeyChanged, MalformedEnvelope
from riskline.channel.messages import InvalidField, MessageType
from riskline.channel.receipt import RECEIPT_FIELDS, Receipt, make_receipt, mark_duplicate, verify_receipt
from riskline.channel.signing import Purpose


@pytest.fixture
def exchange() -> dict[str, Any]:
    """RU sends three messages to EE and EE answers one; returns the nodes, last envelope and its receipt."""
    ru, ee = Node("ru-nmdc", "RU"), Node("ee-mod", "EE")
    for number in range(3):
        signed = ru.compose(RU_EE, MessageType.FREE_TEXT, text(f"message {number}"), created=T0 + number, to=ee)
        receipt = deliver(ru, ee, signed, policy=RU_EE, now=T0 + number + 0.5)
    reply = ee.compose(RU_EE, MessageType.FREE_TEXT, text("received"), created=T0 + 10, to=ru)
    deliver(ee, ru, reply, policy=RU_EE, now=T0 + 10.5)
    request = ru.request_for(signed, ee)
    return {"ru": ru, "ee": ee, "signed": signed, "receipt": receipt, "sender_head": request.checkpoint.checkpoint}


def check(exchange: dict[str, Any], receipt: Receipt, **changes: Any) -> None:
    arguments = {
        "envelope": exchange["signed"],
        "receiver_key": exchange["ee"].key.public_key,
        "sender_checkpoint": exchange["receipt"].cosignature.checkpoint,
    }
    arguments.update(changes)
    verify_receipt(receipt, **arguments)


def resign(exchange: dict[str, Any], receipt: Receipt, **changes: Any) -> Receipt:
    """The receipt with ``changes``, validly signed again by the receiver: only the proofs can catch it."""
    unsigned = replace(receipt, signature=b"", **changes)
    return replace(unsigned, signature=exchange["ee"].key.sign(Purpose.RECEIPT, unsigned.payload()))


def test_a_receipt_names_the_envelope_its_place_in_the_receiver_s_log_and_cosigns_the_sender(
    exchange: dict[str, Any],
) -> None:
    receipt: Receipt = exchange["receipt"]
    signed = exchange["signed"]
    assert receipt.envelope_id == signed.id
    assert receipt.envelope_hash == signed.hash
    assert receipt.channel == "RU-EE"
    assert receipt.receiver.node == "ee-mod"
    assert receipt.received == T0 + 2.5
    assert receipt.log_index == 2
    assert receipt.receiver_checkpoint.checkpoint.size == 3
    assert receipt.cosignature.checkpoint.origin == "ru-nmdc"
    assert receipt.cosignature.checkpoint.size == 3
    assert receipt.duplicate is False
    check(exchange, receipt)


def test_the_wire_form_has_exactly_the_members_of_the_design_and_round_trips(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    wire = json.loads(json.dumps(receipt.to_wire()))
    assert set(wire) == set(RECEIPT_FIELDS)
    assert Receipt.from_wire(wire) == receipt


def test_a_receipt_by_another_key_than_the_pinned_one_is_refused(exchange: dict[str, Any]) -> None:
    impostor = Node("impostor", "EE")
    with pytest.raises(KeyChanged) as caught:
        check(exchange, exchange["receipt"], receiver_key=impostor.key.public_key)
    assert caught.value.http_status == 403
    assert str(caught.value) == (
        f"receipt names receiver key {exchange['ee'].key.public_key.fingerprint},"
        f" the pinned key is {impostor.key.public_key.fingerprint}"
    )


def test_a_receipt_with_a_flipped_signature_is_refused(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    broken = replace(receipt, signature=bytes([receipt.signature[0] ^ 1]) + receipt.signature[1:])
    with pytest.raises(BadSignature) as caught:
        check(exchange, broken)
    fingerprint = exchange["ee"].key.public_key.fingerprint
    assert str(caught.value) == f"receipt signature does not verify with key {fingerprint}"


def test_a_receipt_for_another_envelope_is_refused(exchange: dict[str, Any]) -> None:
    ru: Node = exchange["ru"]
    other = ru.compose(RU_EE, MessageType.FREE_TEXT, text("another"), created=T0 + 20, log=False)
    with pytest.raises(InvalidProof) as caught:
        check(exchange, exchange["receipt"], envelope=other)
    assert str(caught.value) == f"receipt is for envelope {exchange['signed'].id}, not {other.id}"


def test_a_receipt_whose_inclusion_proof_does_not_lead_to_the_root_is_refused(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    altered = resign(exchange, receipt, inclusion_proof=(bytes(32),) * len(receipt.inclusion_proof))
    with pytest.raises(InvalidProof) as caught:
        check(exchange, altered)
    assert caught.value.http_status == 409
    assert str(caught.value) == "inclusion proof of leaf 2 does not lead to the root of size 3"


def test_a_receipt_that_cosigns_another_checkpoint_is_refused(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    older = exchange["ru"].heads[0].checkpoint
    with pytest.raises(InvalidProof) as caught:
        check(exchange, receipt, sender_checkpoint=older)
    assert str(caught.value) == ("receipt cosigns 'ru-nmdc' at size 3, not the sender's checkpoint 'ru-nmdc' at size 1")


def test_a_cosignature_by_someone_else_is_refused(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    impostor = Node("impostor", "EE")
    foreign = cosign(impostor.key, receipt.cosignature.checkpoint, T0)
    with pytest.raises(KeyChanged, match=r"^cosignature of 'ru-nmdc' is by SHA256:"):
        check(exchange, resign(exchange, receipt, cosignature=foreign))


def test_a_receiver_checkpoint_signed_by_someone_else_is_refused(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    impostor = Node("ee-mod", "EE")
    impostor.key = Node("impostor", "EE").key
    head = impostor.head(T0)
    with pytest.raises(KeyChanged, match=r"^checkpoint of 'ee-mod' is signed by SHA256:"):
        check(exchange, resign(exchange, receipt, receiver_checkpoint=head))


def test_a_duplicate_receipt_is_the_original_marked_and_signed_again(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    duplicate = mark_duplicate(receipt, exchange["ee"].key)
    assert duplicate.duplicate is True
    assert replace(duplicate, duplicate=False, signature=receipt.signature) == receipt
    check(exchange, duplicate)


def test_a_receipt_cannot_be_made_with_a_key_other_than_the_receiver_s(exchange: dict[str, Any]) -> None:
    receipt: Receipt = exchange["receipt"]
    with pytest.raises(InvalidField, match=r"^receiver\.key: names SHA256:"):
        make_receipt(
            envelope=exchange["signed"],
            receiver=receipt.receiver,
            received=T0,
            log_index=2,
            receiver_checkpoint=receipt.receiver_checkpoint,
            inclusion_proof=receipt.inclusion_proof,
            cosignature=receipt.cosignature,
            key=Node("impostor", "EE").key,
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.pop("cosignature"), "cosignature: missing"),
        (lambda w: w.update(extra=1), "extra: unexpected field"),
        (lambda w: w.update(v=3), "v: receipt format 3 is not supported (this node speaks 1)"),
        (lambda w: w.update(envelope_hash="xyz"), "envelope_hash: must be 64 lower-case hex digits"),
        (lambda w: w.update(duplicate="no"), "duplicate: must be true or false"),
        (lambda w: w.update(log_index=-1), "log_index: must be a whole number from 0, got -1"),
        (lambda w: w.update(inclusion_proof="00"), "inclusion_proof: must be a list of hex hashes, got '00'"),
        (lambda w: w.update(inclusion_proof=["00"]), "inclusion_proof.0: must be 32 bytes, got 1"),
        (
            lambda w: w["receiver"].update(key="ed25519:AA=="),
            "receiver.key: verify key 'ed25519:AA==' holds 1 bytes, an Ed25519 key has 32",
        ),
        (lambda w: w["receiver_checkpoint"].pop("signer"), "receiver_checkpoint: signed checkpoint lacks signer"),
    ],
)  # fmt: skip
def test_a_malformed_wire_receipt_is_refused_naming_the_field(
    exchange: dict[str, Any], change: Any, message: str
) -> None:
    wire = json.loads(json.dumps(exchange["receipt"].to_wire()))
    change(wire)
    with pytest.raises(InvalidField) as caught:
        Receipt.from_wire(wire)
    assert str(caught.value) == message


def test_every_receipt_of_the_exchange_cosigns_a_head_the_sender_really_signed(exchange: dict[str, Any]) -> None:
    ru: Node = exchange["ru"]
    ee: Node = exchange["ee"]
    heads = {scp.checkpoint for scp in ru.heads}
    assert len(ru.receipts_received) == 3
    for receipt in ru.receipts_received:
        assert receipt.cosignature.checkpoint in heads
        leaf = next(leaf for leaf in ru.leaves if sha256_hex(leaf) == receipt.envelope_hash)
        verify_receipt(
            receipt,
            envelope=SignedEnvelope.from_leaf(leaf),
            receiver_key=ee.key.public_key,
            sender_checkpoint=receipt.cosignature.checkpoint,
        )


_ONE_RECEIPT: list[Receipt] = []


def a_receipt() -> Receipt:
    """One real receipt of a real exchange (built once: hypothesis varies it)."""
    if not _ONE_RECEIPT:
        ru, ee = Node("ru-nmdc", "RU"), Node("ee-mod", "EE")
        signed = ru.compose(RU_EE, MessageType.FREE_TEXT, text("the original"), created=T0, to=ee)
        _ONE_RECEIPT.append(deliver(ru, ee, signed, policy=RU_EE, now=T0 + 0.5))
    return _ONE_RECEIPT[0]


@settings(max_examples=300, deadline=None)
@given(
    channel=st.text(min_size=1, max_size=40),
    received=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=4e9, allow_nan=False),
        st.integers(-(2**53) + 1, 2**53 - 1),
    ),
    log_index=st.one_of(st.integers(0, 2**53 - 1), st.integers(2**53, 2**64)),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=40).map(tuple),
    duplicate=st.booleans(),
    node=st.text(min_size=1, max_size=30),
    v=st.integers(1, 3),
)
def test_the_hand_assembled_receipt_bytes_are_exactly_those_of_the_rfc8785_package(
    channel: str, received: float, log_index: int, proof: tuple[bytes, ...], duplicate: bool, node: str, v: int
) -> None:
    base = a_receipt()
    receipt = replace(
        base,
        channel=channel,
        received=received,
        log_index=log_index,
        inclusion_proof=proof,
        duplicate=duplicate,
        receiver=replace(base.receiver, node=node),
        v=v,
    )
    try:
        expected_payload = rfc8785.dumps(receipt.unsigned_wire())
    except rfc8785.CanonicalizationError:
        with pytest.raises(MalformedEnvelope):
            receipt.payload()
        return
    assert receipt.payload() == expected_payload
    assert receipt.canonical() == rfc8785.dumps(receipt.to_wire())
