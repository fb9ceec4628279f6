"""Escalation along the ladder, as scenario tables on virtual time (a fake clock ticking every few minutes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from channel_builders import HOUR, NRC, RU_EE, T0, Node, text

from riskline.channel.deadlines import ThreadBook
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.escalation import EscalationAction, EscalationStep, due_escalations, escalation_plan
from riskline.channel.messages import ContactLevel, MessageType, validate_body
from riskline.channel.policy import ChannelPolicy
from riskline.testing.clock import FakeClock

QUESTION = {"subject": "Su-24 passes over the buoy", "questions": ["What was their purpose?"]}
DO, MC, CDA, AMB = (
    ContactLevel.DUTY_OFFICER,
    ContactLevel.MILITARY_COMMANDER,
    ContactLevel.CHARGE_D_AFFAIRES,
    ContactLevel.AMBASSADOR,
)
NOTICE, MEETING, RECORD = (
    EscalationAction.ESCALATION_NOTICE,
    EscalationAction.COUNCIL_MEETING_PROPOSAL,
    EscalationAction.RECORD_ONLY,
)
NO_COUNCIL = ChannelPolicy(id="RU-EE", kind="bilateral", members=("RU", "EE"), levels=(DO, MC, CDA, AMB))
DEMO = ChannelPolicy.from_config(
    {"id": "RU-EE", "kind": "bilateral", "members": ["RU", "EE"], "agreements": [], "council": "NRC",
     "deadlines": {"request_for_clarification": 120}, "escalation_min_step_s": 60}
)  # fmt: skip

Reply = Callable[[Node, Node, SignedEnvelope, dict[str, SignedEnvelope], float], SignedEnvelope | None]


class Scenario:
    """RU (this node) asks EE on ``policy``; the clock ticks; each due step is taken and logged like a node does."""

    def __init__(self, policy: ChannelPolicy, *, level: ContactLevel = DO, msg_type: MessageType | None = None) -> None:
        self.policy = policy
        self.clock = FakeClock(T0)
        self.ru, self.ee, self.us = Node("ru-nmdc", "RU"), Node("ee-mod", "EE"), Node("us-eucom", "US")
        self.book = ThreadBook(policy=policy, local_party="RU")
        self.taken: set[tuple[str, int]] = set()
        self.notices: dict[str, SignedEnvelope] = {}
        self.steps: list[EscalationStep] = []
        if msg_type is MessageType.LINK_TEST:
            self.asked = self.ru.compose(policy, MessageType.LINK_TEST, {"nonce": "n1"}, created=T0, level=level)
        else:
            self.asked = self.ru.compose(
                policy, MessageType.REQUEST_FOR_CLARIFICATION, QUESTION, created=T0, level=level
            )
        self.book.record(self.asked, at=T0)

    def answer(self, sender: Node, msg_type: MessageType, *, to: SignedEnvelope | None = None) -> None:
        target = self.asked if to is None else to
        bodies: dict[MessageType, dict[str, Any]] = {
            MessageType.CLARIFICATION: {"answers": ["Routine training."]},
            MessageType.ACKNOWLEDGEMENT: {"note": "seen"},
            MessageType.FREE_TEXT: text("looking into it"),
        }
        message = sender.compose(
            self.policy, msg_type, bodies[msg_type], created=self.clock(), thread=self.asked.id, in_reply_to=target.id
        )
        self.book.record(message, at=self.clock())

    def run_until(
        self, end: float, *, tick: float = 600.0, events: dict[float, Callable[[], None]] | None = None
    ) -> None:
        pending = dict(sorted((events or {}).items()))
        while self.clock() < end:
            self.clock.advance(min(tick, end - self.clock()))
            for at in [at for at in pending if at <= self.clock()]:
                pending.pop(at)()
            self.take_due_steps()

    def take_due_steps(self) -> None:
        for step in due_escalations(self.book, now=self.clock(), policy=self.policy, already=self.taken):
            self.steps.append(step)
            self.taken.add(step.key)
            if step.action is NOTICE:
                notice = self.ru.compose(
                    self.policy,
                    MessageType.ESCALATION_NOTICE,
                    step.notice_body(),
                    created=self.clock(),
                    level=step.to_level,
                    thread=step.thread,
                    in_reply_to=step.original_id,
                    deadline_span=step.span,
                )
                assert notice.envelope.deadline == self.clock() + step.span
                self.notices[f"step {step.step}"] = notice
                self.book.record(notice, at=self.clock())

    def table(self) -> list[tuple[float, int, EscalationAction, ContactLevel, ContactLevel]]:
        return [((s.due - T0) / HOUR, s.step, s.action, s.from_level, s.to_level) for s in self.steps]


UNANSWERED = [
    (48.0, 1, NOTICE, DO, MC),
    (72.0, 2, NOTICE, MC, CDA),
    (96.0, 3, MEETING, CDA, CDA),
]


def test_an_unanswered_request_climbs_the_ladder_to_a_council_meeting_proposal() -> None:
    scenario = Scenario(RU_EE)
    scenario.run_until(T0 + 47.9 * HOUR)
    assert scenario.steps == []
    scenario.run_until(T0 + 200 * HOUR)
    assert scenario.table() == UNANSWERED
    first = scenario.steps[0]
    assert first.original_id == scenario.asked.id
    assert first.channel == "RU-EE"
    assert first.span == 24 * HOUR
    assert first.overdue_since == T0 + 48 * HOUR
    assert first.owed_by == ("EE",)
    assert scenario.steps[-1].is_final


def test_each_step_is_taken_when_due_on_the_virtual_clock() -> None:
    scenario = Scenario(RU_EE)
    taken_at: list[float] = []
    for hour in range(0, 130):
        scenario.clock.set(T0 + hour * HOUR)
        before = len(scenario.steps)
        scenario.take_due_steps()
        taken_at.extend([hour] * (len(scenario.steps) - before))
    assert taken_at == [48, 72, 96]


SCENARIOS: list[tuple[str, float, MessageType, str, list[Any]]] = [
    # name, hours after T0 at which EE acts, what EE sends, in reply to, expected steps
    ("answered in time: nothing", 47.0, MessageType.CLARIFICATION, "original", []),
    ("an acknowledgement does not stop it", 2.0, MessageType.ACKNOWLEDGEMENT, "original", UNANSWERED),
    ("free text does not answer a request", 2.0, MessageType.FREE_TEXT, "original", UNANSWERED),
    ("answered after the first step: stops there", 60.0, MessageType.CLARIFICATION, "original", UNANSWERED[:1]),
    ("answering the escalation notice counts", 80.0, MessageType.CLARIFICATION, "step 1", UNANSWERED[:2]),
]


@pytest.mark.parametrize(
    ("name", "hours", "msg_type", "reply_to", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
def test_escalation_scenarios(
    name: str, hours: float, msg_type: MessageType, reply_to: str, expected: list[Any]
) -> None:
    scenario = Scenario(RU_EE)

    def act() -> None:
        target = scenario.asked if reply_to == "original" else scenario.notices[reply_to]
        scenario.answer(scenario.ee, msg_type, to=target)

    scenario.run_until(T0 + 200 * HOUR, events={T0 + hours * HOUR: act})
    assert scenario.table() == expected


def test_without_a_council_the_last_step_is_recorded_locally() -> None:
    scenario = Scenario(NO_COUNCIL)
    scenario.run_until(T0 + 200 * HOUR)
    assert scenario.table() == [*UNANSWERED[:2], (96.0, 3, RECORD, CDA, CDA)]


def test_a_message_sent_at_a_higher_level_starts_higher_on_the_ladder() -> None:
    scenario = Scenario(RU_EE, level=MC)
    scenario.run_until(T0 + 200 * HOUR)
    assert scenario.table() == [(48.0, 1, NOTICE, MC, CDA), (72.0, 2, MEETING, CDA, CDA)]


def test_on_a_collective_channel_it_escalates_once_naming_who_is_silent() -> None:
    scenario = Scenario(NRC)
    scenario.run_until(
        T0 + 10 * HOUR, events={T0 + 5 * HOUR: lambda: scenario.answer(scenario.us, MessageType.CLARIFICATION)}
    )
    scenario.run_until(T0 + 200 * HOUR)
    assert scenario.table() == [(48.0, 1, NOTICE, DO, MC), (72.0, 2, NOTICE, MC, AMB), (96.0, 3, RECORD, AMB, AMB)]
    assert {step.owed_by for step in scenario.steps} == {("EE",)}


def test_the_demo_config_escalates_in_minutes_never_faster_than_the_minimum_step() -> None:
    scenario = Scenario(DEMO)
    scenario.run_until(T0 + 1_000.0, tick=10.0)
    assert [(s.due - T0, s.step, s.action, s.span) for s in scenario.steps] == [
        (120.0, 1, NOTICE, 60.0),
        (180.0, 2, NOTICE, 60.0),
        (240.0, 3, MEETING, 60.0),
    ]


def test_a_node_that_was_down_catches_up_with_every_due_step_in_order() -> None:
    scenario = Scenario(RU_EE)
    due = due_escalations(scenario.book, now=T0 + 100 * HOUR, policy=RU_EE, already=())
    assert [(step.step, step.due) for step in due] == [(1, T0 + 48 * HOUR), (2, T0 + 72 * HOUR), (3, T0 + 96 * HOUR)]
    assert due_escalations(scenario.book, now=T0 + 100 * HOUR, policy=RU_EE, already=[s.key for s in due]) == []


def test_escalation_notices_in_the_book_count_as_steps_taken() -> None:
    scenario = Scenario(RU_EE)
    scenario.run_until(T0 + 50 * HOUR)
    assert due_escalations(scenario.book, now=T0 + 50 * HOUR, policy=RU_EE, already=()) == []


def test_an_unanswered_link_test_is_overdue_but_not_escalated() -> None:
    scenario = Scenario(RU_EE, msg_type=MessageType.LINK_TEST)
    scenario.run_until(T0 + HOUR, tick=60.0)
    assert scenario.steps == []
    assert [ob.type for ob in scenario.book.overdue(T0 + HOUR)] == [MessageType.LINK_TEST]


def test_the_plan_is_deterministic_and_independent_of_the_clock() -> None:
    scenario = Scenario(RU_EE)
    (obligation,) = scenario.book.obligations
    assert escalation_plan(obligation, policy=RU_EE) == escalation_plan(obligation, policy=RU_EE)
    assert [step.due - T0 for step in escalation_plan(obligation, policy=RU_EE)] == [48 * HOUR, 72 * HOUR, 96 * HOUR]


def test_step_bodies_are_valid_messages() -> None:
    scenario = Scenario(RU_EE)
    scenario.run_until(T0 + 100 * HOUR)
    notice, _, final = scenario.steps
    body = notice.notice_body()
    assert body == {
        "original": scenario.asked.id,
        "step": 1,
        "from_level": "duty_officer",
        "to_level": "military_commander",
        "reason": f"request_for_clarification {scenario.asked.id} unanswered by EE since 2023-11-16T22:13:20Z",
        "overdue_since": T0 + 48 * HOUR,
    }
    assert validate_body(MessageType.ESCALATION_NOTICE, body, created=T0) == body
    meeting = final.meeting_body(start=T0 + 144 * HOUR, members=NRC.members, basis=NRC.agreements, place="Brussels")
    assert meeting["agenda"] == [
        {
            "title": "Unanswered request_for_clarification on channel RU-EE",
            "references": [{"kind": "message", "id": scenario.asked.id, "channel": "RU-EE"}],
        }
    ]
    assert (meeting["start"], meeting["end"]) == ("2023-11-20T22:13:20Z", "2023-11-21T00:13:20Z")
    assert meeting["participants"] == {"EE": [], "RU": [], "US": []}
    council = scenario.ru.compose(NRC, MessageType.MEETING_PROPOSAL, meeting, created=T0 + 96 * HOUR, log=False)
    assert council.envelope.body["level"] == "charge_d_affaires"
