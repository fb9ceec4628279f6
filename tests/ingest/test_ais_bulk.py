"""Bulk AIS decoding against pyais (the oracle), and the batch reader against the per-line reader."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyais
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import balanced
from pyais.util import checksum

from riskline.ingest.ais_bulk import FULL_BITS, STATIC_WIDTH, decode_positions, decode_statics, reports, sixbit_rows
from riskline.ingest.ais_fields import ais_report
from riskline.ingest.nmea import NmeaDecoder
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.units import knots_to_mps

_ARMOUR = b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def _armour(bits: str) -> tuple[bytes, int]:
    """6-bit armouring of a bit string: the payload and its fill bits."""
    fill = (-len(bits)) % 6
    padded = bits + "0" * fill
    return bytes(_ARMOUR[int(padded[k : k + 6], 2)] for k in range(0, len(padded), 6)), fill


def _sentence(payload: bytes, fill: int, *, talker: bytes = b"AI", channel: bytes = b"A") -> bytes:
    body = b"%sVDM,1,1,,%s,%s,%d" % (talker, channel, payload, fill)
    return b"!%s*%02X" % (body, checksum(body))


@st.composite
def position_messages(draw: st.DrawFn) -> tuple[bytes, int]:
    """A random valid position report of a bulk type, every field random, sometimes with trailing bits."""
    msg_type = draw(st.sampled_from([1, 2, 3, 18, 27]))
    length = FULL_BITS[msg_type] + draw(st.sampled_from([0, 0, 0, 2, 6, 12]))
    rest = draw(st.integers(min_value=0, max_value=(1 << (length - 6)) - 1))
    return _armour(format(msg_type, "06b") + format(rest, f"0{length - 6}b"))


@settings(max_examples=400, deadline=None)
@given(st.lists(position_messages(), min_size=1, max_size=40))
def test_bulk_decoding_agrees_with_pyais_field_for_field(messages: list[tuple[bytes, int]]) -> None:
    payloads = [payload for payload, _ in messages]
    batch = decode_positions(payloads, [fill for _, fill in messages])
    kept = reports(batch)
    assert batch.complete.all()
    for row, (payload, fill) in enumerate(messages):
        message = pyais.decode(_sentence(payload, fill))
        assert int(batch.msg_type[row]) == message.msg_type
        assert int(batch.mmsi[row]) == message.mmsi
        assert float(batch.lat[row]) == message.lat
        assert float(batch.lon[row]) == message.lon
        assert float(batch.speed[row]) == message.speed
        assert float(batch.course[row]) == message.course
        if message.msg_type != 27:
            assert int(batch.heading[row]) == message.heading
            assert int(batch.second[row]) == message.second
        limit = 63 if message.msg_type == 27 else 102.3
        expected_sog = None if message.speed >= limit else knots_to_mps(float(message.speed))
        got_sog = float(kept.sog_mps[row])
        assert (expected_sog is None and got_sog != got_sog) or got_sog == expected_sog


def test_short_payloads_are_left_to_pyais() -> None:
    payload, fill = _armour("000001" + "0" * 150)  # type 1, 156 of its 168 bits
    batch = decode_positions([payload], [fill])
    assert not batch.complete[0]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _clock_options(with_clock: bool | str) -> Callable[[], ReaderOptions]:
    def make() -> ReaderOptions:
        if with_clock == "start_time":
            return ReaderOptions(start_time=1_635_724_800.0)
        if not with_clock:
            return ReaderOptions()
        counter = itertools.count(1_700_000_000)
        return ReaderOptions(clock=lambda: float(next(counter)))

    return make


def _one_by_one(lines: list[bytes], options: ReaderOptions) -> tuple[list[Observation], IngestStats]:
    stats = IngestStats()
    decoder = NmeaDecoder(stats, options)
    observations = [o for line in lines for o in decoder.feed(line)]
    return observations + list(decoder.flush()), stats


def _in_batches(lines: list[bytes], options: ReaderOptions, size: int) -> tuple[list[Observation], IngestStats]:
    stats = IngestStats()
    decoder = NmeaDecoder(stats, options)
    observations: list[Observation] = []
    for start in range(0, len(lines), size):
        observations += decoder.feed_lines(lines[start : start + size])
    return observations + list(decoder.flush()), stats


_NMEA_FILES = [
    "pyais_gatehouse.nmea",
    "pyais_mixed.txt",
    "pyais_nmea_data_sample.txt",
    "pyais_timestamped.ais",
    "test_data_201201.nmea",
    "test_data_20211101.nm4",
]


@pytest.mark.parametrize("with_clock", [False, True, "start_time"])
@pytest.mark.parametrize("name", _NMEA_FILES)
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_batches_give_the_same_observations_and_counts_as_lines(
    ais_dir: Path, name: str, with_clock: bool | str, size: int
) -> None:
    lines = _lines(ais_dir / name)
    make = _clock_options(with_clock)
    expected, expected_stats = _one_by_one(lines, make())
    got, stats = _in_batches(lines, make(), size)
    assert got == expected
    assert stats == expected_stats
    assert balanced(stats)


def _dirty(lines: list[bytes], seed: int) -> list[bytes]:
    """Real lines spoiled as receivers spoil them: truncated, bad checksums, impossible positions, repeated,
    out of order, garbage, non-ASCII."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for line in lines:
        roll = rng.random()
        if roll < 0.05:
            out.append(line[: rng.randrange(1, max(2, len(line)))])
        elif roll < 0.10:
            star = line.rfind(b"*")
            if star > 0 and star + 3 <= len(line):
                out.append(line[: star + 1] + b"00" + line[star + 3 :])
            else:
                out.append(line)
        elif roll < 0.13:
            out.append(line)
            out.append(line)
        elif roll < 0.16 and out:
            out.insert(len(out) - 1, line)
        elif roll < 0.18:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))) + b"\n")
        else:
            out.append(line)
    # an impossible position (latitude 100°), checksum right: rejected as implausible_value
    out.append(b"\\s:1,c:1635731900*%02X\\" % checksum(b"s:1,c:1635731900") + _impossible() + b"\n")
    return out


