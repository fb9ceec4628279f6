"""Beast binary: the real dump1090 capture, escapes, junk, and time from the 12 MHz counter."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import balanced

from riskline.ingest.beast import BeastFramer, read_beast
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.testing.clock import FakeClock

START = 1_600_000_000.0  # [s] an arbitrary base: the capture carries relative time only


@pytest.fixture(scope="module")
def capture(traffic_dir: Path) -> bytes:
    return (traffic_dir / "sample_dump1090.bin").read_bytes()


def test_the_real_capture_decodes_with_exact_counts(capture: bytes) -> None:
    stats = IngestStats()
    observations = list(read_beast([capture], stats, ReaderOptions(start_time=START)))
    assert (stats.read, stats.accepted, stats.observations, stats.bytes_read) == (239, 238, 4, 4218)
    assert stats.rejected == {"cpr_unpaired": 1}
    positions = [o for o in observations if o.has_position]
    assert [o.platform_id for o in positions] == ["icao:48520a"] * 3
    assert positions[0].lat == pytest.approx(43.644213, abs=1e-6)  # near Toulouse
    assert positions[0].lon == pytest.approx(1.231515, abs=1e-6)
    assert positions[0].alt_m == pytest.approx(38000 * 0.3048)
    assert [o.callsign for o in observations if not o.has_position] == ["TRA89M"]
    assert all(o.source == "beast" for o in observations)
    assert balanced(stats)


def test_time_runs_from_the_start_time_at_12_mhz(capture: bytes) -> None:
    observations = list(read_beast([capture], IngestStats(), ReaderOptions(start_time=START)))
    first_counter = int.from_bytes(capture[2:8], "big")
    assert observations[0].t > START
    assert observations[-1].t - START < 30.0
    assert first_counter == 0x000015A8877E


def test_any_chunking_of_the_stream_gives_the_same_result(capture: bytes) -> None:
    # junk before the first frame, between two frames (0x7c8 starts one), and inside a frame
    capture = b"some junk" + capture[:0x7C8] + b"more junk" + capture[0x7C8:3000] + b"bad" + capture[3000:]
    whole_stats = IngestStats()
    whole = list(read_beast([capture], whole_stats, ReaderOptions(start_time=START)))
    assert whole_stats.rejected["malformed"] >= 3
    for size in (1, 2, 7, 4096):
        stats = IngestStats()
        chunks = [capture[i : i + size] for i in range(0, len(capture), size)]
        assert list(read_beast(chunks, stats, ReaderOptions(start_time=START))) == whole
        assert stats.as_dict() == whole_stats.as_dict()


def test_an_escaped_0x1a_inside_a_frame_is_one_byte(capture: bytes) -> None:
    stats = IngestStats()
    frames = BeastFramer(stats).feed(capture[:0x21])  # the capture's second frame has 1a 1a in its counter
    assert len(frames) == 2
    second = frames[1]
    assert (second.kind, second.counter, second.signal) == (0x32, 0x000015BE1A0C, 0x0F)
    assert second.message == bytes.fromhex("02e18ca8f1d2ed")


def test_without_a_start_time_or_clock_frames_have_no_timestamp(capture: bytes) -> None:
    stats = IngestStats()
    assert list(read_beast([capture], stats)) == []
    assert stats.rejected == {"no_timestamp": 239}


def test_a_clock_pins_the_first_counter_when_there_is_no_start_time(capture: bytes) -> None:
    clock = FakeClock(1_700_000_000.0)
    observations = list(read_beast([capture], IngestStats(), ReaderOptions(clock=clock)))
    assert len(observations) == 4
    assert 1_700_000_000.0 < observations[0].t < 1_700_000_030.0


def test_junk_between_frames_and_a_truncated_last_frame_are_malformed(capture: bytes) -> None:
    first_frame = capture[:16]
    stats = IngestStats()
    data = b"garbage" + first_frame + b"\x00\x01" + first_frame + b"\x1a4\x00\x00" + first_frame[:9]
    list(read_beast([data], stats, ReaderOptions(start_time=START)))
    assert stats.rejected == {"malformed": 3, "unsupported_type": 1}
    assert stats.read == 6
    assert balanced(stats)


def test_mode_a_c_frames_are_unsupported() -> None:
    stats = IngestStats()
    list(read_beast([b"\x1a1" + bytes(6) + b"\x10" + b"\x12\x34"], stats, ReaderOptions(start_time=START)))
    assert stats.rejected == {"unsupported_type": 1}
