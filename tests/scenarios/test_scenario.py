"""The scenario builder: exact legs, deterministic sampling, and a positions table that reads back."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_measure import GEOD, closest_approach, volume_entries

from riskline.ingest.observation import Domain, Kind
from riskline.scenarios.errors import GeometryError, ScenarioError
from riskline.scenarios.motion import AttackRun, Straight, Turn
from riskline.scenarios.scenario import (
    TABLE_COLUMNS,
    Scenario,
    ScenarioBuilder,
    Side,
    crossing_encounter,
    head_on_encounter,
    intercept,
)
from riskline.timeutil import parse_time
from riskline.units import knots_to_mps

T0 = 1460462400.0  # 2016-04-12T12:00:00Z


def _busy_builder(seed: int) -> ScenarioBuilder:
    builder = ScenarioBuilder(T0, seed=seed)
    course = float(builder.rng.uniform(0.0, 360.0))
    builder.platform("cook", party="US", domain=Domain.SEA, platform_type="Arleigh Burke destroyer") \
        .at(55.3, 18.5, course_deg=course, speed_mps=8.0).straight(600).turn_by(90.0, 1.0).straight(900)
    builder.platform("su24", party="RU", domain=Domain.AIR, noise_m=3.0).attack_run(AttackRun(
        target="cook", passes=3, spacing_s=120.0, first_pass_t=T0 + 300.0, min_horizontal_m=50.0, height_m=40.0,
        speed_mps=200.0)).before(Straight(60.0)).then(Turn.by(-45.0), Straight(60.0))
    builder.platform("ferry", party="civil", domain=Domain.SEA, kind=Kind.CIVIL).at(
        55.4, 18.6, course_deg=200.0, speed_mps=10.0).hold(60.0).straight(300.0)
    return builder


def test_the_same_calls_and_seed_give_the_same_scenario() -> None:
    assert _busy_builder(4).build() == _busy_builder(4).build()
    assert _busy_builder(4).build() != _busy_builder(5).build()


def test_observations_are_sorted_by_time_and_platform() -> None:
    observations = _busy_builder(1).build().observations
    keys = [(o.t, o.platform_id) for o in observations]
    assert keys == sorted(keys)
    assert {o.source for o in observations} == {"table"}
    assert {o.platform_id for o in observations} == {"id:cook", "id:su24", "id:ferry"}


def test_aircraft_report_every_second_and_ships_every_ten_on_one_grid() -> None:
    scenario = _busy_builder(1).build()
    for platform_id, step in (("id:su24", 1.0), ("id:cook", 10.0), ("id:ferry", 10.0)):
        times = np.array([o.t for o in scenario.track(platform_id)])
        assert set(np.diff(times)) == {step}
        assert set((times - T0) % step) == {0.0}


def test_the_table_reads_back_to_the_same_observations(tmp_path: Path) -> None:
    scenario = _busy_builder(2).build()
    path = scenario.write_table(tmp_path / "positions.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == TABLE_COLUMNS
        rows = list(reader)
    assert len(rows) == len(scenario.observations)
    for row, o in zip(rows, scenario.observations, strict=True):
        assert parse_time(row["t"]) == o.t
        assert f"id:{row['id']}" == o.platform_id
        assert float(row["lat"]) == pytest.approx(o.lat, abs=1e-8)
        assert float(row["lon"]) == pytest.approx(o.lon, abs=1e-8)
        assert (row["party"], row["domain"], row["kind"]) == (o.party, o.domain, o.kind)
        assert knots_to_mps(float(row["sog_kn"])) == pytest.approx(o.sog_mps, abs=1e-6)
        assert float(row["cog_deg"]) == pytest.approx(o.cog_deg, abs=1e-6)
        assert row["transponder"] == "true"
        if o.domain is Domain.AIR:
            assert float(row["alt_m"]) == pytest.approx(o.alt_m, abs=1e-3)
            assert float(row["vrate_mps"]) == pytest.approx(o.vrate_mps, abs=1e-4)
        else:
            assert (row["alt_m"], row["vrate_mps"]) == ("", "")


def _dead_reckoning_error(scenario: Scenario, platform_id: str) -> float:
    track = scenario.track(platform_id)
    worst = 0.0
    for here, there in itertools.pairwise(track):
        lon, lat, _ = GEOD.fwd(here.lon, here.lat, here.cog_deg, here.sog_mps * (there.t - here.t))
        worst = max(worst, GEOD.inv(lon, lat, there.lon, there.lat)[2])
    return worst


def test_dead_reckoning_from_any_fix_on_a_straight_leg_lands_on_the_next() -> None:
    builder = ScenarioBuilder(T0)
    builder.platform("tu142", party="RU", domain=Domain.AIR).at(57.0, 20.0, alt_m=8000.0, course_deg=35.0,
                                                                speed_mps=180.0).straight(1800)
    builder.platform("ship", party="EE", domain=Domain.SEA).at(59.0, 23.0, course_deg=271.0, speed_mps=7.0) \
        .straight(7200)
    scenario = builder.build()
    assert _dead_reckoning_error(scenario, "id:tu142") < 1e-6
    assert _dead_reckoning_error(scenario, "id:ship") < 1e-6


def test_a_turn_flies_the_asked_angle_at_constant_speed() -> None:
    builder = ScenarioBuilder(T0)
    builder.platform("f16", party="US", domain=Domain.AIR).at(55.0, 15.0, alt_m=5000.0, course_deg=10.0,
                                                              speed_mps=220.0).turn_by(-90.0, 3.0).straight(10)
    track = builder.build().track("f16")
    # Headings are true courses at each point: they differ from the turn's own plane by the meridian convergence.
    assert [o.cog_deg for o in track[::15]] == pytest.approx([10.0, 325.0, 280.0], abs=0.05)
    assert {round(o.sog_mps, 9) for o in track} == {220.0}
    radius = 220.0 / np.radians(3.0)
    chord = GEOD.inv(track[0].lon, track[0].lat, track[30].lon, track[30].lat)[2]
    assert chord == pytest.approx(radius * np.sqrt(2), abs=0.01)


def test_a_hold_stays_in_place_and_reports_no_speed() -> None:
    builder = ScenarioBuilder(T0)
    builder.platform("tug", party="civil", domain=Domain.SEA, kind=Kind.CIVIL).at(
        54.5, 19.0, course_deg=90.0, speed_mps=5.0).hold(60.0).straight(60.0)
    track = builder.build().track("tug")
    assert {(o.lat, o.lon, o.sog_mps) for o in track[:6]} == {(54.5, 19.0, 0.0)}
    assert (track[6].lat, track[6].lon, track[6].sog_mps) == (54.5, 19.0, 5.0)
    assert track[-1].sog_mps == 5.0


@settings(max_examples=25, deadline=None)
@given(
    horizontal=st.floats(0.0, 6000.0),
    vertical=st.floats(0.0, 500.0),
    crossing=st.floats(10.0, 350.0),
    course=st.floats(0.0, 360.0),
    lat=st.floats(54.0, 65.0),
)
def test_an_encounter_closes_to_the_asked_distance(horizontal: float, vertical: float, crossing: float,
                                                    course: float, lat: float) -> None:
    builder = ScenarioBuilder(T0)
    pair = crossing_encounter(
        builder, Side("a", "RU", Domain.AIR, 200.0, alt_m=5000.0), Side("b", "EE", Domain.AIR, 150.0),
        lat=lat, lon=20.0, t_cpa=T0 + 300.0, horizontal_m=horizontal, vertical_m=vertical, course_deg=course,
        crossing_deg=crossing, lead_s=300.0, trail_s=60.0)
    scenario = builder.build()
    approach = closest_approach(scenario.track(pair.a), scenario.track(pair.b))
    assert approach.horizontal_m == pytest.approx(horizontal, abs=0.5)
    assert approach.vertical_m == pytest.approx(vertical, abs=1e-6)
    if horizontal > 1.0:
        assert approach.t == pytest.approx(T0 + 300.0, abs=0.01)


def test_a_manoeuvre_before_the_closest_approach_leaves_the_approach_exact() -> None:
    builder = ScenarioBuilder(T0)
    pair = crossing_encounter(
        builder, Side("a", "RU", Domain.AIR, 200.0, alt_m=5000.0), Side("b", "EE", Domain.AIR, 150.0),
        lat=57.0, lon=20.0, t_cpa=T0 + 300.0, horizontal_m=400.0, vertical_m=50.0, course_deg=20.0,
        crossing_deg=120.0, lead_s=300.0, trail_s=60.0, before_b=[Turn.by(-40.0), Straight(20.0)])
    scenario = builder.build()
    courses = [o.cog_deg for o in scenario.track(pair.b)]
    assert courses[0] == pytest.approx(180.0, abs=0.2)
    assert courses[-1] == pytest.approx(140.0, abs=0.2)
    approach = closest_approach(scenario.track(pair.a), scenario.track(pair.b))
    assert (approach.horizontal_m, approach.vertical_m) == pytest.approx((400.0, 50.0), abs=0.01)
    assert approach.t == pytest.approx(T0 + 300.0, abs=0.01)


def test_ships_head_on_pass_within_two_metres_of_the_asked_distance() -> None:
    builder = ScenarioBuilder(T0)
    pair = head_on_encounter(builder, Side("ru", "RU", Domain.SEA, 9.0), Side("ee", "EE", Domain.SEA, 6.0),
                             lat=59.6, lon=24.2, t_cpa=T0 + 2400.0, horizontal_m=3703.0, course_deg=77.0,
                             lead_s=2400.0, trail_s=600.0)
    scenario = builder.build()
    approach = closest_approach(scenario.track(pair.a), scenario.track(pair.b))
    assert approach.horizontal_m == pytest.approx(3703.0, abs=2.0)


def test_an_interceptor_matches_a_turning_target_at_the_asked_distance() -> None:
    builder = ScenarioBuilder(T0)
    pair = intercept(builder, Side("rc135", "US", Domain.AIR, 150.0, alt_m=9000.0),
                     Side("su27", "RU", Domain.AIR, 250.0), lat=55.5, lon=19.0, t_cpa=T0 + 3000.0,
                     horizontal_m=1.4985, duration_s=5400.0)
    scenario = builder.build()
    approach = closest_approach(scenario.track(pair.a), scenario.track(pair.b))
    assert approach.horizontal_m == pytest.approx(1.4985, abs=0.05)
    target_courses = {round(o.cog_deg) for o in scenario.track(pair.a)}
    assert len(target_courses) > 100  # the target orbits, the interceptor follows


def test_an_attack_run_makes_one_low_pass_per_circuit() -> None:
    scenario = _busy_builder(3).build()
    passes = volume_entries(scenario.track("cook"), scenario.track("su24"), 914.0, 152.0)
    assert passes == 3


def test_an_attack_run_too_tight_to_turn_clear_of_the_ship_is_refused() -> None:
    builder = ScenarioBuilder(T0)
    builder.platform("cook", party="US", domain=Domain.SEA).at(55.3, 18.5, speed_mps=8.0).straight(600)
    builder.platform("su24", party="RU", domain=Domain.AIR).attack_run(AttackRun(
        target="cook", passes=5, spacing_s=40.0, first_pass_t=T0 + 100.0, min_horizontal_m=10.0, height_m=30.0,
        speed_mps=200.0))
    with pytest.raises(GeometryError, match=r"^platform 'su24': attack run on 'cook': passes every 40.0 s at 200.0 "
                                            r"m/s leave no room to turn clear of the ship; space them at least 72 s "
                                            r"apart$"):
        builder.build()


def test_referring_to_an_unknown_platform_is_refused_with_its_name() -> None:
    builder = ScenarioBuilder(T0)
    with pytest.raises(ScenarioError, match=r"^platform 'su24' refers to 'cook', which is not \(yet\) in the "
                                            r"scenario$"):
        builder.platform("su24", party="RU", domain=Domain.AIR).attack_run(AttackRun(
            target="cook", passes=3, spacing_s=120.0, first_pass_t=T0, min_horizontal_m=10.0, height_m=30.0,
            speed_mps=200.0))


def test_a_platform_without_motion_is_refused() -> None:
    builder = ScenarioBuilder(T0)
    builder.platform("idle", party="EE", domain=Domain.SEA)
    with pytest.raises(ScenarioError, match=r"^platform 'idle': no motion: call \.at\(\), \.attack_run\(\) or "
                                            r"\.formation\(\)$"):
        builder.build()


def test_nothing_is_sampled_outside_the_builder_window() -> None:
    builder = ScenarioBuilder(T0, end=T0 + 100.0)
    builder.platform("a", party="EE", domain=Domain.AIR).at(58.0, 22.0, t=T0 + 50.0, alt_m=1000.0,
                                                            speed_mps=100.0).before(Straight(200)).then(Straight(200))
    times = [o.t for o in builder.build().observations]
    assert (times[0], times[-1], len(times)) == (T0, T0 + 100.0, 101)
