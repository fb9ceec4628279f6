"""Candidate pairs: never miss a pair that comes within reach, never form all N² pairs to find it."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.detection import pairs
from riskline.detection.geometry import closest_approach, local_scale, pair_geometry
from riskline.detection.pairs import PairIndex, candidate_pairs, different_party
from riskline.tracks.snapshot import FloatArray, Snapshot
from riskline.units import FEET_PER_MINUTE, FOOT, KNOT, NAUTICAL_MILE

T = 1_700_000_000.0  # [s]
AIR_HORIZON, SEA_HORIZON = 120.0, 1800.0  # [s]
AIR_REACH, SEA_REACH = 926.0, 5556.0  # [m]


def population(
    seed: int,
    n: int,
    *,
    lat: float = 57.0,
    lon: float = 19.0,
    spread_deg: float = 0.5,
    top_speed: float = 260.0,
    air_share: float = 0.2,
) -> tuple[Snapshot, FloatArray, FloatArray]:
    """``n`` random tracks in a square of ``spread_deg`` around (lat, lon): ships and aircraft, fixes up to 30 s old."""
    rng = np.random.default_rng(seed)
    air = rng.random(n) < air_share
    speed = np.where(air, rng.uniform(100.0, top_speed, n), rng.uniform(0.0, 12.0, n))  # [m/s]
    heading = rng.uniform(0.0, 2 * math.pi, n)
    party = rng.integers(0, 3, n)
    snap = Snapshot(
        t=T,
        ids=tuple(f"track-{k}" for k in range(n)),
        party=party.astype(np.int64),
        party_names=("civil", "blue", "red"),
        is_air=air,
        is_military=party > 0,
        transponder=np.ones(n, dtype=bool),
        lat=lat + rng.uniform(-spread_deg / 2, spread_deg / 2, n),
        lon=lon + rng.uniform(-spread_deg / 2, spread_deg / 2, n),
        alt=np.where(air, rng.uniform(0.0, 12_000.0, n), 0.0),
        v_east=speed * np.sin(heading),
        v_north=speed * np.cos(heading),
        v_up=np.where(air, rng.normal(0.0, 5.0, n), 0.0),
        t_fix=T - rng.uniform(0.0, 30.0, n),
    )
    return snap, np.where(air, AIR_HORIZON, SEA_HORIZON), np.where(air, AIR_REACH, SEA_REACH)


def brute_force(
    snap: Snapshot, horizon: FloatArray, reach: FloatArray, lookback_s: float, *, slack: float = 0.0
) -> set[tuple[int, int]]:
    """Every pair i < j whose exact horizontal closest approach over its window is within max(reach) (+ slack)."""
    i, j = np.triu_indices(len(snap), k=1)
    geom = pair_geometry(snap, i.astype(np.int64), j.astype(np.int64), T)
    approach = closest_approach(geom, -lookback_s, np.minimum(horizon[i], horizon[j]))
    limit = np.maximum(reach[i], reach[j]) * (1.0 + slack) + slack
    close = approach.horizontal_min_m <= limit
    return set(zip(i[close].tolist(), j[close].tolist(), strict=True))


@contextmanager
def broad_phase(*, sweep: bool) -> Iterator[None]:
    """Force the sweep of active boxes (``sweep``) or the grid, whatever the number of active tracks."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pairs, "SWEEP_ACTIVE_MAX", 10**9 if sweep else -1)
        yield


def as_set(found: PairIndex) -> set[tuple[int, int]]:
    return set(zip(found.i.tolist(), found.j.tolist(), strict=True))


def assert_well_formed(found: PairIndex) -> None:
    assert found.i.dtype == np.int64
    assert found.j.dtype == np.int64
    assert np.all(found.i < found.j)
    keys = found.i * (int(found.j.max(initial=0)) + 1) + found.j
    assert np.all(np.diff(keys) > 0)  # sorted by i then j, hence unique


