"""The labelled synthetic set: every label agrees with the exact geometry it was built from."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import pytest
from astral import Observer
from astral.sun import elevation
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_measure import GEOD

from riskline.scenarios.motion import Trajectory
from riskline.scenarios.synthetic import CELLS, RULES, LabelledEncounter, LabelledSet, labelled_set

# REGIMES.md §6 default thresholds, written out again here on purpose.
AIR_H, AIR_V = 926.0, 91.0  # [m]
INTERCEPT = 30.0  # [m]
LOW_H, LOW_ALT = 914.0, 152.0  # [m]
DAY, NIGHT = 3704.0, 5556.0  # [m]


def _night(lat: float, lon: float, t: float) -> bool:
    moment = datetime.fromtimestamp(t, tz=UTC)
    return float(elevation(Observer(latitude=lat, longitude=lon), moment, with_refraction=False)) < -0.833


def _inside(rule: str, a: Trajectory, b: Trajectory, t: np.ndarray, lat: float, lon: float) -> np.ndarray:
    pa, pb = a.positions(t), b.positions(t)
    horizontal = np.asarray(GEOD.inv(pa.lon, pa.lat, pb.lon, pb.lat)[2])
    vertical = np.abs(pb.alt_m - pa.alt_m)
    if rule in ("air_proximity", "non_cooperative_aircraft"):
        return (horizontal < AIR_H) & (vertical < AIR_V)
    if rule == "air_intercept":
        return np.hypot(horizontal, vertical) <= INTERCEPT
    if rule == "low_pass":
        return (horizontal <= LOW_H) & (pb.alt_m <= LOW_ALT)
    limit = np.array([NIGHT if _night(lat, lon, float(x)) else DAY for x in t])
    return horizontal < limit


def _check(labelled: LabelledSet, encounter: LabelledEncounter) -> None:
    scenario = labelled.scenario
    a, b = scenario.trajectory(encounter.a), scenario.trajectory(encounter.b)
    start = max(scenario.track(encounter.a)[0].t, scenario.track(encounter.b)[0].t)
    end = min(scenario.track(encounter.a)[-1].t, scenario.track(encounter.b)[-1].t)
    sea = encounter.rule == "ship_contact_range"
    step = 2.0 if sea else 0.05
    for label in encounter.labels:
        if label.breaches:
            assert label.breach_t is not None
            before = np.arange(start, label.breach_t - 0.001, step)
            assert not _inside(label.rule, a, b, before, encounter.lat, encounter.lon).any()
            edge = np.array([label.breach_t - 0.001, label.breach_t + 0.001])
            assert _inside(label.rule, a, b, edge, encounter.lat, encounter.lon).tolist() == [False, True]
            lookahead = 1800.0 if sea else 120.0
            assert label.breach_t - start >= lookahead
        else:
            assert label.breach_t is None
            assert label.severity is None
            whole = np.arange(start, end, step)
            assert not _inside(label.rule, a, b, whole, encounter.lat, encounter.lon).any()
    assert encounter.label().breaches is (encounter.design == "breach")


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_labels_agree_with_the_geometry(seed: int) -> None:
    labelled = labelled_set(10, seed)
    assert [e.rule for e in labelled.encounters] == [RULES[k % len(RULES)] for k in range(10)]
    for encounter in labelled.encounters:
        _check(labelled, encounter)


def test_the_set_is_deterministic_given_a_seed() -> None:
    first, again = labelled_set(12, 7), labelled_set(12, 7)
    assert first.encounters == again.encounters
    assert first.scenario.observations == again.scenario.observations
    assert first.encounters != labelled_set(12, 8).encounters


def test_a_larger_set_mixes_breaches_near_misses_and_manoeuvres() -> None:
    labelled = labelled_set(60, 3)
    designs = {(e.rule, e.design) for e in labelled.encounters}
    for rule in RULES:
        assert (rule, "breach") in designs
        assert (rule, "near_miss") in designs
    assert {"diverging", "parallel"} <= {e.design for e in labelled.encounters}
    assert sum(e.manoeuvre for e in labelled.encounters) >= 10
    severities = {lb.severity for e in labelled.encounters for lb in e.labels if lb.rule == "air_intercept"}
    assert len(severities - {None}) >= 2
    expected = {(x.rule, x.a, x.b) for x in labelled.scenario.expected}
    positives = {(lb.rule, e.a, e.b) for e in labelled.encounters for lb in e.labels if lb.breaches}
    assert expected == positives


def test_encounters_stay_near_their_own_far_apart_cells() -> None:
    for (lat1, lon1), (lat2, lon2) in itertools.combinations(CELLS, 2):
        assert GEOD.inv(lon1, lat1, lon2, lat2)[2] > 130_000.0
    labelled = labelled_set(30, 11)
    for encounter in labelled.encounters:
        for platform_id in (encounter.a, encounter.b):
            track = labelled.scenario.track(platform_id)
            lat = np.array([o.lat for o in track])
            lon = np.array([o.lon for o in track])
            centre_lon, centre_lat = np.full_like(lon, encounter.lon), np.full_like(lat, encounter.lat)
            reach = np.asarray(GEOD.inv(centre_lon, centre_lat, lon, lat)[2])
            assert reach.max() < 62_000.0


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^labelled_set: n must be >= 0, got -1$"):
        labelled_set(-1, 0)
