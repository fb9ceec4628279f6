"""Exact geometry and honest claims: reported minimum distances against an exact computation, and breaches that
exist only in dead reckoning kept as predictions."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from riskline.detection.observed import Volume, observed_approach
from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Encounter
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.segment import TrackSegment
from riskline.units import KNOT
from riskline.watch import Watch

_GEOD = Geod(ellps="WGS84")
_T0 = 1_700_000_000.0  # [s]


class StraightTrack:
    """A straight track: constant rates of latitude and longitude (the watch's motion model) from a start."""

    def __init__(self, lat: float, lon: float, v_east: float, v_north: float, alt: float = 0.0) -> None:
        self.lat, self.lon, self.alt = lat, lon, alt
        north_scale = 111_320.0  # [m/deg] nominal; the truth below measures on the ellipsoid whatever it is
        self.lat_rate = v_north / north_scale  # [deg/s]
        self.lon_rate = v_east / (north_scale * math.cos(math.radians(lat)))  # [deg/s]
        self.v_east, self.v_north = v_east, v_north

    def at(self, t: float) -> tuple[float, float]:
        return self.lat + self.lat_rate * t, self.lon + self.lon_rate * t

    def speed_course(self) -> tuple[float, float]:
        """Speed and course as receivers report them: whole knots and whole degrees (SBS-1 output)."""
        knots = round(math.hypot(self.v_east, self.v_north) / KNOT)
        return knots * KNOT, round(math.degrees(math.atan2(self.v_east, self.v_north))) % 360.0


def _true_minimum(a: StraightTrack, b: StraightTrack, start: float, end: float, dz: float) -> float:
    """[m] exact minimum separation over [start, end] [s]: a dense geodesic scan refined by golden section."""

    def distance(t: np.ndarray) -> np.ndarray:
        lat_a, lon_a = a.lat + a.lat_rate * t, a.lon + a.lon_rate * t
        lat_b, lon_b = b.lat + b.lat_rate * t, b.lon + b.lon_rate * t
        _, _, horizontal = _GEOD.inv(lon_a, lat_a, lon_b, lat_b)
        return np.hypot(np.asarray(horizontal), dz)

    grid = np.linspace(start, end, 20_001)
    k = int(np.argmin(distance(grid)))
    low, high = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(80):
        m1, m2 = high - ratio * (high - low), low + ratio * (high - low)
        d1, d2 = distance(np.array([m1, m2]))
        if d1 < d2:
            high = m2
        else:
            low = m1
    return float(distance(np.array([0.5 * (low + high)]))[0])


def _run(a: StraightTrack, b: StraightTrack, phase: float, seconds: int, air: bool, dz: float = 0.0,
         b_until: float | None = None) -> list[Encounter]:
    watch = Watch(load_rulebook())
    domain = Domain.AIR if air else Domain.SEA
    encounters: list[Encounter] = []
    for k in range(seconds):
        for pid, track, party, offset, alt in (("id:a", a, "RU", 0.0, a.alt), ("id:b", b, "SE", phase, a.alt + dz)):
            t = k + offset
            if pid == "id:b" and b_until is not None and t > b_until:
                continue
            lat, lon = track.at(t)
            speed, course = track.speed_course()
            encounters += watch.feed(
                Observation(_T0 + t, pid, "table", lat, lon, alt_m=alt if air else None, sog_mps=speed,
                            cog_deg=course, domain=domain, party=party, kind=Kind.MILITARY)
            )
    return encounters + watch.finish()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    abeam=st.floats(min_value=1.0, max_value=60.0),
    speed=st.floats(min_value=80.0, max_value=250.0),
    course=st.floats(min_value=0.0, max_value=359.0),
    phase=st.floats(min_value=0.0, max_value=0.95),
    dz=st.floats(min_value=-40.0, max_value=40.0),
    lat=st.floats(min_value=40.0, max_value=65.0),
)
def test_a_formation_flight_is_reported_at_its_true_distance(
    abeam: float, speed: float, course: float, phase: float, dz: float, lat: float
) -> None:
    rad = math.radians(course)
    v_east, v_north = speed * math.sin(rad), speed * math.cos(rad)
    a = StraightTrack(lat, 20.0, v_east, v_north, alt=8000.0)
    side = math.radians(course + 90.0)
    b_lat, b_lon = a.lat + abeam * math.cos(side) / 111_320.0, a.lon + abeam * math.sin(side) / (
        111_320.0 * math.cos(math.radians(lat)))
    b = StraightTrack(b_lat, b_lon, v_east, v_north)
    b.lat_rate, b.lon_rate = a.lat_rate, a.lon_rate  # the very same motion: a true formation
    encounters = [e for e in _run(a, b, phase, 40, air=True, dz=dz) if e.occurred]
    truth = _true_minimum(a, b, phase, 39.0, dz)
    assert encounters
    for encounter in encounters:
        assert abs(encounter.min_distance_m - truth) <= 0.5, (encounter.rule, encounter.min_distance_m, truth)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    miss=st.floats(min_value=0.0, max_value=800.0),
    speed_a=st.floats(min_value=100.0, max_value=250.0),
    speed_b=st.floats(min_value=100.0, max_value=250.0),
    angle=st.floats(min_value=20.0, max_value=160.0),
    phase=st.floats(min_value=0.0, max_value=0.95),
)
def test_a_crossing_is_reported_at_its_true_closest_approach(
    miss: float, speed_a: float, speed_b: float, angle: float, phase: float
) -> None:
    a = StraightTrack(55.0, 15.0, speed_a, 0.0, alt=6000.0)
    rad = math.radians(angle)
    v_east, v_north = speed_b * math.sin(rad), speed_b * math.cos(rad)
    # b passes a's position at t = 30 s, displaced north by ``miss`` metres
    lat_a30, lon_a30 = a.at(30.0)
    b = StraightTrack(55.0, 15.0, v_east, v_north)
    b.lat = lat_a30 + miss / 111_320.0 - b.lat_rate * 30.0
    b.lon = lon_a30 - b.lon_rate * 30.0
    encounters = [e for e in _run(a, b, phase, 60, air=True) if e.occurred and e.rule == "air_proximity"]
    truth = _true_minimum(a, b, phase, 59.0, 0.0)
    if truth < 900.0:
        assert encounters
    for encounter in encounters:
        assert abs(encounter.min_distance_m - truth) <= 0.5


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(abeam=st.floats(min_value=50.0, max_value=3000.0), speed=st.floats(min_value=2.0, max_value=12.0),
       phase=st.floats(min_value=0.0, max_value=0.95))