def assert_matches_brute_force(snap: Snapshot, horizon: FloatArray, reach: FloatArray, lookback_s: float) -> None:
    found = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, lookback_s=lookback_s)
    assert_well_formed(found)
    missed = brute_force(snap, horizon, reach, lookback_s) - as_set(found)
    assert not missed
    assert as_set(found) <= brute_force(snap, horizon, reach, lookback_s, slack=1e-6)


# --- properties against brute force ---------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 200),
    lat=st.floats(-75.0, 75.0),
    lon=st.floats(-100.0, 100.0),
    spread_deg=st.sampled_from([0.01, 0.1, 0.5, 2.0]),
    top_speed=st.sampled_from([260.0, 3000.0]),
    lookback_s=st.sampled_from([0.0, 10.0]),
    sweep=st.booleans(),
)
def test_every_pair_that_comes_within_reach_is_a_candidate(
    seed: int, n: int, lat: float, lon: float, spread_deg: float, top_speed: float, lookback_s: float, sweep: bool
) -> None:
    snap, horizon, reach = population(seed, n, lat=lat, lon=lon, spread_deg=spread_deg, top_speed=top_speed)
    with broad_phase(sweep=sweep):
        assert_matches_brute_force(snap, horizon, reach, lookback_s)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 120),
    reach_scale=st.sampled_from([0.0, 0.01, 1.0, 20.0]),
    horizon_scale=st.sampled_from([0.0, 1.0, 5.0]),
    sweep=st.booleans(),
)
def test_any_mix_of_reaches_and_horizons_keeps_the_guarantee(
    seed: int, n: int, reach_scale: float, horizon_scale: float, sweep: bool
) -> None:
    snap, _, _ = population(seed, n, spread_deg=0.3)
    rng = np.random.default_rng(seed + 1)
    reach = rng.uniform(0.0, 5_000.0, n) * reach_scale
    horizon = rng.uniform(0.0, 1_800.0, n) * horizon_scale
    with broad_phase(sweep=sweep):
        assert_matches_brute_force(snap, horizon, reach, 0.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cap=st.sampled_from([1, 2, 4]))
def test_boxes_pushed_to_coarser_levels_lose_no_pair(seed: int, cap: int) -> None:
    snap, horizon, reach = population(seed, 150, spread_deg=0.4, top_speed=3000.0, air_share=0.5)
    with broad_phase(sweep=False), pytest.MonkeyPatch.context() as patch:
        patch.setattr(pairs, "MAX_CELLS_PER_BOX", cap)
        assert_matches_brute_force(snap, horizon, reach, 5.0)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 200),
    active_share=st.sampled_from([0.0, 0.02, 0.2, 0.7, 1.0]),
    spread_deg=st.sampled_from([0.01, 0.1, 0.5]),
    top_speed=st.sampled_from([260.0, 3000.0]),
    lookback_s=st.sampled_from([0.0, 10.0]),
    cap=st.sampled_from([1, 4, pairs.MAX_CELLS_PER_BOX]),
    sweep=st.booleans(),
)
def test_with_passive_tracks_every_pair_within_reach_with_an_active_track_is_a_candidate(
    seed: int,
    n: int,
    active_share: float,
    spread_deg: float,
    top_speed: float,
    lookback_s: float,
    cap: int,
    sweep: bool,
) -> None:
    snap, horizon, reach = population(seed, n, spread_deg=spread_deg, top_speed=top_speed, air_share=0.4)
    active = np.random.default_rng(seed + 2).random(n) < active_share
    with broad_phase(sweep=sweep), pytest.MonkeyPatch.context() as patch:
        patch.setattr(pairs, "MAX_CELLS_PER_BOX", cap)  # small caps push boxes to coarser levels
        found = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, lookback_s=lookback_s, active=active)
    assert_well_formed(found)
    within = brute_force(snap, horizon, reach, lookback_s)
    assert not {(a, b) for a, b in within if active[a] or active[b]} - as_set(found)
    assert all(active[a] or active[b] for a, b in as_set(found))
    assert as_set(found) <= brute_force(snap, horizon, reach, lookback_s, slack=1e-6)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 150))