def _impossible() -> bytes:
    bits = "000001" + "00" + format(273000001, "030b") + "0" * 12 + "0" * 10 + "0"
    bits += format(10 * 600000, "028b") + format(100 * 600000, "027b") + "0" * 52
    payload, fill = _armour(bits)
    return _sentence(payload, fill)


@pytest.mark.parametrize("seed", range(4))
def test_dirty_files_are_rejected_alike_counted_by_the_same_reasons(ais_dir: Path, seed: int) -> None:
    lines = _dirty(_lines(ais_dir / "test_data_20211101.nm4") + _lines(ais_dir / "pyais_mixed.txt"), seed)
    expected, expected_stats = _one_by_one(lines, ReaderOptions())
    got, stats = _in_batches(lines, ReaderOptions(), 64)
    assert got == expected
    assert stats == expected_stats
    assert expected_stats.rejected["bad_checksum"] > 0
    assert expected_stats.rejected["implausible_value"] >= 1


@st.composite
def static_messages(draw: st.DrawFn) -> tuple[bytes, int]:
    """A random static report (type 5, type 24 part 0-3), every bit random, of a random length around its own."""
    msg_type = draw(st.sampled_from([5, 24]))
    head = format(msg_type, "06b") + format(draw(st.integers(0, (1 << 32) - 1)), "032b")
    if msg_type == 24:
        head += format(draw(st.integers(0, 3)), "02b")
    length = draw(st.sampled_from([40, 100, 130, 132, 138, 156, 160, 162, 168, 200, 239, 240, 424, 426]))
    length = max(length, len(head))
    rest = draw(st.integers(min_value=0, max_value=(1 << (length - len(head))) - 1)) if length > len(head) else 0
    bits = head + (format(rest, f"0{length - len(head)}b") if length > len(head) else "")
    if draw(st.booleans()):  # text as vessels send it: letters, digits, spaces and @ padding
        text = "".join(format(draw(st.sampled_from([0, 0, 1, 13, 26, 32, 32, 48, 57])), "06b") for _ in range(40))
        bits = bits[:40] + text[: max(0, len(bits) - 40)] + bits[40 + len(text) :]
    return _armour(bits)


