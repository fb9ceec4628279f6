"""A meeting's state and the action items of a channel, derived from its log; and the checks that need the log.

The state is a pure function of the *set* of envelopes on the channel (docs/dialogue.md, "A meeting's life"),
so every node that holds the same cosigned entries derives the same state, whatever order they arrived in:
nothing depends on arrival or on a local clock, only on what the envelopes say (their ``created`` times
are signed by their senders; ties are broken by id).

- The *terms* (time, place, level) are those of the latest of the proposal and the counter-proposals of
  invited parties; a counter-proposal counts as its author's acceptance of its own terms, and the proposer
  accepts its own proposal.
- A party's answer counts when it names the current terms: acceptance → ACCEPTED, decline → DECLINED.
- Status: ``cancelled`` (the proposer cancelled) over ``declined`` (an invited party declined the current
  terms) over ``minutes_approved`` (every invited party approved the current minutes' SHA-256) over
  ``held`` (minutes drafted for a confirmed meeting) over ``confirmed`` (every invited party accepted) over
  ``proposed``. The current minutes are the latest; approvals of an earlier version do not count.
- An action item is open until its owner party sends ``action_done``.

``check_in_context`` is what a sender checks before signing and a receiver before logging (422 otherwise):
the invited parties are channel members and include the proposer, cited incidents and notifications exist
on the channel, an answer comes from an invited party, minutes come after confirmation, an approval names
the current minutes' hash, only the owner closes an action item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from riskline.channel.envelope import Envelope, SignedEnvelope
from riskline.channel.levels import ContactLevel
from riskline.channel.meeting_bodies import iso_seconds, minutes_sha256
from riskline.channel.messages import InvalidField, MessageType
from riskline.timeutil import to_iso

if TYPE_CHECKING:
    from riskline.channel.policy import ChannelPolicy

MEETING_TYPES: frozenset[MessageType] = frozenset(
    {
        MessageType.MEETING_PROPOSAL,
        MessageType.MEETING_ACCEPTANCE,
        MessageType.MEETING_DECLINE,
        MessageType.MEETING_COUNTER_PROPOSAL,
        MessageType.MEETING_CANCELLATION,
        MessageType.MINUTES,
        MessageType.MINUTES_APPROVAL,
    }
)
ACTION_TYPES: frozenset[MessageType] = frozenset({MessageType.ACTION_ITEM, MessageType.ACTION_DONE})
DIALOGUE_TYPES: frozenset[MessageType] = MEETING_TYPES | ACTION_TYPES
LEGACY_MEETING_S = 7_200.0  # [s] a schema-1 proposal gave only a date: taken as a two-hour meeting


class MeetingStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    HELD = "held"
    MINUTES_APPROVED = "minutes_approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def is_live(self) -> bool:
        """Still going to happen (or happened): not declined or cancelled."""
        return self not in (MeetingStatus.DECLINED, MeetingStatus.CANCELLED)

    @property
    def took_place_or_confirmed(self) -> bool:
        return self in (MeetingStatus.CONFIRMED, MeetingStatus.HELD, MeetingStatus.MINUTES_APPROVED)


class Answer(StrEnum):
    """A party's answer to the current terms; the values are iCalendar PARTSTATs (RFC 5545 §3.2.12)."""

    NEEDS_ACTION = "NEEDS-ACTION"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


@dataclass(frozen=True, slots=True)
class Terms:
    """When, where and at which level; ``id`` is the proposal or counter-proposal that set them."""

    id: str
    level: ContactLevel
    start: float  # [s] POSIX
    end: float  # [s] POSIX
    timezone: str
    place: str | None
    start_text: str
    """The start as the proposer wrote it (ISO 8601 with its offset)."""
    end_text: str


@dataclass(frozen=True, slots=True)
class Minutes:
    id: str
    drafted_by: str
    text: str
    decisions: tuple[str, ...]
    sha256: str
    created: float  # [s] the drafter's clock