def test_every_track_active_gives_the_same_arrays_as_no_mask(seed: int, n: int) -> None:
    snap, horizon, reach = population(seed, n, spread_deg=0.3)
    plain = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, lookback_s=2.0)
    masked = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, lookback_s=2.0, active=np.ones(n, dtype=bool))
    assert np.array_equal(plain.i, masked.i)
    assert np.array_equal(plain.j, masked.j)


velocity = st.tuples(st.floats(0.0, 3_000.0), st.floats(0.0, 360.0))  # [m/s], [deg] speed and heading


@settings(max_examples=600, deadline=None)
@given(
    lat=st.floats(-75.0, 75.0),
    lon=st.floats(-90.0, 90.0),
    offset=st.tuples(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0)),
    motions=st.tuples(velocity, velocity),
    horizons=st.tuples(st.floats(0.0, 1_800.0), st.floats(0.0, 1_800.0)),
    lookback_s=st.sampled_from([0.0, 10.0]),
    smaller_share=st.floats(0.0, 1.0),
    larger_first=st.booleans(),
    bystanders=st.integers(0, 3),
    sweep=st.booleans(),
)
def test_a_pair_that_just_reaches_the_larger_reach_is_always_found(
    lat: float,
    lon: float,
    offset: tuple[float, float],
    motions: tuple[tuple[float, float], tuple[float, float]],
    horizons: tuple[float, float],
    lookback_s: float,
    smaller_share: float,
    larger_first: bool,
    bystanders: int,
    sweep: bool,
) -> None:
    """The reach is set to the pair's exact closest approach: the knife edge of the guarantee, everywhere."""
    n = 2 + bystanders
    rng = np.random.default_rng(bystanders)
    speeds = np.array([motions[0][0], motions[1][0], *rng.uniform(0.0, 300.0, bystanders)])
    headings = np.radians([motions[0][1], motions[1][1], *rng.uniform(0.0, 360.0, bystanders)])
    snap = Snapshot(
        t=T,
        ids=tuple(f"track-{k}" for k in range(n)),
        party=np.arange(n, dtype=np.int64),
        party_names=tuple(f"party-{k}" for k in range(n)),
        is_air=np.ones(n, dtype=bool),
        is_military=np.ones(n, dtype=bool),
        transponder=np.ones(n, dtype=bool),
        lat=np.array([lat, lat + offset[0], *(lat + rng.uniform(-1.0, 1.0, bystanders))]),
        lon=np.array([lon, lon + offset[1], *(lon + rng.uniform(-1.0, 1.0, bystanders))]),
        alt=np.zeros(n),
        v_east=speeds * np.sin(headings),
        v_north=speeds * np.cos(headings),
        v_up=np.zeros(n),
        t_fix=np.full(n, T),
    )
    horizon = np.array([*horizons, *rng.uniform(0.0, 1_800.0, bystanders)])
    geom = pair_geometry(snap, np.array([0]), np.array([1]), T)
    closest = float(closest_approach(geom, -lookback_s, min(horizons)).horizontal_min_m[0])
    larger, smaller = closest, closest * smaller_share
    reach = np.array([larger, smaller] if larger_first else [smaller, larger])
    reach = np.append(reach, rng.uniform(0.0, 2.0 * closest + 1.0, bystanders))
    with broad_phase(sweep=sweep):
        found = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, lookback_s=lookback_s)
    assert (0, 1) in as_set(found)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 150), sweep=st.booleans())
def test_the_same_pairs_come_back_whatever_the_row_order(seed: int, n: int, sweep: bool) -> None:
    snap, horizon, reach = population(seed, n, spread_deg=0.3)
    order = np.random.default_rng(seed).permutation(n)
    shuffled = Snapshot(
        t=snap.t,
        ids=tuple(snap.ids[k] for k in order),
        party=snap.party[order],
        party_names=snap.party_names,
        is_air=snap.is_air[order],
        is_military=snap.is_military[order],
        transponder=snap.transponder[order],
        lat=snap.lat[order],
        lon=snap.lon[order],
        alt=snap.alt[order],
        v_east=snap.v_east[order],
        v_north=snap.v_north[order],
        v_up=snap.v_up[order],
        t_fix=snap.t_fix[order],
    )
    with broad_phase(sweep=sweep):
        original = as_set(candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach))
        moved = candidate_pairs(shuffled, T, horizon_s=horizon[order], reach_m=reach[order])
    back = {tuple(sorted((int(order[a]), int(order[b])))) for a, b in as_set(moved)}
    assert back == original


