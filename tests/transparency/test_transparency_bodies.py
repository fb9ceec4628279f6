"""The transparency message bodies as the channel checks them on both sides: calendars, invitations, and hazard
notices with vertical limits, amendment and cancellation; each failure one ``InvalidField`` (422) naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from riskline.channel.messages import InvalidField, MessageType, validate_body

T0 = 1_790_000_000.0  # [s]
DAY = 86_400.0
AREA = {"type": "Polygon", "coordinates": [[[19.2, 55.0], [20.0, 55.0], [20.0, 55.4], [19.2, 55.4], [19.2, 55.0]]]}
ID = "0123456789abcdef0123456789abcdef"


def error_of(kind: MessageType, body: dict[str, Any]) -> str:
    with pytest.raises(InvalidField) as caught:
        validate_body(kind, body, created=T0)
    assert caught.value.http_status == 422
    return str(caught.value)


def calendar(**changes: Any) -> dict[str, Any]:
    entry = {"designation": "LADOGA-2027", "start": "2027-03-01T00:00:00Z", "end": "2027-03-05T00:00:00Z",
             "troops": 12800}
    return {"party": "RU", "year": 2027, "activities": [entry], **changes}


def test_an_annual_calendar_fills_its_defaults_and_validates_to_itself() -> None:
    normal = validate_body(MessageType.ANNUAL_CALENDAR, calendar(), created=T0)
    assert normal["activities"][0] == {
        "designation": "LADOGA-2027", "purpose": "", "start": "2027-03-01T00:00:00Z", "end": "2027-03-05T00:00:00Z",
        "troops": 12800, "tanks": 0, "acv": 0, "artillery": 0, "area": None,
    }
    assert validate_body(MessageType.ANNUAL_CALENDAR, normal, created=T0) == normal


def test_a_calendar_entry_ending_before_it_starts_is_named() -> None:
    bad = calendar(activities=[{"designation": "X", "start": "2027-03-05T00:00:00Z", "end": "2027-03-01T00:00:00Z"}])
    assert error_of(MessageType.ANNUAL_CALENDAR, bad) == (
        "body.activities.0.end: 2027-03-01T00:00:00Z is not after the start 2027-03-05T00:00:00Z"
    )


def test_an_observation_invitation_needs_its_departure_after_its_arrival() -> None:
    invitation = {"designation": "LADOGA-2027", "references": [ID], "arrival": "2027-03-02T08:00:00Z",
                  "departure": "2027-03-04T18:00:00Z", "assembly_point": "Pskov", "reply_by": "2027-02-01T00:00:00Z"}
    assert validate_body(MessageType.OBSERVATION_INVITATION, invitation, created=T0)["observers_per_state"] == 2
    swapped = {**invitation, "departure": "2027-03-01T00:00:00Z"}
    assert error_of(MessageType.OBSERVATION_INVITATION, swapped) == (
        "body.departure: 2027-03-01T00:00:00Z is not after the arrival 2027-03-02T08:00:00Z"
    )


def hazard(**changes: Any) -> dict[str, Any]:
    return {"area": AREA, "start": T0 + 4 * DAY, "end": T0 + 4 * DAY + 6 * 3600, "nature": "naval gunnery", **changes}


def test_a_hazard_notice_carries_vertical_limits_and_the_upper_must_be_above_the_lower() -> None:
    normal = validate_body(MessageType.HAZARD_NOTICE, hazard(lower_m=0.0, upper_m=3962.4, notam="A0789/26"),
                           created=T0)
    assert (normal["lower_m"], normal["upper_m"], normal["notam"], normal["amends"], normal["cancels"]) == (
        0.0, 3962.4, "A0789/26", None, None
    )
    assert error_of(MessageType.HAZARD_NOTICE, hazard(lower_m=3000.0, upper_m=1000.0)) == (
        "body.upper_m: 1000.0 m is not above the lower limit 3000.0 m"
    )


def test_a_cancellation_is_due_whatever_its_lead_time_and_cannot_also_amend() -> None:
    late = hazard(start=T0 + 3600.0, end=T0 + 7200.0)
    assert error_of(MessageType.HAZARD_NOTICE, late).startswith("body.start: a hazard notice is due 3–5 days ahead")
    assert validate_body(MessageType.HAZARD_NOTICE, {**late, "cancels": ID}, created=T0)["cancels"] == ID
    assert error_of(MessageType.HAZARD_NOTICE, {**late, "cancels": ID, "amends": ID}) == (
        "body.cancels: a notice amends one notice or cancels one, not both"
    )
    assert error_of(MessageType.HAZARD_NOTICE, hazard(amends="not-an-id")) == (
        "body.amends: Value error, a message id is 32 lower-case hex digits"
    )
