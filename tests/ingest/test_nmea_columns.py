"""AIS NMEA read as columns (``NmeaDecoder.feed_columns``, ``read_path_batches``) against the per-line reader:
the same observations in the same order and the same counts by reason, on every real file and on dirty ones."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyais
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import balanced
from pyais.messages import _MSG6_VARIANTS as MSG6_VARIANTS
from pyais.messages import _MSG8_VARIANTS as MSG8_VARIANTS
from pyais.util import checksum

from riskline.ingest.nmea import NmeaDecoder
from riskline.ingest.nmea_columns import (
    _UNUSED_TYPES,
    OTHER,
    POSITION,
    STATIC,
    _XorPrefix,
    parse_block,
    parse_lines,
    static_pairs,
)
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import read_path, read_path_batches
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import block_lines

AIS_FILES = [
    "pyais_gatehouse.nmea",
    "pyais_mixed.txt",
    "pyais_nmea_data_sample.txt",
    "pyais_timestamped.ais",
    "test_data_201201.nmea",
    "test_data_20211101.nm4",
]
T0 = 1_635_731_889


def _options(kind: str) -> ReaderOptions:
    if kind == "clock":
        counter = itertools.count(1_700_000_000)
        return ReaderOptions(clock=lambda: float(next(counter)))
    if kind == "start_time":
        return ReaderOptions(start_time=1_635_724_800.0)
    if kind == "range":
        return ReaderOptions(reference=(57.5, 11.5), max_range_m=150_000.0)
    return ReaderOptions()


def _one_by_one(lines: list[bytes], options: ReaderOptions) -> tuple[list[Observation], IngestStats]:
    stats = IngestStats()
    decoder = NmeaDecoder(stats, options)
    observations = [o for line in lines for o in decoder.feed(line)]
    return observations + list(decoder.flush()), stats


def _as_columns(
    lines: list[bytes], options: ReaderOptions, sizes: list[int], *, blocks: bool = False
) -> tuple[list[Observation], IngestStats]:
    """``feed_columns`` of the lines ``size`` at a time (``blocks``: ``feed_block`` of them joined, as
    ``textlines.line_blocks`` gives them)."""
    stats = IngestStats()
    decoder = NmeaDecoder(stats, options)
    observations: list[Observation] = []
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(lines):
            break
        some = lines[start : start + size]
        for batch in decoder.feed_block(b"".join(some)) if blocks else decoder.feed_columns(some):
            observations += batch.observations()
        start += size
    return observations + list(decoder.flush()), stats


def _agree(
    lines: list[bytes], options: Callable[[], ReaderOptions], sizes: list[int], *, blocks: bool = False
) -> IngestStats:
    """The columns (``feed_columns``, or ``feed_block`` with ``blocks``: the lines then those a block holds,
    ``textlines.block_lines``) give what feeding the lines one by one gives."""
    if blocks:
        lines = block_lines(b"".join(lines))
    expected, expected_stats = _one_by_one(lines, options())
    got, stats = _as_columns(lines, options(), sizes, blocks=blocks)
    assert got == expected
    assert stats == expected_stats
    assert balanced(stats)
    return stats


@pytest.mark.parametrize("kind", ["none", "clock", "start_time", "range"])
@pytest.mark.parametrize("name", AIS_FILES)
@pytest.mark.parametrize("size", [1, 7, 64, 4096])
def test_columns_give_the_same_observations_and_counts_as_lines(ais_dir: Path, name: str, kind: str, size: int) -> None:
    lines = (ais_dir / name).read_bytes().splitlines(keepends=True)
    _agree(lines, lambda: _options(kind), [size])


@pytest.mark.parametrize("kind", ["none", "clock", "start_time", "range"])
@pytest.mark.parametrize("name", AIS_FILES)
def test_blocks_give_the_same_observations_and_counts_as_lines(ais_dir: Path, name: str, kind: str) -> None:
    lines = block_lines((ais_dir / name).read_bytes())
    for size in (1, 7, 64, 4096):
        _agree(lines, lambda: _options(kind), [size], blocks=True)


def test_a_block_finds_the_lines_feed_columns_is_given(ais_dir: Path) -> None:
    data = b"".join((ais_dir / name).read_bytes() for name in AIS_FILES) + b"\\s:1*00\\!AIVDM,1,1"  # no final newline
    lines = block_lines(data)
    by_block, by_lines = parse_block(data), parse_lines(lines, data)
    assert by_block.slow == by_lines.slow
    assert by_block.slow_lines == by_lines.slow_lines == [lines[k] for k in by_lines.slow]
    assert by_block.line.tolist() == by_lines.line.tolist()
    assert by_block.fast_bytes == by_lines.fast_bytes == sum(len(lines[k]) for k in by_lines.line.tolist())


def test_most_lines_of_a_tagged_file_are_read_as_columns(ais_dir: Path) -> None:
    lines = (ais_dir / "test_data_20211101.nm4").read_bytes().splitlines(keepends=True)
    parsed = parse_lines(lines, b"".join(lines))
    kinds = np.bincount(parsed.kind, minlength=3).tolist()
    assert kinds[POSITION] == 913  # the single-sentence position reports of types 1-3, 18, 27
    assert kinds[STATIC] == 28  # type 24, and type 19 (position and identity)
    assert np.bincount(parsed.msg_type[parsed.kind == STATIC]).tolist()[19:] == [4, 0, 0, 0, 0, 24]
    assert kinds[OTHER] == 20  # types 4 and 21, and binary messages (6, 8, 25)
    assert len(parsed.slow) == 39  # multi-sentence messages, blank lines


# --- dirty inputs ---------------------------------------------------------------------------------------------

_ARMOUR = b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def _tagged(sentence: bytes, t: float | str, station: str = "7") -> bytes:
    tag = f"s:{station},c:{t}".encode()
    return b"\\%s*%02X\\%s\n" % (tag, checksum(tag), sentence)


def _position(mmsi: int, lat: float, lon: float, *, msg_type: int = 1, second: int = 10) -> bytes:
    fields = {"type": msg_type, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 5.0, "course": 90.0, "second": second}
    if msg_type == 27:
        fields.pop("second")
    return pyais.encode_dict(fields, talker_id="AI")[0].encode()


def _spoiled(lines: list[bytes], seed: int) -> list[bytes]:
    """Real lines spoiled as receivers spoil them, plus reports that jump, go back in time, or are impossible."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for line in lines:
        roll = rng.random()
        if roll < 0.04:
            out.append(line[: rng.randrange(1, max(2, len(line)))])
        elif roll < 0.08:
            star = line.rfind(b"*")
            out.append(line[: star + 1] + b"00" + line[star + 3 :] if star > 0 else line)
        elif roll < 0.10:
            backslash = line.find(b"*")  # the tag block's checksum, when there is one
            out.append(line[: backslash + 1] + b"00" + line[backslash + 3 :] if backslash > 0 else line)
        elif roll < 0.13:
            out += [line, line]
        elif roll < 0.16 and out:
            out.insert(len(out) - 1, line)
        elif roll < 0.18:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))) + b"\n")
        elif roll < 0.20:
            out.append(line.replace(b"c:", b"c:x", 1))
        elif roll < 0.22:
            out.append(b"  " + line)
        elif roll < 0.24:
            out.append(line.rstrip(b"\n") + b",1635731999\r\n")
        else:
            out.append(line)
    mmsi = 273_000_001
    out.append(_tagged(_position(mmsi, 100.5, 10.0), T0))  # latitude > 90: implausible_value
    out.append(_tagged(_position(mmsi, 57.0, 11.0), T0 + 1))
    out.append(_tagged(_position(mmsi, 58.0, 11.0), T0 + 2))  # 111 km in a second: implausible_jump
    out.append(_tagged(_position(mmsi, 57.0001, 11.0), T0))  # back in time, close by: admitted, no new anchor
    out.append(_tagged(_position(mmsi, 57.0002, 11.0), T0 + 3))
    out.append(_tagged(_position(mmsi, 57.0, 11.0), f"{T0}000"))  # milliseconds
    out.append(_tagged(_position(mmsi, 57.0, 11.0), "99999999999"))  # 1e11 > t >= 1e10: malformed
    out.append(b"%d %s\n" % (T0 + 5, _position(mmsi, 57.0, 11.0)))  # leading epoch
    out.append(_position(mmsi, 57.0, 11.0) + b"\n")  # no time at all: no_timestamp
    return out