# --- exact small cases ---------------------------------------------------------------------------------------


def test_an_empty_or_single_track_picture_has_no_pairs() -> None:
    for n in (0, 1):
        snap, horizon, reach = population(7, n)
        found = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach)
        assert len(found) == 0
        assert found.i.dtype == np.int64


def test_two_ships_closing_from_far_apart_are_found_but_a_third_far_away_is_not() -> None:
    # Two ships 0.5° (30.3 km) apart on the parallel 57° N, closing at 10 m/s each, meet after about 1,516 s:
    # inside a 30-minute horizon, not a 10-minute one. A third ship 180 km away is no one's candidate.
    lat = [57.0, 57.0, 57.0]
    lon = [19.0, 19.5, 22.0]
    snap = Snapshot(
        t=T,
        ids=("a", "b", "far"),
        party=np.array([0, 1, 2]),
        party_names=("blue", "red", "civil"),
        is_air=np.zeros(3, dtype=bool),
        is_military=np.array([True, True, False]),
        transponder=np.ones(3, dtype=bool),
        lat=np.array(lat),
        lon=np.array(lon),
        alt=np.zeros(3),
        v_east=np.array([10.0, -10.0, 0.0]),
        v_north=np.zeros(3),
        v_up=np.zeros(3),
        t_fix=np.full(3, T),
    )
    found = candidate_pairs(snap, T, horizon_s=np.full(3, SEA_HORIZON), reach_m=np.full(3, SEA_REACH))
    assert as_set(found) == {(0, 1)}
    too_short = candidate_pairs(snap, T, horizon_s=np.full(3, 600.0), reach_m=np.full(3, SEA_REACH))
    assert len(too_short) == 0


def test_the_larger_reach_of_a_pair_counts() -> None:
    # A ship (reach 5,556 m) and an aircraft (reach 926 m) 3 km apart, neither moving: within the ship's reach.
    snap = Snapshot(
        t=T,
        ids=("ship", "aircraft"),
        party=np.array([0, 1]),
        party_names=("blue", "red"),
        is_air=np.array([False, True]),
        is_military=np.ones(2, dtype=bool),
        transponder=np.ones(2, dtype=bool),
        lat=np.array([57.0, 57.0 + 3_000.0 / 111_400.0]),
        lon=np.array([19.0, 19.0]),
        alt=np.array([0.0, 100.0]),
        v_east=np.zeros(2),
        v_north=np.zeros(2),
        v_up=np.zeros(2),
        t_fix=np.full(2, T),
    )
    found = candidate_pairs(snap, T, horizon_s=np.array([SEA_HORIZON, AIR_HORIZON]), reach_m=np.array([5556.0, 926.0]))
    assert as_set(found) == {(0, 1)}
    both_short = candidate_pairs(snap, T, horizon_s=np.array([SEA_HORIZON, AIR_HORIZON]), reach_m=np.array([926.0] * 2))
    assert len(both_short) == 0


