"""Envelopes: building, signing, the exact wire format, strict parsing that names the field, leaf data and hash."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from channel_builders import NRC, RU_EE, T0, Node, author_for, text
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.canonical import canonical_json, encode_base64, sha256_hex
from riskline.channel.envelope import (
    ENVELOPE_FIELDS,
    Attachment,
    LogHead,
    SignedEnvelope,
    new_envelope,
    sign_envelope,
)
from riskline.channel.errors import BadSignature, ForeignChannel, MalformedEnvelope
from riskline.channel.merkle import EMPTY_ROOT
from riskline.channel.messages import ContactLevel, InvalidField, MessageType
from riskline.channel.signing import Purpose

ID_A = "0123456789abcdef0123456789abcdef"

WIRE_KEYS_OF_THE_DESIGN = {
    "v", "id", "channel", "type", "schema", "seq", "thread", "in_reply_to", "sender", "recipients", "author",
    "level", "language", "created", "deadline", "body", "attachments", "sender_checkpoint", "peer_checkpoint",
    "signature",
}  # fmt: skip


@pytest.fixture
def ru() -> Node:
    return Node("ru-nmdc", "RU")


def signed_request(ru: Node, **changes: Any) -> SignedEnvelope:
    arguments: dict[str, Any] = {
        "channel": RU_EE,
        "msg_type": MessageType.REQUEST_FOR_CLARIFICATION,
        "body": {"subject": "Su-24 passes", "questions": ["Purpose?"]},
        "sender": ru.sender,
        "author": author_for("RU"),
        "level": ContactLevel.DUTY_OFFICER,
        "language": "ru",
        "seq": 1,
        "created": T0,
        "sender_checkpoint": LogHead(0, EMPTY_ROOT),
        "peer_checkpoint": None,
        "id": ID_A,
    }
    arguments.update(changes)
    return sign_envelope(new_envelope(**arguments), ru.key)


def wire_error(data: dict[str, Any]) -> str:
    with pytest.raises(InvalidField) as caught:
        SignedEnvelope.from_wire(data)
    assert caught.value.http_status == 422
    return str(caught.value)


def test_a_new_envelope_follows_the_channel_and_sets_its_deadline_from_the_policy(ru: Node) -> None:
    envelope = signed_request(ru).envelope
    assert envelope.recipients == ("EE",)
    assert envelope.thread == ID_A
    assert envelope.in_reply_to is None
    assert envelope.deadline == T0 + 172_800.0
    assert envelope.schema == 1
    assert envelope.body == {"subject": "Su-24 passes", "references": [], "questions": ["Purpose?"]}


def test_a_message_type_without_a_deadline_has_none(ru: Node) -> None:
    envelope = signed_request(ru, msg_type=MessageType.FREE_TEXT, body=text("hello")).envelope
    assert envelope.deadline is None


def test_an_explicit_deadline_span_overrides_the_policy(ru: Node) -> None:
    envelope = signed_request(ru, msg_type=MessageType.FREE_TEXT, body=text("hi"), deadline_span=600.0).envelope
    assert envelope.deadline == T0 + 600.0


def test_on_a_collective_channel_every_other_member_is_a_recipient(ru: Node) -> None:
    envelope = signed_request(ru, channel=NRC, language="en").envelope
    assert envelope.recipients == ("EE", "US")


def test_the_wire_format_has_exactly_the_members_of_the_design(ru: Node) -> None:
    wire = signed_request(ru).to_wire()
    assert set(wire) == WIRE_KEYS_OF_THE_DESIGN == set(ENVELOPE_FIELDS)
    assert wire["sender"] == {"node": "ru-nmdc", "party": "RU", "key": ru.key.public_key.to_text()}
    assert wire["sender_checkpoint"] == {"size": 0, "root": EMPTY_ROOT.hex()}
    assert wire["author"] == {"name": "duty officer RU", "role": "duty_officer"}
    assert wire["type"] == "request_for_clarification"
    assert wire["level"] == "duty_officer"


def test_the_signature_covers_the_canonical_json_without_the_signature(ru: Node) -> None:
    signed = signed_request(ru)
    wire = signed.to_wire()
    unsigned = {key: value for key, value in wire.items() if key != "signature"}
    assert signed.signing_payload() == canonical_json(unsigned)
    ru.key.public_key.verify(Purpose.ENVELOPE, canonical_json(unsigned), signed.signature)


def test_leaf_data_is_the_canonical_json_of_the_signed_envelope_and_the_hash_its_sha256(ru: Node) -> None:
    signed = signed_request(ru)
    assert signed.leaf_data() == canonical_json(signed.to_wire())
    assert signed.hash == sha256_hex(signed.leaf_data())


def test_the_wire_form_round_trips_through_json(ru: Node) -> None:
    signed = signed_request(ru)
    again = SignedEnvelope.from_wire(json.loads(json.dumps(signed.to_wire())))
    assert again == signed
    assert again.leaf_data() == signed.leaf_data()
    again.verify(ru.key.public_key)


def test_a_leaf_parses_back_to_the_same_envelope(ru: Node) -> None:
    signed = signed_request(ru)
    assert SignedEnvelope.from_leaf(signed.leaf_data()) == signed
    assert SignedEnvelope.from_leaf(signed.leaf_data(), recanonicalize=False).hash == signed.hash


def test_a_leaf_that_is_not_canonical_json_is_refused(ru: Node) -> None:
    pretty = json.dumps(signed_request(ru).to_wire(), indent=1).encode()
    with pytest.raises(MalformedEnvelope, match=r"^entry is not the canonical JSON"):
        SignedEnvelope.from_leaf(pretty)


def test_a_leaf_with_the_signature_out_of_its_canonical_place_is_refused(ru: Node) -> None:
    wire = signed_request(ru).to_wire()
    moved = (
        b'{"signature":'
        + json.dumps(wire["signature"]).encode()
        + b","
        + canonical_json({k: v for k, v in wire.items() if k != "signature"})[1:]
    )
    with pytest.raises(MalformedEnvelope, match=r"^entry is not the canonical JSON"):
        SignedEnvelope.from_leaf(moved, recanonicalize=False)


def test_another_key_s_signature_does_not_verify(ru: Node) -> None:
    signed = signed_request(ru)
    other = Node("impostor", "RU")
    forged = SignedEnvelope(signed.envelope, other.key.sign(Purpose.ENVELOPE, signed.signing_payload()))
    with pytest.raises(BadSignature) as caught:
        forged.verify(ru.key.public_key)
    assert caught.value.http_status == 401
    assert str(caught.value) == f"envelope signature does not verify with key {ru.key.public_key.fingerprint}"


def test_signing_with_a_key_other_than_the_sender_s_is_refused(ru: Node) -> None:
    envelope = signed_request(ru).envelope
    with pytest.raises(InvalidField, match=r"^sender\.key: names SHA256:"):
        sign_envelope(envelope, Node("impostor", "RU").key)


def test_a_level_the_channel_does_not_use_is_refused(ru: Node) -> None:
    with pytest.raises(InvalidField) as caught:
        signed_request(ru, level=ContactLevel.MINISTER)
    assert str(caught.value) == (
        "level: minister is not one of channel RU-EE's levels:"
        " duty_officer, military_commander, charge_d_affaires, ambassador"
    )


def test_a_language_the_channel_does_not_use_is_refused(ru: Node) -> None:
    with pytest.raises(InvalidField) as caught:
        signed_request(ru, language="fr")
    assert str(caught.value) == "language: fr is not one of channel RU-EE's languages: en, ru, et"


def test_a_sender_who_is_not_a_member_cannot_build_an_envelope() -> None:
    us = Node("us-eucom", "US")
    with pytest.raises(ForeignChannel) as caught:
        signed_request(us)
    assert str(caught.value) == "party 'US' is not a member of channel 'RU-EE'"


def test_a_reply_must_name_its_thread(ru: Node) -> None:
    with pytest.raises(InvalidField) as caught:
        signed_request(ru, in_reply_to=ID_A, id="f" * 32)
    assert str(caught.value) == "thread: a reply must name the thread of the message it answers"


def test_an_invalid_body_is_refused_before_signing(ru: Node) -> None:
    with pytest.raises(InvalidField) as caught:
        signed_request(ru, body={"subject": "x"})
    assert str(caught.value) == "body.questions: Field required"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.pop("sender"), "sender: missing"),
        (lambda w: w["sender"].pop("key"), "sender.key: missing"),
        (lambda w: w.update(colour="red"), "colour: unexpected field"),
        (lambda w: w.update(v=2), "v: envelope format 2 is not supported (this node speaks 1)"),
        (lambda w: w.update(seq="17"), "seq: must be a whole number from 1, got '17'"),
        (lambda w: w.update(seq=0), "seq: must be a whole number from 1, got 0"),
        (lambda w: w.update(seq=True), "seq: must be a whole number from 1, got True"),
        (lambda w: w.update(id="msg-1"), "id: a message id is 32 lower-case hex digits"),
        (lambda w: w.update(type="gossip"), "type: unknown message type 'gossip'"),
        (
            lambda w: w.update(schema=2),
            "schema: request_for_clarification schema 2 is not supported (this node speaks 1)",
        ),
        (lambda w: w.update(level="admiral"), "level: unknown level of contact 'admiral'"),
        (lambda w: w.update(created=float("nan")), "created: must be a finite number of seconds, got nan"),
        (lambda w: w.update(deadline=T0 - 1), f"deadline: {T0 - 1} is before the envelope was created ({T0})"),
        (lambda w: w.update(recipients=[]), "recipients: must be a non-empty list of parties, got list"),
        (lambda w: w.update(recipients=["EE", "EE"]), "recipients: a party is listed twice"),
        (
            lambda w: w["sender"].update(key="ssh-ed25519 AAAA"),
            "sender.key: a verify key starts with 'ed25519:', got 'ssh-ed25519 AAAA'",
        ),
        (
            lambda w: w.update(body={"subject": "x", "questions": []}),
            "body.questions: List should have at least 1 item after validation, not 0",
        ),
        (lambda w: w["sender_checkpoint"].update(root="AB"), "sender_checkpoint.root: must be lower-case hex"),
        (
            lambda w: w.update(peer_checkpoint={"origin": "ee-mod", "size": -1, "root": "00" * 32}),
            "peer_checkpoint.size: must be a whole number from 0, got -1",
        ),
        (lambda w: w.update(signature="AAAA"), "signature: an Ed25519 signature is 64 bytes, got 3"),
        (lambda w: w.update(signature="not base64!"), "signature: not valid base64"),
        (
            lambda w: w.update(attachments=[{"name": "plot.png", "sha256": "x", "media_type": "image/png", "size": 1}]),
            "attachments.0.sha256: must be 64 lower-case hex digits",
        ),
        (
            lambda w: w.update(attachments=[{"name": "p.png", "sha256": "0" * 64, "media_type": "png", "size": 1}]),
            "attachments.0.media_type: not a media type like 'image/png': 'png'",
        ),
    ],
)  # fmt: skip
def test_a_malformed_wire_envelope_is_refused_naming_the_field(ru: Node, change: Any, message: str) -> None:
    wire = json.loads(json.dumps(signed_request(ru).to_wire()))
    change(wire)
    assert wire_error(wire) == message


def test_a_wire_envelope_that_is_not_an_object_is_refused() -> None:
    assert wire_error([]) == "envelope: must be a JSON object, got list"  # type: ignore[arg-type]


def test_an_attachment_is_referenced_by_its_hash_and_size(ru: Node) -> None:
    plot = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    attachment = Attachment.from_bytes("plot.png", plot, "image/png")
    assert attachment.sha256 == sha256_hex(plot)
    assert attachment.size == 72
    assert attachment.matches(plot)
    assert not attachment.matches(plot[:-1] + b"\x00")
    signed = signed_request(ru, attachments=[attachment])
    assert signed.to_wire()["attachments"] == [
        {"name": "plot.png", "sha256": sha256_hex(plot), "media_type": "image/png", "size": 72}
    ]
    assert SignedEnvelope.from_wire(signed.to_wire()).envelope.attachments == (attachment,)


@settings(max_examples=60, deadline=None)
@given(words=st.text(min_size=1, max_size=40), created=st.floats(min_value=0, max_value=4e9))
def test_leaf_data_of_any_text_is_the_canonical_json_and_parses_back(words: str, created: float) -> None:
    ru = Node("ru-nmdc", "RU")
    signed = sign_envelope(
        new_envelope(
            channel=RU_EE,
            msg_type=MessageType.FREE_TEXT,
            body=text(words),
            sender=ru.sender,
            author=author_for("RU"),
            level=ContactLevel.DUTY_OFFICER,
            language="en",
            seq=1,
            created=created,
            sender_checkpoint=LogHead(0, EMPTY_ROOT),
            peer_checkpoint=None,
        ),
        ru.key,
    )
    assert signed.leaf_data() == canonical_json(signed.to_wire())
    assert SignedEnvelope.from_leaf(signed.leaf_data(), recanonicalize=False) == signed
    assert json.loads(signed.leaf_data())["signature"] == encode_base64(signed.signature)


def test_leaf_data_is_canonical_even_for_an_envelope_built_by_hand(ru: Node) -> None:
    by_hand = replace(signed_request(ru).envelope, thread='x","thread":"y')
    signed = sign_envelope(by_hand, ru.key)
    assert signed.leaf_data() == canonical_json(signed.to_wire())
