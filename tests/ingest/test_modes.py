"""Mode S / ADS-B through rs1090: the real Paris-Toulouse flight against its own decoded fields."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from ingest_support import CDG, Decoded, balanced, lines_of

from riskline.ingest.modes import ModeSDecoder, valid_frame
from riskline.ingest.modes_text import read_modes_csv, read_modes_jsonl
from riskline.ingest.observation import Domain
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.units import feet_to_m, fpm_to_mps, knots_to_mps

DF17_POSITION = "8f393322384a02aea63afc43dcba"  # real: first frame of full_flight_short.jsonl (surface, BDS06)


@pytest.fixture(scope="module")
def oracle(traffic_dir: Path) -> list[dict[str, Any]]:
    with (traffic_dir / "full_flight_short.jsonl").open() as handle:
        return [json.loads(line) for line in handle]


def _oracle_positions(oracle: list[dict[str, Any]]) -> dict[float, list[tuple[float, float]]]:
    by_time: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for row in oracle:
        if "latitude" in row:
            by_time[row["timestamp"]].append((row["latitude"], row["longitude"]))
    return by_time


def test_without_a_reference_every_frame_is_counted_and_airborne_positions_decode(full_flight: Decoded) -> None:
    stats = full_flight.stats
    assert (stats.read, stats.accepted, stats.observations) == (57793, 56339, 6871)
    assert dict(stats.rejected) == {"cpr_unpaired": 1454}
    assert len(full_flight.positions) == 6870
    assert stats.bytes_read == 10406338
    assert balanced(stats)


def test_with_the_receiver_reference_surface_positions_decode_too(full_flight_at_cdg: Decoded) -> None:
    stats = full_flight_at_cdg.stats
    assert (stats.read, stats.accepted, stats.observations) == (57793, 57694, 8226)
    assert dict(stats.rejected) == {"cpr_unpaired": 99}
    assert len(full_flight_at_cdg.positions) == 8225
    assert balanced(stats)


@pytest.mark.parametrize("decoded_name", ["full_flight", "full_flight_at_cdg"])
def test_every_position_is_within_a_micro_degree_of_the_files_own_decoding(
    decoded_name: str, oracle: list[dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    decoded: Decoded = request.getfixturevalue(decoded_name)
    by_time = _oracle_positions(oracle)
    for observation in decoded.positions:
        assert observation.lat is not None
        assert observation.lon is not None
        candidates = by_time[observation.t]
        assert candidates, f"no decoded position in the file at {observation.t}"
        assert min(max(abs(lat - observation.lat), abs(lon - observation.lon)) for lat, lon in candidates) <= 1e-6


def test_the_toulouse_landing_decodes_against_the_aircrafts_own_fix_not_the_paris_receiver(
    full_flight_at_cdg: Decoded,
) -> None:
    last = full_flight_at_cdg.positions[-1]
    assert last.lat == pytest.approx(43.629153, abs=1e-6)
    assert last.lon == pytest.approx(1.374027, abs=1e-6)


def test_airborne_positions_carry_their_altitude_and_the_latest_velocity(
    full_flight: Decoded, oracle: list[dict[str, Any]]
) -> None:
    expected: dict[tuple[float, float], tuple[float, float | None, float | None]] = {}
    velocity: dict[str, Any] | None = None
    for row in oracle:
        if row.get("bds") == "09":
            velocity = row
        if row.get("bds") == "05" and "latitude" in row:
            fresh = velocity is not None and row["timestamp"] - velocity["timestamp"] <= 15.0
            expected[(row["timestamp"], row["latitude"])] = (
                feet_to_m(row["altitude"]),
                knots_to_mps(velocity["groundspeed"]) if fresh and velocity else None,
                fpm_to_mps(velocity["vertical_rate"]) if fresh and velocity else None,
            )
    airborne = [o for o in full_flight.positions if o.alt_m is not None]
    assert len(airborne) == 6352
    matched = 0
    for observation in airborne:
        key = (observation.t, observation.lat)
        if key in expected:
            alt_m, sog, vrate = expected[key]
            assert observation.alt_m == pytest.approx(alt_m)
            assert observation.sog_mps == pytest.approx(sog)
            assert observation.vrate_mps == pytest.approx(vrate)
            matched += 1
    assert matched == len(airborne)


def test_surface_positions_carry_their_own_ground_speed_and_no_altitude(full_flight_at_cdg: Decoded) -> None:
    surface = [o for o in full_flight_at_cdg.positions if o.alt_m is None]
    assert len(surface) == 1867
    first = full_flight_at_cdg.positions[0]
    assert (first.alt_m, first.domain, first.platform_id) == (None, Domain.AIR, "icao:393322")
    assert first.sog_mps == pytest.approx(knots_to_mps(0.375))
    assert first.cog_deg == 90.0


def test_the_callsign_is_an_identity_observation_once_and_is_carried_on_positions(full_flight: Decoded) -> None:
    identities = [o for o in full_flight.observations if not o.has_position]
    assert [(o.callsign, o.t) for o in identities] == [("AFR34ZG", 1720248193.945039)]
    assert all(o.callsign == "AFR34ZG" for o in full_flight.positions if o.t > 1720248193.945039)


def test_small_batches_carry_cpr_pairing_across_batch_boundaries(traffic_dir: Path) -> None:
    path = traffic_dir / "full_flight_short.jsonl"
    big, small = IngestStats(), IngestStats()
    whole = list(read_modes_jsonl(islice(lines_of(path), 5000), big, ReaderOptions(reference=CDG)))
    pieces = list(read_modes_jsonl(islice(lines_of(path), 5000), small, ReaderOptions(reference=CDG, batch_size=200)))
    assert pieces == whole
    assert big.as_dict() == small.as_dict()
    assert len(whole) == 1626


def test_csv_lines_of_the_same_frames_give_the_same_observations(traffic_dir: Path, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in islice(lines_of(traffic_dir / "full_flight_short.jsonl"), 3000)]
    csv_lines = [b"timestamp,hex\n"] + [f"{row['timestamp']!r},{row['frame']}\n".encode() for row in rows]
    headerless = csv_lines[1:]
    jsonl = list(read_modes_jsonl(islice(lines_of(traffic_dir / "full_flight_short.jsonl"), 3000), IngestStats()))
    stats = IngestStats()
    assert list(read_modes_csv(csv_lines, stats)) == jsonl
    assert (stats.read, stats.accepted) == (3001, 3001 - stats.rejected_total)
    assert list(read_modes_csv(headerless, IngestStats())) == jsonl


def test_frames_that_are_not_mode_s_are_malformed_and_bad_crc_is_a_bad_checksum() -> None:
    stats = IngestStats()
    decoder = ModeSDecoder(stats)
    decoder.feed("not hex at all", 1.0)
    decoder.feed(DF17_POSITION[:14], 1.0)  # a DF17 must be 112 bits
    decoder.feed(DF17_POSITION[:-1] + "b", 1.0)  # one bit of the parity changed
    decoder.feed("ffffffffffffffffffffffffffff", 1.0)  # DF31 does not exist
    decoder.feed(DF17_POSITION, math.nan)
    decoder.flush()
    assert stats.rejected == {
        "malformed": 2,
        "bad_checksum": 1,
        "unsupported_type": 1,
        "bad_field:timestamp": 1,
    }
    assert balanced(stats)


def test_short_replies_padded_to_112_bits_are_accepted_as_rs1090_reads_them() -> None:
    assert valid_frame("212800bf40f1ef7e5817e9cc428d")  # real DF4 from full_flight_short.jsonl, padded
    assert valid_frame("212800bf40f1ef")
    assert not valid_frame("8f393322384a02")


def test_json_lines_without_a_time_take_the_clock_or_are_rejected() -> None:
    line = b'{"frame": "8d48520a58c3849c784990179ae0"}\n'
    stats = IngestStats()
    assert list(read_modes_jsonl([line, b"{oops\n", b"[1, 2]\n", b'{"frame": 5}\n'], stats)) == []
    assert stats.rejected == {"no_timestamp": 1, "malformed": 3}
    clocked = IngestStats()
    list(read_modes_jsonl([line], clocked, ReaderOptions(clock=lambda: 1_700_000_000.0)))
    assert (clocked.read, clocked.accepted + clocked.rejected_total) == (1, 1)
