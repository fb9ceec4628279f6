"""Escalation on this node's clock (a fake one here): each step once, signed, logged, sent, and told."""

from __future__ import annotations

from riskline.channel.messages import MessageType
from riskline.node.escalate import escalate_due
from riskline.node.messaging import Outgoing, send
from riskline.node.views import inbox, outbox
from riskline.storage import channel_store as store
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess


def request(pair: InProcess) -> str:
    body = {"subject": "Exercise", "questions": ["Which units?"]}
    sent = send(pair["RU"], Outgoing(type=MessageType.REQUEST_FOR_CLARIFICATION, channel="RU-EE", body=body))
    return sent.envelope.id


def steps(pair: InProcess, original: str) -> list[tuple[int, str, str, str | None]]:
    with pair["RU"].database.read() as connection:
        rows = store.list_escalations(connection, original)
    return [(row.step, row.from_level, row.to_level, row.channel) for row in rows]


def test_nothing_escalates_before_the_deadline_of_48_hours(pair: InProcess, clock: FakeClock) -> None:
    original = request(pair)
    clock.advance(172_799.0)
    assert escalate_due(pair["RU"]) == []
    assert steps(pair, original) == []
    assert [m.overdue for m in outbox(pair["RU"]).messages] == [False]


def test_an_unanswered_request_climbs_the_ladder_once_per_step_then_is_recorded(
    pair: InProcess, clock: FakeClock
) -> None:
    original = request(pair)
    clock.advance(172_800.0)
    assert [m.overdue for m in outbox(pair["RU"]).messages] == [True]
    assert [row.step for row in escalate_due(pair["RU"])] == [1]
    assert escalate_due(pair["RU"]) == []
    clock.advance(86_400.0)
    escalate_due(pair["RU"])
    clock.advance(86_400.0)
    escalate_due(pair["RU"])
    assert steps(pair, original) == [
        (1, "duty_officer", "military_commander", "RU-EE"),
        (2, "military_commander", "charge_d_affaires", "RU-EE"),
        (3, "charge_d_affaires", "charge_d_affaires", None),
    ]
    with pair["RU"].database.read() as connection:
        notices = store.list_messages(connection, direction="out", types=("escalation_notice",))
        last = store.list_escalations(connection, original)[-1]
    assert [(n.thread, n.in_reply_to, n.level) for n in notices] == [
        (original, original, "military_commander"),
        (original, original, "charge_d_affaires"),
    ]
    assert last.note == "last step of the ladder: no council channel, recorded here only"
    assert [e.kind for e in inbox(pair["RU"]).events] == ["escalation"] * 3


def test_a_clarification_stops_the_escalation(pair: InProcess, clock: FakeClock) -> None:
    original = request(pair)
    pair.deliver("RU")
    clock.advance(172_800.0)
    escalate_due(pair["RU"])
    pair.deliver("RU")
    with pair["EE"].database.read() as connection:
        notice = store.list_messages(connection, direction="in", types=("escalation_notice",))[0]
    send(
        pair["EE"],
        Outgoing(
            type=MessageType.CLARIFICATION,
            channel=None,
            body={"answers": ["Two brigades."]},
            in_reply_to=notice.envelope_id,
        ),
    )
    pair.deliver("EE")
    clock.advance(10 * 86_400.0)
    assert escalate_due(pair["RU"]) == []
    assert steps(pair, original) == [(1, "duty_officer", "military_commander", "RU-EE")]
    with pair["RU"].database.read() as connection:
        answered = store.message(connection, original)
    assert answered is not None
    assert answered.status == "answered"


def test_the_last_step_proposes_a_meeting_on_the_council_channel(trio: InProcess, clock: FakeClock) -> None:
    original = request(trio)
    clock.advance(172_800.0 + 3 * 86_400.0)
    taken = escalate_due(trio["RU"])
    assert [(row.step, row.channel) for row in taken] == [(1, "RU-EE"), (2, "RU-EE"), (3, "NRC")]
    with trio["RU"].database.read() as connection:
        proposal = store.message(connection, taken[2].notice_id or "")
        queued = store.outbox_rows(connection, taken[2].notice_id)
    assert proposal is not None
    assert (proposal.type, proposal.channel) == ("meeting_proposal", "NRC")
    assert sorted(row.peer for row in queued) == ["ee-mod", "us-eucom"]
    assert (proposal.level, proposal.summary) == (
        "ambassador",
        "ambassador: Unanswered request_for_clarification on channel RU-EE",
    )
    assert proposal.thread == proposal.envelope_id != original
    trio.deliver("RU")
    for party in ("EE", "US"):
        with trio[party].database.read() as connection:
            assert store.message(connection, proposal.envelope_id) is not None