def test_parallel_warships_are_reported_at_their_true_distance(abeam: float, speed: float, phase: float) -> None:
    a = StraightTrack(56.0, 19.0, 0.0, speed)
    b = StraightTrack(56.0, 19.0 + abeam / (111_320.0 * math.cos(math.radians(56.0))), 0.0, speed)
    b.lat_rate, b.lon_rate = a.lat_rate, a.lon_rate
    encounters = [e for e in _run(a, b, phase, 30, air=False) if e.occurred]
    truth = _true_minimum(a, b, phase, 29.0, 0.0)
    assert encounters
    for encounter in encounters:
        assert abs(encounter.min_distance_m - truth) <= 0.5


def test_a_breach_that_exists_only_in_dead_reckoning_stays_predicted() -> None:
    # b stops reporting at t = 10 s, 4 km away and heading straight at a: dead reckoning has them meet at
    # about t = 30 s, but nothing observed ever shows it
    a = StraightTrack(55.0, 15.0, 0.0, 0.0, alt=5000.0)
    start_lat, start_lon = a.at(0.0)
    b = StraightTrack(start_lat, start_lon, -200.0, 0.0)
    b.lon = start_lon + 6_000.0 / (111_320.0 * math.cos(math.radians(55.0)))  # 6 km east, closing at 200 m/s
    encounters = _run(a, b, 0.5, 55, air=True, b_until=10.0)
    assert not [e for e in encounters if e.occurred]


def test_the_observed_approach_needs_both_tracks_observed_around_it() -> None:
    a = TrackSegment("a", (0.0, 1.0, 2.0), (55.0, 55.0, 55.0), (15.0, 15.0, 15.0), (0.0, 0.0, 0.0))
    near = 15.0 + 10.0 / (111_320.0 * math.cos(math.radians(55.0)))
    b_far_apart = TrackSegment("b", (0.0, 100.0), (55.0, 55.0), (near, near), (0.0, 0.0))
    assert observed_approach(a, b_far_apart, 0.0, 2.0, Volume(100.0), three_d=False, max_gap_a_s=10.0,
                             max_gap_b_s=10.0) is None
    found = observed_approach(a, b_far_apart, 0.0, 2.0, Volume(100.0), three_d=False, max_gap_a_s=10.0,
                              max_gap_b_s=200.0)
    assert found is not None
    assert found.inside
    assert abs(found.distance_m - 10.0) < 0.05
    assert (found.t_entry, found.t_exit, found.observed_s) == (0.0, 2.0, 2.0)
