"""Escalation of unanswered messages along the channel's ladder (docs/channel.md, "Escalation").

When a message this party sent is still unanswered at its deadline, it escalates one level of contact at a
time — by default duty officer → military commander → chargé d'affaires (bilateral) or ambassador
(collective) — and finally proposes a meeting on the council channel, as the Vienna Document 2011 ch. III does
when a request for explanation gets no reply (REGIMES.md §3). Each ladder step is an ``escalation_notice``
(signed, logged, sent on the same channel in the same thread) with its own deadline: the original span
halved, never below the policy's ``escalation_min_step_s``. Step ``k`` is due at ``due + (k - 1) * step_span``
after the original's due time, so the plan never depends on when the node happened to run.

The last step is a ``council_meeting_proposal`` when the channel names a council, else ``record_only`` (the
step is recorded locally and the operator told). Link tests are not escalated: a link that does not answer
is reported as down, not as a diplomatic matter.

``due_escalations`` is pure and deterministic: given the book, the time and the steps already taken, it
returns the steps to take now, in order. Once any reply satisfies the original, nothing more is due.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from riskline.channel.deadlines import Obligation, ThreadBook
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.timeutil import to_iso

NOT_ESCALATED: frozenset[MessageType] = frozenset({MessageType.LINK_TEST})


class EscalationAction(StrEnum):
    ESCALATION_NOTICE = "escalation_notice"
    """Send an ``escalation_notice`` on the original's channel and thread."""
    COUNCIL_MEETING_PROPOSAL = "council_meeting_proposal"
    """Send a ``meeting_proposal`` on the council channel."""
    RECORD_ONLY = "record_only"
    """No council channel: record the step locally and tell the operator."""


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step of the ladder for one unanswered message (times [s] on this node's clock)."""

    original_id: str
    original_type: MessageType
    thread: str
    channel: str
    step: int
    """1 for the first escalation."""
    from_level: ContactLevel
    to_level: ContactLevel
    due: float  # [s] when this step is to be taken
    span: float  # [s] this step's own deadline span: the next step is due at ``due + span``
    action: EscalationAction
    overdue_since: float  # [s] the original's due time
    owed_by: tuple[str, ...]
    """The parties that still owe an answer."""

    @property
    def key(self) -> tuple[str, int]:
        """``(original id, step)``: what the caller records once the step is taken."""
        return (self.original_id, self.step)

    @property
    def is_final(self) -> bool:
        return self.action is not EscalationAction.ESCALATION_NOTICE

    def reason(self) -> str:
        return (
            f"{self.original_type} {self.original_id} unanswered by {', '.join(self.owed_by)} "
            f"since {to_iso(self.overdue_since)}"
        )

    def notice_body(self, reason: str | None = None) -> dict[str, Any]:
        """The body of this step's ``escalation_notice`` (send it with ``deadline_span=self.span``)."""
        return {
            "original": self.original_id,
            "step": self.step,
            "from_level": str(self.from_level),
            "to_level": str(self.to_level),
            "reason": reason or self.reason(),
            "overdue_since": self.overdue_since,
        }

    def meeting_body(
        self,
        *,
        start: float,
        members: Collection[str],
        basis: Collection[str] = (),
        place: str = "to be agreed",
        duration: float = 7_200.0,
        level: ContactLevel | None = None,
    ) -> dict[str, Any]:
        """The body of the final step's ``meeting_proposal`` on the council channel (``meeting_bodies``), starting at
        ``start`` [s] for ``duration`` [s] at ``level`` (default: the step's), every council member invited; the
        agenda cites the original."""
        return {
            "forum": "escalation",
            "basis": list(basis),
            "level": str(level or self.to_level),
            "start": to_iso(start),
            "end": to_iso(start + duration),
            "timezone": "UTC",
            "place": place,
            "participants": {party: [] for party in sorted(members)},
            "agenda": [
                {
                    "title": f"Unanswered {self.original_type} on channel {self.channel}",
                    "references": [{"kind": "message", "id": self.original_id, "channel": self.channel}],
                }
            ],
        }


def escalation_plan(obligation: Obligation, *, policy: ChannelPolicy) -> list[EscalationStep]:
    """Every step the ladder would take for ``obligation``, whether due yet or not."""
    if obligation.type in NOT_ESCALATED:
        return []
    step_span = policy.escalation_step_span(obligation.span)
    steps: list[EscalationStep] = []
    level = obligation.level
    number = 1
    while True:
        higher = policy.next_level(level)
        if higher is not None:
            action, target = EscalationAction.ESCALATION_NOTICE, higher
        elif policy.council is not None:
            action, target = EscalationAction.COUNCIL_MEETING_PROPOSAL, level
        else:
            action, target = EscalationAction.RECORD_ONLY, level
        steps.append(
            EscalationStep(
                original_id=obligation.message_id,
                original_type=obligation.type,
                thread=obligation.thread,
                channel=obligation.channel,
                step=number,
                from_level=level,
                to_level=target,
                due=obligation.due + (number - 1) * step_span,
                span=step_span,
                action=action,
                overdue_since=obligation.due,
                owed_by=(obligation.owed_by,),
            )
        )
        if higher is None:
            return steps
        level = higher
        number += 1


def due_escalations(
    book: ThreadBook,
    *,
    now: float,
    policy: ChannelPolicy,
    already: Collection[tuple[str, int]],
) -> list[EscalationStep]:
    """The steps to take at ``now`` for messages this party sent that are still unanswered, in order.

    ``already`` holds ``(original id, step)`` of steps taken (the escalation notices in ``book`` count too).
    On a collective channel one message owes an answer from several parties: it escalates once, while any
    of them is still silent, and ``owed_by`` names those.
    """
    done = set(already) | book.escalation_steps_taken()
    silent: dict[str, list[Obligation]] = {}
    for obligation in book.owed_to_us(now):
        if obligation.type not in NOT_ESCALATED and obligation.is_overdue(now):
            silent.setdefault(obligation.message_id, []).append(obligation)
    result: list[EscalationStep] = []
    for obligations in silent.values():
        first = min(obligations, key=lambda ob: ob.due)
        owed_by = tuple(sorted({ob.owed_by for ob in obligations}))
        for step in escalation_plan(first, policy=policy):
            if step.due <= now and step.key not in done:
                result.append(replace(step, owed_by=owed_by))
    return sorted(result, key=lambda step: (step.due, step.original_id, step.step))