@settings(max_examples=400, deadline=None)
@given(st.lists(static_messages(), min_size=1, max_size=30))
def test_bulk_statics_agree_with_pyais(messages: list[tuple[bytes, int]]) -> None:
    payloads = [payload for payload, _ in messages]
    usable = np.array([6 * len(payload) - fill for payload, fill in messages], dtype=np.int64)
    identities = decode_statics(sixbit_rows(payloads, STATIC_WIDTH), usable)
    for (payload, fill), identity in zip(messages, identities, strict=True):
        if identity is None:
            continue  # left to pyais
        report = ais_report(pyais.decode(_sentence(payload, fill)))
        assert report is not None
        assert identity.name == report.name
        assert identity.callsign == report.callsign
        assert identity.ship_type == report.ship_type
    taken = [identity is not None for identity in identities]
    for (payload, fill), took in zip(messages, taken, strict=True):
        usable_bits = 6 * len(payload) - fill
        first = _ARMOUR.index(payload[:1])
        if first == 5 and usable_bits >= 240:
            assert took


@st.composite
def type19_messages(draw: st.DrawFn) -> tuple[bytes, int]:
    """A random extended class B position report (type 19, 312 bits, sometimes more or fewer), every bit random,
    often with a name as vessels send it: letters, digits, spaces, ``@`` padding."""
    length = draw(st.sampled_from([312, 312, 312, 318, 306, 271, 168]))
    bits = "010011" + format(draw(st.integers(0, (1 << (length - 6)) - 1)), f"0{length - 6}b")
    if draw(st.booleans()):
        codes = [draw(st.sampled_from([0, 0, 1, 13, 26, 32, 32, 48, 57])) for _ in range(20)]
        bits = bits[:143] + "".join(format(code, "06b") for code in codes) + bits[263:]
    return _armour(bits[:length])


@settings(max_examples=400, deadline=None)
@given(st.lists(type19_messages(), min_size=1, max_size=30))
def test_bulk_type_19_agrees_with_pyais_field_for_field(messages: list[tuple[bytes, int]]) -> None:
    payloads = [payload for payload, _ in messages]
    fills = [fill for _, fill in messages]
    usable = np.array([6 * len(payload) - fill for payload, fill in messages], dtype=np.int64)
    batch = decode_positions(payloads, fills)
    kept = reports(batch)
    identities = decode_statics(sixbit_rows(payloads, STATIC_WIDTH), usable)
    assert not batch.complete.any()  # a type 19 is never a plain position report
    for row, ((payload, fill), identity) in enumerate(zip(messages, identities, strict=True)):
        assert (identity is not None) == (usable[row] >= 312)
        if identity is None:
            continue  # left to pyais
        message = pyais.decode(_sentence(payload, fill))
        assert int(batch.msg_type[row]) == message.msg_type == 19
        assert int(batch.mmsi[row]) == message.mmsi
        assert float(batch.lat[row]) == message.lat
        assert float(batch.lon[row]) == message.lon
        assert float(batch.speed[row]) == message.speed
        assert float(batch.course[row]) == message.course
        assert int(batch.heading[row]) == message.heading
        assert int(batch.second[row]) == message.second
        report = ais_report(message)
        assert report is not None
        got = (float(kept.lat[row]), float(kept.lon[row]), float(kept.sog_mps[row]), float(kept.cog_deg[row]))
        expected = (report.lat, report.lon, report.sog_mps, report.cog_deg)
        assert [None if value != value else value for value in got] == list(expected)
        assert identity.name == report.name
        assert identity.name is None or identity.name == message.shipname.strip()
        assert identity.callsign is None
        assert identity.ship_type == report.ship_type


def test_type_19_name_padding_is_dropped_as_pyais_drops_it() -> None:
    bits = "010011" + "00" + format(244_123_456, "030b") + "0" * 8 + format(123, "010b") + "0"
    bits += format(int(11.5 * 600000), "028b") + format(int(57.5 * 600000), "027b") + format(900, "012b")
    bits += format(511, "09b") + format(60, "06b") + "0" * 4
    name = "SEA  HAWK  "  # trailing spaces, then @ padding
    codes = [ord(c) - 64 if c.isalpha() else ord(c) for c in name] + [0] * (20 - len(name))
    bits += "".join(format(code, "06b") for code in codes) + format(37, "08b") + "0" * 41
    payload, fill = _armour(bits)
    identity = decode_statics(sixbit_rows([payload], STATIC_WIDTH), np.array([6 * len(payload) - fill]))[0]
    message = pyais.decode(_sentence(payload, fill))
    assert message.shipname == "SEA  HAWK"
    assert identity is not None
    assert identity.name == "SEA  HAWK"
    assert identity.ship_type == 37
