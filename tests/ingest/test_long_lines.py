"""Bounded memory on hostile input: one enormous line is skipped as it streams past, counted, and reading goes on."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from ingest_support import balanced

from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import read_bytes_stream, read_path
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import block_lines, line_batches, line_blocks

_ZEROS = 3 * (1 << 20)  # [bytes] modest stand-in for the 2 GB of the field report; the cap makes it "enormous"
_CAP = 4096  # [bytes]


def _split(data: bytes, cuts: list[int], cap: int, *, blocks: bool = False) -> tuple[list[bytes], list[int]]:
    chunks, start = [], 0
    for cut in sorted(cuts):
        chunks.append(data[start:cut])
        start = cut
    chunks.append(data[start:])
    overlong: list[int] = []
    if blocks:
        found = list(line_blocks(chunks, cap, overlong.append))
        assert all(found)
        assert all(block.endswith(b"\n") for block in found[:-1])
        return [line for block in found for line in block_lines(block)], overlong
    lines = [line for batch in line_batches(chunks, cap, overlong.append) for line in batch]
    return lines, overlong


@given(
    st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    st.lists(st.integers(min_value=0, max_value=300), max_size=8),
    st.integers(min_value=1, max_value=8),
    st.booleans(),
    st.booleans(),
)
def test_lines_come_out_whole_whatever_the_chunking_and_overlong_ones_are_counted(
    texts: list[bytes], cuts: list[int], cap: int, final_newline: bool, blocks: bool
) -> None:
    """``line_batches``, and ``line_blocks`` split by ``block_lines``."""
    data = b"\n".join(texts) + (b"\n" if final_newline and texts else b"")
    lines, overlong = _split(data, [min(cut, len(data)) for cut in cuts], cap, blocks=blocks)
    pieces = data.split(b"\n")
    last = pieces.pop()
    expected = [piece + b"\n" for piece in pieces if len(piece) <= cap]
    expected_overlong = [len(piece) + 1 for piece in pieces if len(piece) > cap]
    if last and len(last) <= cap:
        expected.append(last)
    elif last:
        expected_overlong.append(len(last))
    assert lines == expected
    assert overlong == expected_overlong


def _read(path: Path, options: ReaderOptions) -> tuple[int, IngestStats, int]:
    stats = IngestStats()
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_path(path, stats, options=options))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, stats, peak


def test_a_real_file_followed_by_a_huge_line_of_zeros_is_read_in_bounded_memory(ais_dir: Path, tmp_path: Path) -> None:
    real = (ais_dir / "test_data_20211101.nm4").read_bytes()
    spoiled = tmp_path / "spoiled.nm4"
    with spoiled.open("wb") as handle:
        handle.write(real)
        handle.write(bytes(_ZEROS))
        handle.write(b"\n")
        handle.write(real)  # the same sentences again after it: duplicates for the jump gate, still read
    options = ReaderOptions(max_line_bytes=_CAP)
    clean_count, clean, _ = _read(ais_dir / "test_data_20211101.nm4", options)
    count, stats, peak = _read(spoiled, options)
    assert stats.rejected["line_too_long"] == 1
    assert stats.read == 2 * clean.read + 1
    assert stats.bytes_read == spoiled.stat().st_size
    assert balanced(stats)
    assert count >= clean_count
    assert peak < _ZEROS / 2  # the zeros were never held whole


def test_a_gzip_bomb_of_zeros_is_one_rejected_line(tmp_path: Path) -> None:
    bomb = tmp_path / "zeros.nmea.gz"
    sentence = b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\n"
    with gzip.open(bomb, "wb") as handle:
        handle.write(sentence)
        handle.write(bytes(_ZEROS))
    count, stats, peak = _read(bomb, ReaderOptions(fmt="nmea", max_line_bytes=_CAP))
    assert count == 0
    assert stats.read == 2
    assert dict(stats.rejected) == {"no_timestamp": 1, "line_too_long": 1}
    assert stats.bytes_read == len(sentence) + _ZEROS
    assert peak < _ZEROS / 2


def test_a_stream_caps_its_lines_too() -> None:
    stats = IngestStats()
    chunks = [b"# a comment\n", bytes(10_000), b"\n# another\n"]
    assert list(read_bytes_stream(chunks, stats, options=ReaderOptions(fmt="nmea", max_line_bytes=100))) == []
    assert (stats.read, stats.accepted, dict(stats.rejected)) == (3, 2, {"line_too_long": 1})
