"""Delivery batches: several envelopes of one channel in one request and one transaction, receipted one by one.

A batch is checked envelope by envelope, in order. The first refused envelope stops it: the ones before it are
logged and receipted (HTTP 200, with the refusal and its index), it and the ones after it are not taken. A
batch whose first envelope is refused is refused whole, with that envelope's status (and ``index`` 0).

The nodes run in-process (their real ASGI app through ``httpx.ASGITransport``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import rfc8785

from riskline.channel.canonical import canonical_json, encode_base64
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.messages import MessageType
from riskline.channel.protocol import MAX_BATCH, DeliveryBatch, prepare_batch
from riskline.channel.receipt import Receipt, SignatureMemo, verify_receipt
from riskline.channel.sending import RetryPolicy
from riskline.channel.signing import Purpose
from riskline.node.audit import verify_node
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send, send_many
from riskline.storage import channel_store as store
from riskline.testing.nodes import InProcess

PATH = "/v1/channels/RU-EE/batches"


def queue(node: LocalNode, count: int, label: str = "message") -> list[str]:
    outgoing = [
        Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{label} {n}"}) for n in range(count)
    ]
    return [sent.envelope.id for sent in send_many(node, outgoing)]


def batch_of(node: LocalNode, envelope_ids: list[str], cosigned_size: int = 0) -> DeliveryBatch:
    """The batch the node's deliverer would send for these logged envelopes, in this order."""
    with node.writing() as connection:
        head = node.head(connection)
        entries = store.log_entries_by_envelopes(connection, envelope_ids)
    envelopes = [(SignedEnvelope.from_leaf(entries[i].data), entries[i].index) for i in envelope_ids]
    return prepare_batch(envelopes=envelopes, tree=node.tree, checkpoint=head, cosigned_size=cosigned_size)


def received_texts(node: LocalNode) -> list[str]:
    with node.database.read() as connection:
        return [m.summary for m in store.list_messages(connection, direction="in")]


def security_kinds(node: LocalNode) -> list[tuple[str, int, str | None]]:
    with node.database.read() as connection:
        return [(e.kind, e.status, e.envelope_id) for e in store.list_security_events(connection)]


def forge_text(item: dict[str, Any], text: str) -> None:
    """Change an envelope's text in a wire batch item, leaving its (now wrong) signature."""
    item["envelope"]["body"]["text"] = text


def test_a_batch_is_logged_in_order_and_each_envelope_gets_a_receipt_that_verifies(pair: InProcess) -> None:
    ids = queue(pair["RU"], 5)
    batch = batch_of(pair["RU"], ids)
    response = pair.post("EE", PATH, batch.to_wire())
    assert response.status_code == 200
    answer = response.json()
    assert answer["error"] is None
    receipts = [Receipt.from_wire(wire) for wire in answer["receipts"]]
    assert [r.envelope_id for r in receipts] == ids
    assert [r.log_index for r in receipts] == [0, 1, 2, 3, 4]
    assert len({r.receiver_checkpoint for r in receipts}) == 1
    assert len({r.cosignature for r in receipts}) == 1
    memo = SignatureMemo()
    for item, receipt in zip(batch.items, receipts, strict=True):
        verify_receipt(
            receipt,
            envelope=item.envelope,
            receiver_key=pair["EE"].key,
            sender_checkpoint=batch.checkpoint.checkpoint,
            memo=memo,
        )
    assert len(memo) == 1 + 1 + 5  # one head, one cosignature (shared), five receipt signatures
    assert received_texts(pair["EE"]) == [f"message {n}" for n in range(5)]
    assert security_kinds(pair["EE"]) == []


def test_the_receipts_a_node_signs_are_exactly_rfc_8785(pair: InProcess) -> None:
    ids = queue(pair["RU"], 3)
    response = pair.post("EE", PATH, batch_of(pair["RU"], ids).to_wire())
    for wire in response.json()["receipts"]:
        receipt = Receipt.from_wire(wire)
        unsigned = {key: value for key, value in wire.items() if key != "signature"}
        assert receipt.payload() == rfc8785.dumps(unsigned)
        assert receipt.canonical() == rfc8785.dumps(wire)
    with pair["EE"].database.read() as connection:
        stored = [data for _, direction, _, data in store.all_receipts(connection) if direction == "in"]
    assert [data.encode() for data in stored] == [rfc8785.dumps(json.loads(data)) for data in stored]


def test_the_compact_request_body_is_the_batch_itself(pair: InProcess) -> None:
    batch = batch_of(pair["RU"], queue(pair["RU"], 4), cosigned_size=0)
    assert json.loads(batch.wire_bytes()) == batch.to_wire()
    assert DeliveryBatch.from_wire(json.loads(batch.wire_bytes())) == batch


