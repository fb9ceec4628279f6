"""Message types, levels of contact and the versioned body schema of every type (docs/channel.md, "Messages").

Each message type has one body schema (a pydantic model, frozen, ``extra="forbid"``, strict: no coercion
of ``"1"`` into ``1``), a schema version carried in the envelope, and the reply types that answer it:

- ``link_test`` / ``link_test_reply``: the "regularly tested" line of the NATO–Russia direct line (REGIMES.md §5).
- ``incident_report``: the watch's encounter JSON (``riskline.incidents.report.encounter_json``) with evidence.
- ``hazard_notice``: INCSEA art. VI, notice 3–5 days ahead (REGIMES.md §1); shorter notice needs a reason.
- ``request_for_clarification`` / ``clarification``: Vienna Document 2011 ch. III, reply within 48 h.
- ``activity_notification``, ``annual_calendar``, ``observation_invitation``: Vienna Document 2011 ch. V–VII
  (schemas in ``transparency_bodies.py``).
- ``free_text``, ``escalation_notice`` and ``acknowledgement`` (which answers nothing).
- a meeting's life — ``meeting_proposal`` (schema 2; schema 1 stays readable), ``meeting_acceptance``,
  ``meeting_decline``, ``meeting_counter_proposal``, ``meeting_cancellation``, ``minutes``,
  ``minutes_approval`` — and ``action_item`` / ``action_done``: schemas in ``meeting_bodies.py``.

Bodies are checked on both sides: the sender validates before signing, the receiver before accepting.
A failure is one ``InvalidField`` (a ``MalformedEnvelope``, HTTP 422) whose message starts with the field,
e.g. ``body.area.coordinates: …``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal

import shapely
from pydantic import BaseModel, Field, ValidationError, model_validator

from riskline.channel.body_types import (
    MESSAGE_ID,
    BodyModel,
    IsoTime,
    Level,
    MessageId,
    Seconds,
    Text,
    is_message_id,
)
from riskline.channel.canonical import canonical_json
from riskline.channel.errors import MalformedEnvelope
from riskline.channel.key_bodies import KEY_BODIES
from riskline.channel.levels import ContactLevel, ContactTrack
from riskline.channel.meeting_bodies import MEETING_BODY_TYPES, MeetingProposalBody, check_alone

__all__ = ["MESSAGE_ID", "ContactLevel", "ContactTrack", "is_message_id"]
from riskline.channel.transparency_bodies import TRANSPARENCY_BODIES, check_body

HAZARD_NOTICE_MIN_LEAD_S = 3 * 86_400.0  # [s] INCSEA art. VI: notice 3–5 days ahead


class InvalidField(MalformedEnvelope):
    """A ``MalformedEnvelope`` that names the offending field (``body.area``, ``sender.key``, …).

    ``field`` feeds the ``"field"`` member of the node's JSON error; the message starts with it.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class MessageType(StrEnum):
    """What a message is; decides its body schema, its deadline and what answers it."""

    LINK_TEST = "link_test"
    LINK_TEST_REPLY = "link_test_reply"
    INCIDENT_REPORT = "incident_report"
    HAZARD_NOTICE = "hazard_notice"
    REQUEST_FOR_CLARIFICATION = "request_for_clarification"
    CLARIFICATION = "clarification"
    MEETING_PROPOSAL = "meeting_proposal"
    FREE_TEXT = "free_text"
    ESCALATION_NOTICE = "escalation_notice"
    ACKNOWLEDGEMENT = "acknowledgement"
    MEETING_ACCEPTANCE = "meeting_acceptance"
    MEETING_DECLINE = "meeting_decline"
    MEETING_COUNTER_PROPOSAL = "meeting_counter_proposal"
    MEETING_CANCELLATION = "meeting_cancellation"
    MINUTES = "minutes"
    MINUTES_APPROVAL = "minutes_approval"
    ACTION_ITEM = "action_item"
    ACTION_DONE = "action_done"
    ACTIVITY_NOTIFICATION = "activity_notification"
    ANNUAL_CALENDAR = "annual_calendar"
    OBSERVATION_INVITATION = "observation_invitation"
    KEY_ROTATION = "key_rotation"  # channel/key_bodies.py
    KEY_REVOCATION = "key_revocation"


