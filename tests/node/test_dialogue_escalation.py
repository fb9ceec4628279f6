"""Overdue meeting replies and action items escalate through the channel's ladder; forums say when they are due."""

from __future__ import annotations

from riskline.channel.forums import Forum, forum_schedule
from riskline.channel.levels import ContactLevel
from riskline.node import dialogue
from riskline.node.dialogue import Proposal
from riskline.node.escalate import escalate_due
from riskline.node.ics import calendar
from riskline.storage import channel_store as store
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess
from riskline.timeutil import to_iso

DAY = 86_400.0  # [s]


def ladder(nodes: InProcess, party: str, original: str) -> list[tuple[int, str, str]]:
    with nodes[party].database.read() as connection:
        return [(row.step, row.from_level, row.to_level) for row in store.list_escalations(connection, original)]


def test_an_overdue_action_item_climbs_the_ladder_until_its_owner_closes_it(pair: InProcess, clock: FakeClock) -> None:
    item = dialogue.raise_action(pair["EE"], channel="RU-EE", title="Exchange duty officers' numbers", owner="RU",
                                 due=to_iso(clock() + 3 * DAY)).envelope.id  # fmt: skip
    pair.deliver("EE")
    clock.advance(3 * DAY - 1.0)
    assert escalate_due(pair["EE"]) == []
    clock.advance(1.0)
    assert [row.step for row in escalate_due(pair["EE"])] == [1]
    assert ladder(pair, "EE", item) == [(1, "duty_officer", "military_commander")]
    pair.deliver("EE")
    [open_item] = dialogue.actions(pair["RU"])
    assert open_item.is_overdue(clock())
    dialogue.action_done(pair["RU"], item[:8], note="Numbers sent.")
    pair.deliver("RU")
    clock.advance(10 * DAY)
    assert escalate_due(pair["EE"]) == []
    [closed] = dialogue.actions(pair["EE"])
    assert (closed.is_done, closed.note) == (True, "Numbers sent.")


def test_an_unanswered_meeting_proposal_escalates_an_acceptance_stops_it(pair: InProcess, clock: FakeClock) -> None:
    start = clock() + 14 * DAY
    meeting = dialogue.propose(pair["RU"], Proposal(
        channel="RU-EE", forum="military-experts", level="military_commander", start=to_iso(start),
        end=to_iso(start + 7_200.0), place="Narva", agenda=[{"title": "Passes near Vaindloo"}],
    )).envelope.id  # fmt: skip
    pair.deliver("RU")
    clock.advance(7 * DAY)
    assert [row.step for row in escalate_due(pair["RU"])] == [1]
    pair.deliver("RU")
    dialogue.accept(pair["EE"], meeting)
    pair.deliver("EE")
    clock.advance(7 * DAY)
    assert escalate_due(pair["RU"]) == []
    assert str(dialogue.find_meeting(pair["RU"], meeting).status) == "confirmed"


def test_a_forum_is_due_a_cadence_after_its_last_meeting_and_warns_when_nothing_is_proposed(
    pair: InProcess, clock: FakeClock
) -> None:
    forum = Forum("incsea-review", "INCSEA annual review", ContactLevel.MILITARY_COMMANDER, 365.0, lead_days=60.0)
    never = forum_schedule(forum, [], now=clock())
    assert (never.next_due, never.warning) == (clock(), "INCSEA annual review is due now and no meeting is proposed")
    start = clock() + DAY
    meeting = dialogue.propose(pair["RU"], Proposal(
        channel="RU-EE", forum="incsea-review", level="military_commander", start=to_iso(start),
        end=to_iso(start + 7_200.0), place="Moscow", agenda=[{"title": "The year's encounters"}],
    )).envelope.id  # fmt: skip
    pair.deliver("RU")
    upcoming = forum_schedule(forum, dialogue.meetings(pair["EE"]), now=clock())
    assert (upcoming.upcoming.id if upcoming.upcoming else None, upcoming.warning) == (meeting, None)
    dialogue.accept(pair["EE"], meeting)
    pair.deliver("EE")
    clock.advance(2 * DAY)
    held = forum_schedule(forum, dialogue.meetings(pair["RU"]), now=clock())
    assert held.last is not None
    assert held.next_due == start + 365 * DAY
    assert held.warning is None
    clock.advance(310 * DAY)
    late = forum_schedule(forum, dialogue.meetings(pair["RU"]), now=clock())
    assert late.warning == "INCSEA annual review is due within 54 days and no meeting is proposed"


def test_the_calendar_has_a_vevent_per_meeting_and_a_vtodo_per_action(pair: InProcess, clock: FakeClock) -> None:
    start = clock() + DAY
    dialogue.propose(pair["RU"], Proposal(
        channel="RU-EE", forum="incsea-review", level="military_commander", start=to_iso(start),
        end=to_iso(start + 7_200.0), place="Moscow", timezone="Europe/Moscow", agenda=[{"title": "Encounters"}],
    ))  # fmt: skip
    dialogue.raise_action(pair["RU"], channel="RU-EE", title="Send the list", owner="EE", due=to_iso(start + DAY))
    text = calendar(dialogue.meetings(pair["RU"]), dialogue.actions(pair["RU"])).decode()
    assert text.count("BEGIN:VEVENT") == 1
    assert text.count("BEGIN:VTODO") == 1
    assert "STATUS:TENTATIVE" in text
    assert "BEGIN:VTIMEZONE\r\nTZID:Europe/Moscow" in text
    assert "PARTSTAT=NEEDS-ACTION" in text
    assert "PARTSTAT=ACCEPTED" in text