@dataclass(frozen=True, slots=True)
class Meeting:
    """One meeting as the log says it stands."""

    id: str
    """The ``meeting_proposal``'s message id."""
    channel: str
    thread: str
    forum: str
    basis: tuple[str, ...]
    proposer: str
    invited: tuple[str, ...]
    """Invited parties, sorted (the proposer's included)."""
    participants: Mapping[str, tuple[tuple[str, str], ...]] = field(hash=False)
    """Party → ((name, role), …)."""
    agenda: tuple[Mapping[str, Any], ...] = field(hash=False)
    terms: Terms
    answers: Mapping[str, Answer] = field(hash=False)
    status: MeetingStatus
    minutes: Minutes | None
    approvals: tuple[str, ...]
    """Parties that approved the current minutes."""
    proposed_at: float  # [s] the proposer's clock
    reason: str | None
    """Why it was declined or cancelled."""
    entries: tuple[str, ...]
    """Every message id that went into this state, sorted."""

    @property
    def awaiting(self) -> tuple[str, ...]:
        """Parties whose answer to the current terms is still missing."""
        return tuple(p for p in self.invited if self.answers[p] is Answer.NEEDS_ACTION)


@dataclass(frozen=True, slots=True)
class ActionItem:
    id: str
    channel: str
    title: str
    owner: str
    raised_by: str
    due: float  # [s] POSIX
    due_text: str
    meeting: str | None
    created: float  # [s] the raising party's clock
    done_id: str | None
    done_at: float | None  # [s] the owner's clock
    note: str | None

    @property
    def is_done(self) -> bool:
        return self.done_id is not None

    def is_overdue(self, now: float) -> bool:
        return not self.is_done and now >= self.due


def _message(envelope: Envelope | SignedEnvelope) -> Envelope:
    return envelope.envelope if isinstance(envelope, SignedEnvelope) else envelope


def _order(envelope: Envelope) -> tuple[float, str]:
    return (envelope.created, envelope.id)


def derive_meetings(envelopes: Iterable[Envelope | SignedEnvelope]) -> dict[str, Meeting]:
    """Every meeting proposed among ``envelopes`` (one channel's, in any order) by id, as they stand."""
    proposals: dict[str, Envelope] = {}
    related: dict[str, list[Envelope]] = {}
    for item in envelopes:
        message = _message(item)
        if message.type is MessageType.MEETING_PROPOSAL:
            proposals[message.id] = message
        elif message.type in MEETING_TYPES:
            related.setdefault(str(message.body.get("meeting")), []).append(message)
    return {
        meeting_id: _derive(proposal, sorted(related.get(meeting_id, []), key=_order))
        for meeting_id, proposal in sorted(proposals.items())
    }


def _proposal_terms(proposal: Envelope) -> Terms:
    body = proposal.body
    if proposal.schema == 1:
        start = float(body["date"])
        return Terms(
            proposal.id, ContactLevel(body["level"]), start, start + LEGACY_MEETING_S, "UTC",
            body.get("place"), to_iso(start), to_iso(start + LEGACY_MEETING_S),
        )  # fmt: skip
    return _terms(proposal.id, body)


def _terms(terms_id: str, body: Mapping[str, Any]) -> Terms:
    return Terms(
        id=terms_id,
        level=ContactLevel(body["level"]),
        start=iso_seconds(body["start"]),
        end=iso_seconds(body["end"]),
        timezone=str(body["timezone"]),
        place=body.get("place"),
        start_text=str(body["start"]),
        end_text=str(body["end"]),
    )


