"""The annual review: exact figures from a small year of one channel, the same whatever order the entries come in."""

from __future__ import annotations

from typing import Any

import pytest
from channel_builders import DAY, HOUR, RU_EE, Node, meeting_proposal_body, text
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.messages import MessageType
from riskline.channel.review import NoReviewData, compute_review, review_json
from riskline.timeutil import to_iso

RU, EE = Node("ru-nmdc", "RU"), Node("ee-mod", "EE")
JAN = 1_767_225_600.0  # [s] 2026-01-01T00:00:00Z
BOX = {"type": "Polygon", "coordinates": [[[18.0, 55.0], [19.0, 55.0], [19.0, 55.6], [18.0, 55.6], [18.0, 55.0]]]}


def incident(rule: str, severity: str, start: str) -> dict[str, Any]:
    return {
        "incident": {
            "rule": rule, "severity": severity, "a": "273000000", "b": "su27-1", "party_a": "RU", "party_b": "EE",
            "occurred": True, "start": start, "end": start, "t_cpa": start, "min_distance_m": 120.0,
            "min_horizontal_m": 100.0, "min_vertical_m": 66.0, "first_alert": None, "lat": 59.5, "lon": 24.0,
        },
        "narrative": "Su-27 passed the patrol vessel.",
    }  # fmt: skip


def year_of_entries() -> dict[str, SignedEnvelope]:
    """A small 2026 on RU-EE, with one entry of 2025 and one of 2027 that must not count."""
    e: dict[str, SignedEnvelope] = {}

    def add(name: str, node: Node, kind: MessageType, body: dict[str, Any], t: float, **extra: Any) -> None:
        e[name] = node.compose(RU_EE, kind, body, created=t, log=False, **extra)

    def reply(name: str, node: Node, kind: MessageType, body: dict[str, Any], t: float, to: str) -> None:
        add(name, node, kind, body, t, thread=e[to].envelope.thread, in_reply_to=e[to].id)

    add("old", EE, MessageType.FREE_TEXT, text("December"), JAN - HOUR)
    add("test", EE, MessageType.LINK_TEST, {"nonce": "1"}, JAN + HOUR)
    reply(
        "test reply", RU, MessageType.LINK_TEST_REPLY, {"nonce": "1", "received": JAN + HOUR}, JAN + HOUR + 2.5, "test"
    )
    add("unanswered test", EE, MessageType.LINK_TEST, {"nonce": "2"}, JAN + 2 * HOUR)
    add("report 1", EE, MessageType.INCIDENT_REPORT, incident("air_intercept", "high", "2026-03-04T10:00:00Z"),
        JAN + 62 * DAY)  # fmt: skip
    reply("answer 1", RU, MessageType.FREE_TEXT, text("Routine."), JAN + 62 * DAY + 6 * HOUR, "report 1")
    add("report 2", EE, MessageType.INCIDENT_REPORT, incident("low_pass", "medium", "2026-03-20T10:00:00Z"),
        JAN + 80 * DAY)  # fmt: skip
    reply("late answer 2", RU, MessageType.FREE_TEXT, text("Late."), JAN + 82 * DAY, "report 2")
    add("report 3", RU, MessageType.INCIDENT_REPORT, incident("low_pass", "medium", "2026-05-01T10:00:00Z"),
        JAN + 121 * DAY)  # fmt: skip
    add("notice", RU, MessageType.HAZARD_NOTICE, {"area": BOX, "start": JAN + 104 * DAY, "end": JAN + 105 * DAY,
        "nature": "gunnery"}, JAN + 100 * DAY)  # fmt: skip
    add("short notice", RU, MessageType.HAZARD_NOTICE, {"area": BOX, "start": JAN + 201 * DAY, "end": JAN + 202 * DAY,
        "nature": "missile firing", "short_notice_reason": "search and rescue exercise"}, JAN + 200 * DAY)  # fmt: skip
    add("escalation", EE, MessageType.ESCALATION_NOTICE, {"original": e["report 2"].id, "step": 1,
        "from_level": "duty_officer", "to_level": "military_commander", "reason": "unanswered",
        "overdue_since": JAN + 81 * DAY}, JAN + 81 * DAY, thread=e["report 2"].envelope.thread,
        in_reply_to=e["report 2"].id, level="military_commander")  # fmt: skip
    add("meeting", EE, MessageType.MEETING_PROPOSAL, meeting_proposal_body(start=JAN + 150 * DAY,
        level="charge_d_affaires"), JAN + 140 * DAY, level="charge_d_affaires")  # fmt: skip
    meeting = e["meeting"].id
    reply("accept", RU, MessageType.MEETING_ACCEPTANCE, {"meeting": meeting, "terms": meeting}, JAN + 141 * DAY,
          "meeting")  # fmt: skip
    add("action", EE, MessageType.ACTION_ITEM, {"title": "Send the radar data", "owner": "RU",
        "due": to_iso(JAN + 170 * DAY)}, JAN + 151 * DAY)  # fmt: skip
    add("later", RU, MessageType.FREE_TEXT, text("January"), JAN + 365 * DAY + HOUR)
    return e