@pytest.mark.parametrize("seed", range(6))
def test_dirty_files_give_the_same_observations_and_counts_as_lines(ais_dir: Path, seed: int) -> None:
    lines = (ais_dir / "test_data_20211101.nm4").read_bytes().splitlines(keepends=True)
    lines += (ais_dir / "pyais_mixed.txt").read_bytes().splitlines(keepends=True)
    lines += (ais_dir / "test_data_201201.nmea").read_bytes().splitlines(keepends=True)
    for blocks in (False, True):
        stats = _agree(_spoiled(lines, seed), ReaderOptions, [64, 5, 300], blocks=blocks)
        for reason in ("bad_checksum", "malformed", "implausible_value", "implausible_jump", "no_timestamp"):
            assert stats.rejected[reason] > 0, reason


@pytest.mark.parametrize("name", AIS_FILES)
def test_read_path_batches_reads_each_ais_file_as_read_path_does(ais_dir: Path, name: str) -> None:
    rows_stats, columns_stats = IngestStats(), IngestStats()
    rows = list(read_path(ais_dir / name, rows_stats))
    columns = [o for batch in read_path_batches(ais_dir / name, columns_stats) for o in batch.observations()]
    assert columns == rows
    assert columns_stats == rows_stats


@pytest.mark.parametrize("seed", range(2))
def test_read_path_batches_reads_a_dirty_file_with_overlong_lines_as_read_path_does(
    ais_dir: Path, tmp_path: Path, seed: int
) -> None:
    lines = (ais_dir / "test_data_20211101.nm4").read_bytes().splitlines(keepends=True) * 40
    lines = _spoiled(lines, seed)
    lines.insert(500, b"!AIVDM," + b"9" * 5000 + b"\n")
    path = tmp_path / "dirty.nm4"
    path.write_bytes(b"".join(lines))
    options = ReaderOptions(fmt="nmea", max_line_bytes=2000)
    rows_stats, columns_stats = IngestStats(), IngestStats()
    rows = list(read_path(path, rows_stats, options=options))
    columns = [o for batch in read_path_batches(path, columns_stats, options=options) for o in batch.observations()]
    assert columns == rows
    assert columns_stats == rows_stats
    assert rows_stats.rejected["line_too_long"] == 1