def _derive(proposal: Envelope, related: list[Envelope]) -> Meeting:
    body = proposal.body
    if proposal.schema == 1:
        invited = tuple(sorted({proposal.sender.party, *proposal.recipients}))
        participants: dict[str, tuple[tuple[str, str], ...]] = dict.fromkeys(invited, ())
        forum, basis = "", tuple[str, ...]()
    else:
        participants = {
            party: tuple((str(p["name"]), str(p["role"])) for p in people)
            for party, people in sorted(body["participants"].items())
        }
        invited = tuple(sorted(participants))
        forum, basis = str(body["forum"]), tuple(str(b) for b in body.get("basis", []))
    mine = [m for m in related if m.sender.party in invited]
    terms = _proposal_terms(proposal)
    countered_by = proposal.sender.party
    for message in mine:
        if message.type is MessageType.MEETING_COUNTER_PROPOSAL:
            terms, countered_by = _terms(message.id, message.body), message.sender.party
    answers = dict.fromkeys(invited, Answer.NEEDS_ACTION)
    answers[countered_by] = Answer.ACCEPTED
    if terms.id == proposal.id:
        answers[proposal.sender.party] = Answer.ACCEPTED
    reason: str | None = None
    for message in mine:
        if message.body.get("terms") != terms.id:
            continue
        if message.type is MessageType.MEETING_ACCEPTANCE:
            answers[message.sender.party] = Answer.ACCEPTED
        elif message.type is MessageType.MEETING_DECLINE:
            answers[message.sender.party] = Answer.DECLINED
            reason = f"{message.sender.party}: {message.body.get('reason')}"
    cancellations = [
        m for m in mine if m.type is MessageType.MEETING_CANCELLATION and m.sender.party == proposal.sender.party
    ]
    confirmed = all(answer is Answer.ACCEPTED for answer in answers.values())
    minutes: Minutes | None = None
    approvals: tuple[str, ...] = ()
    drafts = [m for m in mine if m.type is MessageType.MINUTES]
    if confirmed and drafts:
        latest = drafts[-1]
        minutes = Minutes(
            id=latest.id,
            drafted_by=latest.sender.party,
            text=str(latest.body["text"]),
            decisions=tuple(str(d) for d in latest.body.get("decisions", [])),
            sha256=minutes_sha256(latest.body),
            created=latest.created,
        )
        approvals = tuple(
            sorted(
                {
                    m.sender.party
                    for m in mine
                    if m.type is MessageType.MINUTES_APPROVAL
                    and m.body.get("minutes") == minutes.id
                    and m.body.get("sha256") == minutes.sha256
                }
            )
        )
    if cancellations:
        status, reason = MeetingStatus.CANCELLED, str(cancellations[0].body.get("reason"))
    elif any(answer is Answer.DECLINED for answer in answers.values()):
        status = MeetingStatus.DECLINED
    elif minutes is not None and set(approvals) == set(invited):
        status = MeetingStatus.MINUTES_APPROVED
    elif minutes is not None:
        status = MeetingStatus.HELD
    elif confirmed:
        status = MeetingStatus.CONFIRMED
    else:
        status = MeetingStatus.PROPOSED
    return Meeting(
        id=proposal.id,
        channel=proposal.channel,
        thread=proposal.thread,
        forum=forum,
        basis=basis,
        proposer=proposal.sender.party,
        invited=invited,
        participants=MappingProxyType(participants),
        agenda=tuple(MappingProxyType(dict(item)) for item in body.get("agenda", [])),
        terms=terms,
        answers=MappingProxyType(answers),
        status=status,
        minutes=minutes,
        approvals=approvals,
        proposed_at=proposal.created,
        reason=reason,
        entries=tuple(sorted([proposal.id, *(m.id for m in related)])),
    )


def derive_actions(envelopes: Iterable[Envelope | SignedEnvelope]) -> dict[str, ActionItem]:
    """Every action item among ``envelopes`` (one channel's, any order) by id; done when its owner said so."""
    items: dict[str, Envelope] = {}
    done: dict[str, list[Envelope]] = {}
    for item in envelopes:
        message = _message(item)
        if message.type is MessageType.ACTION_ITEM:
            items[message.id] = message
        elif message.type is MessageType.ACTION_DONE:
            done.setdefault(str(message.body.get("action")), []).append(message)
    result: dict[str, ActionItem] = {}
    for action_id, message in sorted(items.items()):
        body = message.body
        closing = sorted((m for m in done.get(action_id, []) if m.sender.party == body["owner"]), key=_order)
        first = closing[0] if closing else None
        result[action_id] = ActionItem(
            id=action_id,
            channel=message.channel,
            title=str(body["title"]),
            owner=str(body["owner"]),
            raised_by=message.sender.party,
            due=iso_seconds(str(body["due"])),
            due_text=str(body["due"]),
            meeting=body.get("meeting"),
            created=message.created,
            done_id=None if first is None else first.id,
            done_at=None if first is None else first.created,
            note=None if first is None else str(first.body.get("note")),
        )
    return result