def test_the_same_batch_twice_is_answered_with_the_original_receipts_marked_duplicate(pair: InProcess) -> None:
    body = batch_of(pair["RU"], queue(pair["RU"], 3)).to_wire()
    first = pair.post("EE", PATH, body).json()["receipts"]
    again = pair.post("EE", PATH, body).json()["receipts"]
    assert [r["duplicate"] for r in first] == [False] * 3
    assert [r["duplicate"] for r in again] == [True] * 3
    assert [r["log_index"] for r in again] == [r["log_index"] for r in first]
    assert pair["EE"].tree.size == 3
    assert security_kinds(pair["EE"]) == []


def test_an_envelope_repeated_inside_a_batch_is_logged_once_and_its_repeat_is_a_duplicate(pair: InProcess) -> None:
    ids = queue(pair["RU"], 2)
    batch = batch_of(pair["RU"], [ids[0], ids[0], ids[1]])
    answer = pair.post("EE", PATH, batch.to_wire()).json()
    assert answer["error"] is None
    assert [(r["envelope_id"], r["log_index"], r["duplicate"]) for r in answer["receipts"]] == [
        (ids[0], 0, False),
        (ids[0], 0, True),
        (ids[1], 1, False),
    ]
    assert received_texts(pair["EE"]) == ["message 0", "message 1"]


def test_a_replay_inside_a_batch_is_refused_with_its_index_after_the_envelopes_before_it_are_taken(
    pair: InProcess,
) -> None:
    ids = queue(pair["RU"], 3)
    wire = batch_of(pair["RU"], ids).to_wire()
    replay = json.loads(json.dumps(wire["items"][0]))
    forge_text(replay, "the same id, other words")
    payload = {key: value for key, value in replay["envelope"].items() if key != "signature"}
    replay["envelope"]["signature"] = encode_base64(pair["RU"].identity.sign(Purpose.ENVELOPE, canonical_json(payload)))
    wire["items"].insert(1, replay)
    response = pair.post("EE", PATH, wire)
    assert response.status_code == 200
    answer = response.json()
    assert [r["envelope_id"] for r in answer["receipts"]] == [ids[0]]
    assert (answer["error"]["type"], answer["error"]["index"]) == ("ReplayedEnvelope", 1)
    assert received_texts(pair["EE"]) == ["message 0"]
    assert security_kinds(pair["EE"]) == [("ReplayedEnvelope", 409, ids[0])]


def test_a_forged_envelope_in_the_middle_stops_the_batch_there_and_is_logged(pair: InProcess) -> None:
    ids = queue(pair["RU"], 4)
    wire = batch_of(pair["RU"], ids).to_wire()
    forge_text(wire["items"][2], "altered words")
    response = pair.post("EE", PATH, wire)
    assert response.status_code == 200
    answer = response.json()
    assert [r["envelope_id"] for r in answer["receipts"]] == ids[:2]
    assert answer["error"] == {
        "type": "BadSignature",
        "message": f"envelope signature does not verify with key {pair['RU'].key.fingerprint}",
        "field": None,
        "index": 2,
    }
    assert received_texts(pair["EE"]) == ["message 0", "message 1"]
    assert security_kinds(pair["EE"]) == [("BadSignature", 401, ids[2])]


def test_a_batch_whose_first_envelope_is_refused_is_refused_whole_with_its_status(pair: InProcess) -> None:
    ids = queue(pair["RU"], 3)
    wire = batch_of(pair["RU"], ids).to_wire()
    forge_text(wire["items"][0], "altered words")
    response = pair.post("EE", PATH, wire)
    assert response.status_code == 401
    assert (response.json()["error"]["type"], response.json()["error"]["index"]) == ("BadSignature", 0)
    assert pair["EE"].tree.size == 0
    assert security_kinds(pair["EE"]) == [("BadSignature", 401, ids[0])]


def test_a_gap_inside_a_batch_is_out_of_order_at_its_index(pair: InProcess) -> None:
    ids = queue(pair["RU"], 3)
    response = pair.post("EE", PATH, batch_of(pair["RU"], [ids[0], ids[2]]).to_wire())
    answer = response.json()
    assert [r["envelope_id"] for r in answer["receipts"]] == [ids[0]]
    assert {key: answer["error"][key] for key in ("type", "expected", "index")} == {
        "type": "OutOfOrder",
        "expected": 2,
        "index": 1,
    }


def test_an_envelope_of_another_channel_in_a_batch_is_refused_at_its_index(pair: InProcess) -> None:
    ids = queue(pair["RU"], 2)
    wire = batch_of(pair["RU"], ids).to_wire()
    wire["items"][1]["envelope"]["channel"] = "NRC"
    answer = pair.post("EE", PATH, wire).json()
    assert [r["envelope_id"] for r in answer["receipts"]] == [ids[0]]
    assert (answer["error"]["type"], answer["error"]["index"]) == ("ForeignChannel", 1)
    assert answer["error"]["message"] == "envelope is for channel 'NRC' but was posted to 'RU-EE'"


