"""Positions tables (CSV and Parquet): real tracks written as tables, and every bad cell named."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_support import balanced

from riskline.ingest.observation import Domain, Kind
from riskline.ingest.stats import IngestStats
from riskline.ingest.table import read_table_csv, read_table_parquet
from riskline.units import knots_to_mps


@pytest.fixture(scope="module")
def carrier_rows(traffic_dir: Path) -> list[dict[str, Any]]:
    """The first 50 positioned records of the real PSWRD35 carrier flight, as table rows."""
    with gzip.open(traffic_dir / "aircraft_carrier.json.gz") as handle:
        records = json.load(handle)
    rows = []
    for record in records:
        if record["latitude"] is None:
            continue
        rows.append(
            {
                "t": datetime.fromtimestamp(record["timestamp"] / 1000, tz=UTC).isoformat().replace("+00:00", "Z"),
                "id": record["icao24"],
                "lat": record["latitude"],
                "lon": record["longitude"],
                "party": "US",
                "domain": "air",
                "alt_m": record["altitude"] * 0.3048 if record["altitude"] is not None else "",
                "sog_kn": record["groundspeed"],
                "cog_deg": record["track"],
                "transponder": "true",
                "kind": "military",
            }
        )
        if len(rows) == 50:
            break
    return rows


def _csv_lines(rows: list[dict[str, Any]]) -> list[bytes]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return [line.encode() for line in buffer.getvalue().splitlines(keepends=True)]


def test_a_csv_table_of_a_real_flight_gives_one_observation_per_row(carrier_rows: list[dict[str, Any]]) -> None:
    stats = IngestStats()
    observations = list(read_table_csv(_csv_lines(carrier_rows), stats))
    assert (stats.read, stats.accepted, stats.observations, stats.rejected_total) == (51, 51, 50, 0)
    first, row = observations[0], carrier_rows[0]
    assert (first.platform_id, first.source, first.party, first.domain, first.kind) == (
        "id:ae0455",
        "table",
        "US",
        Domain.AIR,
        Kind.MILITARY,
    )
    assert (first.lat, first.lon, first.transponder) == (row["lat"], row["lon"], True)
    assert first.t == 1600120072.0
    assert first.sog_mps == pytest.approx(knots_to_mps(row["sog_kn"]))


def test_epoch_times_namespaced_ids_and_defaults_are_understood() -> None:
    lines = [
        b"t,id,lat,lon,transponder,cog_deg\n",
        b"1704067200,mmsi:273123456,59.5,24.8,,360\n",
        b"1704067200000,radar-7,59.5,24.8,false,\n",
    ]
    ship, radar = read_table_csv(lines, IngestStats())
    assert (ship.platform_id, ship.t, ship.transponder, ship.cog_deg, ship.domain) == (
        "mmsi:273123456",
        1704067200.0,
        True,
        0.0,
        None,
    )
    assert (radar.platform_id, radar.t, radar.transponder, radar.sog_mps) == ("id:radar-7", 1704067200.0, False, None)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"yesterday,R1,59.5,24.8,,,,,,,,\n", "bad_field:t"),
        (b"1704067200,,59.5,24.8,,,,,,,,\n", "bad_field:id"),
        (b"1704067200,R1,95,24.8,,,,,,,,\n", "bad_field:lat"),
        (b"1704067200,R1,59.5,east,,,,,,,,\n", "bad_field:lon"),
        (b"1704067200,R1,59.5,24.8,,space,,,,,,\n", "bad_field:domain"),
        (b"1704067200,R1,59.5,24.8,,,high,,,,,\n", "bad_field:alt_m"),
        (b"1704067200,R1,59.5,24.8,,,,-3,,,,\n", "bad_field:sog_kn"),
        (b"1704067200,R1,59.5,24.8,,,,,nan,,,\n", "bad_field:cog_deg"),
        (b"1704067200,R1,59.5,24.8,,,,,,up,,\n", "bad_field:vrate_mps"),
        (b"1704067200,R1,59.5,24.8,,,,,,,maybe,\n", "bad_field:transponder"),
        (b"1704067200,R1,59.5,24.8,,,,,,,,pirate\n", "bad_field:kind"),
        (b"\xff\xfe,R1,59.5,24.8,,,,,,,,\n", "malformed"),
    ],
)
def test_a_bad_cell_rejects_its_row_naming_the_column(row: bytes, reason: str) -> None:
    header = b"t,id,lat,lon,party,domain,alt_m,sog_kn,cog_deg,vrate_mps,transponder,kind\n"
    stats = IngestStats()
    assert list(read_table_csv([header, row], stats)) == []
    assert stats.rejected == {reason: 1}
    assert balanced(stats)


def test_a_table_without_a_required_column_rejects_every_row() -> None:
    stats = IngestStats()
    assert list(read_table_csv([b"t,id,lat\n", b"1704067200,R1,59.5\n"], stats)) == []
    assert stats.rejected == {"missing_column:lon": 2}


def test_a_parquet_table_reads_like_the_csv_one(carrier_rows: list[dict[str, Any]]) -> None:
    table = pa.table(
        {
            "t": pa.array(
                [datetime.fromisoformat(r["t"]).replace(tzinfo=None) for r in carrier_rows], pa.timestamp("ns")
            ),
            "ID": [r["id"] for r in carrier_rows],
            "lat": [r["lat"] for r in carrier_rows],
            "lon": [r["lon"] for r in carrier_rows],
            "party": ["US"] * len(carrier_rows),
            "sog_kn": [r["sog_kn"] for r in carrier_rows],
            "transponder": [True] * len(carrier_rows),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    stats = IngestStats()
    observations = list(read_table_parquet(buffer.getvalue(), stats))
    from_csv = list(read_table_csv(_csv_lines(carrier_rows), IngestStats()))
    assert [(o.t, o.platform_id, o.lat, o.lon, o.sog_mps) for o in observations] == [
        (o.t, o.platform_id, o.lat, o.lon, o.sog_mps) for o in from_csv
    ]
    assert (stats.read, stats.accepted, stats.bytes_read) == (50, 50, len(buffer.getvalue()))


def test_a_parquet_file_that_is_not_parquet_is_one_malformed_unit() -> None:
    stats = IngestStats()
    assert list(read_table_parquet(b"PAR1 but not really", stats)) == []
    assert stats.rejected == {"malformed": 1}
