"""One platform's fix history: bounded, ordered, and the kinematics it implies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod

from riskline.tracks.history import FixHistory, Kinematics

NAN = math.nan
GEOD = Geod(ellps="WGS84")


def _history(*rows: tuple[float, ...]) -> FixHistory:
    history = FixHistory(capacity=2)
    for row in rows:
        history.append(*row)
    return history


def test_appending_past_the_capacity_keeps_every_fix_in_order() -> None:
    history = FixHistory(capacity=2)
    for t in range(100):
        history.append(float(t), 59.0, 24.0, NAN, NAN, NAN, NAN)
    assert len(history) == 100
    assert history.times.tolist() == [float(t) for t in range(100)]


def test_trimming_forgets_only_the_fixes_before_the_cut_and_compaction_keeps_the_rest() -> None:
    history = FixHistory(capacity=4)
    for t in range(1000):
        history.append(float(t), 59.0, 24.0, NAN, NAN, NAN, NAN)
        history.trim_before(t - 9.0)
    assert history.times.tolist() == [float(t) for t in range(990, 1000)]


def test_a_late_fix_goes_to_its_place_and_a_second_one_at_the_same_time_is_refused() -> None:
    history = _history((10.0, 59.0, 24.0, NAN, NAN, NAN, NAN), (30.0, 59.2, 24.0, NAN, NAN, NAN, NAN))
    assert history.insert(20.0, 59.1, 24.0, NAN, NAN, NAN, NAN)
    assert not history.insert(20.0, 50.0, 20.0, NAN, NAN, NAN, NAN)
    assert history.times.tolist() == [10.0, 20.0, 30.0]
    assert history.between(0.0, 100.0)[:, 1].tolist() == [59.0, 59.1, 59.2]


def test_between_includes_both_ends_and_carries_altitude_forward() -> None:
    history = _history(*[(float(t), 59.0, 24.0, alt, NAN, NAN, NAN)
                         for t, alt in [(0, NAN), (10, 1000.0), (20, NAN), (30, 1300.0), (40, NAN)]])
    rows = history.between(10.0, 40.0)
    assert rows[:, 0].tolist() == [10.0, 20.0, 30.0, 40.0]
    assert rows[:, 3].tolist() == [1000.0, 1000.0, 1300.0, 1300.0]
    assert np.isnan(history.between(0.0, 0.0)[0, 3])
    assert history.between(10.5, 19.5).shape == (0, 4)


def test_a_reported_velocity_is_the_velocity() -> None:
    history = _history((0.0, 59.0, 24.0, 500.0, 3.0, 4.0, -1.5))
    assert history.kinematics(1.0) == Kinematics(0.0, 59.0, 24.0, 500.0, 3.0, 4.0, -1.5)


def test_a_single_fix_without_velocity_is_stationary_with_unknown_altitude() -> None:
    state = _history((0.0, 59.0, 24.0, NAN, NAN, NAN, NAN)).kinematics(1.0)
    assert (state.v_east, state.v_north, state.v_up) == (0.0, 0.0, 0.0)
    assert math.isnan(state.alt)


def test_velocity_without_report_is_derived_on_the_ellipsoid() -> None:
    history = _history((0.0, 59.40, 24.70, NAN, NAN, NAN, NAN), (60.0, 59.41, 24.72, NAN, NAN, NAN, NAN))
    state = history.kinematics(1.0)
    _, back, distance = GEOD.inv(24.70, 59.40, 24.72, 59.41)
    heading = math.radians(back + 180.0)
    assert state.v_east == pytest.approx(distance / 60.0 * math.sin(heading), rel=1e-12)
    assert state.v_north == pytest.approx(distance / 60.0 * math.cos(heading), rel=1e-12)


def test_a_fix_too_close_to_the_last_one_keeps_the_velocity_reported_just_before() -> None:
    history = _history((0.0, 59.0, 24.0, NAN, NAN, NAN, NAN), (10.0, 59.01, 24.0, 100.0, 5.0, 6.0, 2.0),
                       (10.4, 59.02, 24.0, NAN, NAN, NAN, NAN))
    state = history.kinematics(1.0)
    assert (state.v_east, state.v_north, state.v_up, state.alt) == (5.0, 6.0, 2.0, 100.0)


def test_a_fix_too_close_to_the_last_one_derives_over_the_shortest_long_enough_interval() -> None:
    history = _history((0.0, 59.0, 24.0, NAN, NAN, NAN, NAN), (10.0, 59.01, 24.0, NAN, NAN, NAN, NAN),
                       (10.4, 59.02, 24.0, NAN, NAN, NAN, NAN))
    state = history.kinematics(1.0)
    _, _, distance = GEOD.inv(24.0, 59.0, 24.0, 59.02)
    assert state.v_north == pytest.approx(distance / 10.4, rel=1e-9)
    assert state.v_east == pytest.approx(0.0, abs=1e-9)


def test_vertical_velocity_is_derived_from_altitudes_at_least_min_dt_apart() -> None:
    history = _history((0.0, 59.0, 24.0, 1000.0, 0.0, 100.0, NAN), (0.5, 59.0, 24.0, 1003.0, 0.0, 100.0, NAN),
                       (10.0, 59.0, 24.0, 1050.0, 0.0, 100.0, NAN))
    assert history.kinematics(1.0).v_up == pytest.approx((1050.0 - 1003.0) / 9.5)


def test_a_fix_without_altitude_takes_the_last_reported_altitude_and_vertical_rate() -> None:
    history = _history((0.0, 59.0, 24.0, 1000.0, 0.0, 100.0, 7.0), (0.5, 59.0, 24.0, NAN, 0.0, 100.0, NAN))
    state = history.kinematics(1.0)
    assert (state.alt, state.v_up) == (1000.0, 7.0)
