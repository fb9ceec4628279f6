"""Two nodes in-process: RU notifies an exercise and EE lists it with its compliance; EE asks the Chapter III
question of a finding, evidence attached, and RU's clarification answers it within 48 hours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from riskline.channel.messages import InvalidField, MessageType, validate_body
from riskline.node.messaging import Outgoing, send
from riskline.node.transparency import ask, list_notifications, send_notification
from riskline.node.views import inbox, thread
from riskline.scenarios.exercise import exercise_scenario
from riskline.storage.transparency_store import active_areas, get_finding, save_findings
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess
from riskline.timeutil import to_iso
from riskline.transparency.activity import parse_notification
from riskline.transparency.compare import compare
from riskline.transparency.errors import InvalidNotification
from riskline.transparency.observed import ObservedActivity
from riskline.transparency.regime import load_regime

DAY = 86_400.0


def exercise_notice(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    start = clock() + 50 * DAY
    start -= start % DAY
    data: dict[str, Any] = {
        "party": "RU", "designation": "BALTIC-SHIELD-2026", "purpose": "Naval and air exercise",
        "states": ["RU"], "level_of_command": "fleet", "notified": to_iso(clock()), "start": to_iso(start),
        "end": to_iso(start + 3 * DAY - 60), "troops": 9500, "naval_vessels": 6, "aircraft_sorties": 12,
        "area": {"type": "Polygon",
                 "coordinates": [[[18.0, 54.8], [21.0, 54.8], [21.0, 56.2], [18.0, 56.2], [18.0, 54.8]]]},
    }
    data.update(changes)
    return data


def test_a_notification_travels_signed_and_each_side_lists_it_with_its_compliance(
    pair: InProcess, clock: FakeClock
) -> None:
    notification = parse_notification(exercise_notice(clock, calendar_year_listed=False))
    sent = send_notification(pair["RU"], notification, "RU-EE")
    assert pair.deliver("RU").delivered == 1
    [received] = list_notifications(pair["EE"], load_regime())
    assert (received.envelope_id, received.direction, received.notification.document) == (
        sent.envelope.id, "in", notification.document
    )
    assert received.check.kinds("obligations") == ["prior_notification", "annual_calendar"]
    assert received.check.kinds("breaches") == ["missing_from_calendar"]
    [own] = list_notifications(pair["RU"], load_regime())
    assert own.direction == "out"
    assert list_notifications(pair["EE"], load_regime(), year=1999) == []
    assert [m.type for m in inbox(pair["EE"]).messages] == ["activity_notification"]


def test_the_declared_area_is_active_on_the_map_only_inside_its_window(pair: InProcess, clock: FakeClock) -> None:
    notification = parse_notification(exercise_notice(clock))
    send_notification(pair["RU"], notification, "RU-EE")
    pair.deliver("RU")
    with pair["EE"].database.read() as connection:
        during = active_areas(connection, notification.start + 3600)
        before = active_areas(connection, notification.start - 3600)
    assert [(a["kind"], a["party"], a["reference"], a["geometry"]["type"]) for a in during] == [
        ("exercise", "RU", "BALTIC-SHIELD-2026", "Polygon")
    ]
    assert before == []


def test_an_activity_already_over_is_not_sent_and_a_receiver_refuses_it_with_422(
    pair: InProcess, clock: FakeClock
) -> None:
    over = exercise_notice(clock, start="2026-01-01T00:00:00Z", end="2026-01-03T00:00:00Z",
                           notified="2025-11-01T00:00:00Z")
    with pytest.raises(InvalidNotification, match=r"^end: the activity ended before now"):
        send_notification(pair["RU"], parse_notification(over), "RU-EE")
    with pytest.raises(InvalidField) as caught:
        validate_body(MessageType.ACTIVITY_NOTIFICATION, over, created=clock())
    assert caught.value.http_status == 422
    assert str(caught.value) == (
        "body.end: the activity ended at 2026-01-03T00:00:00Z, before this notification was sent"
    )
    with pytest.raises(InvalidField, match=r"^body\.troops: Input should be greater than or equal to 0$"):
        validate_body(MessageType.ACTIVITY_NOTIFICATION, exercise_notice(clock, troops=-5), created=clock())
    with pair["RU"].database.read() as connection:
        assert active_areas(connection, clock()) == []


def test_a_notification_for_another_party_is_refused(pair: InProcess, clock: FakeClock) -> None:
    with pytest.raises(InvalidNotification, match=r"^party: EE is not this node's party RU$"):
        send_notification(pair["RU"], parse_notification(exercise_notice(clock, party="EE")), "RU-EE")


def test_ee_asks_the_chapter_iii_question_of_a_finding_and_ru_answers_in_time(
    pair: InProcess, clock: FakeClock, tmp_path: Path
) -> None:
    made = exercise_scenario(tmp_path / "ex")
    from riskline.detection.rulebook import load_rulebook
    from riskline.watch import Watch

    watch = Watch(load_rulebook())
    for observation in made.scenario.observations:
        watch.feed(observation)
    watch.finish()
    observed: ObservedActivity = watch.activity.activity()
    declared = parse_notification(json.loads(made.notification_path.read_text(encoding="utf-8")))
    result = compare(observed, [declared], start=made.scenario.start, end=made.scenario.end + 1)
    [finding_id] = save_findings(pair["EE"].database, result.findings, [b"\x89PNG-evidence"], clock())
    sent = ask(pair["EE"], pair["EE"].database, finding_id, "RU-EE")
    body = sent.envelope.envelope.body
    assert body["subject"] == "Unusual military activity of RU near 57.36N 19.78E, 2026-03-10 06:00–09:15 UTC"
    assert body["questions"][0].startswith("Our watch observed 5 military platforms of RU (4 ships, 1 aircraft;")
    assert [(a.name, a.media_type) for a in sent.envelope.envelope.attachments] == [
        (f"finding-{finding_id}.json", "application/json"), (f"finding-{finding_id}.png", "image/png")
    ]
    evidence = json.loads((pair["EE"].paths.root / "attachments" /
                           sent.envelope.envelope.attachments[0].sha256).read_text(encoding="utf-8"))
    assert evidence == get_finding(pair["EE"].database, finding_id).evidence
    assert sent.message.deadline == clock() + 48 * 3600.0
    pair.deliver("EE")
    clock.advance(6 * 3600.0)
    answer = send(pair["RU"], Outgoing(MessageType.CLARIFICATION, None, {
        "answers": ["A readiness check of the Baltic Fleet's second group, 10 March, four ships and one aircraft."],
        "references": [sent.envelope.id],
    }, in_reply_to=sent.envelope.id))
    pair.deliver("RU")
    entries = thread(pair["EE"], sent.envelope.id)
    assert [e.message.type for e in entries] == ["request_for_clarification", "clarification"]
    assert entries[0].message.status == "answered"
    assert answer.message.in_reply_to == sent.envelope.id


def test_an_unknown_finding_is_one_line(pair: InProcess) -> None:
    from riskline.storage.transparency_store import FindingNotFound

    expected = r"^no transparency finding 7 \(run `riskline transparency compare` first\)$"
    with pytest.raises(FindingNotFound, match=expected):
        ask(pair["EE"], pair["EE"].database, 7, "RU-EE")


