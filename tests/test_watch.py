"""The watch end to end, in process: observations in, encounters with evidence out, on data time."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Encounter
from riskline.ingest.observation import Domain, Observation
from riskline.testing.flights import T0, head_on_pass, straight_flight
from riskline.watch import Watch, in_time_order


def replay(observations: list[Observation], **overrides: str) -> list[Encounter]:
    watch = Watch(load_rulebook(overrides=[f"{k}={v}" for k, v in overrides.items()]))
    closed = [e for o in observations for e in watch.feed(o)]
    return closed + watch.finish()


def test_a_head_on_pass_is_one_predicted_then_actual_air_proximity_encounter() -> None:
    encounters = {e.rule: e for e in replay(head_on_pass())}
    assert set(encounters) == {"air_proximity"}
    proximity = encounters["air_proximity"]
    assert proximity.occurred
    assert proximity.min_horizontal_m == pytest.approx(100, abs=1)
    assert proximity.t_cpa == pytest.approx(T0 + 200, abs=0.5)
    assert proximity.first_alert is not None
    assert proximity.lead_time_s == pytest.approx(120, abs=2.5)
    assert (proximity.party_a, proximity.party_b) == ("US", "RU")


def test_an_encounter_keeps_both_tracks_and_the_separation_around_the_closest_approach() -> None:
    [proximity] = replay(head_on_pass())
    evidence = proximity.evidence
    assert evidence is not None
    assert evidence.segment_b is not None
    assert {evidence.segment_a.platform_id, evidence.segment_b.platform_id} == {"id:su27", "id:rc135"}
    assert len(evidence.segment_a) >= 300
    assert min(evidence.separation_m) == pytest.approx(100, abs=1)
    assert evidence.separation_t[0] <= proximity.t_cpa <= evidence.separation_t[-1]


def test_replaying_the_same_input_gives_the_same_encounters() -> None:
    assert replay(head_on_pass()) == replay(head_on_pass())


def test_a_slower_tick_still_catches_the_pass() -> None:
    [proximity] = replay(head_on_pass(), **{"watch.tick_s": "10"})
    assert proximity.min_horizontal_m == pytest.approx(100, abs=1)


def test_a_long_gap_in_the_data_does_not_tick_through_every_empty_second() -> None:
    watch = Watch(load_rulebook())
    first = head_on_pass()[:10]
    for o in first:
        watch.feed(o)
    ticks_before = watch.status().ticks
    later = Observation(t=first[-1].t + 86_400, platform_id="id:x", source="table", lat=55.0, lon=19.0,
                        domain=Domain.SEA, party="EE")
    watch.feed(later)
    assert watch.status().ticks - ticks_before <= 10


@pytest.mark.parametrize("later_s", [86_400.0, 86_401.0, 86_400.5, 3 * 3_600.0])
def test_after_a_gap_longer_than_its_memory_the_watch_finds_what_a_fresh_watch_finds(later_s: float) -> None:
    """Across a long gap the tick clock restarts as a fresh watch's starts — also when the first observation after
    it lies exactly on a tick — so a history partition whose data begins after the gap agrees with one watch."""
    first = [o for o in head_on_pass() if o.t >= T0 + 100.0]  # predicted from the first tick on
    again = [replace(o, t=o.t + later_s) for o in first]
    [before] = replay(first)
    [after] = replay(again)
    assert before.first_alert == T0 + 102.0
    assert replay(first + again) == [before, after]


def test_in_time_order_merges_and_repairs_small_disorder() -> None:
    def obs(t: float) -> Observation:
        return Observation(t=t, platform_id="id:x", source="table", lat=0.0, lon=0.0)

    merged = [o.t for o in in_time_order([[obs(1), obs(3), obs(2), obs(7)], [obs(0), obs(5), obs(4)]])]
    assert merged == sorted(merged)
    assert len(merged) == 7


def test_non_finite_times_are_ignored() -> None:
    watch = Watch(load_rulebook())
    assert watch.feed(Observation(t=math.nan, platform_id="id:x", source="table", lat=0, lon=0)) == []
    assert watch.status().observations == 0


def test_evidence_is_kept_when_both_tracks_fall_silent_while_other_traffic_runs_on() -> None:
    # Issue 6: the Il-20 and the SK681 of the Baltic demo were stored with 0 fixes — their tracks expired
    # (60 s of silence) before the evidence window (t_cpa + 180 s) was reached by the rest of the traffic.
    meeting = [o for o in head_on_pass() if o.t <= T0 + 230]
    bystander = straight_flight("id:bystander", "EE", 58.0, 23.0, 90.0, 200.0, 9000.0, 700)
    [alone] = replay(meeting)
    [among_traffic] = replay(sorted(meeting + bystander, key=lambda o: o.t))
    assert alone.evidence is not None
    assert among_traffic.evidence is not None
    assert len(among_traffic.evidence.segment_a) == len(alone.evidence.segment_a) == 211  # T0+20 … T0+230
    assert among_traffic.evidence == alone.evidence


def test_a_track_that_comes_back_after_expiring_adds_its_new_fixes_to_the_kept_evidence() -> None:
    meeting = head_on_pass()
    gap = [o for o in meeting if not (T0 + 230 < o.t < T0 + 300)]
    bystander = straight_flight("id:bystander", "EE", 58.0, 23.0, 90.0, 200.0, 9000.0, 700)
    [encounter] = replay(sorted(gap + bystander, key=lambda o: o.t))
    assert encounter.evidence is not None
    times = encounter.evidence.segment_a.t
    assert list(times) == sorted(set(times))
    assert times[0] == T0 + 20  # t_cpa - 180 s
    assert [t for t in times if T0 + 230 < t < T0 + 300] == []
    assert {T0 + 230, T0 + 300, T0 + 370} <= set(times)  # before the silence, and after the track came back