@pytest.mark.parametrize("sizes", [[3], [1], [2, 1], [1, 2]])
def test_a_fix_back_in_time_is_admitted_without_becoming_the_anchor(sizes: list[int]) -> None:
    mmsi = 273_000_009
    lines = [
        _tagged(_position(mmsi, 57.0, 11.0), T0 + 100),
        _tagged(_position(mmsi, 57.03, 11.0), T0 + 50),  # 3.3 km in 50 s, earlier: admitted, anchor stays
        _tagged(_position(mmsi, 57.034, 11.0), T0 + 101),  # 3.8 km from the anchor in 1 s: a jump
    ]
    stats = _agree(lines, ReaderOptions, sizes)
    assert (stats.observations, stats.rejected["implausible_jump"]) == (2, 1)


# --- random position reports mixed with the lines only the per-line reader takes -------------------------------

_MMSIS = [273_000_001, 273_000_002, 273_000_003, 211_000_004]


@st.composite
def _lines(draw: st.DrawFn) -> list[bytes]:
    count = draw(st.integers(1, 60))
    out: list[bytes] = []
    t = float(T0)
    for _ in range(count):
        mmsi = draw(st.sampled_from(_MMSIS))
        t += draw(st.sampled_from([0.0, 1.0, 5.0, 30.0, -3.0, -50.0, 700.0]))
        kinds = ["position"] * 6 + ["static", "static", "type5", "type19", "type9", "junk", "other"]
        kind = draw(st.sampled_from(kinds))
        lat = 57.0 + draw(st.sampled_from([0.0, 0.001, 0.01, 0.03, 0.5, 2.0])) * draw(st.sampled_from([1, -1]))
        lon = 11.0 + draw(st.sampled_from([0.0, 0.002, 0.3]))
        if kind == "position":
            sentence = _position(mmsi, lat, lon, msg_type=draw(st.sampled_from([1, 2, 3, 18, 27])))
            sentences = [sentence]
        elif kind == "static":
            part = draw(st.sampled_from([0, 1]))
            fields = {"type": 24, "mmsi": mmsi, "partno": part, "shipname": draw(st.sampled_from(["A", "BB"])),
                      "callsign": draw(st.sampled_from(["X1", "Y2"])), "ship_type": draw(st.sampled_from([30, 35]))}
            sentences = [s.encode() for s in pyais.encode_dict(fields, talker_id="AI")]
        elif kind == "type5":
            fields = {"type": 5, "mmsi": mmsi, "shipname": "NAVY", "callsign": "N1", "ship_type": 35}
            sentences = [s.encode() for s in pyais.encode_dict(fields, talker_id="AI", seq_id=1)]
            if draw(st.booleans()):
                sentences = sentences[::-1]
        elif kind == "type19":
            fields = {"type": 19, "mmsi": mmsi, "lat": lat, "lon": lon, "shipname": "B", "ship_type": 37}
            sentences = [s.encode() for s in pyais.encode_dict(fields, talker_id="AI")]
        elif kind == "type9":
            fields = {"type": 9, "mmsi": mmsi, "lat": lat, "lon": lon, "alt": 300}
            sentences = [s.encode() for s in pyais.encode_dict(fields, talker_id="AI")]
        elif kind == "junk":
            sentences = [draw(st.sampled_from([b"", b"# note", b"garbage", b"!AIVDM,1,1,,A,13HOI", b"$PGHP,1*00"]))]
        elif kind == "other":
            fields = {"type": 4, "mmsi": mmsi, "lat": lat, "lon": lon}
            if draw(st.booleans()):
                fields = {"type": 21, "mmsi": mmsi, "lat": lat, "lon": lon, "name": "BUOY"}
            sentences = [s.encode() for s in pyais.encode_dict(fields, talker_id="AI")]
            sentences.append(draw(st.sampled_from([b"$GPGGA,1,2,3*00", _position(mmsi, lat, lon)[:-2] + b"00"])))
        else:
            raise AssertionError(kind)
        timing = draw(st.sampled_from(["tag", "tag", "leading", "trailing", "none"]))
        for sentence in sentences:
            if timing == "tag" and sentence.startswith(b"!"):
                out.append(_tagged(sentence, int(t), draw(st.sampled_from(["7", "", "rx2"]))))
            elif timing == "leading" and sentence.startswith(b"!"):
                out.append(b"%d,%s\n" % (int(t), sentence))
            elif timing == "trailing" and sentence.startswith(b"!"):
                out.append(b"%s,d-109,%d\n" % (sentence, int(t)))
            else:
                out.append(sentence + b"\n")
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lines(), st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_random_reports_mixed_with_other_lines_read_alike(lines: list[bytes], sizes: list[int]) -> None:
    _agree(lines, ReaderOptions, sizes)
    _agree(lines, ReaderOptions, sizes, blocks=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*_UNUSED_TYPES.tolist(), 5, 24, 1, 18, 27]),
            st.integers(1, 90),
            st.integers(0, 5),
            st.randoms(use_true_random=False),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_random_payloads_of_any_type_read_alike(messages: list[tuple[int, int, int, random.Random]]) -> None:
    lines = []
    for msg_type, length, fill, rng in messages:
        payload = bytes([_ARMOUR[msg_type]]) + bytes(rng.choice(_ARMOUR) for _ in range(length - 1))
        body = b"AIVDM,1,1,,A,%s,%d" % (payload, fill)
        lines.append(_tagged(b"!%s*%02X" % (body, checksum(body)), T0 + len(lines)))
    _agree(lines, ReaderOptions, [7])