@pytest.mark.parametrize("start_lat", [75.0, 65.0])
def test_a_fast_track_from_far_away_finds_a_large_reach_ship_at_the_edge_of_its_reach(start_lat: float) -> None:
    # From 75° N the pair's plane is centred at 72.5° N, where a degree of longitude is shorter than at the ship
    # (70° N): the ship's own box padding alone would be too narrow; the conversion must allow for the partner's
    # extent. From 65° N the partner's own padding must carry the pair.
    plane_east = float(local_scale(np.array([0.5 * (70.0 + start_lat)])).east[0])  # [m/deg]
    snap = Snapshot(
        t=T,
        ids=("ship", "fast"),
        party=np.array([0, 1]),
        party_names=("blue", "red"),
        is_air=np.array([False, True]),
        is_military=np.ones(2, dtype=bool),
        transponder=np.ones(2, dtype=bool),
        lat=np.array([70.0, start_lat]),
        lon=np.array([20.0, 20.0 + 5_500.0 / plane_east]),
        alt=np.array([0.0, 10_000.0]),
        v_east=np.zeros(2),
        v_north=np.array([0.0, 3_000.0 * np.sign(70.0 - start_lat)]),
        v_up=np.zeros(2),
        t_fix=np.full(2, T),
    )
    horizon, reach = np.full(2, SEA_HORIZON), np.array([SEA_REACH, 0.0])
    geom = pair_geometry(snap, np.array([0]), np.array([1]), T)
    assert closest_approach(geom, 0.0, SEA_HORIZON).horizontal_min_m[0] == pytest.approx(5_500.0, abs=1e-6)
    assert as_set(candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach)) == {(0, 1)}


def test_two_passive_tracks_are_never_paired_but_a_passive_and_an_active_one_are() -> None:
    # Three stationary ships 1 km apart on a meridian: every pair within reach; the middle one alone is active.
    snap = Snapshot(
        t=T,
        ids=("south", "middle", "north"),
        party=np.zeros(3, dtype=np.int64),
        party_names=("civil",),
        is_air=np.zeros(3, dtype=bool),
        is_military=np.zeros(3, dtype=bool),
        transponder=np.ones(3, dtype=bool),
        lat=57.0 + np.arange(3) * 1_000.0 / 111_400.0,
        lon=np.full(3, 19.0),
        alt=np.zeros(3),
        v_east=np.zeros(3),
        v_north=np.zeros(3),
        v_up=np.zeros(3),
        t_fix=np.full(3, T),
    )
    horizon, reach = np.full(3, SEA_HORIZON), np.full(3, SEA_REACH)
    assert as_set(candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach)) == {(0, 1), (0, 2), (1, 2)}
    middle = np.array([False, True, False])
    assert as_set(candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, active=middle)) == {(0, 1), (1, 2)}
    assert len(candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, active=np.zeros(3, dtype=bool))) == 0


def test_the_same_call_gives_the_same_arrays() -> None:
    snap, horizon, reach = population(11, 200, spread_deg=0.3)
    first = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach)
    second = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach)
    assert len(first) > 0
    assert np.array_equal(first.i, second.i)
    assert np.array_equal(first.j, second.j)


def test_different_party_drops_pairs_within_one_party_and_keeps_the_order() -> None:
    snap, horizon, reach = population(3, 200, spread_deg=0.2)
    found = candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach)
    mixed = different_party(snap, found)
    same = snap.party[found.i] == snap.party[found.j]
    assert same.any()
    assert np.array_equal(mixed.i, found.i[~same])
    assert np.array_equal(mixed.j, found.j[~same])


def test_bad_arguments_fail_with_one_clear_line() -> None:
    snap, horizon, reach = population(5, 10)
    with pytest.raises(ValueError, match=r"horizon_s must have one value per track \(10\), got shape \(9,\)"):
        candidate_pairs(snap, T, horizon_s=horizon[:9], reach_m=reach)
    with pytest.raises(ValueError, match="reach_m must be finite and >= 0 for every track"):
        candidate_pairs(snap, T, horizon_s=horizon, reach_m=-reach)
    with pytest.raises(ValueError, match=r"lookback_s must be finite and >= 0, got -1\.0"):
        candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, lookback_s=-1.0)
    with pytest.raises(ValueError, match=r"active must have one flag per track \(10\), got shape \(3,\)"):
        candidate_pairs(snap, T, horizon_s=horizon, reach_m=reach, active=np.ones(3, dtype=bool))
    lat = snap.lat.copy()
    lat[4] = np.nan
    broken = dataclasses.replace(snap, lat=lat)
    with pytest.raises(ValueError, match=r"1 track\(s\) lack a finite position or velocity, e\.g\. 'track-4'"):
        candidate_pairs(broken, T, horizon_s=horizon, reach_m=reach)