def test_a_batch_is_one_senders_and_bounded_or_refused_whole_naming_the_field(pair: InProcess) -> None:
    ids = queue(pair["RU"], 2)
    wire = batch_of(pair["RU"], ids).to_wire()
    wire["items"][1]["envelope"]["sender"]["node"] = "us-eucom"
    mixed = pair.post("EE", PATH, wire)
    assert mixed.status_code == 422
    assert mixed.json()["error"]["field"] == "items.1.envelope.sender.node"
    wire = batch_of(pair["RU"], ids).to_wire()
    wire["items"] = wire["items"] * (MAX_BATCH // 2 + 1)
    too_many = pair.post("EE", PATH, wire)
    assert too_many.status_code == 422
    assert (too_many.json()["error"]["type"], too_many.json()["error"]["field"]) == ("InvalidField", "items")
    limit = f"items: holds {MAX_BATCH + 2} envelopes, at most {MAX_BATCH} go in one batch"
    assert too_many.json()["error"]["message"] == limit
    assert pair["EE"].tree.size == 0


def test_a_queue_longer_than_a_batch_is_delivered_in_order_in_several_batches(pair: InProcess) -> None:
    queue(pair["RU"], 10)
    report = pair.deliver("RU", RetryPolicy(batch=3, batches=2))
    assert (report.delivered, report.duplicates, report.failed_permanent) == (10, 0, 0)
    assert received_texts(pair["EE"]) == [f"message {n}" for n in range(10)]
    with pair["RU"].database.read() as connection:
        assert store.outbox_counts(connection) == {"delivered": 10}
        cosigned = store.peer_state_of(connection, "ee-mod").cosigned_size
    assert cosigned == pair["RU"].tree.size
    assert verify_node(pair["RU"]).ok
    assert verify_node(pair["EE"]).ok


def test_a_refusal_inside_a_batch_fails_that_row_and_the_later_ones_wait_behind_it(pair: InProcess) -> None:
    ee = pair["EE"]
    narrowed = replace(ee.config.channel("RU-EE"), languages=("en", "et"))
    ee.save_config(replace(ee.config, channels=(narrowed,)))  # EE no longer takes Russian on RU-EE
    ids = [
        send(
            pair["RU"],
            Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"in {language}"}, language=language),
        ).envelope.id
        for language in ("en", "en", "ru", "en")
    ]
    report = pair.deliver("RU")
    assert (report.delivered, report.failed_permanent) == (2, 1)
    with pair["RU"].database.read() as connection:
        states = [row.state for row in sorted(store.outbox_rows(connection), key=lambda row: row.seq)]
        events = [event.message for event in store.list_node_events(connection)]
    assert states == ["delivered", "delivered", "failed-permanent", "pending"]
    assert events == [
        "RU-EE seq 3 to ee-mod failed permanently: InvalidField: language: 'ru' is not a language of channel 'RU-EE'"
    ]
    assert received_texts(ee) == ["in en", "in en"]
    assert security_kinds(ee) == [("InvalidField", 422, ids[2])]
    again = pair.deliver("RU")
    assert (again.delivered, again.failed_permanent) == (0, 0)


class AlteredReceipt(httpx.AsyncBaseTransport):
    """Answers batches as the peer does, but changes the time in one receipt of the first answer (as a
    compromised relay would), so that its signature no longer holds."""

    def __init__(self, inner: httpx.AsyncBaseTransport, position: int) -> None:
        self.inner = inner
        self.position = position
        self.altered = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.altered or not request.url.path.endswith("/batches"):
            return response
        answer = json.loads(await response.aread())
        answer["receipts"][self.position]["received"] += 1.0
        self.altered = True
        return httpx.Response(200, json=answer)


def test_a_receipt_that_does_not_verify_keeps_its_row_queued_and_is_logged(pair: InProcess) -> None:
    ids = queue(pair["RU"], 6)
    report = pair.deliver("RU", RetryPolicy(batch=2, batches=3), wrap=lambda inner: AlteredReceipt(inner, 1))
    assert (report.delivered, report.retry_later) == (1, 1)
    with pair["RU"].database.read() as connection:
        states = {row.envelope_id: row.state for row in store.outbox_rows(connection)}
        events = store.list_security_events(connection)
    assert [states[i] for i in ids] == ["delivered"] + ["pending"] * 5
    assert [(e.kind, e.envelope_id) for e in events] == [("BadSignature", ids[1])]
    assert events[0].message.startswith("receipt from ee-mod does not verify: receipt signature does not verify")
    pair.clock.advance(60.0)
    again = pair.deliver("RU")
    assert (again.delivered, again.duplicates, again.failed_permanent) == (5, 3, 0)  # 2, 3: sent while 1 was checked
    assert received_texts(pair["EE"]) == [f"message {n}" for n in range(6)]
    assert verify_node(pair["RU"]).ok
    assert verify_node(pair["EE"]).ok
