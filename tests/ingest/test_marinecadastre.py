"""NOAA MarineCadastre CSV: the real January 2023 sample, and rows that must not become positions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest_support import balanced, lines_of

from riskline.ingest.marinecadastre import read_marinecadastre
from riskline.ingest.observation import Domain
from riskline.ingest.stats import IngestStats
from riskline.units import knots_to_mps

HEADER = (
    b"MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,"
    b"Cargo,TransceiverClass\n"
)


def test_the_noaa_sample_gives_one_position_per_row(ais_dir: Path) -> None:
    stats = IngestStats()
    observations = list(read_marinecadastre(lines_of(ais_dir / "test_data_noaa_20230101.csv"), stats))
    assert (stats.read, stats.accepted, stats.observations, stats.rejected_total) == (1001, 1001, 1000, 0)
    assert stats.bytes_read == (ais_dir / "test_data_noaa_20230101.csv").stat().st_size
    assert all(o.has_position and o.domain is Domain.SEA and o.source == "marinecadastre" for o in observations)
    assert balanced(stats)


def test_the_first_and_last_rows_keep_their_fields(ais_dir: Path) -> None:
    observations = list(read_marinecadastre(lines_of(ais_dir / "test_data_noaa_20230101.csv"), IngestStats()))
    first, last = observations[0], observations[-1]
    # 367752440,2023-01-11T00:00:00,43.07917,-70.75733,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,...
    assert first.t == datetime(2023, 1, 11, tzinfo=UTC).timestamp()
    assert (first.platform_id, first.lat, first.lon) == ("mmsi:367752440", 43.07917, -70.75733)
    assert (first.sog_mps, first.cog_deg) == (0.0, None)
    assert (first.name, first.callsign, first.ship_type) == ("SAN JOSE", "WDI9818", 31)
    # 367004050,2023-01-11T00:00:01,29.36344,-94.91196,0.0,264.3,88.0,URSULA,,WDF2405,31,...
    assert last.t == datetime(2023, 1, 11, 0, 0, 1, tzinfo=UTC).timestamp()
    assert (last.platform_id, last.lat, last.lon, last.cog_deg) == ("mmsi:367004050", 29.36344, -94.91196, 264.3)
    assert (last.name, last.callsign, last.ship_type) == ("URSULA", "WDF2405", 31)


def test_speed_is_converted_from_knots_and_unavailable_values_are_none(ais_dir: Path) -> None:
    observations = list(read_marinecadastre(lines_of(ais_dir / "test_data_noaa_20230101.csv"), IngestStats()))
    msc = next(o for o in observations if o.platform_id == "mmsi:636021061")  # 8.8 kn, 272.7 deg, type 70
    assert msc.sog_mps == pytest.approx(knots_to_mps(8.8))
    assert (msc.cog_deg, msc.ship_type, msc.name) == (272.7, 70, "MSC NAISHA III")
    unavailable_speed = [o for o in observations if o.sog_mps is None]
    assert len(unavailable_speed) == 4  # rows with SOG 102.3
    assert sum(1 for o in observations if o.ship_type is None) == 16  # VesselType 0


def test_a_row_with_a_bad_value_is_counted_with_its_column() -> None:
    rows = [
        HEADER,
        b"367752440,2023-01-11T00:00:00,north,-70.75733,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,0.0,,,,52.0,A\n",
        b"367752440,yesterday,43.07917,-70.75733,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,0.0,,,,52.0,A\n",
        b"36775244O,2023-01-11T00:00:00,43.07917,-70.75733,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,0.0,,,,52.0,A\n",
        b"367752440,2023-01-11T00:00:00,95.0,-70.75733,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,0.0,,,,52.0,A\n",
        b"367752440,2023-01-11T00:00:00\n",
    ]
    stats = IngestStats()
    assert list(read_marinecadastre(rows, stats)) == []
    assert stats.rejected == {
        "bad_field:LAT": 1,
        "bad_field:BaseDateTime": 1,
        "bad_field:MMSI": 1,
        "implausible_value": 1,
        "malformed": 1,
    }
    assert balanced(stats)


def test_a_file_without_a_required_column_rejects_every_row_naming_the_column() -> None:
    stats = IngestStats()
    rows = [b"MMSI,BaseDateTime,LAT\n", b"367752440,2023-01-11T00:00:00,43.07917\n"]
    assert list(read_marinecadastre(rows, stats)) == []
    assert stats.rejected == {"missing_column:lon": 2}


def test_a_row_without_a_position_tells_only_what_is_new_about_the_vessel() -> None:
    row = b"367752440,2023-01-11T00:00:00,91.0,181.0,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,0.0,,,,52.0,A\n"
    stats = IngestStats()
    observations = list(read_marinecadastre([HEADER, row, row], stats))
    assert [(o.has_position, o.name) for o in observations] == [(False, "SAN JOSE")]
    assert (stats.read, stats.accepted, stats.observations) == (3, 3, 1)
