"""NOAA MarineCadastre CSV read column-wise against the per-line reader: same observations in the same order, same
counts by reason, on the real January 2023 sample and on dirty copies of it (bad cells, jumps, duplicated and
out-of-order rows, comments, short rows, changed identities)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import balanced

from riskline.ingest.marinecadastre import MarineCadastreDecoder
from riskline.ingest.marinecadastre_columns import MarineCadastreColumnDecoder
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import read_path, read_path_batches
from riskline.ingest.stats import IngestStats


@pytest.fixture(scope="module")
def noaa(ais_dir: Path) -> list[bytes]:
    return (ais_dir / "test_data_noaa_20230101.csv").read_bytes().splitlines(keepends=True)


def _same(lines: Sequence[bytes], cuts: Sequence[int] = ()) -> tuple[IngestStats, int]:
    """Both readers' results, checked equal; the stats and how many lines went line by line."""
    stats = IngestStats()
    decoder = MarineCadastreDecoder(stats)
    expected = [o for line in lines for o in decoder.feed(line)]
    got_stats = IngestStats()
    columns = MarineCadastreColumnDecoder(got_stats)
    by_line = 0
    feed = columns.feed

    def counted(line: bytes) -> tuple[Observation, ...]:
        nonlocal by_line
        by_line += 1
        return feed(line)

    columns.feed = counted  # type: ignore[method-assign]
    bounds = [0, *sorted(c % (len(lines) + 1) for c in cuts), len(lines)]
    got = [o for a, b in pairwise(bounds) for batch in columns.feed_columns(lines[a:b]) for o in batch.observations()]
    assert got == expected
    assert got_stats == stats
    assert balanced(stats)
    return stats, by_line


def test_the_noaa_sample_reads_the_same_column_wise(noaa: list[bytes]) -> None:
    stats, by_line = _same(noaa, [300, 700])
    assert (stats.read, stats.observations) == (1001, 1000)
    assert by_line <= 3  # the header, and nothing else
    _same(noaa, list(range(0, 1001, 37)))


def test_the_noaa_file_reads_the_same_through_read_path_batches(ais_dir: Path) -> None:
    path = ais_dir / "test_data_noaa_20230101.csv"
    expected_stats, got_stats = IngestStats(), IngestStats()
    expected = list(read_path(path, expected_stats))
    assert [o for b in read_path_batches(path, got_stats) for o in b.observations()] == expected
    assert got_stats == expected_stats


def _dirty(lines: list[bytes], seed: int, rate: float, structural: bool) -> list[bytes]:
    """Three passes over the sample a minute apart (each vessel moving a little), spoiled at ``rate``."""
    rng = random.Random(seed)
    out = [lines[0]]
    for minute in range(3):
        for line in lines[1:]:
            f = line.decode().rstrip("\n").split(",")
            f[1] = f[1].replace("T00:00:0", f"T00:0{minute}:0")
            f[2] = f"{float(f[2]) + minute * 0.001:.5f}"
            if rng.random() < rate:
                roll = rng.random()
                if roll < 0.2:
                    f[2] = rng.choice(["abc", "95", "91", "", " 5", "1e3", "nan", "-0"])
                elif roll < 0.3:
                    f[0] = rng.choice([" 1", "12345678901", "abc", f[0] + " ", "0" + f[0]])
                elif roll < 0.4:
                    f[7] = rng.choice(["", "  ", "NEW NAME", " X "])
                elif roll < 0.5:
                    f[10] = rng.choice(["", "0", "35", "abc", "70.5"])
                elif roll < 0.6:
                    f[1] = rng.choice(["bad", "", "2023-01-11 00:00:00", "2023-01-11T00:00:00+02:00"])
                elif roll < 0.7:
                    f[3] = f"{float(f[3] or 0) + 2:.5f}"  # a jump
                elif roll < 0.75:
                    f[9] = rng.choice(["", "CALL"])
                elif roll < 0.8:
                    f[4] = rng.choice(["102.3", "-1", "x"])
                elif roll < 0.85:
                    f[3] = rng.choice(["181", "-181", ""])
                elif structural and roll < 0.9:
                    out.append(b"# a comment\n")
                elif structural and roll < 0.95:
                    f = f[:3]
                else:
                    out.append((",".join(f) + "\n").encode())  # duplicated
            out.append((",".join(f) + "\n").encode())
    for _ in range(int(len(out) * rate)):  # out of order
        i = rng.randrange(1, len(out))
        j = min(len(out) - 1, i + rng.randrange(1, 50))
        out[i], out[j] = out[j], out[i]
    return out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rate=st.sampled_from([0.002, 0.02, 0.3]),
    structural=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=4),
)
def test_dirty_rows_read_the_same_counted_by_the_same_reasons(
    noaa: list[bytes], seed: int, rate: float, structural: bool, cuts: list[int]
) -> None:
    _same(_dirty(noaa, seed, rate, structural), cuts)


def test_every_kind_of_reject_is_met_and_most_rows_go_column_wise(noaa: list[bytes]) -> None:
    lines = _dirty(noaa, seed=3, rate=0.02, structural=False)
    stats, by_line = _same(lines, [1000, 2000])
    assert {"implausible_jump", "implausible_value", "bad_field:LAT", "bad_field:MMSI"} <= set(stats.rejected)
    assert "bad_field:BaseDateTime" in stats.rejected
    assert by_line < len(lines) // 5


def test_a_file_with_overlong_lines_reads_the_same_through_read_path_batches(noaa: list[bytes], tmp_path: Path) -> None:
    lines = _dirty(noaa, seed=8, rate=0.01, structural=True)
    lines[500:500] = [b"367752440," + b"9" * 5000 + b"\n"]
    path = tmp_path / "overlong.csv"
    path.write_bytes(b"".join(lines))
    options = ReaderOptions(fmt="marinecadastre", max_line_bytes=300)
    expected_stats, got_stats = IngestStats(), IngestStats()
    expected = list(read_path(path, expected_stats, options=options))
    assert [o for b in read_path_batches(path, got_stats, options=options) for o in b.observations()] == expected
    assert got_stats == expected_stats
    assert expected_stats.rejected["line_too_long"] == 1
