"""Channel policies from the node's TOML config: agreements said explicitly, deadlines, ladder, one-line errors."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.errors import ForeignChannel
from riskline.channel.levels import CURRENT_LEVELS
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.policy import ChannelKind, ChannelPolicy, InvalidPolicy

CONFIG = """
[[channel]]
id = "RU-EE"
kind = "bilateral"                # or "collective"
members = ["RU", "EE"]
agreements = []                   # explicit: [] means "no agreement in force" (RU–EE have none, ELN 2016)
rulebook = "default"
levels = ["duty_officer", "military_commander", "charge_d_affaires", "ambassador"]
languages = ["en", "ru", "et"]
council = "NRC"
[channel.deadlines]
request_for_clarification = 172800

[[channel]]
id = "NRC"
kind = "collective"
members = ["RU", "EE", "US"]
agreements = ["Vienna Document 2011"]
"""


def channels() -> list[ChannelPolicy]:
    return [ChannelPolicy.from_config(table) for table in tomllib.loads(CONFIG)["channel"]]


def table(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(tomllib.loads(CONFIG)["channel"][0])
    base.update(changes)
    return base


def config_error(mapping: dict[str, Any]) -> str:
    with pytest.raises(InvalidPolicy) as caught:
        ChannelPolicy.from_config(mapping)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_the_design_s_config_reads_into_policies() -> None:
    bilateral, council = channels()
    assert bilateral.id == "RU-EE"
    assert bilateral.kind is ChannelKind.BILATERAL
    assert bilateral.members == ("RU", "EE")
    assert bilateral.agreements == ()
    assert bilateral.languages == ("en", "ru", "et")
    assert bilateral.council == "NRC"
    assert council.kind is ChannelKind.COLLECTIVE
    assert council.levels == CURRENT_LEVELS


def test_a_channel_without_agreements_says_so_in_words() -> None:
    bilateral, council = channels()
    assert not bilateral.has_agreement
    assert bilateral.describe() == (
        "channel RU-EE (bilateral: RU, EE)\n"
        "  no agreement in force\n"
        "  rulebook: default\n"
        "  levels: duty_officer, military_commander, charge_d_affaires, ambassador\n"
        "  languages: en, ru, et\n"
        "  escalation: duty_officer → military_commander → charge_d_affaires → meeting proposal on NRC\n"
        "  deadlines: link_test 300 s, incident_report 86400 s, request_for_clarification 172800 s,"
        " meeting_proposal 604800 s"
    )
    assert "  agreements in force: Vienna Document 2011" in council.describe().splitlines()
    assert "recorded locally (no council channel)" in council.describe()


def test_default_deadlines_follow_the_design_and_a_config_may_override_them() -> None:
    bilateral = channels()[0]
    assert bilateral.deadline_for(MessageType.LINK_TEST) == 300.0
    assert bilateral.deadline_for(MessageType.INCIDENT_REPORT) == 86_400.0
    assert bilateral.deadline_for(MessageType.REQUEST_FOR_CLARIFICATION) == 172_800.0
    assert bilateral.deadline_for(MessageType.MEETING_PROPOSAL) == 604_800.0
    for none in (MessageType.HAZARD_NOTICE, MessageType.CLARIFICATION, MessageType.FREE_TEXT):
        assert bilateral.deadline_for(none) is None
    demo = ChannelPolicy.from_config(table(deadlines={"request_for_clarification": 120, "free_text": 600}))
    assert demo.deadline_for(MessageType.REQUEST_FOR_CLARIFICATION) == 120.0
    assert demo.deadline_for(MessageType.FREE_TEXT) == 600.0


def test_the_default_ladder_ends_with_the_charge_d_affaires_or_the_ambassador() -> None:
    bilateral, council = channels()
    assert bilateral.ladder == (
        ContactLevel.DUTY_OFFICER,
        ContactLevel.MILITARY_COMMANDER,
        ContactLevel.CHARGE_D_AFFAIRES,
    )
    assert council.ladder == (ContactLevel.DUTY_OFFICER, ContactLevel.MILITARY_COMMANDER, ContactLevel.AMBASSADOR)
    assert bilateral.next_level(ContactLevel.DUTY_OFFICER) is ContactLevel.MILITARY_COMMANDER
    assert bilateral.next_level(ContactLevel.CHARGE_D_AFFAIRES) is None
    assert bilateral.next_level(ContactLevel.AMBASSADOR) is None
    assert council.next_level(ContactLevel.CHARGE_D_AFFAIRES) is ContactLevel.AMBASSADOR


def test_each_escalation_step_gets_half_the_span_but_never_less_than_the_minimum() -> None:
    bilateral = channels()[0]
    assert bilateral.escalation_step_span(172_800.0) == 86_400.0
    assert bilateral.escalation_step_span(100.0) == 60.0


def test_recipients_are_every_other_member() -> None:
    council = channels()[1]
    assert council.recipients_for("EE") == ("RU", "US")
    with pytest.raises(ForeignChannel) as caught:
        council.recipients_for("FI")
    assert str(caught.value) == "party 'FI' is not a member of channel 'NRC'"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "trilateral"}, "channel 'RU-EE': kind: Input should be 'bilateral' or 'collective'"),
        ({"members": ["RU", "EE", "LV"]},
         "channel 'RU-EE': members: a bilateral channel has exactly two parties, got 3"),
        ({"members": ["RU"]}, "channel 'RU-EE': members: List should have at least 2 items after validation, not 1"),
        ({"members": ["RU", "RU"]}, "channel 'RU-EE': members: must be distinct, non-empty party codes"),
        ({"deadlines": {"free_txt": 60}}, "channel 'RU-EE': deadlines.free_txt.[key]: Input should be 'link_test', "
                                          "'link_test_reply', 'incident_report', 'hazard_notice', "
                                          "'request_for_clarification', 'clarification', 'meeting_proposal', "
                                          "'free_text', 'escalation_notice', 'acknowledgement', "
                                          "'meeting_acceptance', 'meeting_decline', 'meeting_counter_proposal', "
                                          "'meeting_cancellation', 'minutes', 'minutes_approval', 'action_item', "
                                          "'action_done', 'activity_notification', 'annual_calendar', "
                                          "'observation_invitation', 'key_rotation' or 'key_revocation'"),
        ({"deadlines": {"free_text": -5}}, "channel 'RU-EE': deadlines.free_text: Input should be greater than 0"),
        ({"ladder": ["duty_officer", "minister"]},
         "channel 'RU-EE': ladder: minister is not one of the channel's levels"),
        ({"ladder": ["military_commander", "duty_officer"]},
         "channel 'RU-EE': ladder: levels must rise, lowest first, without repeats (military track)"),
        ({"colour": "red"}, "channel 'RU-EE': colour: Extra inputs are not permitted"),
        ({"council": "RU-EE"}, "channel 'RU-EE': council: a channel cannot be its own council"),
        ({"id": "RU EE"}, "channel 'RU EE': id: must be 1–64 letters, digits, '.', '_' or '-'"),
    ],
)  # fmt: skip
def test_a_bad_config_is_refused_in_one_line_naming_the_field(changes: dict[str, Any], message: str) -> None:
    assert config_error(table(**changes)) == message


def test_agreements_must_be_stated_even_when_there_are_none() -> None:
    mapping = table()
    del mapping["agreements"]
    assert config_error(mapping) == "channel 'RU-EE': agreements: Field required"


def test_a_config_that_is_not_a_table_is_refused() -> None:
    assert config_error(["RU-EE"]) == "channel: a [[channel]] table is expected, got list"  # type: ignore[arg-type]


FORUM = {"id": "incsea-review", "name": "INCSEA annual review", "level": "military_commander", "cadence_days": 365}


def test_forums_and_a_ladder_across_both_tracks_read_from_the_config_and_write_back() -> None:
    from riskline.node.config import policy_to_toml

    policy = ChannelPolicy.from_config(table(
        forums=[FORUM], ladder=["duty_officer", "military_commander", "charge_d_affaires", "ambassador"],
    ))  # fmt: skip
    [forum] = policy.forums
    assert (forum.id, forum.level, forum.cadence_days, forum.lead_days) == (
        "incsea-review", ContactLevel.MILITARY_COMMANDER, 365.0, 30.0,
    )  # fmt: skip
    assert ChannelPolicy.from_config(policy_to_toml(policy)) == policy
    assert policy.next_level(ContactLevel.MILITARY_COMMANDER) is ContactLevel.CHARGE_D_AFFAIRES
    assert policy.next_level(ContactLevel.CHARGE_D_AFFAIRES) is ContactLevel.AMBASSADOR
    assert policy.next_level(ContactLevel.EXPERT) is ContactLevel.DUTY_OFFICER
    assert "forum incsea-review: INCSEA annual review, military_commander, every 365 days" in policy.describe()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"forums": [{**FORUM, "level": "foreign_minister"}]},
         "channel 'RU-EE': forums.incsea-review.level: foreign_minister is not one of the channel's levels"),
        ({"forums": [FORUM, FORUM]}, "channel 'RU-EE': forums: a forum id appears twice"),
        ({"forums": [{**FORUM, "cadence_days": 0}]},
         "channel 'RU-EE': forums.0.cadence_days: Input should be greater than 0"),
        ({"ladder": ["ambassador", "charge_d_affaires"]},
         "channel 'RU-EE': ladder: levels must rise, lowest first, without repeats (diplomatic track)"),
    ],
)  # fmt: skip
def test_a_bad_forum_or_ladder_is_refused_in_one_line(changes: dict[str, Any], message: str) -> None:
    assert config_error(table(**changes)) == message


@settings(max_examples=200, deadline=None)
@given(
    ladder=st.lists(st.sampled_from(CURRENT_LEVELS), unique=True, min_size=1).map(
        lambda levels: sorted(levels, key=lambda level: (level.track != levels[0].track, level.rank))
    ),
    start=st.sampled_from(CURRENT_LEVELS),
)
def test_every_level_climbs_the_ladder_to_its_end_without_going_down_its_own_track(
    ladder: list[ContactLevel], start: ContactLevel
) -> None:
    policy = ChannelPolicy.from_config(
        table(levels=[str(level) for level in CURRENT_LEVELS], ladder=[str(level) for level in ladder])
    )
    seen = [start]
    while (step := policy.next_level(seen[-1])) is not None:
        assert step in ladder
        if step.track is seen[-1].track:
            assert step.rank > seen[-1].rank
        seen.append(step)
        assert len(seen) <= len(ladder) + 1
    if len(seen) > 1:
        assert seen[-1] == ladder[-1]
