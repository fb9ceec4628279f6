"""read_path and read_bytes_stream: open, sniff, dispatch, and say clearly what cannot be read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from ingest_support import balanced

from riskline.ingest.errors import UnknownFormatError, UnreadableInputError
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import read_bytes_stream, read_path
from riskline.ingest.stats import IngestStats

SMALL_FILES = [
    "ais/pyais_gatehouse.nmea",
    "ais/pyais_mixed.txt",
    "ais/test_data_201201.nmea",
    "ais/test_data_20211101.nm4",
    "ais/test_data_noaa_20230101.csv",
    "traffic/aircraft_carrier.json.gz",
    "traffic/sample_dump1090.bin",
]
OPTIONS = ReaderOptions(start_time=1_600_000_000.0)


@pytest.mark.parametrize("relative", SMALL_FILES)
def test_a_stream_in_small_chunks_reads_like_the_file(data_dir: Path, relative: str) -> None:
    path = data_dir / relative
    from_file = IngestStats()
    expected = list(read_path(path, from_file, options=OPTIONS))
    data = path.read_bytes()
    from_stream = IngestStats()
    chunks = [data[i : i + 997] for i in range(0, len(data), 997)]
    assert list(read_bytes_stream(chunks, from_stream, options=OPTIONS, name=relative)) == expected
    assert from_stream.as_dict() == from_file.as_dict()
    assert balanced(from_file)
    assert expected


def test_a_gzipped_nmea_file_reads_like_the_plain_one(data_dir: Path, tmp_path: Path) -> None:
    plain = data_dir / "ais/test_data_20211101.nm4"
    packed = tmp_path / "feed.nm4.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = list(read_path(plain, IngestStats()))
    assert list(read_path(packed, IngestStats())) == expected
    assert list(read_bytes_stream([packed.read_bytes()], IngestStats())) == expected


def test_a_forced_format_skips_sniffing(data_dir: Path) -> None:
    stats = IngestStats()
    observations = list(read_path(data_dir / "ais/pyais_mixed.txt", stats, options=ReaderOptions(fmt="sbs")))
    assert observations == []
    assert (stats.read, stats.accepted) == (28, 5)  # the five comment lines
    assert stats.rejected == {"malformed": 23}


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.nmea"
    with pytest.raises(UnreadableInputError) as raised:
        read_path(missing, IngestStats())
    assert str(raised.value) == f"{missing}: cannot read: No such file or directory"


def test_a_directory_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError) as raised:
        read_path(tmp_path, IngestStats())
    assert str(raised.value) == f"{tmp_path}: cannot read: Is a directory"


def test_an_unknown_file_raises_at_call_time(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Dear operator,\nthis is not traffic.\n")
    with pytest.raises(UnknownFormatError, match=rf"^{notes}: unknown input format \(expected one of: nmea, "):
        read_path(notes, IngestStats())


def test_a_truncated_gzip_file_yields_what_it_holds_then_says_so(data_dir: Path, tmp_path: Path) -> None:
    data = (data_dir / "traffic/aircraft_carrier.json.gz").read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[:40_000])
    stats = IngestStats()
    observations = []
    with pytest.raises(UnreadableInputError) as raised:
        observations.extend(read_path(cut, stats))
    assert str(raised.value) == (
        f"{cut}: cannot read: Compressed file ended before the end-of-stream marker was reached"
    )
    assert len(observations) > 1000
    with pytest.raises(UnreadableInputError, match=r"^cut\.json\.gz: cannot read: truncated gzip stream$"):
        list(read_bytes_stream([data[:40_000]], IngestStats(), name="cut.json.gz"))


def test_a_stream_in_an_unknown_format_raises_at_the_first_observation() -> None:
    observations = read_bytes_stream([b"Dear operator,\n"], IngestStats(), name="stdin")
    with pytest.raises(UnknownFormatError, match=r"^stdin: unknown input format"):
        next(observations)