def test_sentences_near_the_single_sentence_shape_read_alike() -> None:
    """The sentence's first bytes, ``!ttVDM,1,1,`` or ``!ttVDO,1,1,``, checked as two words: each near miss is left to
    the per-line reader, which says what it is."""
    payload = _position(273_000_001, 57.0, 11.0).split(b",")[5]
    heads = [b"!AIVDM,1,1,", b"!AIVDO,1,1,", b"!BSVDM,1,1,", b"!AIVDN,1,1,", b"!AIVDL,1,1,", b"!AiVDM,1,1,",
             b"!A1VDM,1,1,", b"!AIVDM,1,2,", b"!AIVDM,2,1,", b"!AIVEM,1,1,", b"!AIWDM,1,1,", b"!AIVDM;1,1,",
             b"!AIVDM,1,1;", b"#AIVDM,1,1,", b"!AIVDM,11,1,"]
    lines = []
    for head in heads:
        body = head[1:] + b",A,%s,0" % payload
        lines.append(_tagged(head[:1] + b"%s*%02X" % (body, checksum(body)), T0 + len(lines)))
    _agree(lines, ReaderOptions, [len(lines), 3])
    _agree(lines, ReaderOptions, [len(lines), 3], blocks=True)
    assert parse_lines(lines, b"".join(lines)).line.tolist() == [0, 1, 2]