class ChannelDialogue:
    """One channel's envelopes, indexed for ``check_in_context`` (add the ones of a batch as they are checked).

    It needs every meeting and action-item envelope of the channel; ``lookup`` finds any other envelope by id
    (what an agenda cites) so that a node need not parse its whole log to check one message.
    """

    def __init__(
        self,
        envelopes: Iterable[Envelope | SignedEnvelope] = (),
        lookup: Callable[[str], Envelope | None] | None = None,
    ) -> None:
        self._by_id: dict[str, Envelope] = {}
        self._lookup = lookup
        for envelope in envelopes:
            self.add(envelope)

    def add(self, envelope: Envelope | SignedEnvelope) -> None:
        message = _message(envelope)
        self._by_id[message.id] = message

    def get(self, message_id: str) -> Envelope | None:
        found = self._by_id.get(message_id)
        if found is None and self._lookup is not None:
            found = self._lookup(message_id)
        return found

    def meeting(self, meeting_id: str) -> Meeting | None:
        proposal = self._by_id.get(meeting_id)
        if proposal is None or proposal.type is not MessageType.MEETING_PROPOSAL:
            return None
        related = [m for m in self._by_id.values() if m.type in MEETING_TYPES and m.body.get("meeting") == meeting_id]
        return _derive(proposal, sorted(related, key=_order))

    def action(self, action_id: str) -> ActionItem | None:
        message = self._by_id.get(action_id)
        if message is None or message.type is not MessageType.ACTION_ITEM:
            return None
        done = [m for m in self._by_id.values() if m.type is MessageType.ACTION_DONE]
        return derive_actions([message, *done]).get(action_id)


_REFERENCE_TYPES: Mapping[str, tuple[MessageType, ...] | None] = MappingProxyType(
    {"incident": (MessageType.INCIDENT_REPORT,), "notification": (MessageType.HAZARD_NOTICE,), "message": None}
)
_REFERENCE_WORDS = MappingProxyType(
    {"incident": "incident report", "notification": "notification", "message": "message"}
)


def check_in_context(envelope: Envelope, dialogue: ChannelDialogue, policy: ChannelPolicy) -> None:
    """``InvalidField`` (422) naming the field when ``envelope`` does not fit the channel's log so far."""
    kind = envelope.type
    body = envelope.body
    party = envelope.sender.party
    if kind is MessageType.MEETING_PROPOSAL and envelope.schema != 1:
        _check_proposal(envelope, dialogue, policy)
    elif kind in MEETING_TYPES:
        meeting = _meeting(dialogue, str(body["meeting"]), policy)
        if party not in meeting.invited:
            raise InvalidField(
                "sender.party",
                f"{party} was not invited to meeting {meeting.id} (invited: {', '.join(meeting.invited)})",
            )
        if meeting.status is MeetingStatus.CANCELLED:
            raise InvalidField("body.meeting", f"meeting {meeting.id} was cancelled")
        if kind is MessageType.MEETING_DECLINE and party == meeting.proposer:
            raise InvalidField(
                "sender.party", f"{party} proposed meeting {meeting.id}: the proposer cancels it, not declines it"
            )
        if kind in (MessageType.MEETING_ACCEPTANCE, MessageType.MEETING_DECLINE):
            terms = dialogue.get(str(body["terms"]))
            if terms is None or not (
                terms.id == meeting.id
                or (terms.type is MessageType.MEETING_COUNTER_PROPOSAL and terms.body.get("meeting") == meeting.id)
            ):
                raise InvalidField(
                    "body.terms", f"{body['terms']} is not the proposal or a counter-proposal of meeting {meeting.id}"
                )
        elif kind is MessageType.MEETING_COUNTER_PROPOSAL:
            _check_level(body["level"], policy)
        elif kind is MessageType.MEETING_CANCELLATION and party != meeting.proposer:
            raise InvalidField(
                "sender.party", f"only the proposer ({meeting.proposer}) cancels meeting {meeting.id}; decline instead"
            )
        elif kind is MessageType.MINUTES:
            if meeting.status is MeetingStatus.PROPOSED or meeting.status is MeetingStatus.DECLINED:
                raise InvalidField(
                    "body.meeting",
                    f"meeting {meeting.id} is {meeting.status}: minutes come after every invited party accepted",
                )
            supersedes = body.get("supersedes")
            if supersedes is not None and (meeting.minutes is None or supersedes != meeting.minutes.id):
                raise InvalidField("body.supersedes", f"{supersedes} are not the current minutes of {meeting.id}")
        elif kind is MessageType.MINUTES_APPROVAL:
            current = meeting.minutes
            if current is None or body["minutes"] != current.id:
                raise InvalidField(
                    "body.minutes",
                    f"{body['minutes']} are not the current minutes of meeting {meeting.id}"
                    + ("" if current is None else f" (those are {current.id})"),
                )
            if body["sha256"] != current.sha256:
                raise InvalidField(
                    "body.sha256", f"{body['sha256']} differs from the hash of minutes {current.id}: {current.sha256}"
                )
    elif kind is MessageType.ACTION_ITEM:
        if body["owner"] not in policy.members:
            raise InvalidField("body.owner", f"{body['owner']} is not a member of channel {policy.id}")
        if body.get("meeting") is not None:
            _meeting(dialogue, str(body["meeting"]), policy)
        _check_references(body.get("references", []), "body.references", dialogue, policy)
    elif kind is MessageType.ACTION_DONE:
        action = dialogue.action(str(body["action"]))
        if action is None:
            raise InvalidField("body.action", f"no action item {body['action']} on channel {policy.id}")
        if party != action.owner:
            raise InvalidField("sender.party", f"only the owner party {action.owner} closes action item {action.id}")
        if action.is_done:
            raise InvalidField("body.action", f"action item {action.id} was closed already by {action.done_id}")


