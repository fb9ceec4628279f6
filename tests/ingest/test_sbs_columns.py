"""SBS-1 read column-wise against the per-line reader: same observations in the same order, same counts by reason,
on real Mode S rendered as SBS (fixture), on the busy Baltic hour, and on dirty lines of every kind."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import SteppingClock, balanced

from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import SbsDecoder
from riskline.ingest.sbs_columns import SbsColumnDecoder
from riskline.ingest.sources import read_path, read_path_batches
from riskline.ingest.stats import IngestStats
from riskline.scenarios.baltic import busy_baltic_hour

POSITION = "MSG,3,1,1,393322,1,2024/07/06,07:18:04.855,2024/07/06,07:18:04.855,,27425,,,47.42725,2.04607,,,0,0,0,0"


def _by_rows(lines: Sequence[bytes], options: ReaderOptions) -> tuple[list[Observation], IngestStats]:
    stats = IngestStats()
    decoder = SbsDecoder(stats, options)
    return [o for line in lines for o in decoder.feed(line)], stats


def _by_columns(
    lines: Sequence[bytes], options: ReaderOptions, cuts: Sequence[int]
) -> tuple[list[Observation], IngestStats]:
    stats = IngestStats()
    decoder = SbsColumnDecoder(stats, options)
    bounds = [0, *sorted(c % (len(lines) + 1) for c in cuts), len(lines)]
    out = [
        o
        for start, stop in pairwise(bounds)
        for batch in decoder.feed_columns(lines[start:stop])
        for o in batch.observations()
    ]
    return out, stats


def _same(lines: Sequence[bytes], cuts: Sequence[int] = (), options: ReaderOptions | None = None) -> IngestStats:
    opts = options if options is not None else ReaderOptions()
    rows = _by_rows(lines, opts)
    again = dataclasses.replace(opts, clock=SteppingClock()) if opts.clock is not None else opts  # a fresh clock
    columns = _by_columns(lines, again, cuts)
    assert columns[0] == rows[0]
    assert columns[1] == rows[1]
    assert balanced(columns[1])
    return rows[1]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_the_fixture_reads_the_same_in_any_batches(fixtures_dir: Path) -> None:
    lines = _lines(fixtures_dir / "full_flight_excerpt.sbs")
    stats = _same(lines)
    assert (stats.read, stats.observations) == (175, 61)
    for cuts in ([1], [40, 41, 100], list(range(0, 175, 7))):
        _same(lines, cuts)


@pytest.fixture(scope="module")
def busy_sbs(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    hour = busy_baltic_hour(data_dir, tmp_path_factory.mktemp("busy"), ships=10, aircraft=40, seed=3)
    return hour.sbs_path


def test_the_busy_hour_reads_the_same_through_read_path_batches(busy_sbs: Path) -> None:
    expected_stats, got_stats = IngestStats(), IngestStats()
    expected = list(read_path(busy_sbs, expected_stats))
    batches = list(read_path_batches(busy_sbs, got_stats))
    assert [o for b in batches for o in b.observations()] == expected
    assert got_stats == expected_stats
    assert expected_stats.observations > 5000


def _messages(busy_sbs: Path, n: int) -> list[bytes]:
    return _lines(busy_sbs)[:n]


_JUNK = ["north", "1_0", " 5", "1e3", "nan", "inf", "", "-0", ".5", "5.", "+5", "-", "0x10", "1.2.3", "97.5", "-181"]


def _spoil(line: bytes, rng: random.Random, rate: float) -> list[bytes]:
    """The line, spoiled with probability ``rate`` in one of the ways real feeds and files spoil it."""
    text = line.decode("ascii").rstrip("\r\n")
    fields = text.split(",")
    if rng.random() >= rate:
        return [line]
    roll = 0.30 + 0.46 * rng.random()
    if roll < 0.40 and len(fields) > 11:
        fields[rng.choice([11, 12, 13, 14, 15, 16])] = rng.choice(_JUNK)
    elif roll < 0.45:
        return [line[: rng.randrange(len(line))] + rng.choice([b"\n", b""])]  # truncated
    elif roll < 0.50:
        return [line, line]  # duplicated
    elif roll < 0.53 and len(fields) > 15:
        fields[14] = f"{float(fields[14] or 50.0) + rng.choice([3.0, -2.5, 0.5]):.5f}"  # a jump
        fields[15] = fields[15] or "20.0"
    elif roll < 0.56:
        fields[7] = rng.choice(["25:00:00.000", "10:61:00.000", "10:00:00", "10:00:00.5", "", "1O:00:00.000"])
    elif roll < 0.58:
        fields[6] = rng.choice(["", "2016/13/01", "2016/4/12", "2016/02/30", "20160412"])
    elif roll < 0.60:
        fields[4] = rng.choice(["39332z", " 4104fe", "4104FE", "", "4104fe0"])
    elif roll < 0.62:
        fields[1] = rng.choice(["9", "0", " 3", "", "33"])
    elif roll < 0.64:
        fields[10] = rng.choice(["RYR 12  ", " AFR1", "", "  ", "ÄBC"])
    elif roll < 0.66:
        return [(",".join(fields) + "\r\n").encode("utf-8")]
    elif roll < 0.68:
        return [rng.choice([b"\n", b"# comment\n", b"  \n", b"STA,,5,179,400AE7,10103\n", b"\xff\xfe\n", b"hello\n"])]
    elif roll < 0.70:
        fields = fields[: rng.randrange(1, len(fields))]  # short line
    elif roll < 0.72:
        fields.append("extra")
    elif roll < 0.74:
        fields[0] = rng.choice(["msg", " MSG", "MSG "])
    elif roll < 0.76:
        fields[8], fields[9] = fields[6], fields[7]
        fields[6] = fields[7] = ""
    return [(",".join(fields) + "\n").encode("utf-8")]


def _dirty(lines: list[bytes], seed: int, shuffle: float, rate: float = 0.7) -> list[bytes]:
    rng = random.Random(seed)
    out = [spoiled for line in lines for spoiled in _spoil(line, rng, rate)]
    for _ in range(int(shuffle * len(out))):  # out of order
        i = rng.randrange(len(out))
        j = min(len(out) - 1, i + rng.randrange(1, 30))
        out[i], out[j] = out[j], out[i]
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shuffle=st.sampled_from([0.0, 0.01, 0.2]),
    rate=st.sampled_from([0.002, 0.02, 0.7]),
    cuts=st.lists(st.integers(0, 10_000), max_size=5),
)
def test_dirty_lines_read_the_same_counted_by_the_same_reasons(
    busy_sbs: Path, fixtures_dir: Path, seed: int, shuffle: float, rate: float, cuts: list[int]
) -> None:
    lines = _messages(busy_sbs, 1200) + _lines(fixtures_dir / "full_flight_excerpt.sbs")[1:]
    _same(_dirty(lines, seed, shuffle, rate), cuts)


def test_most_lines_of_a_lightly_spoiled_feed_are_read_column_wise(
    busy_sbs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _dirty(_messages(busy_sbs, 3000), seed=11, shuffle=0.0, rate=0.002)
    by_line = 0
    feed = SbsDecoder.feed

    def counted(self: SbsDecoder, line: bytes) -> tuple[Observation, ...]:
        nonlocal by_line
        by_line += 1
        return feed(self, line)

    monkeypatch.setattr(SbsDecoder, "feed", counted)
    _by_columns(lines, ReaderOptions(), [1000, 2000])
    assert 0 < by_line < len(lines) // 5


def test_every_kind_of_reject_is_met(busy_sbs: Path) -> None:
    stats = _same(_dirty(_messages(busy_sbs, 3000), seed=7, shuffle=0.01), [1000, 2000])
    assert {"malformed", "unsupported_type", "implausible_value", "implausible_jump"} <= set(stats.rejected)
    assert {"bad_field:lat", "bad_field:hex_ident", "bad_field:date", "bad_field:altitude"} <= set(stats.rejected)


@pytest.mark.parametrize("cuts", [[], [500], [100, 900, 1500]])
def test_lines_out_of_time_order_and_a_receiver_range_read_the_same(busy_sbs: Path, cuts: list[int]) -> None:
    lines = _messages(busy_sbs, 2000)
    random.Random(1).shuffle(lines)
    _same(lines, cuts)
    options = ReaderOptions(reference=(57.0, 20.0), max_range_m=150_000.0)
    stats = _same(_messages(busy_sbs, 2000), cuts, options)
    assert stats.rejected["implausible_value"] > 0


def test_untimed_lines_take_the_clock_in_order() -> None:
    untimed = POSITION.replace("2024/07/06,07:18:04.855", ",").encode()
    timed = POSITION.encode()
    lines = [untimed, timed, untimed, timed.replace(b"393322", b"4104fe"), untimed]
    _same(lines, [2], ReaderOptions(clock=SteppingClock()))


def test_a_jump_then_recovery_reads_the_same() -> None:
    lines = [POSITION]
    for second in range(1, 120, 3):
        lat = 48.42725 if second > 50 else 47.42725
        lines.append(POSITION.replace("07:18:04.855", f"07:{18 + second // 60:02d}:{second % 60:02d}.855").replace(
            "47.42725", f"{lat:.5f}"))
    stats = _same([line.encode() for line in lines], [5, 20])
    assert stats.rejected["implausible_jump"] >= 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: repr(round(x, 7))),
            st.integers(-10**20, 10**20).map(str),
            st.from_regex(r"\A-?[0-9]{1,20}\.[0-9]{1,20}\Z"),
            st.sampled_from(_JUNK),
        ),
        min_size=6,
        max_size=6,
    )
)
def test_numbers_convert_exactly_as_float_does(values: list[str]) -> None:
    fields = POSITION.split(",")
    fields[11:17] = values
    lines = [",".join(fields).encode(), POSITION.replace("MSG,3", "MSG,4").encode()]
    fields[1] = "4"
    lines.append(",".join(fields).encode())
    _same(lines)


@pytest.mark.parametrize("crlf", [False, True])
def test_a_file_with_overlong_lines_reads_the_same_through_read_path_batches(
    busy_sbs: Path, tmp_path: Path, crlf: bool
) -> None:
    lines = _dirty(_messages(busy_sbs, 4000), seed=5, shuffle=0.01, rate=0.01)
    lines[100:100] = [b"MSG,3," + b"9" * 5000 + b"\n", b"x" * 300 + b"\n"]
    lines.append(b"MSG,3,1,1,4104FE" + b"," * 3000)  # overlong and unterminated, at the very end
    text = b"".join(lines)
    path = tmp_path / "overlong.sbs"
    path.write_bytes(text.replace(b"\n", b"\r\n") if crlf else text)
    options = ReaderOptions(fmt="sbs", max_line_bytes=256)
    expected_stats, got_stats = IngestStats(), IngestStats()
    expected = list(read_path(path, expected_stats, options=options))
    assert [o for b in read_path_batches(path, got_stats, options=options) for o in b.observations()] == expected
    assert got_stats == expected_stats
    assert expected_stats.rejected["line_too_long"] == 3
