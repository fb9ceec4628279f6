"""The alarm life: raise → acknowledge → resolve, snooze with a reason; no re-trigger, nothing silenced unseen."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.web.alarms import (
    MAX_SNOOZE_S,
    Alarm,
    AlarmState,
    acknowledge,
    alarm_key,
    observe,
    resolve,
    snooze,
    wake,
)
from riskline.web.errors import AlarmConflict, BadRequest

T = 1_700_000_000.0


def raised(severity: str = "medium") -> Alarm:
    return Alarm(
        id=7, key=alarm_key("air_proximity", "id:p8", "id:su27", T), rule="air_proximity", a="id:p8", b="id:su27",
        party_a="EE", party_b="RU", severity=severity, occurred=False, incident_id=None, state=AlarmState.RAISED,
        raised_at=T, reason="predicted encounter",
    )


def test_acknowledging_names_who_and_when() -> None:
    alarm = acknowledge(raised(), "tamm", T + 5)
    assert (alarm.state, alarm.acknowledged_by, alarm.acknowledged_at) == (AlarmState.ACKNOWLEDGED, "tamm", T + 5)


def test_a_second_acknowledgement_is_refused_naming_the_first() -> None:
    with pytest.raises(AlarmConflict, match=r"alarm 7 was already acknowledged by tamm"):
        acknowledge(acknowledge(raised(), "tamm", T), "kask", T + 1)


def test_a_snooze_needs_a_reason_and_an_end_within_half_a_watch() -> None:
    with pytest.raises(BadRequest, match=r"^reason: a snooze needs a reason$"):
        snooze(raised(), "tamm", T, duration_s=600, reason="  ")
    with pytest.raises(BadRequest, match=r"^duration_s: between 0 and 14400 s, not 20000$"):
        snooze(raised(), "tamm", T, duration_s=20_000, reason="known exercise")
    alarm = snooze(raised(), "tamm", T, duration_s=600, reason="known exercise")
    assert (alarm.state, alarm.silenced, alarm.snoozed_by, alarm.snoozed_until, alarm.snooze_reason) == (
        AlarmState.SNOOZED, True, "tamm", T + 600, "known exercise"
    )


def test_a_snooze_that_runs_out_raises_the_alarm_again() -> None:
    alarm = snooze(raised(), "tamm", T, duration_s=600, reason="known exercise")
    assert wake(alarm, T + 599.9) is None
    woken = wake(alarm, T + 600)
    assert woken is not None
    assert (woken.state, woken.raised_at, woken.reason) == (AlarmState.RAISED, T + 600, "snooze ran out")


def test_the_same_encounter_reported_again_does_not_re_trigger() -> None:
    alarm = acknowledge(raised("high"), "tamm", T)
    assert observe(alarm, severity="high", occurred=False, incident_id=None, now=T + 10) is None
    assert observe(alarm, severity="medium", occurred=False, incident_id=None, now=T + 20) is None


def test_a_prediction_that_comes_true_and_is_stored_updates_the_facts_without_a_new_alarm() -> None:
    alarm = acknowledge(raised("high"), "tamm", T)
    updated = observe(alarm, severity="high", occurred=True, incident_id=3, now=T + 30)
    assert updated is not None
    assert (updated.state, updated.occurred, updated.incident_id) == (AlarmState.ACKNOWLEDGED, True, 3)


def test_an_encounter_that_gets_worse_raises_its_acknowledged_alarm_again() -> None:
    alarm = acknowledge(raised("medium"), "tamm", T)
    worse = observe(alarm, severity="critical", occurred=True, incident_id=None, now=T + 40)
    assert worse is not None
    assert (worse.state, worse.severity, worse.reason, worse.raised_at) == (
        AlarmState.RAISED, "critical", "severity rose to critical", T + 40
    )
    assert worse.acknowledged_by == "tamm"  # the earlier acknowledgement stays on record


def test_a_resolved_alarm_comes_back_only_when_its_encounter_gets_worse() -> None:
    alarm = resolve(raised("medium"), "tamm", T)
    assert observe(alarm, severity="medium", occurred=True, incident_id=4, now=T + 1) == replace(
        alarm, occurred=True, incident_id=4
    )
    back = observe(alarm, severity="high", occurred=True, incident_id=None, now=T + 2)
    assert back is not None
    assert (back.state, back.reason) == (AlarmState.RAISED, "severity rose to high after it was resolved")


def test_a_resolved_alarm_refuses_every_action() -> None:
    alarm = resolve(raised(), "tamm", T, note="ships parted")
    assert (alarm.state, alarm.resolved_by, alarm.note, alarm.active) == (
        AlarmState.RESOLVED, "tamm", "ships parted", False
    )
    with pytest.raises(AlarmConflict):
        acknowledge(alarm, "kask", T)
    with pytest.raises(AlarmConflict):
        snooze(alarm, "kask", T, duration_s=60, reason="x")
    with pytest.raises(AlarmConflict):
        resolve(alarm, "kask", T)


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["ack", "snooze", "resolve", "wake", "worse"]), st.floats(0, MAX_SNOOZE_S)), max_size=12
)


@given(ACTIONS)
def test_whatever_operators_do_an_alarm_stays_accounted_for(actions: list[tuple[str, float]]) -> None:
    alarm, now = raised("low"), T
    severities = iter(["medium", "high", "critical"] + ["critical"] * 20)
    for action, step in actions:
        now += step
        before = alarm
        try:
            if action == "ack":
                alarm = acknowledge(alarm, "tamm", now)
            elif action == "snooze":
                alarm = snooze(alarm, "tamm", now, duration_s=max(step, 1.0), reason="r")
            elif action == "resolve":
                alarm = resolve(alarm, "tamm", now)
            elif action == "wake":
                alarm = wake(alarm, now) or alarm
            else:
                alarm = observe(alarm, severity=next(severities), occurred=True, incident_id=None, now=now) or alarm
        except AlarmConflict:
            assert alarm == before
        if before.state is AlarmState.RESOLVED and alarm.state is not AlarmState.RESOLVED:
            assert action == "worse"  # only a worse encounter brings a resolved alarm back
            assert alarm.reason == f"severity rose to {alarm.severity} after it was resolved"
        if alarm.state is AlarmState.SNOOZED:
            assert alarm.snoozed_by == "tamm"
            assert alarm.snooze_reason == "r"
            assert alarm.snoozed_until is not None
        if alarm.state is AlarmState.ACKNOWLEDGED:
            assert alarm.acknowledged_by == "tamm"
