"""Each rule on hand-built geometry: breaches, predictions, and what must not fire."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.detection import detector as detector_module
from riskline.detection.detector import Detector
from riskline.detection.findings import Finding
from riskline.detection.geometry import parallel_radius, track_motion
from riskline.detection.rulebook import load_rulebook
from riskline.testing.snapshots import Platform, offset, snapshot_of
from riskline.tracks.snapshot import Snapshot

T = datetime(2016, 4, 12, 11, 0, tzinfo=UTC).timestamp()  # daylight in the Baltic
NIGHT = datetime(2016, 4, 12, 23, 0, tzinfo=UTC).timestamp()
LAT, LON = 55.3, 18.5


def detect(
    *platforms: Platform, t: float = T, since: float | None = None, overrides: tuple[str, ...] = ()
) -> list[Finding]:
    detector = Detector(load_rulebook(overrides=overrides))
    return detector.detect(snapshot_of(t, *platforms), t, since=t - 2.0 if since is None else since)


def by_rule(findings: list[Finding]) -> dict[str, Finding]:
    return {f.rule: f for f in findings}


def aircraft(id: str, party: str, east: float = 0.0, north: float = 0.0, **kw: object) -> Platform:
    lat, lon = offset(LAT, LON, east, north)
    return Platform(id=id, party=party, lat=lat, lon=lon, **kw)  # type: ignore[arg-type]


def ship(id: str, party: str, east: float = 0.0, north: float = 0.0, **kw: object) -> Platform:
    lat, lon = offset(LAT, LON, east, north)
    return Platform(id=id, party=party, lat=lat, lon=lon, air=False, **kw)  # type: ignore[arg-type]


def test_two_aircraft_of_different_parties_inside_the_volume_breach_air_proximity() -> None:
    found = by_rule(detect(aircraft("id:a", "RU", alt=9000), aircraft("id:b", "US", east=500, alt=9050)))
    proximity = found["air_proximity"]
    assert proximity.breach
    assert proximity.horizontal_m == pytest.approx(500, abs=0.5)
    assert proximity.vertical_m == pytest.approx(50)
    assert (proximity.party_a, proximity.party_b) == ("RU", "US")
    assert "air_intercept" not in found


def test_no_rule_applies_inside_one_party() -> None:
    assert detect(aircraft("id:a", "RU", alt=9000), aircraft("id:b", "RU", east=5, alt=9000)) == []


def test_vertical_separation_beyond_the_volume_is_no_breach() -> None:
    assert detect(aircraft("id:a", "RU", alt=9000), aircraft("id:b", "US", east=100, alt=9092)) == []


def test_converging_aircraft_raise_a_prediction_with_the_exact_entry_time() -> None:
    # head-on at 400 m/s closing, 40 km apart: horizontal range 926 m reached after (40000-926)/400 s
    a = aircraft("id:a", "RU", alt=9000, speed=200, course=90)
    b = Platform("id:b", "US", LAT, LON + float(np.degrees(40_000 / parallel_radius(LAT))), alt=9000, speed=200,
                 course=270)  # on the same parallel: both fly along it
    proximity = by_rule(detect(a, b))["air_proximity"]
    assert not proximity.breach
    assert proximity.t_entry - T == pytest.approx((40_000 - 926) / 400, abs=0.3)
    assert proximity.t_cpa - T == pytest.approx(100, abs=0.3)
    assert proximity.distance_m == pytest.approx(0, abs=1)


def test_a_prediction_beyond_the_lookahead_is_not_raised() -> None:
    a = aircraft("id:a", "RU", alt=9000, speed=200, course=90)
    b = aircraft("id:b", "US", east=60_000, alt=9000, speed=200, course=270)  # entry after ~148 s > 120 s
    assert detect(a, b) == []


def test_a_fast_pass_entirely_between_two_ticks_is_caught_as_a_breach() -> None:
    # crossing head-on at 500 m/s closing with 300 m lateral offset; at the tick they are 1.5 km past each other
    a = aircraft("id:a", "RU", alt=3000, speed=250, course=90)
    b = aircraft("id:b", "US", east=-1500, north=300, alt=3000, speed=250, course=270)
    proximity = by_rule(detect(a, b, since=T - 4.0))["air_proximity"]
    assert proximity.breach
    assert proximity.horizontal_m == pytest.approx(300, abs=1)
    assert proximity.t_cpa - T == pytest.approx(-3.0, abs=0.01)


def test_intercept_severity_follows_the_distance_band() -> None:
    found = by_rule(detect(aircraft("id:a", "RU", alt=9000), aircraft("id:b", "US", east=7.9, alt=9000)))
    assert found["air_intercept"].severity == "high"
    assert found["air_intercept"].breach
    found = by_rule(detect(aircraft("id:a", "RU", alt=9000), aircraft("id:b", "US", east=1.2, alt=9000)))
    assert found["air_intercept"].severity == "critical"


def test_a_low_aircraft_over_a_foreign_ship_is_a_low_pass() -> None:
    found = by_rule(detect(ship("id:ddg", "US"), aircraft("id:su24", "RU", east=300, alt=100)))
    assert found["low_pass"].breach
    assert found["low_pass"].horizontal_m == pytest.approx(300, abs=0.5)
    assert found["low_pass"].vertical_m == pytest.approx(100)


def test_an_aircraft_above_the_low_pass_altitude_is_not() -> None:
    assert detect(ship("id:ddg", "US"), aircraft("id:su24", "RU", east=300, alt=160)) == []


def test_ship_contact_range_is_two_miles_by_day_and_three_at_night() -> None:
    pair = (ship("id:a", "RU"), ship("id:b", "EE", east=4500))
    assert detect(*pair, t=T) == []
    night = by_rule(detect(*pair, t=NIGHT))["ship_contact_range"]
    assert night.breach
    assert night.vertical_m is None
    assert night.details["light"] == "night"
    assert night.details["threshold_m"] == 5556.0


def test_converging_ships_are_predicted_half_an_hour_ahead() -> None:
    a = ship("id:a", "RU", speed=8, course=90)
    b = ship("id:b", "EE", east=20_000, speed=8, course=270)
    contact = by_rule(detect(a, b))["ship_contact_range"]
    assert not contact.breach
    assert contact.t_entry - T == pytest.approx((20_000 - 3704) / 16, abs=2)


def test_a_silent_aircraft_near_an_airliner_is_non_cooperative() -> None:
    airliner = aircraft("icao:4aa001", "civil", alt=10_000, military=False)
    silent = aircraft("id:il20", "RU", east=90, alt=10_000, transponder=False)
    found = by_rule(detect(airliner, silent))
    assert found["non_cooperative_aircraft"].breach
    assert found["air_proximity"].breach
    visible = aircraft("id:il20", "RU", east=90, alt=10_000, transponder=True)
    assert "non_cooperative_aircraft" not in by_rule(detect(airliner, visible))


def test_a_disabled_rule_stays_silent() -> None:
    pair = (aircraft("id:a", "RU", alt=9000), aircraft("id:b", "US", east=500, alt=9050))
    assert detect(*pair, overrides=("air_proximity.enabled=false",)) == []


def test_territorial_entry_and_its_prediction(tmp_path: Path) -> None:
    lat0, lon0 = offset(LAT, LON, -5000, -5000)
    lat1, lon1 = offset(LAT, LON, 5000, 5000)
    square = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    territories = tmp_path / "territories.geojson"
    territories.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"party": "EE", "name": "test waters"},
         "geometry": {"type": "Polygon", "coordinates": [square]}}]}))
    overrides = (f"territorial_entry.territories={json.dumps(str(territories))}",)
    inside = detect(ship("id:ru", "RU"), overrides=overrides)
    assert [(f.rule, f.b, f.breach) for f in inside] == [("territorial_entry", "territory:EE", True)]
    approaching = detect(ship("id:ru", "RU", east=-7000, speed=10, course=90), overrides=overrides)
    assert [(f.rule, f.breach) for f in approaching] == [("territorial_entry", False)]
    assert approaching[0].t_entry - T == 210.0  # 200 s to the line, sampled every 30 s
    assert detect(ship("id:ee", "EE"), overrides=overrides) == []
    assert detect(ship("id:civil", "civil", military=False), overrides=overrides) == []


def test_an_aircraft_of_unknown_altitude_is_taken_as_possibly_co_altitude() -> None:
    airliner = aircraft("icao:4aa001", "civil", alt=10_000, military=False)
    radar_only = aircraft("id:track7", "RU", east=400, alt=float("nan"), transponder=False)
    found = by_rule(detect(airliner, radar_only))
    assert found["non_cooperative_aircraft"].breach
    assert found["air_proximity"].breach
    assert found["air_proximity"].vertical_m is None
    assert found["air_proximity"].distance_m == pytest.approx(400, abs=0.5)
    assert found["air_proximity"].details["altitude"] == "unknown"


def test_a_low_pass_needs_a_known_altitude() -> None:
    assert detect(ship("id:ddg", "US"), aircraft("id:x", "RU", east=300, alt=float("nan"))) == []


def test_the_naval_rules_bind_armed_forces_only() -> None:
    merchant = ship("mmsi:230000001", "civil", military=False)
    assert detect(merchant, ship("id:corvette", "RU", east=1000)) == []
    airliner_low = aircraft("icao:4aa001", "civil", east=300, alt=100, military=False)
    assert detect(ship("id:ddg", "US"), airliner_low) == []


# --- the pair search covers only usable tracks, with the largest party passive: the same findings --------------


def random_picture(seed: int, n: int, *, civil_share: float = 0.6) -> Snapshot:
    """``n`` ships and aircraft (low and high) within about 6 km: civil and three navies, some military, some silent,
    some of unknown altitude, fixes up to 10 s old, so that every pair rule has something to find."""
    rng = np.random.default_rng(seed)
    air = rng.random(n) < 0.5
    party = np.where(rng.random(n) < civil_share, 0, rng.integers(1, 4, n))
    speed = np.where(air, rng.uniform(60.0, 250.0, n), rng.uniform(0.0, 12.0, n))  # [m/s]
    heading = rng.uniform(0.0, 2 * np.pi, n)
    alt = np.where(air, rng.choice([100.0, 150.0, 3000.0, 3050.0], n) + rng.uniform(0.0, 60.0, n), 0.0)
    return Snapshot(
        t=T,
        ids=tuple(f"id:{k:03d}" for k in range(n)),
        party=party.astype(np.int64),
        party_names=("civil", "EE", "RU", "US"),
        is_air=air,
        is_military=(party > 0) & (rng.random(n) < 0.7),
        transponder=~(air & (rng.random(n) < 0.15)),
        lat=LAT + rng.uniform(-0.03, 0.03, n),
        lon=LON + rng.uniform(-0.05, 0.05, n),
        alt=np.where(air & (rng.random(n) < 0.1), np.nan, alt),
        v_east=speed * np.sin(heading),
        v_north=speed * np.cos(heading),
        v_up=np.where(air, rng.normal(0.0, 3.0, n), 0.0),
        t_fix=T - rng.uniform(0.0, 10.0, n),
    )


def search_everything(detector: Detector) -> Callable[[Snapshot], detector_module._PairSearch | None]:
    """The search before rules declared their tracks: every track, the largest reach and horizon, all active."""
    reach = max(bound.reach_m for bound in detector._pair_bounds)
    horizon = max(bound.horizon_s for bound in detector._pair_bounds)

    def search(snapshot: Snapshot) -> detector_module._PairSearch:
        n = len(snapshot)
        return detector_module._PairSearch(rows=np.arange(n), reach_m=np.full(n, reach),
                                           horizon_s=np.full(n, horizon), active=np.ones(n, dtype=bool))

    return search


def both_searches(picture: Snapshot, *, t: float = T, overrides: tuple[str, ...] = ()) -> tuple[list[Finding], ...]:
    detector = Detector(load_rulebook(overrides=overrides))
    fast = detector.detect(picture, t, since=t - 2.0)
    detector._pair_search = search_everything(detector)  # type: ignore[method-assign]
    return fast, detector.detect(picture, t, since=t - 2.0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 120), civil_share=st.sampled_from([0.0, 0.6, 0.95]),
       night=st.booleans())
def test_searching_only_usable_tracks_gives_the_findings_of_searching_every_track(
    seed: int, n: int, civil_share: float, night: bool
) -> None:
    fast, slow = both_searches(random_picture(seed, n, civil_share=civil_share), t=NIGHT if night else T)
    assert fast == slow


def test_the_random_pictures_exercise_every_pair_rule() -> None:
    fast, slow = both_searches(random_picture(1, 150))
    assert fast == slow
    assert {f.rule for f in fast} >= {"air_proximity", "low_pass", "ship_contact_range", "non_cooperative_aircraft"}


def test_a_picture_of_one_party_and_civil_ships_only_needs_no_pair() -> None:
    picture = random_picture(3, 80, civil_share=1.0)
    assert Detector(load_rulebook())._pair_search(picture) is None
    ships_only = random_picture(4, 80)
    ships_only = dataclasses.replace(ships_only, is_air=np.zeros(80, dtype=bool), is_military=ships_only.party > 0)
    search = Detector(load_rulebook())._pair_search(ships_only)
    assert search is not None
    assert np.array_equal(search.rows, np.flatnonzero(ships_only.party > 0))  # warships: civil ones are in no rule


# --- territorial entry: the box prefilter and the vectorised samples find what a point-by-point test finds ---------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), radius_deg=st.sampled_from([0.005, 0.05, 0.5]))
def test_territorial_entry_finds_the_first_sample_inside_as_shapely_point_by_point(
    tmp_path_factory: pytest.TempPathFactory, seed: int, radius_deg: float
) -> None:
    import shapely
    from shapely.geometry import Point, mapping

    rng = np.random.default_rng(seed)
    area = Point(LON + rng.uniform(-0.1, 0.1), LAT + rng.uniform(-0.1, 0.1)).buffer(radius_deg)
    path = tmp_path_factory.mktemp("territory") / "territories.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"party": "EE"}, "geometry": mapping(area)}]}))
    picture = random_picture(seed, 120, civil_share=0.3)
    found = Detector(load_rulebook(overrides=(f"territorial_entry.territories={json.dumps(str(path))}",)))
    entries = {(f.a, f.t_entry) for f in found.detect(picture, T, since=T - 2.0) if f.rule == "territorial_entry"}
    expected = set()
    motion = track_motion(picture, T)
    for k in range(len(picture)):
        if not picture.is_military[k] or picture.party_names[int(picture.party[k])] == "EE":
            continue
        for step in np.arange(0.0, 300.0 + 1e-9, 30.0):
            lat = motion.lat[k] + motion.lat_rate[k] * step
            lon = motion.lon[k] + motion.lon_rate[k] * step
            if shapely.contains(area, Point(lon, lat)):
                expected.add((picture.ids[k], T + float(step)))
                break
    assert entries == expected