def test_payloads_with_a_character_that_is_not_armouring_read_alike() -> None:
    """A character outside the 6-bit armouring anywhere in a payload (within the first characters read as columns,
    or past them), in payloads shorter and longer than a position report's: left to the per-line reader."""
    lines = []
    for length in (16, 27, 28, 29, 50):
        for at in sorted({0, 5, length - 1, min(27, length - 1), min(28, length - 1)}):
            for bad in b"X!x ":
                payload = bytearray(b"1" + b"5" * (length - 1))
                payload[at] = bad
                body = b"AIVDM,1,1,,A,%s,0" % payload
                lines.append(_tagged(b"!%s*%02X" % (body, checksum(body)), T0 + len(lines)))
    lines.append(_tagged(_position(273_000_001, 57.0, 11.0), T0))
    _agree(lines, ReaderOptions, [len(lines), 7])
    _agree(lines, ReaderOptions, [len(lines), 7], blocks=True)
    assert parse_lines(lines, b"".join(lines)).slow == list(range(len(lines) - 1))  # left to pyais, but the last


def _armoured(bits: str) -> tuple[bytes, int]:
    fill = -len(bits) % 6
    bits += "0" * fill
    return bytes(_ARMOUR[int(bits[k : k + 6], 2)] for k in range(0, len(bits), 6)), fill


@pytest.mark.parametrize("seed", range(3))
def test_binary_messages_of_every_variant_pyais_knows_read_alike(seed: int) -> None:
    """Types with decoders of their own in pyais (6 and 8 by DAC and FID, 16, 22, 25, 26), at random lengths and bits:
    pyais decodes each (the per-line reader: ``unsupported_type``), so they are read as columns."""
    rng = random.Random(seed)
    variants = [(6, dac, fid) for dac, fid in MSG6_VARIANTS] + [(8, dac, fid) for dac, fid in MSG8_VARIANTS]
    variants += [(6, 1, 16)] * 4 + [(msg_type, -1, -1) for msg_type in (6, 8, 16, 22, 25, 26)] * 4
    lines = []
    for msg_type, dac, fid in variants:
        for _ in range(4):
            bits = format(msg_type, "06b") + "".join(rng.choice("01") for _ in range(rng.randrange(1, 1000)))
            if dac >= 0:
                at = 72 if msg_type == 6 and rng.random() < 0.7 else 40  # 6: at 40 when 72 bits long at most
                bits = bits[:at].ljust(at, "0") + format(dac, "010b") + format(fid, "06b") + bits[at + 16 :]
                bits = bits[: rng.randrange(6, len(bits) + 1)]
            payload, fill = _armoured(bits)
            body = b"AIVDM,1,1,,B,%s,%d" % (payload, fill)
            lines.append(_tagged(b"!%s*%02X" % (body, checksum(body)), T0 + len(lines)))
    stats = _agree(lines, ReaderOptions, [len(lines), 9])
    assert stats.rejected["unsupported_type"] == len(lines)
    parsed = parse_lines(lines, b"".join(lines))
    assert (parsed.kind == OTHER).all()
    assert len(parsed.kind) == len(lines)


