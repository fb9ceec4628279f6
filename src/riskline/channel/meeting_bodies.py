"""Body schemas of a meeting's life and its action items (docs/dialogue.md; REGIMES.md §7, "Meetings").

``meeting_proposal`` (schema 2) names the forum, the agreements it is held under, the level, start and end
as ISO 8601 times with the IANA zone the meeting is held in, the place, the participants of each party and
an agenda whose items cite incidents (``incident_report`` messages), notifications (``hazard_notice``) and
other messages by id. The answers follow iTIP (RFC 5546): acceptance (REPLY ACCEPTED), decline (REPLY
DECLINED), counter-proposal (COUNTER: another time, place or level), cancellation (CANCEL). Acceptances and
declines name the terms they answer (the proposal's or a counter-proposal's id), so an answer to terms that
were countered meanwhile is kept in the log but does not count.

``minutes`` are drafted by one participating party; each participating party approves them by signing a
``minutes_approval`` that carries the SHA-256 of the minutes' body (``minutes_sha256``): a later edit
(new ``minutes`` that supersede them) has another hash, and the earlier approvals no longer count.
``action_item`` names the owner party and the due date; the owner closes it with ``action_done``.

These schemas check one message alone (times in order, the meeting not in the past); what needs the log
(who was invited, which minutes are current, whether a cited incident exists) is ``meetings.check_in_context``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field

from riskline.channel.body_types import BodyModel, IsoTime, Level, MessageId, Party, Text, parse_iso
from riskline.channel.canonical import canonical_json, sha256_hex
from riskline.channel.errors import MalformedEnvelope

MAX_MEETING_S = 14 * 86_400.0  # [s] a meeting (or conference) longer than two weeks is a typo
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _FieldError(MalformedEnvelope):
    """Raised by ``check_alone``; ``messages.validate_body`` turns it into an ``InvalidField``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone like 'Europe/Brussels' or 'UTC': {value!r}") from None
    return value


def _sha256(value: str) -> str:
    if _SHA256.fullmatch(value) is None:
        raise ValueError("a SHA-256 is 64 lower-case hex digits")
    return value


TimeZone = Annotated[str, AfterValidator(_zone)]
Sha256 = Annotated[str, AfterValidator(_sha256)]


class AgendaReference(BodyModel):
    """What an agenda item cites: an incident (``incident_report``), a notification (``hazard_notice``) or any
    message, by message id; ``channel`` when it was sent on another channel (not checkable here)."""

    kind: Literal["incident", "notification", "message"]
    id: MessageId
    channel: str | None = None


class MeetingAgendaItem(BodyModel):
    title: Text
    references: list[AgendaReference] = Field(default_factory=list)


class Participant(BodyModel):
    name: Text
    role: Text
    """e.g. ``head of delegation``, ``ambassador``, ``naval attaché``."""


class MeetingProposalBody(BodyModel):
    forum: Text
    """The forum's id in the channel config (e.g. ``incsea-annual-review``), or a free name."""
    basis: list[Text] = Field(default_factory=list)
    """The agreements the meeting is held under; [] means none is in force."""
    level: Level
    start: IsoTime
    end: IsoTime
    timezone: TimeZone
    """IANA zone of the place, for the calendar (``Europe/Brussels``)."""
    place: Text
    participants: Annotated[dict[Party, list[Participant]], Field(min_length=2)]
    """Every invited party (the proposer's included) with its delegation; a party may leave its list empty."""
    agenda: Annotated[list[MeetingAgendaItem], Field(min_length=1)]


class MeetingAcceptanceBody(BodyModel):
    meeting: MessageId
    """The ``meeting_proposal``'s id: the meeting's identity."""
    terms: MessageId
    """The proposal or counter-proposal whose time, place and level are accepted."""
    note: str | None = None


class MeetingDeclineBody(BodyModel):
    meeting: MessageId
    terms: MessageId
    reason: Text


class MeetingCounterProposalBody(BodyModel):
    meeting: MessageId
    level: Level
    start: IsoTime
    end: IsoTime
    timezone: TimeZone
    place: Text
    reason: Text


class MeetingCancellationBody(BodyModel):
    meeting: MessageId
    reason: Text


class MinutesBody(BodyModel):
    meeting: MessageId
    text: Text
    decisions: list[Text] = Field(default_factory=list)
    supersedes: MessageId | None = None
    """The minutes these replace (an edit): approvals of those no longer count."""


class MinutesApprovalBody(BodyModel):
    meeting: MessageId
    minutes: MessageId
    sha256: Sha256
    """``minutes_sha256`` of the approved minutes' body."""


class ActionItemBody(BodyModel):
    title: Text
    owner: Party
    due: IsoTime
    meeting: MessageId | None = None
    """The meeting that decided it, if any."""
    references: list[AgendaReference] = Field(default_factory=list)


class ActionDoneBody(BodyModel):
    action: MessageId
    note: Text


def minutes_sha256(body: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON (RFC 8785) of a ``minutes`` body in its normal form."""
    return sha256_hex(canonical_json(dict(body)))


def iso_seconds(value: str) -> float:
    """[s] POSIX of an ISO 8601 time with a zone (already validated)."""
    return parse_iso(value).timestamp()


def check_alone(parsed: BaseModel, created: float) -> None:
    """The checks one message allows: the meeting is not in the past, ends after it starts, is not weeks long."""
    if isinstance(parsed, MeetingProposalBody | MeetingCounterProposalBody):
        start, end = iso_seconds(parsed.start), iso_seconds(parsed.end)
        if math.isfinite(created) and start <= created:
            raise _FieldError(
                "body.start",
                f"the meeting would start at {parsed.start}, in the past (this message was written at {_iso(created)})",
            )
        if end <= start:
            raise _FieldError("body.end", f"the meeting would end at {parsed.end}, not after its start {parsed.start}")
        if end - start > MAX_MEETING_S:
            raise _FieldError("body.end", f"a meeting of {(end - start) / 86_400.0:.1f} days; at most 14 days")
    elif isinstance(parsed, ActionItemBody) and math.isfinite(created) and iso_seconds(parsed.due) <= created:
        raise _FieldError("body.due", f"{parsed.due} is already past (this message was written at {_iso(created)})")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


MEETING_BODY_TYPES: Mapping[str, type[BodyModel]] = MappingProxyType(
    {
        "meeting_acceptance": MeetingAcceptanceBody,
        "meeting_decline": MeetingDeclineBody,
        "meeting_counter_proposal": MeetingCounterProposalBody,
        "meeting_cancellation": MeetingCancellationBody,
        "minutes": MinutesBody,
        "minutes_approval": MinutesApprovalBody,
        "action_item": ActionItemBody,
        "action_done": ActionDoneBody,
    }
)
"""Body schema by message type name (``messages.BODY_MODELS`` registers them)."""
