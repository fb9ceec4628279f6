"""Two (and three) real node processes on loopback: send, receive, receipts, replies, link tests, escalation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskline.channel.messages import MessageType
from riskline.channel.receipt import Receipt
from riskline.node import views
from riskline.node.audit import verify_node
from riskline.node.messaging import Outgoing, send
from riskline.storage import channel_store as store
from riskline.testing.nodes import NodeProcess, TwoNodeHarness, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodeHarness]:
    with TwoNodeHarness(tmp_path_factory.mktemp("e2e")) as running:
        yield running


def delivered(process: NodeProcess, envelope_id: str) -> bool:
    with process.open() as node, node.database.read() as connection:
        rows = store.outbox_rows(connection, envelope_id)
    return bool(rows) and all(row.state == "delivered" for row in rows)


def message(process: NodeProcess, envelope_id: str) -> store.MessageRow | None:
    with process.open() as node, node.database.read() as connection:
        return store.message(connection, envelope_id)


def test_a_request_is_delivered_receipted_and_answered_by_a_clarification(harness: TwoNodeHarness) -> None:
    with harness["RU"].open() as ru:
        request = send(
            ru,
            Outgoing(
                type=MessageType.REQUEST_FOR_CLARIFICATION,
                channel="RU-EE",
                body={"subject": "Su-27 pass", "questions": ["What was the purpose of the flight?"]},
            ),
        )
    request_id = request.envelope.id
    wait_until(lambda: delivered(harness["RU"], request_id), what="the request to be delivered")
    with harness["RU"].open() as ru, ru.database.read() as connection:
        receipt = Receipt.from_wire(json.loads(store.receipt(connection, request_id, "out", "ee-mod") or "{}"))
    assert (receipt.envelope_id, receipt.receiver.node, receipt.duplicate) == (request_id, "ee-mod", False)
    with harness["EE"].open() as ee:
        inbox = views.inbox(ee)
        received = next(m for m in inbox.messages if m.id == request_id)
        assert (received.type, received.status, received.sender) == ("request_for_clarification", "open", "ru-nmdc")
        assert received.deadline == pytest.approx(received.logged + 172_800.0)
        answer = send(
            ee,
            Outgoing(
                type=MessageType.CLARIFICATION,
                channel=None,
                body={"answers": ["Routine training."]},
                in_reply_to=request_id[:10],
            ),
        )
    assert answer.envelope.envelope.thread == request_id
    wait_until(lambda: message(harness["RU"], answer.envelope.id) is not None, what="the clarification to arrive")
    answered = message(harness["RU"], request_id)
    assert answered is not None
    assert (answered.status, answered.answered_by) == ("answered", answer.envelope.id)
    with harness["RU"].open() as ru:
        outbox = views.outbox(ru)
    sent = next(m for m in outbox.messages if m.id == request_id)
    assert [(d.peer, d.state) for d in sent.deliveries] == [("ee-mod", "delivered")]
    assert sent.status == "answered"


def test_a_link_test_is_answered_automatically(harness: TwoNodeHarness) -> None:
    with harness["EE"].open() as ee:
        test = send(ee, Outgoing(type=MessageType.LINK_TEST, channel="RU-EE", body={"nonce": "n-42"}))

    def answered() -> bool:
        with harness["EE"].open() as ee, ee.database.read() as connection:
            replies = [m for m in store.list_messages(connection, direction="in") if m.in_reply_to == test.envelope.id]
        return bool(replies) and replies[0].type == "link_test_reply"

    wait_until(answered, what="the link_test_reply")
    tested = message(harness["EE"], test.envelope.id)
    assert tested is not None
    assert tested.status == "answered"


def test_both_logs_verify_after_the_exchange(harness: TwoNodeHarness) -> None:
    for party in ("RU", "EE"):
        wait_until(lambda p=party: _drained(harness[p]), what=f"{party}'s outbox to drain")
    for party in ("RU", "EE"):
        with harness[party].open() as node:
            result = verify_node(node)
        assert result.ok, result.problems
        assert result.receipts > 0


def _drained(process: NodeProcess) -> bool:
    with process.open() as node, node.database.read() as connection:
        return store.outbox_counts(connection).get("pending", 0) == 0


def test_an_unanswered_request_escalates_up_the_ladder_to_the_council(tmp_path: Path) -> None:
    deadlines = {"request_for_clarification": 2.0}
    with TwoNodeHarness(tmp_path, council=True, deadlines=deadlines) as harness:
        with harness["RU"].open() as ru:
            request = send(
                ru,
                Outgoing(
                    type=MessageType.REQUEST_FOR_CLARIFICATION,
                    channel="RU-EE",
                    body={"subject": "Exercise near Narva", "questions": ["Which units take part?"]},
                ),
            )

        def escalations() -> list[store.EscalationRow]:
            with harness["RU"].open() as ru, ru.database.read() as connection:
                return store.list_escalations(connection, request.envelope.id)

        wait_until(lambda: len(escalations()) == 3, timeout=40, what="three escalation steps")
        steps = escalations()
        assert [(s.step, s.from_level, s.to_level, s.channel) for s in steps] == [
            (1, "duty_officer", "military_commander", "RU-EE"),
            (2, "military_commander", "charge_d_affaires", "RU-EE"),
            (3, "charge_d_affaires", "charge_d_affaires", "NRC"),
        ]
        proposal = steps[2].notice_id
        assert proposal is not None
        for party in ("EE", "US"):
            wait_until(
                lambda p=party: message(harness[p], proposal) is not None, what=f"the meeting proposal at {party}"
            )
        notice = message(harness["EE"], steps[0].notice_id or "")
        assert notice is not None
        assert (notice.type, notice.thread, notice.level) == (
            "escalation_notice",
            request.envelope.id,
            "military_commander",
        )
        with harness["RU"].open() as ru:
            events = views.inbox(ru).events
        assert [e.kind for e in events] == ["escalation", "escalation", "escalation"]
        for party in ("RU", "EE", "US"):
            wait_until(lambda p=party: _drained(harness[p]), what=f"{party}'s outbox to drain")
            with harness[party].open() as node:
                assert verify_node(node).ok
