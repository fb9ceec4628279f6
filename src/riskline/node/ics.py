"""Meetings and action items as an iCalendar file (RFC 5545, written with the ``icalendar`` package).

One VEVENT per meeting: UID ``<proposal id>@riskline``, DTSTART/DTEND in the meeting's own IANA zone (with its
VTIMEZONE), SUMMARY forum, level and channel, LOCATION the place, DESCRIPTION the agreements and the agenda,
ORGANIZER the proposing party, one ATTENDEE per invited party with its PARTSTAT (NEEDS-ACTION, ACCEPTED,
DECLINED) and the delegation as CN, STATUS from the meeting's state (REGIMES.md §7: TENTATIVE while proposed,
CONFIRMED once every party accepted — and after — CANCELLED when declined or cancelled), SEQUENCE the number
of counter-proposals. One VTODO per action item: DUE, STATUS NEEDS-ACTION or COMPLETED (with COMPLETED),
the owner party as ATTENDEE, RELATED-TO its meeting. DTSTAMP is the signed creation time of the message, so the
file is the same on every node that holds the same log. Parties are written as ``urn:riskline:party:XX``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from riskline.channel.meetings import ActionItem, Meeting, MeetingStatus

PRODID = "-//riskline//dialogue//EN"
_EVENT_STATUS = {
    MeetingStatus.PROPOSED: "TENTATIVE",
    MeetingStatus.CONFIRMED: "CONFIRMED",
    MeetingStatus.HELD: "CONFIRMED",
    MeetingStatus.MINUTES_APPROVED: "CONFIRMED",
    MeetingStatus.DECLINED: "CANCELLED",
    MeetingStatus.CANCELLED: "CANCELLED",
}


def party_address(party: str, name: str | None = None, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"urn:riskline:party:{party}")
    address.params["CN"] = name or party
    for key, value in params.items():
        address.params[key.upper().replace("_", "-")] = value
    return address


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def meeting_event(meeting: Meeting) -> icalendar.Event:
    zone = ZoneInfo(meeting.terms.timezone)
    event = icalendar.Event()
    event.add("uid", f"{meeting.id}@riskline")
    event.add("dtstamp", _utc(meeting.proposed_at))
    event.add("dtstart", _utc(meeting.terms.start).astimezone(zone))
    event.add("dtend", _utc(meeting.terms.end).astimezone(zone))
    forum = meeting.forum or "meeting"
    event.add("summary", f"{forum} ({meeting.terms.level}) on {meeting.channel}")
    if meeting.terms.place:
        event.add("location", meeting.terms.place)
    basis = "; ".join(meeting.basis) if meeting.basis else "no agreement in force"
    agenda = "\n".join(f"{n}. {item.get('title', '')}" for n, item in enumerate(meeting.agenda, 1))
    event.add("description", f"Basis: {basis}\nState: {meeting.status}\nAgenda:\n{agenda}")
    event.add("status", _EVENT_STATUS[meeting.status])
    event.add("sequence", sum(1 for _ in _counters(meeting)))
    event.add("organizer", party_address(meeting.proposer))
    for party in meeting.invited:
        people = ", ".join(f"{name} ({role})" for name, role in meeting.participants.get(party, ()))
        event.add(
            "attendee",
            party_address(
                party,
                f"{party}: {people}" if people else party,
                partstat=str(meeting.answers[party]),
                role="REQ-PARTICIPANT",
                cutype="GROUP",
            ),
        )
    return event


def _counters(meeting: Meeting) -> Iterable[str]:
    return () if meeting.terms.id == meeting.id else (meeting.terms.id,)


def action_todo(item: ActionItem) -> icalendar.Todo:
    todo = icalendar.Todo()
    todo.add("uid", f"{item.id}@riskline")
    todo.add("dtstamp", _utc(item.created))
    todo.add("summary", item.title)
    todo.add("due", _utc(item.due))
    todo.add("status", "COMPLETED" if item.is_done else "NEEDS-ACTION")
    if item.done_at is not None:
        todo.add("completed", _utc(item.done_at))
    todo.add("organizer", party_address(item.raised_by))
    todo.add("attendee", party_address(item.owner, role="REQ-PARTICIPANT", cutype="GROUP"))
    if item.meeting is not None:
        todo.add("related-to", f"{item.meeting}@riskline")
    if item.note:
        todo.add("description", item.note)
    return todo


def calendar(meetings: Iterable[Meeting], actions: Iterable[ActionItem] = ()) -> bytes:
    """The iCalendar file (RFC 5545) of ``meetings`` and ``actions``."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    for meeting in meetings:
        cal.add_component(meeting_event(meeting))
    for item in actions:
        cal.add_component(action_todo(item))
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
