"""The dialogue on a node: meetings and action items, read from its log and written as signed messages.

Library functions the CLI (``riskline meeting|action|calendar|forum``) and the demo both call. Reading
derives every meeting and action item of a channel from the node's own log (``channel.meetings``); writing
builds the body, replies in the meeting's thread to the message it answers (so deadlines are met and
escalation stops) and sends it through ``messaging.send`` — which checks it against the log first.

``cosigned_envelopes`` is what the annual review and everything "both ends agree on" read: the envelopes of
one channel that every member holds — those received (we cosigned their sender's log) and those we sent that
every recipient has receipted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskline.channel.envelope import Envelope
from riskline.channel.forums import ForumDue, forum_schedule
from riskline.channel.meeting_bodies import iso_seconds
from riskline.channel.meetings import ActionItem, Meeting, Terms, derive_actions, derive_meetings
from riskline.channel.messages import ContactLevel, InvalidField, MessageType
from riskline.node.dialogue_checks import dialogue_envelopes
from riskline.node.errors import MessageNotFound, NodeConfigError
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, Sent, send
from riskline.storage import channel_store as store
from riskline.timeutil import to_iso


def channel_envelopes(node: LocalNode, channel: str) -> list[Envelope]:
    """Every envelope of ``channel`` in this node's log, in log order."""
    node.reload_config().channel(channel)
    with node.reading() as connection:
        book = node.books(connection).book(channel)
        return [] if book is None else [logged.envelope for logged in book.messages()]


def cosigned_envelopes(node: LocalNode, channel: str) -> list[Envelope]:
    """The envelopes of ``channel`` every member holds: received ones, and sent ones receipted by all recipients."""
    node.reload_config().channel(channel)
    with node.reading() as connection:
        book = node.books(connection).book(channel)
        unconfirmed = {row.envelope_id for row in store.outbox_rows(connection) if row.state != "delivered"}
        if book is None:
            return []
        return [logged.envelope for logged in book.messages() if logged.envelope.id not in unconfirmed]


def meeting_envelopes(node: LocalNode, channel: str) -> list[Envelope]:
    """The meeting and action-item envelopes of ``channel`` (all a meeting's state needs), parsed alone."""
    node.reload_config().channel(channel)
    with node.reading() as connection:
        return dialogue_envelopes(connection, channel)


def _channels(node: LocalNode, channel: str | None) -> list[str]:
    config = node.reload_config()
    if channel is not None:
        return [config.channel(channel).id]
    return [policy.id for policy in config.channels]


def meetings(node: LocalNode, channel: str | None = None) -> list[Meeting]:
    """Every meeting of ``channel`` (or of every channel), soonest first."""
    found: list[Meeting] = []
    for channel_id in _channels(node, channel):
        found.extend(derive_meetings(meeting_envelopes(node, channel_id)).values())
    return sorted(found, key=lambda m: (m.terms.start, m.id))


def actions(node: LocalNode, channel: str | None = None) -> list[ActionItem]:
    """Every action item of ``channel`` (or of every channel), soonest due first."""
    found: list[ActionItem] = []
    for channel_id in _channels(node, channel):
        found.extend(derive_actions(meeting_envelopes(node, channel_id)).values())
    return sorted(found, key=lambda a: (a.due, a.id))


def _by_reference(items: Sequence[Any], reference: str, what: str) -> Any:
    exact = [item for item in items if item.id == reference]
    if exact:
        return exact[0]
    if len(reference) < 6:
        raise MessageNotFound(f"no {what} {reference!r} (give the id or at least its first 6 characters)")
    matches = [item for item in items if item.id.startswith(reference)]
    if not matches:
        raise MessageNotFound(f"no {what} with id {reference!r} on this node")
    if len(matches) > 1:
        raise MessageNotFound(f"{what} id prefix {reference!r} is ambiguous; give more characters")
    return matches[0]


def find_meeting(node: LocalNode, reference: str) -> Meeting:
    """The meeting whose proposal id is ``reference`` or starts with it (at least 6 characters)."""
    found: Meeting = _by_reference(meetings(node), reference, "meeting")
    return found


def find_action(node: LocalNode, reference: str) -> ActionItem:
    found: ActionItem = _by_reference(actions(node), reference, "action item")
    return found