# --- real traffic -----------------------------------------------------------------------------------------------


def paris_snapshot(data_dir: Path) -> Snapshot:
    """Every aircraft of the OpenSky Paris sample (7 Oct 2021) heard in the 5 minutes before 14:15 UTC, last fix
    of each."""
    with gzip.open(data_dir / "traffic" / "quickstart.json.gz", "rt") as handle:
        records = json.load(handle)
    t = 1_633_616_100.0  # [s] 2021-10-07 14:15:00 UTC, the busiest quarter of the sample
    fields = ("latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate")
    last: dict[str, dict[str, float]] = {}
    for record in records:
        seconds = record["timestamp"] / 1000.0
        heard = t - 300.0 <= seconds <= t and all(record[f] is not None for f in fields)
        if heard and (record["icao24"] not in last or last[record["icao24"]]["timestamp"] <= record["timestamp"]):
            last[record["icao24"]] = record
    rows = [last[key] for key in sorted(last)]
    speed = np.array([r["groundspeed"] for r in rows]) * KNOT
    track = np.radians([r["track"] for r in rows])
    n = len(rows)
    return Snapshot(
        t=t,
        ids=tuple(sorted(last)),
        party=np.zeros(n, dtype=np.int64),
        party_names=("civil",),
        is_air=np.ones(n, dtype=bool),
        is_military=np.zeros(n, dtype=bool),
        transponder=np.ones(n, dtype=bool),
        lat=np.array([r["latitude"] for r in rows]),
        lon=np.array([r["longitude"] for r in rows]),
        alt=np.array([r["altitude"] for r in rows]) * FOOT,
        v_east=speed * np.sin(track),
        v_north=speed * np.cos(track),
        v_up=np.array([r["vertical_rate"] for r in rows]) * FEET_PER_MINUTE,
        t_fix=np.array([r["timestamp"] / 1000.0 for r in rows]),
    )


@pytest.mark.parametrize("sweep", [False, True])
def test_real_paris_traffic_pairs_within_five_miles_in_two_minutes_match_brute_force(
    data_dir: Path, sweep: bool
) -> None:
    snap = paris_snapshot(data_dir)
    n = len(snap)
    horizon = np.full(n, AIR_HORIZON)
    reach = np.full(n, 5 * NAUTICAL_MILE)
    with broad_phase(sweep=sweep):
        found = candidate_pairs(snap, snap.t, horizon_s=horizon, reach_m=reach, lookback_s=10.0)
    i, j = np.triu_indices(n, k=1)
    geom = pair_geometry(snap, i.astype(np.int64), j.astype(np.int64), snap.t)
    close = closest_approach(geom, -10.0, AIR_HORIZON).horizontal_min_m <= 5 * NAUTICAL_MILE
    assert n > 30
    assert len(found) > 0
    assert as_set(found) == set(zip(i[close].tolist(), j[close].tolist(), strict=True))


@pytest.mark.parametrize("sweep", [False, True])
def test_real_paris_traffic_with_a_few_active_aircraft_matches_brute_force(data_dir: Path, sweep: bool) -> None:
    snap = paris_snapshot(data_dir)
    n = len(snap)
    horizon = np.full(n, AIR_HORIZON)
    reach = np.full(n, 5 * NAUTICAL_MILE)
    active = np.zeros(n, dtype=bool)
    active[:: max(n // 10, 1)] = True
    with broad_phase(sweep=sweep):
        found = candidate_pairs(snap, snap.t, horizon_s=horizon, reach_m=reach, lookback_s=10.0, active=active)
    i, j = np.triu_indices(n, k=1)
    geom = pair_geometry(snap, i.astype(np.int64), j.astype(np.int64), snap.t)
    close = closest_approach(geom, -10.0, AIR_HORIZON).horizontal_min_m <= 5 * NAUTICAL_MILE
    close &= active[i] | active[j]
    assert len(found) > 0
    assert as_set(found) == set(zip(i[close].tolist(), j[close].tolist(), strict=True))
