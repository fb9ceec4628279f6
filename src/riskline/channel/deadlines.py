"""Response deadlines and who owes whom an answer, on this node's own clock (docs/channel.md, "Deadlines").

A message with a deadline creates one ``Obligation`` per recipient party: that party owes the sender a reply
of a type that ``messages.answers`` accepts (a ``clarification`` for a ``request_for_clarification``,
Vienna Document 2011 ch. III; an ``acknowledgement`` never counts). A meeting proposal is owed an answer by
the parties it invites; an action item by its owner party, by its due date (``action_done``).
The deadline span comes from *our* channel policy and runs from when *we* recorded the message (sent it, or
received it): the ``deadline`` the sender wrote is on its clock and only recorded. Peer clocks are never trusted.

``ThreadBook`` is the pure bookkeeping behind ``riskline inbox``/``outbox`` and escalation: feed it every
envelope of one channel with the local time it was logged (in any order; it can always be rebuilt from the
log), then ask what is open, answered or overdue at a given ``now``. A reply to an escalation notice counts
as a reply to the notice's original message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from riskline.channel.envelope import Envelope, SignedEnvelope
from riskline.channel.errors import ForeignChannel
from riskline.channel.meeting_bodies import iso_seconds
from riskline.channel.messages import ContactLevel, MessageType, answers
from riskline.channel.policy import ChannelPolicy


@dataclass(frozen=True, slots=True)
class Obligation:
    """One party owes another a reply to one message by ``due`` (all times [s] on this node's clock)."""

    message_id: str
    thread: str
    channel: str
    type: MessageType
    owed_by: str
    """The party that must answer (a recipient)."""
    owed_to: str
    """The party that asked (the sender)."""
    level: ContactLevel
    """The level of contact the message was sent at: where escalation starts."""
    recorded: float  # [s] when this node logged the message (sent or received it)
    span: float  # [s] the policy's deadline span for the type
    due: float  # [s] recorded + span

    def is_overdue(self, now: float) -> bool:
        return now >= self.due


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply that satisfied an obligation."""

    obligation: Obligation
    reply_id: str
    reply_type: MessageType
    at: float  # [s] when this node logged the reply

    @property
    def in_time(self) -> bool:
        return self.at <= self.obligation.due


def obligations_after(
    envelope: Envelope | SignedEnvelope, *, received: float, policy: ChannelPolicy
) -> list[Obligation]:
    """What the recipients of ``envelope`` owe its sender, due ``received`` [s] (our clock) + the policy's span.

    Escalation notices create none of their own: they restate the original's obligation, which stays the one
    to answer.
    """
    message = envelope.envelope if isinstance(envelope, SignedEnvelope) else envelope
    if message.type is MessageType.ESCALATION_NOTICE:
        return []
    if message.type is MessageType.ACTION_ITEM:
        return _action_obligation(message, received)
    span = policy.deadline_for(message.type)
    if span is None:
        return []
    owing = message.recipients
    if message.type is MessageType.MEETING_PROPOSAL and message.schema != 1:
        owing = tuple(party for party in message.recipients if party in message.body["participants"])
    return [
        Obligation(
            message_id=message.id,
            thread=message.thread,
            channel=message.channel,
            type=message.type,
            owed_by=party,
            owed_to=message.sender.party,
            level=message.level,
            recorded=received,
            span=span,
            due=received + span,
        )
        for party in owing
    ]


def _action_obligation(message: Envelope, received: float) -> list[Obligation]:
    """An action item is owed by its owner party (when another party raised it) by the agreed due date."""
    owner = str(message.body["owner"])
    if owner not in message.recipients:
        return []
    due = iso_seconds(str(message.body["due"]))
    return [
        Obligation(
            message_id=message.id,
            thread=message.thread,
            channel=message.channel,
            type=message.type,
            owed_by=owner,
            owed_to=message.sender.party,
            level=message.level,
            recorded=received,
            span=max(due - received, 1.0),
            due=due,
        )
    ]


@dataclass(frozen=True, slots=True)
class Logged:
    """An envelope of the book with the local time [s] it was logged."""

    envelope: Envelope
    at: float


class ThreadBook:
    """Threads, obligations and answers of one channel as seen by ``local_party``; no I/O, no clock."""

    __slots__ = ("_by_id", "_local_party", "_notices", "_obligations", "_order", "_policy", "_replies")

    def __init__(self, *, policy: ChannelPolicy, local_party: str) -> None:
        self._policy = policy
        self._local_party = local_party
        self._by_id: dict[str, Logged] = {}
        self._order: list[str] = []
        self._obligations: list[Obligation] = []
        self._replies: defaultdict[str, list[Logged]] = defaultdict(list)
        self._notices: defaultdict[str, list[Logged]] = defaultdict(list)

    @classmethod
    def from_log(
        cls,
        entries: Iterable[tuple[Envelope | SignedEnvelope, float]],
        *,
        policy: ChannelPolicy,
        local_party: str,
    ) -> ThreadBook:
        """Rebuild the book from ``(envelope, local time logged)`` pairs; other channels' envelopes are skipped."""
        book = cls(policy=policy, local_party=local_party)
        for envelope, at in entries:
            message = envelope.envelope if isinstance(envelope, SignedEnvelope) else envelope
            if message.channel == policy.id:
                book.record(message, at=at)
        return book

    @property
    def policy(self) -> ChannelPolicy:
        return self._policy

    @property
    def local_party(self) -> str:
        return self._local_party

    def record(self, envelope: Envelope | SignedEnvelope, *, at: float) -> list[Obligation]:
        """Add one envelope logged at ``at`` [s]; returns the obligations it creates. Recording twice is a no-op."""
        message = envelope.envelope if isinstance(envelope, SignedEnvelope) else envelope
        if message.channel != self._policy.id:
            raise ForeignChannel(f"envelope is for channel {message.channel!r}, this book keeps {self._policy.id!r}")
        if message.id in self._by_id:
            return []
        logged = Logged(message, at)
        self._by_id[message.id] = logged
        self._order.append(message.id)
        if message.in_reply_to is not None:
            self._replies[message.in_reply_to].append(logged)
        if message.type is MessageType.ESCALATION_NOTICE:
            self._notices[str(message.body["original"])].append(logged)
        created = obligations_after(message, received=at, policy=self._policy)
        self._obligations.extend(created)
        return created

    def envelope(self, message_id: str) -> Envelope | None:
        logged = self._by_id.get(message_id)
        return None if logged is None else logged.envelope

    def logged_at(self, message_id: str) -> float | None:
        logged = self._by_id.get(message_id)
        return None if logged is None else logged.at

    def messages(self) -> list[Logged]:
        """Every envelope in the order recorded."""
        return [self._by_id[message_id] for message_id in self._order]

    def thread(self, thread_id: str) -> list[Logged]:
        """The envelopes of one thread, oldest first by local time."""
        return sorted((m for m in self.messages() if m.envelope.thread == thread_id), key=lambda m: m.at)

    def thread_ids(self) -> list[str]:
        """Threads, most recently active first."""
        latest: dict[str, float] = {}
        for logged in self._by_id.values():
            thread = logged.envelope.thread
            latest[thread] = max(latest.get(thread, logged.at), logged.at)
        return sorted(latest, key=lambda thread: (-latest[thread], thread))

    @property
    def obligations(self) -> tuple[Obligation, ...]:
        """Every obligation ever created, in the order recorded."""
        return tuple(self._obligations)

    def notices_for(self, original_id: str) -> list[Logged]:
        """The escalation notices recorded for ``original_id``."""
        return list(self._notices.get(original_id, ()))

    def escalation_steps_taken(self) -> frozenset[tuple[str, int]]:
        """``(original id, step)`` of every escalation notice this party sent, as the book records them."""
        return frozenset(
            (original, int(logged.envelope.body["step"]))
            for original, notices in self._notices.items()
            for logged in notices
            if logged.envelope.sender.party == self._local_party
        )

    def answer(self, obligation: Obligation, *, now: float | None = None) -> Answer | None:
        """The earliest reply that satisfies ``obligation`` (logged by ``now`` when given), or None."""
        candidates = list(self._replies.get(obligation.message_id, ()))
        for notice in self._notices.get(obligation.message_id, ()):
            candidates.extend(self._replies.get(notice.envelope.id, ()))
        accepted = answers(obligation.type)
        best: Logged | None = None
        for logged in candidates:
            reply = logged.envelope
            if reply.sender.party != obligation.owed_by or reply.type not in accepted:
                continue
            if now is not None and logged.at > now:
                continue
            if best is None or (logged.at, reply.id) < (best.at, best.envelope.id):
                best = logged
        if best is None:
            return None
        return Answer(obligation, best.envelope.id, best.envelope.type, best.at)

    def open(self, now: float) -> list[Obligation]:
        """Obligations that exist at ``now`` and have no answer logged by then, soonest due first."""
        found = [ob for ob in self._obligations if ob.recorded <= now and self.answer(ob, now=now) is None]
        return sorted(found, key=lambda ob: (ob.due, ob.message_id, ob.owed_by))

    def overdue(self, now: float) -> list[Obligation]:
        """Open obligations whose deadline has come (``now >= due``)."""
        return [ob for ob in self.open(now) if ob.is_overdue(now)]

    def owed_by_us(self, now: float) -> list[Obligation]:
        """What this party still has to answer (the inbox)."""
        return [ob for ob in self.open(now) if ob.owed_by == self._local_party]

    def owed_to_us(self, now: float) -> list[Obligation]:
        """What this party is still waiting for (the outbox)."""
        return [ob for ob in self.open(now) if ob.owed_to == self._local_party]