SCHEMA_VERSIONS: Mapping[MessageType, int] = MappingProxyType(
    {**dict.fromkeys(MessageType, 1), MessageType.MEETING_PROPOSAL: 2, MessageType.HAZARD_NOTICE: 2}
)
"""The body schema version this node writes for each type."""
READABLE_SCHEMAS: Mapping[MessageType, frozenset[int]] = MappingProxyType(
    {**{t: frozenset({v}) for t, v in SCHEMA_VERSIONS.items()}, MessageType.MEETING_PROPOSAL: frozenset({1, 2})}
)
"""Versions this node reads: ``meeting_proposal`` 1 (level, date, place, agenda) stays readable."""


_Body = BodyModel


class LinkTestBody(_Body):
    nonce: Annotated[str, Field(min_length=1, max_length=128)]


class LinkTestReplyBody(_Body):
    nonce: Annotated[str, Field(min_length=1, max_length=128)]
    received: Seconds
    """[s] the answering node's clock when the test arrived."""


class IncidentBody(_Body):
    """The watch's encounter JSON, key for key (``riskline.incidents.report.JSON_KEYS``); times ISO 8601 UTC."""

    rule: Text
    severity: Text
    a: Text
    b: Text
    party_a: Text
    party_b: Text
    occurred: bool
    start: IsoTime
    end: IsoTime
    t_cpa: IsoTime
    min_distance_m: Annotated[float, Field(ge=0)]  # [m]
    min_horizontal_m: Annotated[float, Field(ge=0)]  # [m]
    min_vertical_m: Annotated[float, Field(ge=0)] | None  # [m] null between ships
    first_alert: IsoTime | None
    lat: Annotated[float, Field(ge=-90, le=90)]  # [deg]
    lon: Annotated[float, Field(ge=-180, le=180)]  # [deg]


class SegmentBody(_Body):
    """One track around the closest approach (``TrackSegment.as_dict``): equally long arrays, oldest first."""

    platform_id: Text
    t: list[float]  # [s] POSIX
    lat: list[float]  # [deg]
    lon: list[float]  # [deg]
    alt: list[float]  # [m] 0 for ships

    @model_validator(mode="after")
    def _same_length(self) -> SegmentBody:
        for name in ("lat", "lon", "alt"):
            if len(getattr(self, name)) != len(self.t):
                raise ValueError(f"{name} has {len(getattr(self, name))} values for {len(self.t)} times")
        return self


class EvidenceBody(_Body):
    """An incident's evidence as stored (``riskline.storage.watch_store.evidence_to_json``), SI units."""

    segment_a: SegmentBody
    segment_b: SegmentBody | None
    """null for single-platform rules (territorial entry)."""
    separation_t: list[float]  # [s] POSIX
    separation_m: list[float]  # [m]

    @model_validator(mode="after")
    def _same_length(self) -> EvidenceBody:
        if len(self.separation_m) != len(self.separation_t):
            raise ValueError(
                f"separation_m has {len(self.separation_m)} values for {len(self.separation_t)} separation_t"
            )
        return self


class IncidentReportBody(_Body):
    incident: IncidentBody
    evidence: EvidenceBody | None = None
    """Both tracks and the separation series; the plot travels as an attachment, by hash."""
    rule_source: str | None = None
    rule_mark: Literal["V", "S", "U"] | None = None
    """How sure the rule's number is (REGIMES.md): verified, sourced or unverified."""
    incident_id: Annotated[int, Field(ge=1)] | None = None
    """The sender's id of the stored incident (``riskline incident show ID`` on the sending node)."""
    threshold_m: Annotated[float, Field(gt=0)] | None = None
    """[m] the rule's distance the sender judged the incident against (its rulebook, day or night as judged)."""
    narrative: str


class PolygonBody(_Body):
    """A GeoJSON Polygon (RFC 7946 §3.1.6): closed linear rings of [lon, lat] or [lon, lat, alt] positions."""

    type: Literal["Polygon"]
    coordinates: Annotated[list[Annotated[list[list[float]], Field(min_length=4)]], Field(min_length=1)]


class HazardNoticeBody(_Body):
    area: PolygonBody
    start: Seconds
    end: Seconds
    nature: Text
    navwarn: str | None = None
    """The navigational warning it was also published as, e.g. ``NAVAREA I 123/24``."""
    short_notice_reason: str | None = None
    """Required when ``start`` is less than 3 days after the message was created (INCSEA art. VI)."""
    lower_m: Annotated[float, Field(ge=0)] | None = None  # [m] lower limit above mean sea level; None: the surface
    upper_m: Annotated[float, Field(gt=0)] | None = None  # [m] upper limit; None: unlimited
    notam: str | None = None
    """The NOTAM it was also published as, e.g. ``A1234/26``."""
    text: str | None = None
    """The NAVAREA warning or NOTAM text it was made from, verbatim."""
    amends: MessageId | None = None
    """The hazard notice this one replaces (NOTAMR); ``cancels`` withdraws one (NOTAMC, ``CANCEL THIS MSG``)."""
    cancels: MessageId | None = None


