"""Plausibility gates: implied speed, the anchor, and recovery from a bad first fix."""

from __future__ import annotations

import pytest

from riskline.ingest.gate import AIR_LIMITS, SEA_LIMITS, GateLimits, JumpGate, RangeGate, distance_m, wrap_lon
from riskline.units import NAUTICAL_MILE

TALLINN = (59.437, 24.7536)  # [deg]
HELSINKI = (60.1699, 24.9384)  # [deg] about 82 km north


def test_a_minute_of_arc_of_latitude_is_about_a_nautical_mile() -> None:
    assert distance_m(0.0, 0.0, 1 / 60, 0.0) == pytest.approx(NAUTICAL_MILE, rel=1e-3)
    assert distance_m(*TALLINN, *HELSINKI) == pytest.approx(82_000, rel=0.01)


def test_a_fix_within_the_speed_limit_is_admitted_and_becomes_the_anchor() -> None:
    gate = JumpGate(AIR_LIMITS)
    assert gate.admit("a", 0.0, *TALLINN)
    assert gate.admit("a", 200.0, *HELSINKI)  # 82 km in 200 s: 410 m/s
    fix = gate.last_fix("a")
    assert fix is not None
    assert (fix.t, fix.lat, fix.lon) == (200.0, *HELSINKI)


def test_a_fix_too_far_for_the_time_is_rejected_and_the_anchor_stays() -> None:
    gate = JumpGate(SEA_LIMITS)
    assert gate.admit("s", 0.0, *TALLINN)
    assert not gate.admit("s", 60.0, *HELSINKI)  # 82 km in a minute: no ship
    fix = gate.last_fix("s")
    assert fix is not None
    assert fix.t == 0.0
    assert gate.admit("s", 61.0, TALLINN[0] + 0.001, TALLINN[1])


def test_platforms_are_gated_independently() -> None:
    gate = JumpGate(SEA_LIMITS)
    assert gate.admit("one", 0.0, *TALLINN)
    assert gate.admit("two", 1.0, *HELSINKI)
    assert gate.last_fix("three") is None


def test_two_agreeing_fixes_re_anchor_a_platform_whose_anchor_went_stale() -> None:
    limits = GateLimits(max_speed=60.0, slack=100.0, reset_after=600.0)
    gate = JumpGate(limits)
    assert gate.admit("s", 0.0, *TALLINN)  # a bad first fix, say
    assert not gate.admit("s", 100.0, *HELSINKI)
    assert not gate.admit("s", 110.0, *HELSINKI)  # agrees with the last rejected one, but the anchor is fresh
    assert gate.admit("s", 700.0, HELSINKI[0], HELSINKI[1] + 0.002)  # anchor stale, and agrees: re-anchor
    fix = gate.last_fix("s")
    assert fix is not None
    assert fix.t == 700.0


def test_one_lone_fix_after_a_long_silence_does_not_re_anchor() -> None:
    gate = JumpGate(GateLimits(max_speed=60.0, slack=100.0, reset_after=600.0))
    assert gate.admit("s", 0.0, *TALLINN)
    assert not gate.admit("s", 700.0, 62.0, 25.0)  # 290 km in 700 s
    assert not gate.admit("s", 710.0, *HELSINKI)  # does not agree with the lone one either
    fix = gate.last_fix("s")
    assert fix is not None
    assert fix.t == 0.0


def test_a_fix_older_than_the_anchor_is_admitted_without_moving_it() -> None:
    gate = JumpGate(AIR_LIMITS)
    assert gate.admit("a", 100.0, *TALLINN)
    assert gate.admit("a", 99.0, TALLINN[0] + 0.001, TALLINN[1])
    fix = gate.last_fix("a")
    assert fix is not None
    assert fix.t == 100.0


def test_longitudes_wrap_into_the_half_open_range() -> None:
    assert wrap_lon(190.0) == -170.0
    assert wrap_lon(-180.0) == -180.0
    assert wrap_lon(180.0) == -180.0
    assert wrap_lon(12.5) == 12.5


def test_the_range_gate_needs_a_reference_and_a_range() -> None:
    assert RangeGate(None, None).admit(*HELSINKI)
    near = RangeGate(TALLINN, 50_000.0)
    assert near.admit(TALLINN[0] + 0.1, TALLINN[1])
    assert not near.admit(*HELSINKI)
