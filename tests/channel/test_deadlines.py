"""Deadlines on our own clock, and the thread book that tells open, answered and overdue obligations apart."""

from __future__ import annotations

import random
from typing import Any

import pytest
from channel_builders import HOUR, NRC, RU_EE, T0, Node, meeting_proposal_body, text

from riskline.channel.deadlines import Obligation, ThreadBook, obligations_after
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import ForeignChannel
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.testing.clock import FakeClock

QUESTION = {"subject": "Su-24 passes over the buoy", "questions": ["What was their purpose?"]}
ANSWER = {"answers": ["Routine training."]}


@pytest.fixture
def ru() -> Node:
    return Node("ru-nmdc", "RU")


@pytest.fixture
def ee() -> Node:
    return Node("ee-mod", "EE")


def request(sender: Node, *, created: float = T0, policy: ChannelPolicy = RU_EE) -> SignedEnvelope:
    return sender.compose(policy, MessageType.REQUEST_FOR_CLARIFICATION, QUESTION, created=created, log=False)


def reply(
    sender: Node, to: SignedEnvelope, msg_type: MessageType, *, created: float, policy: ChannelPolicy = RU_EE
) -> SignedEnvelope:
    bodies: dict[MessageType, dict[str, Any]] = {
        MessageType.CLARIFICATION: ANSWER,
        MessageType.ACKNOWLEDGEMENT: {"note": "seen, will answer"},
        MessageType.FREE_TEXT: text("we are looking into it"),
    }
    return sender.compose(
        policy, msg_type, bodies[msg_type], created=created, thread=to.envelope.thread, in_reply_to=to.id, log=False
    )


def test_a_request_for_clarification_obliges_the_recipient_for_48_hours_from_our_receipt(ru: Node) -> None:
    sent = request(ru, created=T0 - 5 * HOUR)  # the sender's clock runs five hours behind ours
    assert sent.envelope.deadline == T0 + 43 * HOUR
    assert obligations_after(sent, received=T0, policy=RU_EE) == [
        Obligation(
            message_id=sent.id,
            thread=sent.id,
            channel="RU-EE",
            type=MessageType.REQUEST_FOR_CLARIFICATION,
            owed_by="EE",
            owed_to="RU",
            level=ContactLevel.DUTY_OFFICER,
            recorded=T0,
            span=172_800.0,
            due=T0 + 48 * HOUR,
        )
    ]


def test_a_collective_message_obliges_every_other_member(ru: Node) -> None:
    proposal = meeting_proposal_body(start=T0 + 72 * HOUR, parties=("RU", "EE", "US"))
    sent = ru.compose(NRC, MessageType.MEETING_PROPOSAL, proposal, created=T0, log=False)
    obligations = obligations_after(sent, received=T0, policy=NRC)
    assert [(ob.owed_by, ob.owed_to, ob.due) for ob in obligations] == [
        ("EE", "RU", T0 + 7 * 24 * HOUR),
        ("US", "RU", T0 + 7 * 24 * HOUR),
    ]


def test_a_meeting_proposal_obliges_only_the_parties_it_invites(ru: Node) -> None:
    proposal = meeting_proposal_body(start=T0 + 72 * HOUR, parties=("RU", "US"))
    sent = ru.compose(NRC, MessageType.MEETING_PROPOSAL, proposal, created=T0, log=False)
    assert [ob.owed_by for ob in obligations_after(sent, received=T0, policy=NRC)] == ["US"]


def test_an_action_item_is_owed_by_its_owner_by_its_due_date(ru: Node) -> None:
    body = {"title": "Exchange points of contact", "owner": "US", "due": "2023-11-20T12:00:00Z"}
    sent = ru.compose(NRC, MessageType.ACTION_ITEM, body, created=T0, log=False)
    [obligation] = obligations_after(sent, received=T0 + 5.0, policy=NRC)
    assert (obligation.owed_by, obligation.owed_to) == ("US", "RU")
    assert obligation.due == 1_700_481_600.0
    assert obligation.span == 1_700_481_600.0 - (T0 + 5.0)


@pytest.mark.parametrize(
    ("msg_type", "body"),
    [
        (MessageType.FREE_TEXT, text("hello")),
        (MessageType.ACKNOWLEDGEMENT, {"note": None}),
        (MessageType.CLARIFICATION, ANSWER),
    ],
)
def test_messages_without_a_deadline_oblige_nobody(ru: Node, msg_type: MessageType, body: dict[str, Any]) -> None:
    sent = ru.compose(RU_EE, msg_type, body, created=T0, log=False)
    assert obligations_after(sent, received=T0, policy=RU_EE) == []


def test_a_channel_may_shorten_a_deadline(ru: Node) -> None:
    demo = ChannelPolicy.from_config(
        {"id": "RU-EE", "kind": "bilateral", "members": ["RU", "EE"], "agreements": [],
         "deadlines": {"request_for_clarification": 120}}
    )  # fmt: skip
    (obligation,) = obligations_after(request(ru), received=T0 + 3, policy=demo)
    assert obligation.due == T0 + 123


# Scenario table on virtual time: RU asks at T0 (our clock), EE does or does not answer; we look at `check` hours.
SCENARIOS = [
    # name, replies as (hours after T0, party, type), hours to look at, still open, overdue, answered in time
    ("a clarification in time answers", [(10, "EE", MessageType.CLARIFICATION)], 48, False, False, True),
    ("an acknowledgement does not answer", [(1, "EE", MessageType.ACKNOWLEDGEMENT)], 48, True, True, None),
    ("free text does not answer a request", [(5, "EE", MessageType.FREE_TEXT)], 50, True, True, None),
    ("the asker's own clarification does not count", [(5, "RU", MessageType.CLARIFICATION)], 49, True, True, None),
    ("a late clarification answers, late", [(50, "EE", MessageType.CLARIFICATION)], 60, False, False, False),
    ("an answer not yet logged does not count", [(50, "EE", MessageType.CLARIFICATION)], 49, True, True, None),
    ("nothing at all, before the deadline", [], 47.9, True, False, None),
    ("nothing at all, at the deadline", [], 48, True, True, None),
]