class RequestForClarificationBody(_Body):
    subject: Text
    references: list[MessageId] = Field(default_factory=list)
    questions: Annotated[list[Text], Field(min_length=1)]


class ClarificationBody(_Body):
    answers: Annotated[list[Text], Field(min_length=1)]
    references: list[MessageId] = Field(default_factory=list)


class AgendaItem(_Body):
    title: Text
    references: list[Text] = Field(default_factory=list)
    """Message ids, or incident / notification references."""


class MeetingProposalBodyV1(_Body):
    """Schema 1 of ``meeting_proposal`` (before meetings had a life): read, never written."""

    level: Level
    date: Seconds
    place: str | None = None
    agenda: Annotated[list[AgendaItem], Field(min_length=1)]


class FreeTextBody(_Body):
    text: Text


class EscalationNoticeBody(_Body):
    original: MessageId
    step: Annotated[int, Field(ge=1, le=64)]
    from_level: Level
    to_level: Level
    reason: Text
    overdue_since: Seconds
    """[s] the original message's due time on the escalating node's clock."""


class AcknowledgementBody(_Body):
    note: str | None = None


BODY_MODELS: Mapping[MessageType, type[BaseModel]] = MappingProxyType(
    {
        MessageType.LINK_TEST: LinkTestBody,
        MessageType.LINK_TEST_REPLY: LinkTestReplyBody,
        MessageType.INCIDENT_REPORT: IncidentReportBody,
        MessageType.HAZARD_NOTICE: HazardNoticeBody,
        MessageType.REQUEST_FOR_CLARIFICATION: RequestForClarificationBody,
        MessageType.CLARIFICATION: ClarificationBody,
        MessageType.MEETING_PROPOSAL: MeetingProposalBody,
        MessageType.FREE_TEXT: FreeTextBody,
        MessageType.ESCALATION_NOTICE: EscalationNoticeBody,
        MessageType.ACKNOWLEDGEMENT: AcknowledgementBody,
        **{MessageType(name): model for name, model in MEETING_BODY_TYPES.items()},
        **{MessageType(name): model for name, model in TRANSPARENCY_BODIES.items()},
        **{MessageType(name): model for name, model in KEY_BODIES.items()},
    }
)
OLD_BODY_MODELS: Mapping[tuple[MessageType, int], type[BaseModel]] = MappingProxyType(
    {(MessageType.MEETING_PROPOSAL, 1): MeetingProposalBodyV1}
)
"""Schemas of earlier versions that stay readable, by (type, version)."""

SUBSTANTIVE_REPLIES: frozenset[MessageType] = frozenset(
    {
        MessageType.INCIDENT_REPORT,
        MessageType.HAZARD_NOTICE,
        MessageType.REQUEST_FOR_CLARIFICATION,
        MessageType.CLARIFICATION,
        MessageType.MEETING_PROPOSAL,
        MessageType.FREE_TEXT,
    }
)
"""Replies an operator writes about the matter: everything but acknowledgements and machine messages."""

MEETING_REPLIES: frozenset[MessageType] = frozenset(
    {MessageType.MEETING_ACCEPTANCE, MessageType.MEETING_DECLINE, MessageType.MEETING_COUNTER_PROPOSAL}
)
"""The answers a meeting proposal is owed (RFC 5546 REPLY and COUNTER)."""

_ANSWERS: Mapping[MessageType, frozenset[MessageType]] = MappingProxyType(
    {
        MessageType.LINK_TEST: frozenset({MessageType.LINK_TEST_REPLY}),
        MessageType.INCIDENT_REPORT: SUBSTANTIVE_REPLIES,
        MessageType.REQUEST_FOR_CLARIFICATION: frozenset({MessageType.CLARIFICATION}),
        MessageType.MEETING_PROPOSAL: SUBSTANTIVE_REPLIES | MEETING_REPLIES,
        MessageType.ESCALATION_NOTICE: SUBSTANTIVE_REPLIES | MEETING_REPLIES,
        MessageType.ACTION_ITEM: frozenset({MessageType.ACTION_DONE}),
    }
)