def test_the_figures_of_a_small_year_name_their_entries() -> None:
    e = year_of_entries()
    review = compute_review(e.values(), year=2026, channels=["RU-EE"])
    ids = {name: signed.id for name, signed in e.items()}
    assert review["entries"]["count"] == len(e) - 2
    assert ids["old"] not in review["entries"]["entries"]
    incidents = review["incidents"]
    assert incidents["by_rule"] == {
        "air_intercept": {"count": 1, "entries": [ids["report 1"]]},
        "low_pass": {"count": 2, "entries": sorted([ids["report 2"], ids["report 3"]])},
    }
    assert {k: v["count"] for k, v in incidents["by_month"].items()} == {"2026-03": 2, "2026-05": 1}
    assert list(incidents["by_party_pair"]) == ["EE–RU"]
    reports = review["responses"]["incident_report"]
    assert (reports["owed"], reports["answered"], reports["met"], reports["share_met"]) == (3, 2, 1, 0.3333)
    assert (reports["median_s"], reports["p90_s"], reports["deadline_median_s"]) == (
        (6 * HOUR + 2 * DAY) / 2, 6 * HOUR + 0.9 * (2 * DAY - 6 * HOUR), DAY,
    )  # fmt: skip
    assert reports["unanswered"] == [f"{ids['report 3']}:EE"]
    assert review["responses"]["meeting_proposal"]["met"] == 1
    assert review["escalations"]["by_level_reached"] == {
        "military_commander": {"count": 1, "entries": [ids["escalation"]]}
    }
    links = review["link_tests"]
    assert (links["count"], links["answered"], links["share_answered"], links["round_trip_median_s"]) == (
        2,
        1,
        0.5,
        2.5,
    )
    notices = review["notices"]
    assert (notices["count"], notices["lead_time_median_s"], notices["share_3_days_ahead"]) == (2, 2.5 * DAY, 0.5)
    assert notices["short_notice"] == [ids["short notice"]]
    assert review["meetings"]["by_level"]["charge_d_affaires"]["by_state"] == {"confirmed": 1}
    actions = review["action_items"]
    assert (actions["opened"]["count"], actions["open"]["count"], actions["late_or_overdue"]["count"]) == (1, 1, 1)


YEAR = list(year_of_entries().values())
EXPECTED = review_json(compute_review(YEAR, year=2026, channels=["RU-EE"]))


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(YEAR))
def test_the_review_is_the_same_bytes_in_any_order(order: list[SignedEnvelope]) -> None:
    assert review_json(compute_review(order, year=2026, channels=["RU-EE"])) == EXPECTED


def test_a_year_without_entries_is_refused_naming_the_option() -> None:
    with pytest.raises(NoReviewData) as caught:
        compute_review(YEAR, year=2024, channels=["RU-EE"])
    assert str(caught.value) == "--year: no cosigned log entries in 2024 on RU-EE"
    assert caught.value.exit_code == 2
