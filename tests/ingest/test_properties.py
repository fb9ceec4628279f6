"""Hypothesis: whatever bytes come in, no reader raises and every unit is counted exactly once."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import FIXTURES, balanced

from riskline.ingest.beast import read_beast
from riskline.ingest.errors import IngestError
from riskline.ingest.formats import FORMATS
from riskline.ingest.marinecadastre import read_marinecadastre
from riskline.ingest.modes import ModeSDecoder
from riskline.ingest.modes_text import read_modes_csv, read_modes_jsonl
from riskline.ingest.nmea import read_nmea
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import read_sbs
from riskline.ingest.sources import read_bytes_stream, read_path
from riskline.ingest.stats import IngestStats
from riskline.ingest.table import read_table_csv, read_table_parquet
from riskline.ingest.traffic import read_traffic_json
from riskline.testing.fuzz import fuzz_examples

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
Reader = Callable[[Iterable[bytes], IngestStats, ReaderOptions | None], Iterator[Observation]]
OPTIONS = ReaderOptions(clock=lambda: 1_700_000_000.0, start_time=1_600_000_000.0, batch_size=7)
SETTINGS = settings(max_examples=fuzz_examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _real_lines(path: Path, count: int) -> list[bytes]:
    with path.open("rb") as handle:
        return list(islice(handle, count))


REAL_LINES = {
    "nmea": _real_lines(DATA / "ais/test_data_20211101.nm4", 80)
    + _real_lines(DATA / "ais/pyais_mixed.txt", 40)
    + _real_lines(DATA / "ais/test_data_201201.nmea", 26),
    "marinecadastre": _real_lines(DATA / "ais/test_data_noaa_20230101.csv", 40),
    "modes_jsonl": _real_lines(DATA / "traffic/full_flight_short.jsonl", 80),
    "modes_csv": [b"timestamp,hex\n", b"1720248189.525094,8f393322384a02aea63afc43dcba\n"],
    "sbs": _real_lines(FIXTURES / "full_flight_excerpt.sbs", 60),
    "table_csv": [
        b"t,id,lat,lon,party,domain,alt_m,sog_kn,cog_deg,vrate_mps,transponder,kind\n",
        b"2024-01-01T00:00:00Z,radar-7,59.50,24.80,RU,air,9000,420,270,,false,military\n",
    ],
}
LINE_READERS: dict[str, Reader] = {
    "nmea": read_nmea,
    "marinecadastre": read_marinecadastre,
    "modes_jsonl": read_modes_jsonl,
    "modes_csv": read_modes_csv,
    "sbs": read_sbs,
    "table_csv": read_table_csv,
}


@st.composite
def _mutated(draw: st.DrawFn, real: list[bytes]) -> bytes:
    line = bytearray(draw(st.sampled_from(real)))
    for _ in range(draw(st.integers(0, 3))):
        if not line:
            break
        position = draw(st.integers(0, len(line) - 1))
        action = draw(st.sampled_from(["flip", "cut", "drop"]))
        if action == "flip":
            line[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del line[position:]
        else:
            del line[position]
    return bytes(line)


def _lines(fmt: str) -> st.SearchStrategy[list[bytes]]:
    line = st.one_of(st.binary(max_size=120), st.sampled_from(REAL_LINES[fmt]), _mutated(REAL_LINES[fmt]))
    return st.lists(line, max_size=40)


def _drain(observations: Iterator[Observation], stats: IngestStats) -> None:
    produced = list(observations)
    assert stats.observations == len(produced)
    assert balanced(stats), stats.as_dict()


@pytest.mark.parametrize("fmt", sorted(LINE_READERS))
def test_no_line_reader_raises_and_every_line_is_counted_once(fmt: str) -> None:
    @SETTINGS
    @given(lines=_lines(fmt))
    def check(lines: list[bytes]) -> None:
        stats = IngestStats()
        _drain(LINE_READERS[fmt](lines, stats, OPTIONS), stats)
        assert stats.bytes_read == sum(len(line) for line in lines)

    check()


BEAST = (DATA / "traffic/sample_dump1090.bin").read_bytes()[:1500]
TRAFFIC = gzip.decompress((DATA / "traffic/aircraft_carrier.json.gz").read_bytes())[:3000]


@st.composite
def _corrupted(draw: st.DrawFn, real: bytes) -> bytes:
    data = bytearray(real[: draw(st.integers(0, len(real)))])
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data) + draw(st.binary(max_size=40))


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(("reader", "real"), [(read_beast, BEAST), (read_traffic_json, TRAFFIC)])
def test_no_stream_reader_raises_and_chunking_changes_nothing(reader: Reader, real: bytes) -> None:
    @SETTINGS
    @given(data=st.one_of(st.binary(max_size=400), _corrupted(real)), size=st.integers(1, 64))
    def check(data: bytes, size: int) -> None:
        whole, chunked = IngestStats(), IngestStats()
        expected = list(reader([data], whole, OPTIONS))
        assert list(reader(_chunked(data, size), chunked, OPTIONS)) == expected
        assert chunked.as_dict() == whole.as_dict()
        assert balanced(whole), whole.as_dict()

    check()


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_as_parquet_are_one_malformed_unit_or_rows(data: bytes) -> None:
    stats = IngestStats()
    _drain(read_table_parquet(data, stats), stats)


@SETTINGS
@given(
    frames=st.lists(
        st.tuples(
            st.one_of(
                st.text(alphabet="0123456789abcdef", min_size=28, max_size=28),
                st.text(alphabet="0123456789abcdef", min_size=14, max_size=14),
                st.sampled_from(["8d48520a58c3849c784990179ae0", "8f3933223b0f4667f54660a60e2b", "zz"]),
            ),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=30,
    ),
    reference=st.one_of(st.none(), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
)
def test_rs1090_never_sees_a_frame_that_could_make_it_panic(
    frames: list[tuple[str, float]], reference: tuple[float, float] | None
) -> None:
    stats = IngestStats()
    decoder = ModeSDecoder(stats, ReaderOptions(reference=reference, batch_size=5))
    produced = [o for frame, t in frames for o in decoder.feed(frame, t)]
    produced += list(decoder.flush())
    assert stats.read == len(frames)
    assert balanced(stats)
    assert all(-90.0 <= o.lat <= 90.0 for o in produced if o.lat is not None)


@pytest.mark.parametrize("fmt", [None, *FORMATS])
def test_read_path_on_random_files_counts_everything_or_says_why_in_one_line(
    fmt: str | None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("random")

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.one_of(st.binary(max_size=300), st.sampled_from([BEAST[:300], TRAFFIC[:300]])))
    def check(data: bytes) -> None:
        path = folder / "input.bin"
        path.write_bytes(data)
        for reading in (
            lambda stats: read_path(path, stats, options=ReaderOptions(fmt=fmt, start_time=1.6e9)),
            lambda stats: read_bytes_stream(_chunked(data, 17), stats, options=ReaderOptions(fmt=fmt), name=str(path)),
        ):
            stats = IngestStats()
            failure: IngestError | None = None
            try:
                _drain(reading(stats), stats)
            except IngestError as error:
                failure = error
            if failure is not None:
                assert "\n" not in str(failure)
                assert str(failure).startswith(f"{path}: ")

    check()
