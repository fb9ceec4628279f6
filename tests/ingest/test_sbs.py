"""SBS-1 BaseStation lines: real Mode S messages in dump1090's port-30003 layout (fixture), and bad lines."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest
from ingest_support import balanced, lines_of

from riskline.ingest.observation import Domain
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import read_sbs
from riskline.ingest.stats import IngestStats
from riskline.units import feet_to_m, fpm_to_mps, knots_to_mps

POSITION = "MSG,3,1,1,393322,1,2024/07/06,07:18:04.855,2024/07/06,07:18:04.855,,27425,,,47.42725,2.04607,,,0,0,0,0"


def test_the_fixture_decodes_with_exact_counts(fixtures_dir: Path) -> None:
    stats = IngestStats()
    observations = list(read_sbs(lines_of(fixtures_dir / "full_flight_excerpt.sbs"), stats))
    assert (stats.read, stats.accepted, stats.observations, stats.rejected_total) == (175, 175, 61, 0)
    assert sum(1 for o in observations if o.has_position) == 60
    assert stats.bytes_read == (fixtures_dir / "full_flight_excerpt.sbs").stat().st_size
    assert balanced(stats)


def test_positions_equal_the_decoded_messages_they_were_rendered_from(fixtures_dir: Path, traffic_dir: Path) -> None:
    source = traffic_dir / "full_flight_short.jsonl"
    rows = [json.loads(line) for line in islice(lines_of(source), 20000, 20600)]
    expected = [
        (row["timestamp"], round(row["latitude"], 5), round(row["longitude"], 5), feet_to_m(row["altitude"]))
        for row in rows
        if row.get("bds") == "05" and "latitude" in row
    ]
    observations = list(read_sbs(lines_of(fixtures_dir / "full_flight_excerpt.sbs"), IngestStats()))
    ours = [(o.t, o.lat, o.lon, o.alt_m) for o in observations if o.has_position]
    assert len(ours) == len(expected) == 60
    for (t, lat, lon, alt), (t_expected, lat_expected, lon_expected, alt_expected) in zip(ours, expected, strict=True):
        assert t == pytest.approx(t_expected, abs=1e-3)  # the layout keeps whole milliseconds
        assert (lat, lon) == (lat_expected, lon_expected)
        assert alt == pytest.approx(alt_expected)


def test_positions_carry_the_latest_velocity_and_the_callsign(fixtures_dir: Path) -> None:
    observations = list(read_sbs(lines_of(fixtures_dir / "full_flight_excerpt.sbs"), IngestStats()))
    identity, first, second = observations[:3]
    assert (identity.has_position, identity.callsign, identity.domain) == (False, "AFR34ZG", Domain.AIR)
    assert first.sog_mps is None  # its velocity line comes right after it
    # MSG,4 at 07:18:04.855: 435 kn, 184 deg, 1024 ft/min
    assert second.sog_mps == pytest.approx(knots_to_mps(435))
    assert (second.cog_deg, second.callsign) == (184.0, "AFR34ZG")
    assert second.vrate_mps == pytest.approx(fpm_to_mps(1024))


def test_times_are_read_as_utc() -> None:
    (observation,) = read_sbs([POSITION.encode()], IngestStats())
    assert observation.t == pytest.approx(1720250284.855)
    assert observation.platform_id == "icao:393322"


def test_lines_without_a_time_take_the_clock_or_are_rejected() -> None:
    untimed = "MSG,3,1,1,393322,1,,,,,,27425,,,47.42725,2.04607,,,0,0,0,0"
    stats = IngestStats()
    assert list(read_sbs([untimed.encode()], stats)) == []
    assert stats.rejected == {"no_timestamp": 1}
    (observation,) = read_sbs([untimed.encode()], IngestStats(), ReaderOptions(clock=lambda: 1_700_000_000.0))
    assert observation.t == 1_700_000_000.0


def test_bad_fields_are_counted_by_name_and_other_records_accepted() -> None:
    lines = [
        POSITION.replace("393322", "39332Z"),
        POSITION.replace("47.42725", "north"),
        POSITION.replace("07:18:04.855", "25:00:00.000"),
        POSITION.replace("47.42725", "97.42725"),
        POSITION.replace("MSG,3,", "MSG,9,"),
        "MSG,3",
        "STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM",
        "hello",
    ]
    stats = IngestStats()
    assert list(read_sbs([line.encode() for line in lines], stats)) == []
    assert stats.rejected == {
        "bad_field:hex_ident": 1,
        "bad_field:lat": 1,
        "bad_field:date": 1,
        "implausible_value": 1,
        "unsupported_type": 1,
        "malformed": 2,
    }
    assert stats.accepted == 1
    assert balanced(stats)


def test_a_position_the_aircraft_cannot_have_reached_is_an_implausible_jump() -> None:
    jump = POSITION.replace("07:18:04.855", "07:18:05.855").replace("47.42725", "48.42725")
    back = POSITION.replace("07:18:04.855", "07:18:06.855")
    stats = IngestStats()
    observations = list(read_sbs([POSITION.encode(), jump.encode(), back.encode()], stats))
    assert len(observations) == 2
    assert stats.rejected == {"implausible_jump": 1}