@dataclass(frozen=True, slots=True)
class Proposal:
    """What an operator proposes; times are ISO 8601 with an offset (``2027-03-10T10:00:00+01:00``)."""

    channel: str
    forum: str
    level: ContactLevel | str
    start: str
    end: str
    place: str
    timezone: str = "UTC"
    participants: Mapping[str, Sequence[Mapping[str, str]]] | None = None
    """Party → delegation (``[{"name": …, "role": …}]``); None invites every member with an empty list."""
    agenda: Sequence[Mapping[str, Any]] = ()
    """``[{"title": …, "references": [{"kind": "incident", "id": …}]}]``."""
    basis: Sequence[str] | None = None
    """None: the channel's agreements in force."""


def propose(node: LocalNode, proposal: Proposal, *, author: Any = None) -> Sent:
    policy = node.reload_config().channel(proposal.channel)
    participants = proposal.participants
    if participants is None:
        participants = {party: [] for party in policy.members}
    if not proposal.agenda:
        raise InvalidField("body.agenda", "a meeting needs at least one agenda item (--agenda)")
    body = {
        "forum": proposal.forum,
        "basis": list(policy.agreements if proposal.basis is None else proposal.basis),
        "level": str(proposal.level),
        "start": proposal.start,
        "end": proposal.end,
        "timezone": proposal.timezone,
        "place": proposal.place,
        "participants": {party: [dict(p) for p in people] for party, people in participants.items()},
        "agenda": [dict(item) for item in proposal.agenda],
    }
    return send(node, Outgoing(MessageType.MEETING_PROPOSAL, policy.id, body, level=str(proposal.level), author=author))


def _reply(node: LocalNode, kind: MessageType, body: dict[str, Any], to: str, author: Any) -> Sent:
    return send(node, Outgoing(kind, None, body, in_reply_to=to, author=author))


def accept(node: LocalNode, reference: str, *, note: str | None = None, author: Any = None) -> Sent:
    meeting = find_meeting(node, reference)
    body = {"meeting": meeting.id, "terms": meeting.terms.id, "note": note}
    return _reply(node, MessageType.MEETING_ACCEPTANCE, body, meeting.terms.id, author)


def decline(node: LocalNode, reference: str, *, reason: str, author: Any = None) -> Sent:
    meeting = find_meeting(node, reference)
    body = {"meeting": meeting.id, "terms": meeting.terms.id, "reason": reason}
    return _reply(node, MessageType.MEETING_DECLINE, body, meeting.terms.id, author)


def counter(
    node: LocalNode,
    reference: str,
    *,
    reason: str,
    start: str | None = None,
    end: str | None = None,
    place: str | None = None,
    level: str | None = None,
    timezone: str | None = None,
    author: Any = None,
) -> Sent:
    """Counter-propose another time, place or level; what is not given stays as the current terms say."""
    meeting = find_meeting(node, reference)
    terms = meeting.terms
    if start is not None and end is None:
        end = _shift(start, terms)
    body = {
        "meeting": meeting.id,
        "level": level or str(terms.level),
        "start": start or terms.start_text,
        "end": end or terms.end_text,
        "timezone": timezone or terms.timezone,
        "place": place or terms.place or "to be agreed",
        "reason": reason,
    }
    return _reply(node, MessageType.MEETING_COUNTER_PROPOSAL, body, terms.id, author)


def _shift(start: str, terms: Terms) -> str:
    """The end that keeps the meeting's length when only the start moves."""
    try:
        new_start = iso_seconds(start)
    except ValueError:
        raise InvalidField("body.start", f"not an ISO 8601 time with a zone: {start!r}") from None
    return to_iso(new_start + (terms.end - terms.start))


def cancel(node: LocalNode, reference: str, *, reason: str, author: Any = None) -> Sent:
    meeting = find_meeting(node, reference)
    return _reply(node, MessageType.MEETING_CANCELLATION, {"meeting": meeting.id, "reason": reason}, meeting.id, author)