def test_many_stations_of_every_length_in_one_batch_read_alike() -> None:
    stations = ["1", "22", "", "abcdefgh", "abcdefghi", "a" * 32, "b" * 33, "rx 2", "x:y", "Z9", "a.b-c", "22"]
    lines = [
        _tagged(_position(273_000_100 + k, 57.0, 11.0), T0 + k, station) for k, station in enumerate(stations * 3)
    ]
    _agree(lines, ReaderOptions, [len(lines), 5])
    got, _ = _as_columns(lines, ReaderOptions(), [len(lines)])
    assert [o.station for o in got] == [station or None for station in stations * 3]


_TAGS = [
    b"s:41925,c:%d,t:1635731965" % T0,
    b"s:41925,c:%d,t:1635731965" % (T0 + 1),
    b"s:41926,c:%d,t:1635731965" % T0,  # one byte apart from the first
    b"s:%s,c:%d" % (b"r" * 60, T0),  # longer than the bytes compared with the line before
    b"s:%s,c:%d" % (b"r" * 59 + b"x", T0),  # differs from it only past them
    b"c:%d000" % T0,
    b"c:99999999999",
    b"c:x%d" % T0,
    b"g:1-1-5,c:%d" % T0,
]


@st.composite
def _repeated_tags(draw: st.DrawFn) -> list[bytes]:
    """Runs of lines stamped with one tag block (as a receiver stamps a second's sentences), some of them spoiled:
    a wrong checksum, none, no sentence after the block, a sentence that is not a position report."""
    out: list[bytes] = []
    for _ in range(draw(st.integers(1, 12))):
        tag = draw(st.sampled_from(_TAGS))
        given = draw(st.sampled_from([b"*%02X" % checksum(tag)] * 4 + [b"*00", b""]))
        for _ in range(draw(st.integers(1, 5))):
            mmsi = draw(st.sampled_from(_MMSIS))
            sentence = draw(
                st.sampled_from([_position(mmsi, 57.0, 11.0), _position(mmsi, 57.001, 11.0), b"", b"!AIVDM,1,1"])
            )
            out.append(b"\\%s%s\\%s\n" % (tag, given, sentence))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_repeated_tags(), st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_tag_blocks_repeated_from_line_to_line_read_alike(lines: list[bytes], sizes: list[int]) -> None:
    """Only the first of a run of equal tag blocks is read field by field (``nmea_columns._repeats_previous``)."""
    _agree(lines, ReaderOptions, sizes)
    _agree(lines, ReaderOptions, sizes, blocks=True)


# --- statics in two fragments with grouped tag blocks (``static_pairs``) ----------------------------------------


def _fragments(payload: bytes, fill: int, split: int, seq: str, channel: str, talker: bytes = b"AIVDM") -> list[bytes]:
    bodies = [
        b"%s,2,1,%s,%s,%s,0" % (talker, seq.encode(), channel.encode(), payload[:split]),
        b"%s,2,2,%s,%s,%s,%d" % (talker, seq.encode(), channel.encode(), payload[split:], fill),
    ]
    return [b"!%s*%02X" % (body, checksum(body)) for body in bodies]


def _grouped(sentence: bytes, fields: str) -> bytes:
    tag = fields.encode()
    return b"\\%s*%02X\\%s\n" % (tag, checksum(tag), sentence)


def _static_payload(msg_type: int, mmsi: int, name: str) -> tuple[bytes, int]:
    if msg_type == 5:
        fields = {"type": 5, "mmsi": mmsi, "shipname": name, "callsign": "N1", "ship_type": 35}
    else:
        fields = {"type": 24, "mmsi": mmsi, "partno": 0, "shipname": name}
    sentences = [pyais.NMEAMessage(s.encode()) for s in pyais.encode_dict(fields, talker_id="AI", seq_id=1)]
    return b"".join(s.payload for s in sentences), sentences[-1].fill_bits


