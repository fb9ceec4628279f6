"""Encounters from findings: one per pair and rule, hysteresis, predictions, repeated low passes."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.detection.findings import Finding
from riskline.detection.rulebook import load_rulebook
from riskline.incidents.tracker import EncounterTracker

RULEBOOK = load_rulebook()
T0 = 1_460_000_000.0


def finding(t: float, *, breach: bool = True, rule: str = "air_proximity", distance: float = 500.0,
            entry: float | None = None, exit: float | None = None, severity: str = "high") -> Finding:
    return Finding(
        rule=rule, a="id:a", b="id:b", party_a="RU", party_b="US", breach=breach, t=t,
        t_entry=t if entry is None else entry, t_exit=t if exit is None else exit, t_cpa=t,
        distance_m=distance, horizontal_m=distance, vertical_m=0.0, lat=55.0, lon=19.0, severity=severity,
        details={"domain": "air"},
    )


def run(findings_by_tick: dict[float, list[Finding]], until: float) -> list:  # type: ignore[type-arg]
    tracker = EncounterTracker(RULEBOOK)
    closed = []
    t = T0
    while t <= until:
        closed += tracker.update(findings_by_tick.get(t, []), t)
        t += 2.0
    return closed + tracker.close_all()


def test_findings_on_consecutive_ticks_make_one_encounter() -> None:
    ticks = {T0 + 2 * k: [finding(T0 + 2 * k, distance=500 - k)] for k in range(10)}
    [encounter] = run(ticks, T0 + 200)
    assert encounter.occurred
    assert encounter.start == T0
    assert encounter.end == T0 + 18
    assert encounter.min_distance_m == 491
    assert encounter.first_alert is None
    assert encounter.details["findings"] == 10
    assert encounter.details["mark"] == "S"


def test_a_gap_shorter_than_the_hold_does_not_split_the_encounter() -> None:
    hold = RULEBOOK.watch.hold_air_s
    ticks = {T0: [finding(T0)], T0 + hold: [finding(T0 + hold)]}
    assert len(run(ticks, T0 + 200)) == 1


def test_a_gap_longer_than_the_hold_makes_two_encounters() -> None:
    hold = RULEBOOK.watch.hold_air_s
    later = T0 + hold + 4
    ticks = {T0: [finding(T0)], later: [finding(later)]}
    assert len(run(ticks, T0 + 200)) == 2


def test_a_prediction_that_comes_true_records_the_first_alert_and_the_lead_time() -> None:
    ticks = {T0 + 2 * k: [finding(T0 + 2 * k, breach=False, entry=T0 + 59, exit=T0 + 69)] for k in range(30)}
    ticks[T0 + 60] = [finding(T0 + 60, entry=T0 + 59)]
    [encounter] = run(ticks, T0 + 200)
    assert encounter.occurred
    assert encounter.first_alert == T0
    assert encounter.start == T0 + 59
    assert encounter.lead_time_s == 59


def test_a_prediction_that_never_happens_keeps_the_predicted_times() -> None:
    ticks = {
        T0: [finding(T0, breach=False, entry=T0 + 60, exit=T0 + 70, distance=100)],
        T0 + 2: [finding(T0 + 2, breach=False, entry=T0 + 61, exit=T0 + 72, distance=300)],
    }
    [encounter] = run(ticks, T0 + 200)
    assert not encounter.occurred
    assert (encounter.start, encounter.end) == (T0 + 61, T0 + 72)
    assert encounter.first_alert == T0
    assert encounter.min_distance_m == 100
    assert encounter.lead_time_s is None


def test_intercept_severity_is_the_band_of_the_actual_minimum_not_of_a_worse_prediction() -> None:
    ticks = {
        T0: [finding(T0, rule="air_intercept", breach=False, distance=1.0, severity="critical")],
        T0 + 2: [finding(T0 + 2, rule="air_intercept", distance=12.0, severity="medium")],
    }
    [encounter] = run(ticks, T0 + 100)
    assert encounter.severity == "medium"
    assert encounter.min_distance_m == 12.0


def low_pass_at(t: float) -> Finding:
    return finding(t, rule="low_pass", severity="medium", entry=t, exit=t + 2)


def test_three_low_passes_within_half_an_hour_raise_repeated_low_passes() -> None:
    ticks = {T0 + 300 * k: [low_pass_at(T0 + 300 * k)] for k in range(5)}
    closed = run(ticks, T0 + 4000)
    rules = sorted(e.rule for e in closed)
    assert rules.count("repeated_low_passes") == 1
    repeated = next(e for e in closed if e.rule == "repeated_low_passes")
    assert repeated.severity == "high"
    assert repeated.details["passes"] == 5
    assert repeated.start == T0


def test_low_passes_spread_over_more_than_the_window_do_not() -> None:
    ticks = {T0 + 1000 * k: [low_pass_at(T0 + 1000 * k)] for k in range(3)}
    assert [e.rule for e in run(ticks, T0 + 5000)] == ["low_pass"] * 3


def test_one_long_pass_counts_once() -> None:
    ticks = {T0 + 2 * k: [low_pass_at(T0 + 2 * k)] for k in range(20)}
    closed = run(ticks, T0 + 500)
    assert [e.rule for e in closed] == ["low_pass"]
    assert closed[0].details["passes"] == 1


@given(st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=60, unique=True))
def test_ticks_with_findings_closer_than_the_hold_always_make_one_encounter(ticks: list[int]) -> None:
    ordered = sorted(ticks)
    gaps_ok = all(b - a <= RULEBOOK.watch.hold_air_s / 2 for a, b in itertools.pairwise(ordered))
    findings = {T0 + 2 * k: [finding(T0 + 2 * k)] for k in ordered}
    closed = run(findings, T0 + 2 * ordered[-1] + 100)
    if gaps_ok:
        assert len(closed) == 1
    assert sum(e.details["findings"] for e in closed) == len(ordered)


def test_close_all_closes_everything_still_open() -> None:
    tracker = EncounterTracker(RULEBOOK)
    tracker.update([finding(T0), replace(finding(T0), b="id:c")], T0)
    assert tracker.open_count == 2
    assert len(tracker.close_all()) == 2
    assert tracker.open_count == 0


def test_sea_encounters_hold_longer_than_air_ones() -> None:
    hold_sea = RULEBOOK.watch.hold_sea_s
    sea = replace(finding(T0, rule="ship_contact_range"), vertical_m=None, details={"domain": "sea"})
    tracker = EncounterTracker(RULEBOOK)
    tracker.update([sea], T0)
    assert tracker.update([], T0 + hold_sea - 2) == []
    assert len(tracker.update([], T0 + hold_sea + 2)) == 1
    assert hold_sea > RULEBOOK.watch.hold_air_s
    assert pytest.approx(300.0) == hold_sea
