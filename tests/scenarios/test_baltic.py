"""Real traffic in the Baltic: relocation keeps shapes, the busy hour writes real wire formats, the demo is bundled."""

from __future__ import annotations

import csv
import gzip
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from pyais.stream import FileReaderStream
from scenario_measure import GEOD, closest_approach

from riskline.ingest.observation import Domain, Observation
from riskline.scenarios.baltic import (
    BUNDLED_AIRCRAFT,
    BUNDLED_SHIPS,
    BusyHour,
    busy_baltic_hour,
    demo_scenario,
    read_traffic_records,
    relocate,
    traffic_observations,
    write_bundle,
)
from riskline.scenarios.incidents import is_night
from riskline.timeutil import parse_time
from riskline.tracks.fleet import Fleet

DATA = Path(__file__).resolve().parents[2] / "src" / "riskline" / "data"


@cache
def _longest_flight(data_dir: Path) -> tuple[Observation, ...]:
    """The real quickstart flight with the most airborne reports."""
    observations = traffic_observations(read_traffic_records(data_dir / "traffic" / "quickstart.json.gz"))
    counts: dict[str, int] = {}
    for o in observations:
        counts[o.platform_id] = counts.get(o.platform_id, 0) + 1
    longest = max(sorted(counts), key=lambda key: counts[key])
    return tuple(o for o in observations if o.platform_id == longest)


def _distances(track: list[Observation]) -> np.ndarray:
    lat = np.array([o.lat for o in track])
    lon = np.array([o.lon for o in track])
    return np.asarray(GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2])


@pytest.mark.parametrize("rotate", [0.0, 137.0])
def test_relocate_keeps_every_inter_point_distance_within_a_thousandth(data_dir: Path, rotate: float) -> None:
    flight = list(_longest_flight(data_dir))
    assert len(flight) > 500
    moved = relocate(flight, to_lat=58.5, to_lon=21.0, rotate_deg=rotate, time_shift_s=-1000.0,
                     rename={flight[0].platform_id: "id:moved"}, party="RU")
    before, after = _distances(flight), _distances(moved)
    apart = before > 10.0
    assert np.max(np.abs(after[apart] / before[apart] - 1.0)) < 1e-3
    first, last = GEOD.inv(flight[0].lon, flight[0].lat, flight[-1].lon, flight[-1].lat)[2], \
        GEOD.inv(moved[0].lon, moved[0].lat, moved[-1].lon, moved[-1].lat)[2]
    assert last == pytest.approx(first, rel=1e-3)
    assert [o.t - 1000.0 for o in flight] == [o.t for o in moved]
    assert {(o.platform_id, o.party) for o in moved} == {("id:moved", "RU")}
    assert [o.sog_mps for o in moved] == [o.sog_mps for o in flight]
    lat = np.mean([o.lat for o in moved])
    assert 57.0 < lat < 60.0


def test_relocate_turns_courses_with_the_track(data_dir: Path) -> None:
    flight = list(_longest_flight(data_dir))
    moved = relocate(flight, to_lat=56.0, to_lon=19.0, rotate_deg=90.0)
    for old, new, old_next, new_next in zip(flight[100:400:50], moved[100:400:50], flight[101:401:50],
                                            moved[101:401:50], strict=True):
        old_chord = GEOD.inv(old.lon, old.lat, old_next.lon, old_next.lat)[0]
        new_chord = GEOD.inv(new.lon, new.lat, new_next.lon, new_next.lat)[0]
        old_offset = (old.cog_deg - old_chord + 180.0) % 360.0 - 180.0
        new_offset = (new.cog_deg - new_chord + 180.0) % 360.0 - 180.0
        assert new_offset == pytest.approx(old_offset, abs=0.05)


