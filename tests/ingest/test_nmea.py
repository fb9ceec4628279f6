"""AIS NMEA reader: real files against pyais, exact counts, and every way a line can carry its time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyais
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_support import SteppingClock, balanced, lines_of
from pyais.stream import FileReaderStream
from pyais.util import checksum

from riskline.ingest.nmea import NmeaDecoder, UntimedClock, read_nmea
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.testing.clock import FakeClock
from riskline.units import knots_to_mps

# file -> (read, accepted, observations, positions, rejected) without a clock, and with a stepping clock
EXPECTED_WITHOUT_CLOCK = {
    "pyais_gatehouse.nmea": (9, 5, 1, 1, {"bad_checksum": 1, "no_timestamp": 3}),
    "pyais_mixed.txt": (
        28, 9, 2, 1, {"bad_checksum": 4, "malformed": 2, "no_timestamp": 9, "unsupported_type": 4}
    ),
    "pyais_nmea_data_sample.txt": (898, 0, 0, 0, {"incomplete_multipart": 20, "no_timestamp": 878}),
    "pyais_timestamped.ais": (9, 5, 1, 1, {"bad_checksum": 1, "no_timestamp": 3}),
    "test_data_201201.nmea": (26, 5, 5, 3, {"implausible_value": 3, "unsupported_type": 18}),
    "test_data_20211101.nm4": (997, 977, 956, 915, {"unsupported_type": 20}),
}
EXPECTED_WITH_CLOCK = {
    "pyais_gatehouse.nmea": (9, 8, 4, 4, {"bad_checksum": 1}),
    "pyais_mixed.txt": (28, 18, 10, 8, {"bad_checksum": 4, "malformed": 2, "unsupported_type": 4}),
    "pyais_nmea_data_sample.txt": (
        898, 764, 760, 758, {"incomplete_multipart": 20, "malformed": 100, "unsupported_type": 14}
    ),
    "pyais_timestamped.ais": (9, 8, 4, 4, {"bad_checksum": 1}),
    "test_data_201201.nmea": (26, 5, 5, 3, {"implausible_value": 3, "unsupported_type": 18}),
    "test_data_20211101.nm4": (997, 977, 956, 915, {"unsupported_type": 20}),
}


def _decode(path: Path, options: ReaderOptions | None = None) -> tuple[list[Observation], IngestStats]:
    stats = IngestStats()
    return list(read_nmea(lines_of(path), stats, options)), stats


def _summary(observations: list[Observation], stats: IngestStats) -> tuple[object, ...]:
    positions = sum(1 for o in observations if o.has_position)
    return (stats.read, stats.accepted, stats.observations, positions, dict(stats.rejected))


@pytest.mark.parametrize("name", sorted(EXPECTED_WITHOUT_CLOCK))
def test_each_ais_file_gives_exact_counts_without_a_clock(ais_dir: Path, name: str) -> None:
    observations, stats = _decode(ais_dir / name)
    assert _summary(observations, stats) == EXPECTED_WITHOUT_CLOCK[name]
    assert balanced(stats)
    assert stats.bytes_read == (ais_dir / name).stat().st_size
    assert len(observations) == stats.observations


@pytest.mark.parametrize("name", sorted(EXPECTED_WITH_CLOCK))
def test_each_ais_file_gives_exact_counts_with_a_receive_clock(ais_dir: Path, name: str) -> None:
    observations, stats = _decode(ais_dir / name, ReaderOptions(clock=SteppingClock()))
    assert _summary(observations, stats) == EXPECTED_WITH_CLOCK[name]
    assert balanced(stats)


def _pyais_positions(path: Path) -> list[tuple[Any, ...]]:
    """(platform_id, lat, lon, sog [m/s], cog [deg]) of every position report pyais decodes from the file,
    with the "not available" values of ITU-R M.1371 as None."""
    expected = []
    for sentence in FileReaderStream(str(path)):
        if not sentence.payload:
            continue
        message = sentence.decode()
        if message.msg_type not in (1, 2, 3, 18, 19, 27) or message.lat == 91.0 or message.lon == 181.0:
            continue
        if message.msg_type == 27:
            sog = None if message.speed >= 63 else knots_to_mps(message.speed)
            cog = None if message.course >= 360 else float(message.course)
        else:
            sog = None if message.speed >= 102.3 else knots_to_mps(message.speed)
            cog = None if message.course >= 360.0 else message.course
        platform_id = f"mmsi:{message.mmsi:09d}"
        expected.append((platform_id, message.lat, message.lon, sog, cog))
    return expected


@pytest.mark.parametrize(
    ("name", "options", "positions"),
    [
        ("test_data_20211101.nm4", ReaderOptions(), 915),
        ("pyais_nmea_data_sample.txt", ReaderOptions(clock=SteppingClock()), 758),
    ],
)
def test_position_reports_equal_pyais_decoding_of_the_same_sentences(
    ais_dir: Path, name: str, options: ReaderOptions, positions: int
) -> None:
    observations, _ = _decode(ais_dir / name, options)
    ours = [(o.platform_id, o.lat, o.lon, o.sog_mps, o.cog_deg) for o in observations if o.has_position]
    assert ours == _pyais_positions(ais_dir / name)
    assert len(ours) == positions


def test_statics_carry_name_callsign_and_ship_type_as_pyais_decodes_them(ais_dir: Path) -> None:
    observations, _ = _decode(ais_dir / "test_data_201201.nmea")
    static = next(o for o in observations if not o.has_position and o.ship_type is not None)
    message = pyais.decode(
        b"!AIVDM,1,1,1,B,53eaFL02?;fwTPm7V219E@R1@PE8E<622222221@9hG1A7?@NCPSlm3kc5DhH8888888880,2*7F"
    )
    assert (static.platform_id, static.name, static.callsign, static.ship_type) == (
        f"mmsi:{message.mmsi:09d}",
        message.shipname,
        message.callsign,
        int(message.ship_type),
    )
    assert static.t == 1325394065.0
    assert static.domain is Domain.SEA


def test_a_two_sentence_static_with_tag_blocks_is_assembled_with_its_first_sentence_time(ais_dir: Path) -> None:
    observations, stats = _decode(ais_dir / "pyais_mixed.txt")
    static = next(o for o in observations if not o.has_position)
    message = pyais.decode(
        b"!SAVDM,2,1,2,B,55Mw@A7J1adAL@?;7WPl58F0U<h4pB222222220t1PN5553fN4g?`4iSp5Rc,0*26",
        b"!SAVDM,2,2,2,B,iP`88888880,2*5E",
    )
    assert static.t == 1428621738.0
    assert static.station == "b003669710"
    assert (static.platform_id, static.name, static.callsign) == (
        f"mmsi:{message.mmsi:09d}",
        message.shipname,
        message.callsign,
    )
    assert balanced(stats)


def test_type_5_fragments_linked_by_tag_block_groups_take_the_first_sentence_station(ais_dir: Path) -> None:
    observations, _ = _decode(ais_dir / "test_data_20211101.nm4")
    statics = [o for o in observations if not o.has_position]
    assert len(statics) == 41
    assert {o.station for o in statics} <= {"41925", "42809", "43255", "3045", "43479"} | {
        o.station for o in observations
    }
    assert all(o.station is not None for o in statics)


def tagged(t: float, sentence: bytes, station: str | None = None) -> bytes:
    """``sentence`` behind an NMEA 4.10 tag block with a correct checksum."""
    body = (b"s:" + station.encode() + b"," if station else b"") + b"c:%d" % t
    return b"\\" + body + b"*%02X\\" % checksum(body) + sentence


CLASS_B_POSITION = b"!AIVDM,1,1,,B,B5MiOp0006g4up6:EV403wr5oP06,0*38"  # real, from test_data_201201.nmea
CLASS_B_STATIC = b"!AIVDM,1,1,,B,H5MiOp1:uJ0MDhJ0<P4hhDpLE80,2*33"  # real, same vessel, part A: its name


def test_a_position_carries_the_identity_known_from_earlier_statics() -> None:
    lines = [
        tagged(1325394700, CLASS_B_POSITION),
        tagged(1325394703, CLASS_B_STATIC),
        tagged(1325394704, CLASS_B_POSITION),
    ]
    replay = list(read_nmea(lines, IngestStats()))
    assert [o.name for o in replay] == [None, "R/V GULF CHALLENGER", "R/V GULF CHALLENGER"]
    assert [o.has_position for o in replay] == [True, False, True]


def test_a_repeated_static_with_nothing_new_is_accepted_without_an_observation() -> None:
    stats = IngestStats()
    observations = list(read_nmea([tagged(1325394703, CLASS_B_STATIC), tagged(1325394704, CLASS_B_STATIC)], stats))
    assert len(observations) == 1
    assert (stats.read, stats.accepted, stats.observations) == (2, 2, 1)


def test_the_first_epoch_after_the_checksum_is_the_receive_time(ais_dir: Path) -> None:
    observations, _ = _decode(ais_dir / "test_data_201201.nmea")
    first = observations[0]
    assert (first.platform_id, first.t) == ("mmsi:367033650", 1325394060.0)
    assert first.sog_mps == pytest.approx(knots_to_mps(8.6))


def test_a_leading_epoch_gives_the_time() -> None:
    sentence = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
    for prefix, t in ((b"1325394060 ", 1325394060.0), (b"1325394060.5,", 1325394060.5)):
        (observation,) = read_nmea([prefix + sentence], IngestStats())
        assert observation.t == t


def test_the_tag_block_time_and_station_are_the_observation_time_and_station(ais_dir: Path) -> None:
    observations, _ = _decode(ais_dir / "test_data_20211101.nm4")
    first = observations[0]  # the file's first line is a base station report (type 4): not used
    assert (first.t, first.station) == (1635731909.0, "42809")


def test_a_tag_block_time_in_milliseconds_is_read_as_milliseconds() -> None:
    body = b"s:r1,c:1635731889500"
    line = b"\\" + body + b"*%02X\\!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30" % checksum(body)
    (observation,) = read_nmea([line], IngestStats())
    assert observation.t == 1635731889.5


def test_a_tag_block_with_a_bad_checksum_is_rejected() -> None:
    stats = IngestStats()
    line = b"\\s:42809,c:1635731889,t:1635731965*6B\\!AIVDM,1,1,,,403t>B1vFhQr5`NonbBw?>G00<0n,0*7B"
    assert list(read_nmea([line], stats)) == []
    assert stats.rejected == {"bad_checksum": 1}


def test_a_gatehouse_wrapper_times_the_next_sentence_only(ais_dir: Path) -> None:
    observations, stats = _decode(ais_dir / "pyais_gatehouse.nmea")
    (first,) = observations
    assert first.t == datetime(2008, 5, 9, 0, 0, 0, 10_000, tzinfo=UTC).timestamp()
    assert first.platform_id == f"mmsi:{pyais.decode(b'!AIVDM,1,1,,B,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09').mmsi:09d}"
    assert stats.rejected["no_timestamp"] == 3


def test_comments_are_read_and_accepted_and_blank_lines_are_not_units() -> None:
    stats = IngestStats()
    assert list(read_nmea([b"# a comment\n", b"\n", b"   \r\n"], stats)) == []
    assert (stats.read, stats.accepted, stats.rejected_total, stats.bytes_read) == (1, 1, 0, 18)


def test_an_untimed_sentence_takes_the_clock_when_one_is_given() -> None:
    clock = FakeClock(1_700_000_000.0)
    line = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
    (observation,) = read_nmea([line], IngestStats(), ReaderOptions(clock=clock))
    assert observation.t == 1_700_000_000.0
    stats = IngestStats()
    assert list(read_nmea([line], stats)) == []
    assert stats.rejected == {"no_timestamp": 1}


def _two_part(seq: int, t: float | None = None) -> tuple[bytes, bytes]:
    prefix = b"" if t is None else b"%d " % t
    return (
        prefix
        + b"!AIVDM,2,1,%d,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C" % seq,
        prefix + b"!AIVDM,2,2,%d,A,88888888880,2*25" % seq,
    )


def _fix_checksum(line: bytes) -> bytes:
    from pyais.util import compute_checksum

    head, _, rest = line.partition(b"!")
    sentence = b"!" + rest.split(b"*")[0]
    return head + sentence + b"*%02X" % compute_checksum(sentence)


def test_two_fragments_within_the_timeout_assemble_in_either_order() -> None:
    first, second = (_fix_checksum(x) for x in _two_part(3, 1_700_000_000))
    name = pyais.decode(*(line.split(b" ", 1)[1] for line in (first, second))).shipname
    for lines in ([first, second], [second, first]):
        stats = IngestStats()
        (static,) = read_nmea(lines, stats)
        assert static.name == name == "EVER DIADEM"
        assert (stats.read, stats.accepted, stats.observations) == (2, 2, 1)


def test_a_fragment_left_alone_for_longer_than_the_timeout_is_dropped_as_incomplete() -> None:
    first, second = (_fix_checksum(x) for x in _two_part(3, 1_700_000_000))
    _, late_second = (_fix_checksum(x) for x in _two_part(3, 1_700_000_011))
    single = b"1700000011 !AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
    stats = IngestStats()
    decoder = NmeaDecoder(stats, ReaderOptions(group_timeout_s=10.0))
    assert decoder.feed(first) == ()
    assert len(decoder.feed(single)) == 1
    assert stats.rejected == {"incomplete_multipart": 1}
    assert decoder.feed(late_second) == ()
    decoder.flush()
    assert stats.rejected == {"incomplete_multipart": 2}
    assert balanced(stats)
    assert second != late_second


def test_a_reused_sequence_id_drops_the_unfinished_group() -> None:
    first, second = (_fix_checksum(x) for x in _two_part(5, 1_700_000_000))
    stats = IngestStats()
    observations = list(read_nmea([first, first, second], stats))
    assert len(observations) == 1
    assert stats.rejected == {"incomplete_multipart": 1}
    assert (stats.read, stats.accepted) == (3, 2)


def test_unavailable_values_become_none_and_sar_aircraft_are_air_with_metres() -> None:
    t = b"1700000000 "
    lines = [
        t + b"!AIVDO,1,1,,B,91b55wmo1p0kOqPPqe`3Q0000000,0*3A",  # SAR: 1500 m, 120 kn, 57.5N 11.25E
        t + b"!AIVDO,1,1,,B,91b55wwwww<tSF0l4Q@>40000000,0*24",  # SAR: all not available
        t + b"!AIVDO,1,1,,A,144N8P?P?w1iBvPR2u8>4001P000,0*5E",  # class A: SOG 102.3, COG 360
    ]
    stats = IngestStats()
    sar, ship = read_nmea(lines, stats)
    assert (sar.domain, sar.alt_m, sar.lat, sar.lon) == (Domain.AIR, 1500.0, 57.5, 11.25)
    assert sar.sog_mps == pytest.approx(knots_to_mps(120))
    assert (ship.domain, ship.sog_mps, ship.cog_deg, ship.lat, ship.lon) == (Domain.SEA, None, None, 59.5, 24.75)
    assert stats.accepted == 3  # the SAR report without a position is read and accepted


def test_a_position_the_ship_cannot_have_reached_is_an_implausible_jump() -> None:
    here = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"  # real, test_data_201201.nmea: 42.8N 70.3W
    message = pyais.decode(here)
    far = pyais.encode_dict({**message.asdict(), "lat": message.lat + 1.0}, talker_id="AI", radio_channel="A")[0]
    stats = IngestStats()
    lines = [tagged(1325394060, here), tagged(1325394061, far.encode()), tagged(1325394062, here)]
    observations = list(read_nmea(lines, stats))
    assert [o.t for o in observations] == [1325394060.0, 1325394062.0]
    assert stats.rejected == {"implausible_jump": 1}


def test_sentences_of_other_kinds_are_unsupported_and_garbage_is_malformed() -> None:
    stats = IngestStats()
    lines = [b"$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D", b"foobar", b"!AIVDM,1"]
    assert list(read_nmea(lines, stats)) == []
    assert stats.rejected == {"unsupported_type": 1, "malformed": 2}


def test_a_tag_block_without_a_checksum_is_taken_as_it_is() -> None:
    line = b"\\s:42958,c:1635809454\\!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
    (observation,) = read_nmea([line], IngestStats())
    assert (observation.t, observation.station) == (1635809454.0, "42958")


def test_an_untimed_sentence_takes_start_time_and_its_own_utc_second() -> None:
    line = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
    second = pyais.decode(line).second  # type: ignore[union-attr]
    start = 1_700_000_000.0  # 22:13:20 UTC: the report's second falls in this minute or the next
    (observation,) = read_nmea([line], IngestStats(), ReaderOptions(start_time=start))
    assert observation.t % 60 == second
    assert abs(observation.t - start) <= 30


@given(st.floats(1e9, 2e9, allow_nan=False), st.lists(st.integers(0, 63), min_size=1, max_size=200))
def test_the_untimed_clock_keeps_each_second_and_never_runs_backwards(start: float, seconds: list[int]) -> None:
    clock = UntimedClock(start)
    for second in seconds:
        before = clock.latest
        t = clock.at(second)
        assert clock.latest >= before
        if second <= 59:
            assert t % 60 == second
            assert abs(t - before) <= 30
        else:  # 60–63: no time stamp available
            assert t == before
