"""Each rule on hand-built geometry: breaches, predictions, and what must not fire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from riskline.detection.detector import Detector
from riskline.detection.findings import Finding
from riskline.detection.geometry import parallel_radius
from riskline.detection.rulebook import load_rulebook
from riskline.testing.snapshots import Platform, offset, snapshot_of

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