@st.composite
def _grouped_lines(draw: st.DrawFn) -> list[bytes]:
    out: list[bytes] = []
    t = T0
    group = 3454
    for _ in range(draw(st.integers(1, 30))):
        t += draw(st.sampled_from([0, 1, 4, 9, 11, 30]))
        group += draw(st.sampled_from([0, 1, 1, 1]))  # now and then a group id used again
        mmsi = draw(st.sampled_from(_MMSIS))
        kind = draw(st.sampled_from(["pair"] * 6 + ["lone first", "lone second", "position", "apart", "swapped"]))
        if kind == "position":
            out.append(_tagged(_position(mmsi, 57.0, 11.0), t, draw(st.sampled_from(["41925", "7"]))))
            continue
        payload, fill = _static_payload(draw(st.sampled_from([5, 5, 24])), mmsi, draw(st.sampled_from(["A", "NAVY"])))
        cut = draw(st.sampled_from([0, 0, 0, 1, 20]))  # a static too short for its fields
        if cut:
            payload, fill = payload[:-cut], 0
        split = draw(st.integers(1, len(payload) - 1))
        seq, channel = draw(st.sampled_from(["", "1", "7"])), draw(st.sampled_from(["", "A", "B"]))
        talker = draw(st.sampled_from([b"AIVDM", b"AIVDM", b"AIVDO", b"BSVDM"]))
        first, second = _fragments(payload, fill, split, seq, channel, talker)
        station = draw(st.sampled_from(["41925", "41925", "7"]))
        first_tags = [
            f"g:1-2-{group},s:{station},c:{t},t:{t + 70}",
            f"s:{station},g:1-2-{group},c:{t}",
            f"g:1-2-{group},c:{t}",  # no station
            f"g:1-2-{group},s:{station}",  # no time
            f"g:1-2-0{group},s:{station},c:{t}",
        ]
        second_tags = [f"g:2-2-{group}"] * 4 + [
            f"g:2-2-{group},s:{station}",
            f"g:2-2-{group},s:9",
            f"g:2-2-{group},c:{t + 1}",
            f"g:2-2-{group + 1}",
            f"g:1-2-{group}",
        ]
        first_tag, second_tag = draw(st.sampled_from(first_tags)), draw(st.sampled_from(second_tags))
        lines = [_grouped(first, first_tag), _grouped(second, second_tag)]
        spoil = draw(st.sampled_from([None] * 8 + [0, 1]))
        if spoil is not None:
            star = lines[spoil].rfind(b"*")
            lines[spoil] = lines[spoil][: star + 1] + b"00\n"
        if kind == "lone first":
            lines = lines[:1]
        elif kind == "lone second":
            lines = lines[1:]
        elif kind == "apart":
            lines.insert(1, _tagged(_position(mmsi, 57.0, 11.0), t, station))
        elif kind == "swapped":
            lines.reverse()
        out += lines
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_grouped_lines(), st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_grouped_two_fragment_statics_read_alike(lines: list[bytes], sizes: list[int]) -> None:
    _agree(lines, ReaderOptions, sizes)
    _agree(lines, ReaderOptions, sizes, blocks=True)


def test_open_groups_are_dropped_as_reading_one_by_one_does() -> None:
    payload, fill = _static_payload(5, 273_000_001, "NAVY")
    first, second = _fragments(payload, fill, 40, "3", "A")
    pair = [_grouped(first, f"g:1-2-7,s:41925,c:{T0}"), _grouped(second, "g:2-2-7")]
    lone = [_grouped(first, f"g:1-2-6,s:41925,c:{T0 - 5}"), _grouped(second, "g:2-2-5")]
    lines = [lone[0], *pair, lone[1], *pair, *pair]  # an open group of the same key; timed out at T0 + 20
    lines += [_tagged(_position(273_000_002, 57.0, 11.0), T0 + 20), lone[0], *pair]
    for sizes in ([len(lines)], [1], [2], [3, 5]):
        stats = _agree(lines, ReaderOptions, sizes)
        assert stats.rejected["incomplete_multipart"] > 0


def test_the_real_receiver_files_statics_in_two_fragments_are_read_without_pyais(ais_dir: Path) -> None:
    lines = (ais_dir / "test_data_20211101.nm4").read_bytes().splitlines(keepends=True)
    parsed = parse_lines(lines, b"".join(lines))
    pairs = static_pairs(parsed)
    assert len(pairs) == 18  # every type 5 of the file: two adjacent fragments, g:1-2-id then g:2-2-id
    assert all(lines[k].startswith(b"\\g:1-2-") and lines[k + 1].startswith(b"\\g:2-2-") for k in pairs)
    stats = IngestStats()
    decoder = NmeaDecoder(stats)
    got = [o for batch in decoder.feed_columns(lines) for o in batch.observations()]
    assert got == _one_by_one(lines, ReaderOptions())[0]