def answers(msg_type: MessageType) -> frozenset[MessageType]:
    """The reply types that satisfy a deadline of ``msg_type`` (empty: nothing is owed).

    A ``request_for_clarification`` is answered only by a ``clarification`` (Vienna Document ch. III);
    an ``acknowledgement`` ("seen, will answer") never satisfies a deadline.
    """
    return _ANSWERS.get(msg_type, frozenset())


def validate_body(
    msg_type: MessageType, body: Mapping[str, Any], *, created: float, schema: int | None = None
) -> dict[str, Any]:
    """The body in its normal form (every field present, defaults filled in) or ``InvalidField``.

    ``created`` [s] is the envelope's creation time, needed for the INCSEA lead time of a hazard notice and to
    refuse a meeting in the past. ``schema`` (default: the current version) reads an older one.
    Validating the normal form again returns it unchanged, so a sender signs exactly what receivers check.
    """
    if not isinstance(body, Mapping):
        raise InvalidField("body", f"must be a JSON object, got {type(body).__name__}")
    message_type = MessageType(msg_type)
    model = BODY_MODELS[message_type]
    if schema is not None and schema != SCHEMA_VERSIONS[message_type]:
        model = OLD_BODY_MODELS[(message_type, schema)]
    try:
        parsed = model.model_validate(dict(body))
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise InvalidField(_field_path(first["loc"]), _one_line(first["msg"])) from None
    if isinstance(parsed, IncidentReportBody):
        _check_json_values(parsed)
    elif isinstance(parsed, HazardNoticeBody):
        _check_hazard_notice(parsed, created)
    elif (problem := check_body(msg_type, parsed, created)) is not None:
        raise InvalidField(*problem)
    else:
        try:
            check_alone(parsed, created)
        except MalformedEnvelope as error:
            raise InvalidField(getattr(error, "field", "body"), str(getattr(error, "reason", error))) from None
    normal: dict[str, Any] = parsed.model_dump(mode="json")
    return normal


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(["body", *(str(part) for part in loc)])


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_json_values(report: IncidentReportBody) -> None:
    for name in ("evidence",):
        value = getattr(report, name)
        if value is None:
            continue
        try:
            canonical_json(value.model_dump(mode="json"))
        except MalformedEnvelope as error:
            raise InvalidField(f"body.{name}", str(error)) from None


def _check_hazard_notice(notice: HazardNoticeBody, created: float) -> None:
    for index, ring in enumerate(notice.area.coordinates):
        where = f"body.area.coordinates.{index}"
        for position in ring:
            if len(position) not in (2, 3):
                raise InvalidField(where, f"a position is [lon, lat] or [lon, lat, alt], got {len(position)} numbers")
            lon, lat = position[0], position[1]
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise InvalidField(where, f"position [{lon}, {lat}] is outside lon -180..180, lat -90..90")
        if ring[0][:2] != ring[-1][:2]:
            raise InvalidField(where, "a linear ring must end where it starts")
    rings = [[(position[0], position[1]) for position in ring] for ring in notice.area.coordinates]
    reason = shapely.is_valid_reason(shapely.Polygon(rings[0], rings[1:]))
    if reason != "Valid Geometry":
        raise InvalidField("body.area", f"not a valid polygon: {reason}")
    if not math.isfinite(created):
        raise InvalidField("created", "must be a finite number of seconds")
    if notice.lower_m is not None and notice.upper_m is not None and notice.upper_m <= notice.lower_m:
        raise InvalidField("body.upper_m", f"{notice.upper_m} m is not above the lower limit {notice.lower_m} m")
    if notice.amends is not None and notice.cancels is not None:
        raise InvalidField("body.cancels", "a notice amends one notice or cancels one, not both")
    if notice.end <= notice.start:
        raise InvalidField("body.end", f"ends at {notice.end} [s], not after its start {notice.start} [s]")
    if notice.cancels is not None:
        return  # a cancellation is due as soon as it is known, whatever the lead time
    lead = notice.start - created  # [s]
    reason_given = bool(notice.short_notice_reason and notice.short_notice_reason.strip())
    if lead < HAZARD_NOTICE_MIN_LEAD_S and not reason_given:
        raise InvalidField(
            "body.start",
            f"a hazard notice is due 3–5 days ahead (INCSEA art. VI), this one gives {lead / 86_400.0:.2f} days;"
            " give short_notice_reason",
        )