@pytest.fixture(scope="module")
def busy(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BusyHour:
    return busy_baltic_hour(data_dir, tmp_path_factory.mktemp("busy"), ships=50, aircraft=20, seed=3)


def test_a_small_busy_hour_has_pinned_counts_and_is_byte_for_byte_repeatable(busy: BusyHour, data_dir: Path,
                                                                              tmp_path: Path) -> None:
    first = busy
    again = busy_baltic_hour(data_dir, tmp_path / "two", ships=50, aircraft=20, seed=3)
    assert (first.ships, first.aircraft, first.ship_reports, first.aircraft_reports) == (50, 20, 2000, 3469)
    assert (again.ships, again.aircraft, again.ship_reports, again.aircraft_reports) == (50, 20, 2000, 3469)
    for a, b in ((first.nmea_path, again.nmea_path), (first.sbs_path, again.sbs_path),
                 (first.table_path, again.table_path)):
        assert a.read_bytes() == b.read_bytes()


def test_busy_hour_nmea_decodes_to_the_intended_ships_and_positions(busy: BusyHour) -> None:
    hour = busy
    with hour.table_path.open(newline="", encoding="utf-8") as handle:
        ships = [row for row in csv.DictReader(handle) if row["domain"] == "sea"]
    with FileReaderStream(str(hour.nmea_path)) as stream:
        messages = list(stream)
    assert len(messages) == len(ships) == hour.ship_reports
    for message, row in zip(messages, ships, strict=True):
        assert message.is_valid
        tag = message.tag_block
        assert tag is not None
        tag.init()
        assert tag.is_valid
        decoded = message.decode()
        assert decoded.msg_type == 1
        assert f"ship-{decoded.mmsi}" == row["id"]
        assert decoded.lat == pytest.approx(float(row["lat"]), abs=1e-5)
        assert decoded.lon == pytest.approx(float(row["lon"]), abs=1e-5)
        assert decoded.speed == pytest.approx(float(row["sog_kn"]), abs=0.051)
        assert int(tag.receiver_timestamp or "") == parse_time(row["t"])


def test_busy_hour_sbs_lines_are_well_formed_basestation_messages(busy: BusyHour) -> None:
    hour = busy
    lines = hour.sbs_path.read_text(encoding="ascii").splitlines()
    assert all(len(line.split(",")) == 22 for line in lines)
    kinds = [line.split(",")[1] for line in lines]
    assert (kinds.count("1"), kinds.count("3"), kinds.count("4")) == (20, 3469, 3469)
    positions = [line.split(",") for line in lines if line.startswith("MSG,3,")]
    assert all(54.0 < float(f[14]) < 61.0 and 12.0 < float(f[15]) < 28.5 for f in positions[:500])


def test_the_bundle_is_small_and_exactly_what_write_bundle_makes_from_shared_data(data_dir: Path,
                                                                                   tmp_path: Path) -> None:
    sizes = {path.name: path.stat().st_size for path in DATA.iterdir() if path.is_file()}
    assert sum(sizes.values()) < 1_000_000
    assert all(size < 300_000 for size in sizes.values())
    aircraft, ships = write_bundle(data_dir, tmp_path)
    assert aircraft.read_bytes() == (DATA / BUNDLED_AIRCRAFT).read_bytes()
    assert ships.read_bytes() == (DATA / BUNDLED_SHIPS).read_bytes()
    records = json.loads(gzip.decompress(aircraft.read_bytes()))
    assert len({r["icao24"] for r in records}) == 20
    assert (DATA / "README.md").read_text(encoding="utf-8").count("MIT") >= 1


def test_the_demo_runs_from_the_bundle_alone_and_matches_shared_data(data_dir: Path, tmp_path: Path) -> None:
    bundled = demo_scenario(tmp_path / "bundled")
    from_shared = demo_scenario(tmp_path / "shared", shared_data=data_dir)
    assert bundled.scenario.observations == from_shared.scenario.observations
    assert bundled.table_path.read_bytes() == from_shared.table_path.read_bytes()


def test_the_demo_packs_the_incidents_into_a_quarter_of_an_hour_at_night(tmp_path: Path) -> None:
    demo = demo_scenario(tmp_path)
    scenario = demo.scenario
    assert scenario.end - scenario.start == 900.0
    assert {(e.rule, e.severity, e.a, e.b) for e in demo.expected} == {
        ("air_proximity", "high", "id:d1-sas-sk681-b737", "id:d1-il-20"),
        ("non_cooperative_aircraft", "high", "id:d1-sas-sk681-b737", "id:d1-il-20"),
        ("low_pass", "medium", "id:d2-uss-donald-cook", "id:d2-su-24-pair"),
        ("repeated_low_passes", "high", "id:d2-uss-donald-cook", "id:d2-su-24-pair"),
        ("air_proximity", "high", "id:d3-rc-135", "id:d3-su-27"),
        ("air_intercept", "high", "id:d3-rc-135", "id:d3-su-27"),
        ("ship_contact_range", "low", "id:d4-ru-corvette", "id:d4-ee-patrol"),
    }
    assert scenario.platform("d1-il-20").transponder is False
    assert {scenario.platform(p).party for p in ("d4-ru-corvette", "d4-ee-patrol")} == {"RU", "EE"}
    ships = closest_approach(scenario.track("d4-ru-corvette"), scenario.track("d4-ee-patrol"))
    assert ships.horizontal_m == pytest.approx(3000.0, abs=2.0)
    corvette = scenario.track("d4-ru-corvette")[0]
    assert is_night(corvette.lat or 0.0, corvette.lon or 0.0, ships.t)
    assert demo.background_aircraft >= 10
    assert demo.background_ships >= 40
    assert {o.party for o in scenario.observations if o.platform_id.startswith("id:bg-")} == {"civil"}
    fleet = Fleet.load(demo.fleet_path)
    assert fleet.lookup("id:d2-su-24-pair") is not None
    assert [scenario.platform("d2-uss-donald-cook").domain,] == [Domain.SEA]
