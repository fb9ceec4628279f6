"""What every decoder shares: the line preamble, the feed-then-flush loop, and rejection reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import balanced, lines_of

from riskline.ingest.counting import BadField, Rejected, drive
from riskline.ingest.marinecadastre import MarineCadastreDecoder
from riskline.ingest.nmea import NmeaDecoder
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import LINE_DECODERS
from riskline.ingest.stats import IngestStats
from riskline.ingest.table import TableCsvDecoder

PREAMBLE_LINES = (b"\n", b"   \r\n", b"# a comment\n", b"\xff\xfe not text\n")


@pytest.mark.parametrize("fmt", sorted(LINE_DECODERS))
def test_every_line_decoder_skips_blank_lines_accepts_comments_and_rejects_undecodable_bytes(fmt: str) -> None:
    stats = IngestStats()
    decoder = LINE_DECODERS[fmt](stats, ReaderOptions())
    produced = [o for line in PREAMBLE_LINES for o in decoder.feed(line)] + list(decoder.flush())
    assert produced == []
    assert (stats.read, stats.accepted, stats.observations) == (2, 1, 0)
    assert stats.rejected == {"malformed": 1}
    assert stats.bytes_read == sum(len(line) for line in PREAMBLE_LINES)


@pytest.mark.parametrize("fmt", ["marinecadastre", "modes_csv", "table_csv"])
def test_a_csv_line_the_csv_module_cannot_split_is_malformed(fmt: str) -> None:
    stats = IngestStats()
    decoder = LINE_DECODERS[fmt](stats, ReaderOptions())
    assert list(decoder.feed(b'a\rb,"c"\n')) == []
    assert (stats.read, stats.rejected) == (1, {"malformed": 1})


def test_a_marinecadastre_file_without_a_required_column_rejects_even_rows_that_do_not_split() -> None:
    stats = IngestStats()
    decoder = MarineCadastreDecoder(stats)
    for line in (b"MMSI,BaseDateTime,LON\n", b'a\rb,"c"\n', b"\xff\n", b"# comment\n", b"\n"):
        decoder.feed(line)
    assert (stats.read, stats.accepted) == (4, 1)
    assert stats.rejected == {"missing_column:lat": 2, "malformed": 1}


def test_the_header_of_a_table_is_read_and_accepted_without_an_observation() -> None:
    stats = IngestStats()
    assert list(TableCsvDecoder(stats).feed(b"t,id,lat,lon\n")) == []
    assert (stats.read, stats.accepted, stats.observations) == (1, 1, 0)


def test_drive_flushes_the_decoder_at_the_end_so_an_open_multipart_message_is_counted(ais_dir: Path) -> None:
    lines = list(lines_of(ais_dir / "pyais_nmea_data_sample.txt"))
    first_fragment = lines[95]
    assert first_fragment.startswith(b"!AIVDM,2,1,8,A,")
    stats = IngestStats()
    assert list(drive(NmeaDecoder(stats), [first_fragment])) == []
    assert (stats.read, stats.rejected) == (1, {"incomplete_multipart": 1})
    assert balanced(stats)


def test_drive_yields_what_every_line_gives_in_order(ais_dir: Path) -> None:
    path = ais_dir / "test_data_noaa_20230101.csv"
    rows = path.read_bytes().splitlines()[1:]
    stats = IngestStats()
    observations = list(drive(MarineCadastreDecoder(stats), lines_of(path)))
    assert stats.observations == 1000
    assert [o.platform_id for o in observations] == [f"mmsi:{int(row.split(b',')[0]):09d}" for row in rows]


def test_a_bad_field_is_a_rejection_named_after_the_field() -> None:
    bad = BadField("LAT")
    assert isinstance(bad, Rejected)
    assert bad.reason == "bad_field:LAT"
