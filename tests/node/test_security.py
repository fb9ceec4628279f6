"""Every forged, unknown, replayed or misaddressed delivery is refused with its exact status and logged.

The nodes run in-process (their real ASGI app through ``httpx.ASGITransport``); the attacks are built with the
protocol's own primitives, signed where needed with the real sender's key, as a compromised relay would.
"""

from __future__ import annotations

import json
from typing import Any

from riskline.channel.canonical import canonical_json, encode_base64
from riskline.channel.checkpoint import Checkpoint, EquivocationProof, sign_checkpoint
from riskline.channel.envelope import Author, LogHead, Sender, SignedEnvelope, new_envelope, sign_envelope
from riskline.channel.merkle import MerkleTree, leaf_hash
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.protocol import prepare_delivery
from riskline.channel.receipt import Receipt
from riskline.channel.signing import Purpose, SigningKey
from riskline.node.audit import verify_node
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send
from riskline.storage import channel_store as store
from riskline.testing.nodes import InProcess
from riskline.testing.tamper import hostile

PATH = "/v1/channels/RU-EE/envelopes"


def queued_delivery(node: LocalNode, envelope_id: str, cosigned_size: int = 0) -> dict[str, Any]:
    """The delivery request the node's deliverer would send for a logged envelope."""
    with node.writing() as connection:
        entry = store.log_entry_by_envelope(connection, envelope_id)
        assert entry is not None
        head = node.head(connection)
    request = prepare_delivery(
        envelope=SignedEnvelope.from_leaf(entry.data),
        index=entry.index,
        tree=node.tree,
        checkpoint=head,
        cosigned_size=cosigned_size,
    )
    return request.to_wire()