def _meeting(dialogue: ChannelDialogue, meeting_id: str, policy: ChannelPolicy) -> Meeting:
    meeting = dialogue.meeting(meeting_id)
    if meeting is None:
        raise InvalidField("body.meeting", f"no meeting proposal {meeting_id} on channel {policy.id}")
    return meeting


def _check_level(level: str, policy: ChannelPolicy) -> None:
    if ContactLevel(level) not in policy.levels:
        raise InvalidField(
            "body.level", f"{level} is not one of channel {policy.id}'s levels: {', '.join(policy.levels)}"
        )


def _check_proposal(envelope: Envelope, dialogue: ChannelDialogue, policy: ChannelPolicy) -> None:
    body = envelope.body
    _check_level(body["level"], policy)
    for party in body["participants"]:
        if party not in policy.members:
            raise InvalidField(f"body.participants.{party}", f"{party} is not a member of channel {policy.id}")
    if envelope.sender.party not in body["participants"]:
        raise InvalidField("body.participants", f"the proposer's party {envelope.sender.party} is not among them")
    for index, item in enumerate(body["agenda"]):
        _check_references(item.get("references", []), f"body.agenda.{index}.references", dialogue, policy)


def _check_references(
    references: Iterable[Mapping[str, Any]], where: str, dialogue: ChannelDialogue, policy: ChannelPolicy
) -> None:
    for index, reference in enumerate(references):
        if reference.get("channel") not in (None, policy.id):
            continue
        kind = str(reference["kind"])
        cited = dialogue.get(str(reference["id"]))
        wanted = _REFERENCE_TYPES[kind]
        if cited is None or (wanted is not None and cited.type not in wanted):
            raise InvalidField(
                f"{where}.{index}.id", f"no {_REFERENCE_WORDS[kind]} {reference['id']} on channel {policy.id}"
            )


def summarize_dialogue(kind: MessageType, body: Mapping[str, Any]) -> str:
    """One line for inbox and outbox listings of a meeting or action-item message."""
    meeting = str(body.get("meeting") or "")[:8]
    if kind is MessageType.MEETING_PROPOSAL:
        agenda = "; ".join(str(item.get("title", "")) for item in body.get("agenda", []))
        return f"{body.get('level', '')} {body.get('forum', '')} {body.get('start', body.get('date', ''))}: {agenda}"
    if kind is MessageType.MEETING_ACCEPTANCE:
        return f"accepts meeting {meeting}" + (f": {body['note']}" if body.get("note") else "")
    if kind is MessageType.MEETING_DECLINE:
        return f"declines meeting {meeting}: {body.get('reason', '')}"
    if kind is MessageType.MEETING_COUNTER_PROPOSAL:
        return f"counters meeting {meeting}: {body.get('level')} {body.get('start')} {body.get('place')}"
    if kind is MessageType.MEETING_CANCELLATION:
        return f"cancels meeting {meeting}: {body.get('reason', '')}"
    if kind is MessageType.MINUTES:
        return f"minutes of meeting {meeting}: {len(body.get('decisions', []))} decisions"
    if kind is MessageType.MINUTES_APPROVAL:
        return f"approves minutes {str(body.get('minutes', ''))[:8]} sha256 {str(body.get('sha256', ''))[:12]}"
    if kind is MessageType.ACTION_ITEM:
        return f"action for {body.get('owner')} due {body.get('due')}: {body.get('title', '')}"
    if kind is MessageType.ACTION_DONE:
        return f"action {str(body.get('action', ''))[:8]} done: {body.get('note', '')}"
    return ""