@pytest.mark.parametrize(
    ("name", "replies", "look_at", "still_open", "overdue", "in_time"), SCENARIOS, ids=[row[0] for row in SCENARIOS]
)
def test_the_thread_book_on_virtual_time(
    ru: Node,
    ee: Node,
    name: str,
    replies: list[tuple[float, str, MessageType]],
    look_at: float,
    still_open: bool,
    overdue: bool,
    in_time: bool | None,
) -> None:
    clock = FakeClock(T0)
    book = ThreadBook(policy=RU_EE, local_party="RU")
    asked = request(ru, created=clock())
    (obligation,) = book.record(asked, at=clock())
    for hours, party, msg_type in replies:
        clock.set(T0 + hours * HOUR)
        book.record(reply(ru if party == "RU" else ee, asked, msg_type, created=clock()), at=clock())
    now = T0 + look_at * HOUR
    assert (obligation in book.open(now)) is still_open
    assert (obligation in book.overdue(now)) is overdue
    assert (obligation in book.owed_to_us(now)) is still_open
    assert book.owed_by_us(now) == []
    answer = book.answer(obligation, now=now)
    assert (None if answer is None else answer.in_time) == in_time


def test_a_reply_to_an_escalation_notice_answers_the_original(ru: Node, ee: Node) -> None:
    asked = request(ru)
    notice = ru.compose(
        RU_EE,
        MessageType.ESCALATION_NOTICE,
        {"original": asked.id, "step": 1, "from_level": "duty_officer", "to_level": "military_commander",
         "reason": "unanswered", "overdue_since": T0 + 48 * HOUR},
        created=T0 + 48 * HOUR, thread=asked.id, in_reply_to=asked.id, log=False, deadline_span=24 * HOUR,
    )  # fmt: skip
    answer = reply(ee, notice, MessageType.CLARIFICATION, created=T0 + 50 * HOUR)
    book = ThreadBook.from_log(
        [(asked, T0), (notice, T0 + 48 * HOUR), (answer, T0 + 50 * HOUR)], policy=RU_EE, local_party="RU"
    )
    assert len(book.obligations) == 1  # the notice restates the original's obligation, it adds none
    found = book.answer(book.obligations[0])
    assert found is not None
    assert found.reply_id == answer.id
    assert book.open(T0 + 60 * HOUR) == []
    assert book.escalation_steps_taken() == frozenset({(asked.id, 1)})


def test_the_receiving_side_sees_what_it_owes(ru: Node, ee: Node) -> None:
    asked = request(ru)
    book = ThreadBook.from_log([(asked, T0 + 2.0)], policy=RU_EE, local_party="EE")
    (owed,) = book.owed_by_us(T0 + 3.0)
    assert owed.owed_by == "EE"
    assert owed.due == T0 + 2.0 + 48 * HOUR
    assert book.owed_to_us(T0 + 3.0) == []


def test_the_book_rebuilt_from_a_shuffled_log_answers_the_same(ru: Node, ee: Node) -> None:
    entries: list[tuple[SignedEnvelope, float]] = []
    for number in range(12):
        asked = request(ru, created=T0 + number * HOUR)
        entries.append((asked, T0 + number * HOUR))
        if number % 3 == 0:
            entries.append((reply(ee, asked, MessageType.CLARIFICATION, created=T0), T0 + number * HOUR + 60.0))
        elif number % 3 == 1:
            entries.append((reply(ee, asked, MessageType.ACKNOWLEDGEMENT, created=T0), T0 + number * HOUR + 60.0))
    in_order = ThreadBook.from_log(entries, policy=RU_EE, local_party="RU")
    shuffled = list(entries)
    random.Random(7).shuffle(shuffled)
    rebuilt = ThreadBook.from_log(shuffled, policy=RU_EE, local_party="RU")
    for now in (T0, T0 + 20 * HOUR, T0 + 49 * HOUR, T0 + 70 * HOUR):
        assert rebuilt.open(now) == in_order.open(now)
        assert rebuilt.overdue(now) == in_order.overdue(now)
    assert len(in_order.open(T0 + 70 * HOUR)) == 8
    assert len(in_order.thread_ids()) == 12


def test_recording_an_envelope_twice_changes_nothing(ru: Node) -> None:
    asked = request(ru)
    book = ThreadBook(policy=RU_EE, local_party="RU")
    assert len(book.record(asked, at=T0)) == 1
    assert book.record(asked, at=T0 + 5) == []
    assert book.logged_at(asked.id) == T0
    assert [logged.envelope.id for logged in book.thread(asked.id)] == [asked.id]


def test_a_book_keeps_one_channel(ru: Node) -> None:
    book = ThreadBook(policy=RU_EE, local_party="RU")
    council = ru.compose(NRC, MessageType.FREE_TEXT, text("hello"), created=T0, log=False)
    with pytest.raises(ForeignChannel) as caught:
        book.record(council, at=T0)
    assert str(caught.value) == "envelope is for channel 'NRC', this book keeps 'RU-EE'"
    assert ThreadBook.from_log([(council, T0)], policy=RU_EE, local_party="RU").messages() == []