def free_text(node: LocalNode, text: str) -> str:
    return send(node, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": text})).envelope.id


def forged(
    key: SigningKey, node_id: str, party: str, pair: InProcess, *, seq: int, tree: MerkleTree, text: str = "forged"
) -> dict[str, Any]:
    """A delivery signed by ``key`` as ``node_id``, appended to ``tree`` (a log only the forger has)."""
    policy = pair["EE"].config.channel("RU-EE")
    envelope = new_envelope(
        channel=policy,
        msg_type=MessageType.FREE_TEXT,
        body={"text": text},
        sender=Sender(node_id, party, key.public_key),
        author=Author("Impostor", "duty_officer"),
        level=ContactLevel.DUTY_OFFICER,
        language="en",
        seq=seq,
        created=pair.clock(),
        sender_checkpoint=LogHead(tree.size, tree.root()),
        peer_checkpoint=None,
    )
    signed = sign_envelope(envelope, key)
    index = tree.append(signed.leaf_data())
    head = sign_checkpoint(key, Checkpoint(node_id, tree.size, tree.root(), pair.clock()))
    return prepare_delivery(envelope=signed, index=index, tree=tree, checkpoint=head, cosigned_size=0).to_wire()


def security_events(node: LocalNode) -> list[store.SecurityEventRow]:
    with node.database.read() as connection:
        return store.list_security_events(connection)


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def test_a_delivery_is_logged_by_the_receiver_and_its_receipt_verifies_at_the_sender(pair: InProcess) -> None:
    envelope_id = free_text(pair["RU"], "hello")
    report = pair.deliver("RU")
    assert (report.delivered, report.duplicates, report.failed_permanent) == (1, 0, 0)
    with pair["EE"].database.read() as connection:
        received = store.message(connection, envelope_id)
    with pair["RU"].database.read() as connection:
        receipt = store.receipt(connection, envelope_id, "out", "ee-mod")
        rows = store.outbox_rows(connection, envelope_id)
    assert received is not None
    assert (received.direction, received.summary) == ("in", "hello")
    assert receipt is not None
    assert Receipt.from_wire(json.loads(receipt)).log_index == 0
    assert [(row.peer, row.state) for row in rows] == [("ee-mod", "delivered")]
    assert verify_node(pair["RU"]).ok
    assert verify_node(pair["EE"]).ok


def test_a_forged_signature_is_refused_with_401_and_logged(pair: InProcess) -> None:
    body = queued_delivery(pair["RU"], free_text(pair["RU"], "original words"))
    body["envelope"]["body"]["text"] = "altered words"
    response = pair.post("EE", PATH, body)
    assert response.status_code == 401
    assert error_of(response)["type"] == "BadSignature"
    events = security_events(pair["EE"])
    assert [(e.kind, e.status, e.peer, e.channel) for e in events] == [("BadSignature", 401, "ru-nmdc", "RU-EE")]


def test_an_unknown_key_is_refused_with_403_and_logged(pair: InProcess) -> None:
    rogue = SigningKey.generate()
    response = pair.post("EE", PATH, forged(rogue, "xx-rogue", "RU", pair, seq=1, tree=MerkleTree()))
    assert response.status_code == 403
    assert error_of(response)["type"] == "UnknownKey"
    assert [(e.kind, e.status, e.peer) for e in security_events(pair["EE"])] == [("UnknownKey", 403, "xx-rogue")]


def test_a_pinned_node_name_with_another_key_is_refused_as_key_changed(pair: InProcess) -> None:
    rogue = SigningKey.generate()
    response = pair.post("EE", PATH, forged(rogue, "ru-nmdc", "RU", pair, seq=1, tree=MerkleTree()))
    assert response.status_code == 403
    assert error_of(response)["type"] == "KeyChanged"
    assert [e.kind for e in security_events(pair["EE"])] == ["KeyChanged"]


def test_a_replayed_sequence_number_under_a_new_id_is_refused_with_409_and_logged(pair: InProcess) -> None:
    first = free_text(pair["RU"], "first")
    pair.deliver("RU")
    with pair["RU"].database.read() as connection:
        entry = store.log_entry_by_envelope(connection, first)
    assert entry is not None
    tree = MerkleTree()
    replay = forged(pair["RU"].identity, "ru-nmdc", "RU", pair, seq=1, tree=tree, text="first, again")
    response = pair.post("EE", PATH, replay)
    assert response.status_code == 409
    assert error_of(response)["type"] == "ReplayedEnvelope"
    assert [(e.kind, e.status, e.peer) for e in security_events(pair["EE"])] == [("ReplayedEnvelope", 409, "ru-nmdc")]


def test_the_same_id_with_other_content_is_refused_as_a_replay(pair: InProcess) -> None:
    envelope_id = free_text(pair["RU"], "first")
    pair.deliver("RU")
    body = queued_delivery(pair["RU"], envelope_id)
    body["envelope"]["body"]["text"] = "rewritten"
    payload = {k: v for k, v in body["envelope"].items() if k != "signature"}
    body["envelope"]["signature"] = encode_base64(pair["RU"].identity.sign(Purpose.ENVELOPE, canonical_json(payload)))
    response = pair.post("EE", PATH, body)
    assert response.status_code == 409
    assert error_of(response)["type"] == "ReplayedEnvelope"


def test_the_very_same_delivery_twice_is_answered_with_the_original_receipt_marked_duplicate(pair: InProcess) -> None:
    body = queued_delivery(pair["RU"], free_text(pair["RU"], "once"))
    first = pair.post("EE", PATH, body)
    second = pair.post("EE", PATH, body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert first.json()["log_index"] == second.json()["log_index"] == 0
    assert pair["EE"].tree.size == 1
    assert security_events(pair["EE"]) == []


def test_an_envelope_posted_to_another_channel_is_refused_with_400_and_logged(pair: InProcess) -> None:
    body = queued_delivery(pair["RU"], free_text(pair["RU"], "misaddressed"))
    response = pair.post("EE", "/v1/channels/NRC/envelopes", body)
    assert response.status_code == 400
    assert error_of(response)["type"] == "ForeignChannel"
    assert [(e.kind, e.status, e.channel) for e in security_events(pair["EE"])] == [("ForeignChannel", 400, "NRC")]


def test_seq_three_before_two_is_out_of_order_then_accepted_in_order(pair: InProcess) -> None:
    ids = [free_text(pair["RU"], f"message {n}") for n in (1, 2, 3)]
    assert pair.post("EE", PATH, queued_delivery(pair["RU"], ids[0])).status_code == 200
    head_size = pair["RU"].tree.size
    early = pair.post("EE", PATH, queued_delivery(pair["RU"], ids[2], cosigned_size=head_size))
    assert early.status_code == 409
    assert error_of(early) == {
        "type": "OutOfOrder",
        "message": "seq 3 on RU-EE skips ahead: expected 2",
        "field": None,
        "expected": 2,
    }
    report = pair.deliver("RU")
    assert (report.delivered, report.duplicates) == (3, 1)
    with pair["EE"].database.read() as connection:
        seqs = [m.seq for m in store.list_messages(connection, direction="in")]
    assert seqs == [1, 2, 3]
    assert verify_node(pair["EE"]).ok
    assert verify_node(pair["RU"]).ok


def test_a_malformed_delivery_is_refused_with_422_naming_the_field(pair: InProcess) -> None:
    body = queued_delivery(pair["RU"], free_text(pair["RU"], "x"))
    body["envelope"]["sender"]["key"] = "ed25519:not-base64"
    response = pair.post("EE", PATH, body)
    assert response.status_code == 422
    assert error_of(response)["type"] == "InvalidField"
    assert error_of(response)["field"] == "envelope.sender.key"
    not_json = pair.post("EE", PATH, None, raw=b"{not json")
    assert not_json.status_code == 422
    assert [e.status for e in security_events(pair["EE"])] == [422, 422]


def test_an_equivocating_peer_is_refused_and_reported_with_a_portable_proof(pair: InProcess) -> None:
    free_text(pair["RU"], "the true history")
    pair.deliver("RU")
    cosigned = pair["RU"].tree.size
    fork = MerkleTree()
    for n in range(cosigned - 1):
        fork.append(f"rewritten entry {n}".encode())
    fork.append(b"another past")
    assert fork.size == cosigned
    policy = pair["EE"].config.channel("RU-EE")
    ru = pair["RU"]
    envelope = new_envelope(
        channel=policy,
        msg_type=MessageType.FREE_TEXT,
        body={"text": "a second history"},
        sender=ru.sender,
        author=Author("Lt Cdr A. Ivanov", "duty_officer"),
        level=ContactLevel.DUTY_OFFICER,
        language="en",
        seq=2,
        created=pair.clock(),
        sender_checkpoint=LogHead(fork.size - 1, fork.root(fork.size - 1)),
        peer_checkpoint=None,
    )
    # The forged envelope sits at the last index of a fork of the same size as the cosigned head.
    fork2 = MerkleTree()
    for n in range(cosigned - 1):
        fork2.append(f"rewritten entry {n}".encode())
    signed = sign_envelope(envelope, ru.identity)
    fork2.append(signed.leaf_data())
    head = sign_checkpoint(ru.identity, Checkpoint("ru-nmdc", fork2.size, fork2.root(), pair.clock()))
    request = prepare_delivery(
        envelope=signed, index=fork2.size - 1, tree=fork2, checkpoint=head, cosigned_size=cosigned
    )
    response = pair.post("EE", PATH, request.to_wire())
    assert response.status_code == 409
    assert error_of(response)["type"] == "EquivocationDetected"
    events = security_events(pair["EE"])
    assert [e.kind for e in events] == ["EquivocationDetected"]
    proof = EquivocationProof.from_dict(events[0].detail["equivocation_proof"])
    proof.verify()
    assert (proof.origin, proof.size, proof.signer) == ("ru-nmdc", cosigned, ru.key)
    with pair["EE"].database.read() as connection:
        assert [e.kind for e in store.list_node_events(connection)] == ["equivocation"]


def test_an_edited_log_row_is_caught_by_log_verify_naming_the_entry(pair: InProcess) -> None:
    for n in range(4):
        free_text(pair["RU"], f"entry number {n}")
    pair.deliver("RU")
    database = pair["EE"].paths.database
    with hostile(database) as connection:
        connection.execute("UPDATE log_entries SET data = replace(data, 'number 2', 'number 9') WHERE idx = 2")
    result = verify_node(pair["EE"])
    assert not result.ok
    assert result.first_failing_entry == 2
    assert str(result.problems[0]) == "entries[2]: stored data does not hash to the stored leaf hash"


def test_an_edited_row_with_a_recomputed_leaf_hash_fails_its_signature(pair: InProcess) -> None:
    for n in range(3):
        free_text(pair["RU"], f"entry number {n}")
    database = pair["RU"].paths.database
    with hostile(database) as connection:
        data = connection.execute("SELECT data FROM log_entries WHERE idx = 1").fetchone()[0]
        edited = bytes(data).replace(b"number 1", b"number 7")
        connection.execute("UPDATE log_entries SET data = ?, leaf_hash = ? WHERE idx = 1", (edited, leaf_hash(edited)))
    result = verify_node(pair["RU"])
    assert result.first_failing_entry == 1
    assert "signature does not verify" in str(result.problems[0])


def test_a_deleted_log_row_is_caught_by_log_verify_naming_the_entry(pair: InProcess) -> None:
    for n in range(4):
        free_text(pair["RU"], f"entry {n}")
    database = pair["RU"].paths.database
    with hostile(database) as connection:
        connection.execute("DELETE FROM outbox WHERE seq = 2")
        connection.execute("DELETE FROM messages WHERE log_index = 1")
        connection.execute("DELETE FROM log_entries WHERE idx = 1")
    result = verify_node(pair["RU"])
    assert result.first_failing_entry == 1
    assert str(result.problems[0]) == "entries[1]: entry 1 is missing (the next stored entry is 2)"
