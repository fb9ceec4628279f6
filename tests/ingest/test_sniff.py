"""Format sniffing: every real file told from its content; names only break ties."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskline.ingest.errors import UnknownFormatError
from riskline.ingest.formats import FORMATS
from riskline.ingest.sniff import SNIFF_BYTES, detect_format, line_format

REAL_FILES = {
    "ais/pyais_gatehouse.nmea": "nmea",
    "ais/pyais_mixed.txt": "nmea",
    "ais/pyais_nmea_data_sample.txt": "nmea",
    "ais/pyais_timestamped.ais": "nmea",
    "ais/test_data_201201.nmea": "nmea",
    "ais/test_data_20211101.nm4": "nmea",
    "ais/test_data_noaa_20230101.csv": "marinecadastre",
    "traffic/aircraft_carrier.json.gz": "traffic_json",
    "traffic/full_flight_short.jsonl": "modes_jsonl",
    "traffic/inflight_refuelling.json.gz": "traffic_json",
    "traffic/quickstart.json.gz": "traffic_json",
    "traffic/sample_dump1090.bin": "beast",
}
UNKNOWN = (
    "notes.txt: unknown input format (expected one of: nmea, marinecadastre, modes_jsonl, modes_csv, beast, sbs, "
    "traffic_json, table_csv, table_parquet)"
)


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


@pytest.mark.parametrize("relative", sorted(REAL_FILES))
def test_every_real_file_is_recognised_from_its_content_alone(data_dir: Path, relative: str) -> None:
    assert detect_format(_head(data_dir / relative)) == REAL_FILES[relative]


def test_the_data_folder_holds_no_file_the_sniffer_was_not_tested_on(data_dir: Path) -> None:
    found = {str(p.relative_to(data_dir)) for p in data_dir.glob("*/*") if p.name != "README.md"}
    assert found == set(REAL_FILES)


def test_the_sbs_fixture_and_generated_tables_are_recognised(fixtures_dir: Path) -> None:
    assert detect_format(_head(fixtures_dir / "full_flight_excerpt.sbs")) == "sbs"
    assert detect_format(b"t,id,lat,lon,party\n2024-01-01T00:00:00Z,R1,59.5,24.8,RU\n") == "table_csv"
    assert detect_format(b"timestamp,hex\n1720248189.525094,8f393322384a02aea63afc43dcba\n") == "modes_csv"
    assert detect_format(b"1720248189.525094,8f393322384a02aea63afc43dcba\n") == "modes_csv"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"t": [1.0], "id": ["a"], "lat": [1.0], "lon": [2.0]}), buffer)
    assert detect_format(buffer.getvalue()[:SNIFF_BYTES]) == "table_parquet"


def test_gzip_is_decompressed_before_sniffing(data_dir: Path) -> None:
    nmea = (data_dir / "ais/test_data_20211101.nm4").read_bytes()
    assert detect_format(gzip.compress(nmea)[:4096]) == "nmea"


def test_content_wins_over_a_misleading_name(data_dir: Path) -> None:
    assert detect_format(_head(data_dir / "ais/test_data_20211101.nm4"), "positions.jsonl") == "nmea"


def test_the_name_decides_only_when_the_content_says_nothing() -> None:
    assert detect_format(b"", "capture.nmea") == "nmea"
    assert detect_format(b"# nothing yet\n\n", "feed.sbs") == "sbs"
    assert detect_format(b"", "records.json.gz") == "traffic_json"
    with pytest.raises(UnknownFormatError):
        detect_format(b"", "capture.csv")


def test_an_unknown_format_is_one_line_naming_the_file() -> None:
    with pytest.raises(UnknownFormatError) as raised:
        detect_format(b"Dear operator,\nthis is not traffic.\n", "notes.txt")
    assert str(raised.value) == UNKNOWN
    with pytest.raises(UnknownFormatError, match=r"^<input>: unknown input format"):
        detect_format(b"\x00\x01\x02")


def test_live_lines_are_told_apart() -> None:
    assert line_format("\\s:41925,c:1635731889*66\\!AIVDM,1,1,,,15Di=4002i<chWiba2`rPpD:04;`,0*37") == "nmea"
    assert line_format("MSG,8,111,11111,484411,111111,2016/02/05,04:51:22.746,,,,,,,,,,,,,,0") == "sbs"
    assert line_format("hello") is None


def test_every_format_name_is_listed_once() -> None:
    assert len(FORMATS) == len(set(FORMATS)) == 9