def draft_minutes(
    node: LocalNode, reference: str, *, text: str, decisions: Sequence[str] = (), author: Any = None
) -> Sent:
    """Minutes of a confirmed meeting; drafting again supersedes the current minutes (their approvals lapse)."""
    meeting = find_meeting(node, reference)
    body: dict[str, Any] = {"meeting": meeting.id, "text": text, "decisions": list(decisions)}
    if meeting.minutes is not None:
        body["supersedes"] = meeting.minutes.id
    return _reply(node, MessageType.MINUTES, body, meeting.id, author)


def approve_minutes(node: LocalNode, reference: str, *, sha256: str | None = None, author: Any = None) -> Sent:
    """Sign the current minutes' hash; ``sha256`` (what the operator read) must be that hash when given."""
    meeting = find_meeting(node, reference)
    if meeting.minutes is None:
        raise InvalidField("body.minutes", f"meeting {meeting.id} has no minutes to approve ({meeting.status})")
    digest = meeting.minutes.sha256 if sha256 is None else sha256
    body = {"meeting": meeting.id, "minutes": meeting.minutes.id, "sha256": digest}
    return _reply(node, MessageType.MINUTES_APPROVAL, body, meeting.minutes.id, author)


def raise_action(
    node: LocalNode,
    *,
    channel: str | None,
    title: str,
    owner: str,
    due: str,
    meeting: str | None = None,
    author: Any = None,
) -> Sent:
    """An action item for ``owner`` due ``due`` (ISO 8601); in the meeting's thread when it came from one."""
    body: dict[str, Any] = {"title": title, "owner": owner, "due": due}
    if meeting is not None:
        found = find_meeting(node, meeting)
        body["meeting"] = found.id
        return send(node, Outgoing(MessageType.ACTION_ITEM, None, body, in_reply_to=found.id, author=author))
    if channel is None:
        raise NodeConfigError("say which channel the action item is on (--channel) or which meeting (--meeting)")
    return send(node, Outgoing(MessageType.ACTION_ITEM, channel, body, author=author))


def action_done(node: LocalNode, reference: str, *, note: str, author: Any = None) -> Sent:
    item = find_action(node, reference)
    return _reply(node, MessageType.ACTION_DONE, {"action": item.id, "note": note}, item.id, author)


def forum_status(node: LocalNode, *, now: float, channel: str | None = None) -> list[tuple[str, ForumDue]]:
    """(channel, where each forum stands at ``now``) for every forum of ``channel`` (or of every channel)."""
    result: list[tuple[str, ForumDue]] = []
    config = node.reload_config()
    for channel_id in _channels(node, channel):
        held = derive_meetings(meeting_envelopes(node, channel_id)).values()
        for forum in config.channel(channel_id).forums:
            result.append((channel_id, forum_schedule(forum, held, now=now)))
    return result


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    """A meeting as one JSON object (``meeting list --json``, ``meeting show --json``)."""
    minutes = meeting.minutes
    return {
        "id": meeting.id,
        "channel": meeting.channel,
        "forum": meeting.forum,
        "basis": list(meeting.basis),
        "proposer": meeting.proposer,
        "status": str(meeting.status),
        "level": str(meeting.terms.level),
        "start": meeting.terms.start_text,
        "end": meeting.terms.end_text,
        "timezone": meeting.terms.timezone,
        "place": meeting.terms.place,
        "terms": meeting.terms.id,
        "answers": {party: str(answer) for party, answer in meeting.answers.items()},
        "participants": {
            party: [{"name": name, "role": role} for name, role in people]
            for party, people in meeting.participants.items()
        },
        "agenda": [dict(item) for item in meeting.agenda],
        "minutes": None
        if minutes is None
        else {
            "id": minutes.id,
            "drafted_by": minutes.drafted_by,
            "sha256": minutes.sha256,
            "text": minutes.text,
            "decisions": list(minutes.decisions),
        },
        "approvals": list(meeting.approvals),
        "reason": meeting.reason,
        "entries": list(meeting.entries),
    }


def action_json(item: ActionItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "channel": item.channel,
        "title": item.title,
        "owner": item.owner,
        "raised_by": item.raised_by,
        "due": item.due_text,
        "meeting": item.meeting,
        "done": item.is_done,
        "done_by": item.done_id,
        "done_at": None if item.done_at is None else to_iso(item.done_at),
        "note": item.note,
    }
