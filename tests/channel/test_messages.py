"""Message types and their body schemas: normal forms, field-naming errors, deadlines' answers, fuzzing."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest
from channel_builders import meeting_proposal_body
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.messages import (
    BODY_MODELS,
    SCHEMA_VERSIONS,
    SUBSTANTIVE_REPLIES,
    ContactLevel,
    InvalidField,
    MessageType,
    answers,
    validate_body,
)
from riskline.incidents.model import Encounter
from riskline.incidents.report import JSON_KEYS, encounter_json
from riskline.timeutil import parse_time

T0 = 1_700_000_000.0  # [s]
DAY = 86_400.0  # [s]
ID_A = "0" * 31 + "a"
ID_B = "0" * 31 + "b"

# A box in the Baltic 70 NM off Kaliningrad, where the 2016 Donald Cook passes happened (incidents.csv).
BALTIC_BOX = {
    "type": "Polygon",
    "coordinates": [[[18.0, 55.0], [19.0, 55.0], [19.0, 55.6], [18.0, 55.6], [18.0, 55.0]]],
}


def donald_cook_2016(domain_dir: Path) -> Encounter:
    """The 12 April 2016 Su-24 pass over USS Donald Cook, from the real incidents table."""
    with (domain_dir / "incidents.csv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["date"] == "2016-04-12")
    start = parse_time(row["date"] + "T12:00:00Z")
    return Encounter(
        rule="low_pass",
        severity="medium",
        a="338000000",
        b="su24-1",
        party_a=row["party_a"],
        party_b=row["party_b"],
        occurred=True,
        start=start,
        end=start + 60.0,
        t_cpa=start + 30.0,
        min_distance_m=math.hypot(float(row["closest_horizontal_m"]), float(row["closest_vertical_m"])),
        min_horizontal_m=float(row["closest_horizontal_m"]),
        min_vertical_m=float(row["closest_vertical_m"]),
        first_alert=start - 90.0,
        lat=float(row["lat_approx"]),
        lon=float(row["lon_approx"]),
    )


def hazard(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "area": BALTIC_BOX,
        "start": T0 + 4 * DAY,
        "end": T0 + 5 * DAY,
        "nature": "live gunnery exercise",
        "navwarn": "NAVAREA I 123/23",
    }
    body.update(changes)
    return body


def error_of(msg_type: MessageType, body: Any, *, created: float = T0) -> str:
    with pytest.raises(InvalidField) as caught:
        validate_body(msg_type, body, created=created)
    assert caught.value.http_status == 422
    assert str(caught.value).startswith(caught.value.field + ": ")
    return str(caught.value)


def test_every_message_type_has_a_schema_and_meeting_proposals_and_hazard_notices_are_at_version_two() -> None:
    assert set(BODY_MODELS) == set(MessageType)
    assert dict(SCHEMA_VERSIONS) == {
        **dict.fromkeys(MessageType, 1),
        MessageType.MEETING_PROPOSAL: 2,
        MessageType.HAZARD_NOTICE: 2,
    }
    assert [str(t) for t in MessageType] == [
        "link_test",
        "link_test_reply",
        "incident_report",
        "hazard_notice",
        "request_for_clarification",
        "clarification",
        "meeting_proposal",
        "free_text",
        "escalation_notice",
        "acknowledgement",
        "meeting_acceptance",
        "meeting_decline",
        "meeting_counter_proposal",
        "meeting_cancellation",
        "minutes",
        "minutes_approval",
        "action_item",
        "action_done",
        "activity_notification",
        "annual_calendar",
        "observation_invitation",
        "key_rotation",
        "key_revocation",
    ]


def test_levels_of_contact_rise_in_two_tracks_military_and_diplomatic() -> None:
    assert [(str(level), str(level.track), level.rank) for level in ContactLevel] == [
        ("expert", "military", 0),
        ("duty_officer", "military", 1),
        ("military_commander", "military", 2),
        ("military_representative", "military", 3),
        ("chief_of_defence", "military", 4),
        ("defence_minister", "military", 5),
        ("charge_d_affaires", "diplomatic", 0),
        ("ambassador", "diplomatic", 1),
        ("foreign_minister", "diplomatic", 2),
        ("minister", "diplomatic", 2),
    ]
    assert ContactLevel.AMBASSADOR.outranks(ContactLevel.CHARGE_D_AFFAIRES)
    assert not ContactLevel.AMBASSADOR.outranks(ContactLevel.DUTY_OFFICER)
    assert not ContactLevel.DUTY_OFFICER.outranks(ContactLevel.AMBASSADOR)
    assert ContactLevel.MINISTER.is_legacy


def test_the_watch_encounter_json_of_a_real_incident_is_a_valid_incident_report(domain_dir: Path) -> None:
    incident = encounter_json(donald_cook_2016(domain_dir))
    body = {"incident": incident, "narrative": "Su-24 pair, 11 passes, simulated attack profile."}
    normal = validate_body(MessageType.INCIDENT_REPORT, body, created=T0)
    assert tuple(normal["incident"]) == JSON_KEYS
    assert normal["incident"]["min_horizontal_m"] == 9.0
    assert normal["incident"]["min_distance_m"] == 31.32
    assert normal["incident"]["party_a"] == "US"
    assert normal["evidence"] is None
    assert normal["rule_source"] is None


def test_the_normal_form_fills_defaults_and_validates_to_itself() -> None:
    normal = validate_body(MessageType.HAZARD_NOTICE, hazard(), created=T0)
    assert normal["short_notice_reason"] is None
    assert normal["start"] == T0 + 4 * DAY
    assert validate_body(MessageType.HAZARD_NOTICE, normal, created=T0) == normal
    ack = validate_body(MessageType.ACKNOWLEDGEMENT, {}, created=T0)
    assert ack == {"note": None}


def test_a_missing_field_is_named() -> None:
    message = error_of(MessageType.INCIDENT_REPORT, {"incident": {}})
    assert message == "body.incident.rule: Field required"


def test_an_unexpected_field_is_named() -> None:
    assert error_of(MessageType.FREE_TEXT, {"text": "hi", "colour": "red"}) == (
        "body.colour: Extra inputs are not permitted"
    )


def test_a_number_given_as_text_is_refused_not_coerced() -> None:
    assert (
        error_of(MessageType.HAZARD_NOTICE, hazard(start="1700345600")) == "body.start: Input should be a valid number"
    )


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert error_of(MessageType.FREE_TEXT, ["hi"]) == "body: must be a JSON object, got list"


def test_a_hazard_notice_under_three_days_ahead_needs_a_reason() -> None:
    short = hazard(start=T0 + 1 * DAY, end=T0 + 2 * DAY)
    assert error_of(MessageType.HAZARD_NOTICE, short) == (
        "body.start: a hazard notice is due 3–5 days ahead (INCSEA art. VI), this one gives 1.00 days;"
        " give short_notice_reason"
    )
    with_reason = validate_body(
        MessageType.HAZARD_NOTICE, {**short, "short_notice_reason": "search and rescue"}, created=T0
    )
    assert with_reason["short_notice_reason"] == "search and rescue"


def test_a_hazard_notice_three_days_ahead_needs_no_reason() -> None:
    exact = hazard(start=T0 + 3 * DAY, end=T0 + 4 * DAY)
    assert validate_body(MessageType.HAZARD_NOTICE, exact, created=T0)["start"] == T0 + 3 * DAY


def test_a_hazard_notice_that_ends_before_it_starts_is_refused() -> None:
    assert error_of(MessageType.HAZARD_NOTICE, hazard(end=T0 + 4 * DAY)) == (
        f"body.end: ends at {T0 + 4 * DAY} [s], not after its start {T0 + 4 * DAY} [s]"
    )


def test_an_open_ring_is_refused() -> None:
    area = {"type": "Polygon", "coordinates": [[[18.0, 55.0], [19.0, 55.0], [19.0, 55.6], [18.0, 55.6]]]}
    assert error_of(MessageType.HAZARD_NOTICE, hazard(area=area)) == (
        "body.area.coordinates.0: a linear ring must end where it starts"
    )


def test_a_ring_with_too_few_positions_is_refused() -> None:
    area = {"type": "Polygon", "coordinates": [[[18.0, 55.0], [19.0, 55.0], [18.0, 55.0]]]}
    assert error_of(MessageType.HAZARD_NOTICE, hazard(area=area)) == (
        "body.area.coordinates.0: List should have at least 4 items after validation, not 3"
    )


def test_a_self_intersecting_polygon_is_refused() -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[18.0, 55.0], [19.0, 55.6], [19.0, 55.0], [18.0, 55.6], [18.0, 55.0]]],
    }
    assert error_of(MessageType.HAZARD_NOTICE, hazard(area=bowtie)) == (
        "body.area: not a valid polygon: Self-intersection[18.5 55.3]"
    )


def test_a_position_off_the_globe_is_refused() -> None:
    area = {"type": "Polygon", "coordinates": [[[18.0, 95.0], [19.0, 55.0], [19.0, 55.6], [18.0, 95.0]]]}
    assert error_of(MessageType.HAZARD_NOTICE, hazard(area=area)) == (
        "body.area.coordinates.0: position [18.0, 95.0] is outside lon -180..180, lat -90..90"
    )


def test_a_polygon_must_say_it_is_one() -> None:
    area = {**BALTIC_BOX, "type": "MultiPolygon"}
    assert error_of(MessageType.HAZARD_NOTICE, hazard(area=area)) == "body.area.type: Input should be 'Polygon'"


def test_a_request_for_clarification_needs_questions_and_real_references() -> None:
    good = {"subject": "Su-24 passes of 12 April", "references": [ID_A], "questions": ["Purpose of the passes?"]}
    assert validate_body(MessageType.REQUEST_FOR_CLARIFICATION, good, created=T0) == good
    assert error_of(MessageType.REQUEST_FOR_CLARIFICATION, {**good, "questions": []}) == (
        "body.questions: List should have at least 1 item after validation, not 0"
    )
    assert error_of(MessageType.REQUEST_FOR_CLARIFICATION, {**good, "references": ["msg-17"]}) == (
        "body.references.0: Value error, a message id is 32 lower-case hex digits"
    )


def test_a_meeting_proposal_names_a_level_of_contact() -> None:
    body = meeting_proposal_body(start=T0 + 2 * DAY)
    assert validate_body(MessageType.MEETING_PROPOSAL, body, created=T0) == body
    assert error_of(MessageType.MEETING_PROPOSAL, {**body, "level": "admiral"}).startswith(
        "body.level: Input should be 'expert', 'duty_officer', 'military_commander',"
    )


def test_a_schema_1_meeting_proposal_stays_readable() -> None:
    body = {"level": "minister", "date": T0 + 2 * DAY, "agenda": [{"title": "Passes", "references": [ID_A]}]}
    assert validate_body(MessageType.MEETING_PROPOSAL, body, created=T0, schema=1)["place"] is None
    assert error_of(MessageType.MEETING_PROPOSAL, body).startswith("body.forum: Field required")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": "2023-11-14T22:00:00Z"},
         "body.start: the meeting would start at 2023-11-14T22:00:00Z, in the past (this message was written at "
         "2023-11-14T22:13:20Z)"),
        ({"end": "2023-11-16T21:00:00Z"},
         "body.end: the meeting would end at 2023-11-16T21:00:00Z, not after its start 2023-11-16T22:13:20Z"),
        ({"start": "2023-11-16T22:13:20"},
         "body.start: Value error, an ISO 8601 time needs a zone (Z or an offset like +02:00)"),
        ({"timezone": "Europe/Atlantis"},
         "body.timezone: Value error, not an IANA time zone like 'Europe/Brussels' or 'UTC': 'Europe/Atlantis'"),
        ({"participants": {"RU": []}}, "body.participants: Dictionary should have at least 2 items after validation, "
                                       "not 1"),
        ({"participants": {"ru": [], "EE": []}},
         "body.participants.ru.[key]: Value error, a party is an upper-case code like 'EE', got 'ru'"),
        ({"agenda": [{"title": "x", "references": [{"kind": "rumour", "id": ID_A}]}]},
         "body.agenda.0.references.0.kind: Input should be 'incident', 'notification' or 'message'"),
    ],
)  # fmt: skip
def test_a_meeting_in_the_past_or_ending_before_it_starts_is_refused(change: dict[str, Any], message: str) -> None:
    assert error_of(MessageType.MEETING_PROPOSAL, {**meeting_proposal_body(start=T0 + 2 * DAY), **change}) == message


def test_an_action_item_due_in_the_past_is_refused() -> None:
    body = {"title": "Exchange points of contact", "owner": "RU", "due": "2023-11-14T00:00:00Z"}
    assert error_of(MessageType.ACTION_ITEM, body) == (
        "body.due: 2023-11-14T00:00:00Z is already past (this message was written at 2023-11-14T22:13:20Z)"
    )


def test_an_escalation_notice_carries_its_step_and_levels() -> None:
    body = {
        "original": ID_A,
        "step": 1,
        "from_level": "duty_officer",
        "to_level": "military_commander",
        "reason": "unanswered",
        "overdue_since": T0,
    }
    assert validate_body(MessageType.ESCALATION_NOTICE, body, created=T0) == body
    assert error_of(MessageType.ESCALATION_NOTICE, {**body, "step": 0}) == (
        "body.step: Input should be greater than or equal to 1"
    )


def test_evidence_is_both_tracks_and_the_separation_series_with_arrays_of_equal_length(domain_dir: Path) -> None:
    segment = {"platform_id": "mmsi:1", "t": [1.0, 2.0], "lat": [55.0, 55.1], "lon": [19.0, 19.1], "alt": [0.0, 0.0]}
    evidence = {"segment_a": segment, "segment_b": None, "separation_t": [1.0], "separation_m": [10.0]}
    incident = encounter_json(donald_cook_2016(domain_dir))
    normal = validate_body(MessageType.INCIDENT_REPORT, {"incident": incident, "narrative": "n", "evidence": evidence},
                           created=0.0)
    assert normal["evidence"] == evidence
    short = {**evidence, "segment_a": {**segment, "lat": [55.0]}}
    assert error_of(MessageType.INCIDENT_REPORT, {"incident": incident, "narrative": "n", "evidence": short}) == (
        "body.evidence.segment_a: Value error, lat has 1 values for 2 times"
    )
    unpaired = {**evidence, "separation_m": []}
    assert error_of(MessageType.INCIDENT_REPORT, {"incident": incident, "narrative": "n", "evidence": unpaired}) == (
        "body.evidence: Value error, separation_m has 0 values for 1 separation_t"
    )
    free_form = {"count": 2**60}
    assert error_of(MessageType.INCIDENT_REPORT, {"incident": incident, "narrative": "n", "evidence": free_form}) == (
        "body.evidence.segment_a: Field required"
    )


def test_an_incident_time_must_be_iso_8601_with_a_zone(domain_dir: Path) -> None:
    incident = {**encounter_json(donald_cook_2016(domain_dir)), "start": "2016-04-12 12:00"}
    assert error_of(MessageType.INCIDENT_REPORT, {"incident": incident, "narrative": "n"}) == (
        "body.incident.start: Value error, an ISO 8601 time needs a zone (Z or an offset like +02:00)"
    )


def test_only_a_clarification_answers_a_request_for_clarification() -> None:
    assert answers(MessageType.REQUEST_FOR_CLARIFICATION) == frozenset({MessageType.CLARIFICATION})


def test_an_acknowledgement_answers_nothing() -> None:
    for message_type in MessageType:
        assert MessageType.ACKNOWLEDGEMENT not in answers(message_type)


def test_an_incident_report_is_answered_by_any_substantive_reply() -> None:
    assert answers(MessageType.INCIDENT_REPORT) == SUBSTANTIVE_REPLIES
    assert MessageType.FREE_TEXT in SUBSTANTIVE_REPLIES
    assert MessageType.ESCALATION_NOTICE not in SUBSTANTIVE_REPLIES


def test_a_link_test_is_answered_by_its_reply_and_notices_owe_nothing() -> None:
    assert answers(MessageType.LINK_TEST) == frozenset({MessageType.LINK_TEST_REPLY})
    assert answers(MessageType.HAZARD_NOTICE) == frozenset()
    assert answers(MessageType.FREE_TEXT) == frozenset()


_FIELD_NAMES = st.sampled_from(
    ["text", "nonce", "area", "start", "end", "nature", "subject", "questions", "references", "answers", "level",
     "date", "agenda", "original", "step", "incident", "narrative", "evidence", "note", "received", "type",
     "coordinates", "short_notice_reason"]
)  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_FIELD_NAMES | st.text(max_size=4), children),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    msg_type=st.sampled_from(MessageType),
    body=st.dictionaries(_FIELD_NAMES, _JSON, max_size=6),
    created=st.floats(allow_nan=False, allow_infinity=False),
)
def test_random_bodies_never_crash_validation(msg_type: MessageType, body: dict[str, Any], created: float) -> None:
    try:
        normal = validate_body(msg_type, body, created=created)
    except InvalidField as error:
        problem: InvalidField | None = error
    else:
        problem = None
        assert validate_body(msg_type, normal, created=created) == normal
    if problem is not None:
        assert problem.field == "body" or problem.field.startswith("body.")
        assert "\n" not in str(problem)


@settings(max_examples=100, deadline=None)
@given(
    ring=st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=3, max_size=7),
)
def test_random_rings_never_crash_validation(ring: list[tuple[float, float]]) -> None:
    closed = [list(p) for p in ring] + [list(ring[0])]
    area = {"type": "Polygon", "coordinates": [closed]}
    try:
        validate_body(MessageType.HAZARD_NOTICE, hazard(area=area), created=T0)
    except InvalidField as error:
        field: str | None = error.field
    else:
        field = None
    assert field is None or field.startswith("body.area")


@pytest.mark.parametrize(
    ("msg_type", "body", "message"),
    [
        (MessageType.LINK_TEST, {"nonce": "x" * 129}, "body.nonce: String should have at most 128 characters"),
        (MessageType.LINK_TEST_REPLY, {"nonce": "n1"}, "body.received: Field required"),
        (MessageType.INCIDENT_REPORT, {"incident": None, "narrative": "n"},
         "body.incident: Input should be a valid dictionary or instance of IncidentBody"),
        (MessageType.HAZARD_NOTICE, {**hazard(), "nature": ""}, "body.nature: String should have at least 1 character"),
        (MessageType.REQUEST_FOR_CLARIFICATION, {"subject": "s", "questions": [""]},
         "body.questions.0: String should have at least 1 character"),
        (MessageType.CLARIFICATION, {"answers": []},
         "body.answers: List should have at least 1 item after validation, not 0"),
        (MessageType.MEETING_PROPOSAL, {**meeting_proposal_body(start=T0 + DAY), "agenda": [{"references": []}]},
         "body.agenda.0.title: Field required"),
        (MessageType.FREE_TEXT, {"text": 42}, "body.text: Input should be a valid string"),
        (MessageType.ESCALATION_NOTICE, {"original": ID_B, "step": 1, "from_level": "duty_officer",
                                         "to_level": "military_commander", "reason": "r"},
         "body.overdue_since: Field required"),
        (MessageType.ACKNOWLEDGEMENT, {"note": 3}, "body.note: Input should be a valid string"),
    ],
)  # fmt: skip
def test_each_message_type_names_the_bad_field(msg_type: MessageType, body: dict[str, Any], message: str) -> None:
    assert error_of(msg_type, body) == message