def _type19(mmsi: int, lat: float, lon: float, name: str, ship_type: int, speed: float = 5.0) -> bytes:
    fields = {"type": 19, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": speed, "course": 45.0, "second": 10,
              "shipname": name, "ship_type": ship_type}
    return pyais.encode_dict(fields, talker_id="AI")[0].encode()


@st.composite
def _class_b_lines(draw: st.DrawFn) -> list[bytes]:
    """Class B traffic of few vessels: positions (18), identities (24 A/B) and extended reports (19) that carry
    both, names repeated, changed, blank or ``@``-padded, positions sometimes not available (91°, 181°) or jumping."""
    out: list[bytes] = []
    t = T0
    for _ in range(draw(st.integers(1, 50))):
        mmsi = draw(st.sampled_from([244_000_001, 244_000_002, 244_000_003]))
        t += draw(st.sampled_from([0, 1, 10, -5, 600]))
        lat = draw(st.sampled_from([57.0, 57.001, 57.5, 91.0]))
        lon = draw(st.sampled_from([11.0, 11.002, 181.0]))
        kind = draw(st.sampled_from(["18", "18", "19", "19", "24a", "24b", "bad19"]))
        if kind == "18":
            sentence = _position(mmsi, lat, lon, msg_type=18)
        elif kind in ("19", "bad19"):
            name = draw(st.sampled_from(["", "SEA HAWK", "SEA HAWK  ", "@@@@", "B"]))
            sentence = _type19(mmsi, lat, lon, name, draw(st.sampled_from([0, 37, 36, 99])),
                               draw(st.sampled_from([5.0, 102.3])))
            if kind == "bad19":
                sentence = draw(st.sampled_from([sentence[:-2] + b"00", sentence.replace(b",0*", b",2*")]))
        else:
            fields = {"type": 24, "mmsi": mmsi, "partno": int(kind == "24b"),
                      "shipname": draw(st.sampled_from(["B", "SEA HAWK"])), "callsign": "X1",
                      "ship_type": draw(st.sampled_from([37, 36]))}
            sentence = pyais.encode_dict(fields, talker_id="AI")[0].encode()
        timing = draw(st.sampled_from(["tag", "tag", "leading", "none"]))
        if timing == "tag":
            out.append(_tagged(sentence, t))
        elif timing == "leading":
            out.append(b"%d,%s\n" % (t, sentence))
        else:
            out.append(sentence + b"\n")
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_class_b_lines(), st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_type_19_mixed_with_18_and_24_of_the_same_vessels_reads_alike(lines: list[bytes], sizes: list[int]) -> None:
    _agree(lines, ReaderOptions, sizes)
    _agree(lines, lambda: _options("range"), sizes)


def test_type_19_is_read_as_columns_with_its_identity() -> None:
    lines = [
        _tagged(_type19(244_000_001, 57.0, 11.0, "SEA HAWK", 37), T0),
        _tagged(_position(244_000_001, 57.0001, 11.0, msg_type=18), T0 + 1),
        _tagged(_type19(244_000_001, 91.0, 181.0, "SEA HAWK", 37), T0 + 2),  # no position: identity only
    ]
    parsed = parse_lines(lines, b"".join(lines))
    assert parsed.slow == []
    assert parsed.kind.tolist() == [STATIC, POSITION, STATIC]
    assert parsed.identity[0].name == "SEA HAWK"
    assert parsed.identity[0].ship_type == 37
    stats = _agree(lines, ReaderOptions, [3])
    got, _ = _as_columns(lines, ReaderOptions(), [3])
    assert [(o.name, o.ship_type) for o in got] == [("SEA HAWK", 37), ("SEA HAWK", 37)]
    assert stats.accepted == 3


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_xor_prefix_by_words_is_the_xor_of_the_bytes_before(data: bytes) -> None:
    arr = np.frombuffer(data + b"\0" * 64, dtype=np.uint8)
    got = _XorPrefix(arr, len(data)).at(np.arange(len(data) + 1)).tolist()
    expected = [0]
    for byte in data:
        expected.append(expected[-1] ^ byte)
    assert got == expected
