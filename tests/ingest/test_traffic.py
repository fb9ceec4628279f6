"""The `traffic` library's JSON records: the real OpenSky samples, streamed record by record."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_support import Decoded, balanced

from riskline.ingest.observation import Domain
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.traffic import read_traffic_json
from riskline.units import FEET_PER_MINUTE, FOOT, KNOT

# file -> (read, accepted, observations, implausible jumps)
EXPECTED = {
    "quickstart.json.gz": (284505, 284475, 284475, 30),
    "aircraft_carrier.json.gz": (9024, 8961, 7273, 63),
    "inflight_refuelling.json.gz": (10397, 10384, 10384, 13),
}


def _chunks(path: Path, size: int = 1 << 16) -> Iterator[bytes]:
    with gzip.open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def _decode(path: Path, options: ReaderOptions | None = None) -> Decoded:
    stats = IngestStats()
    return Decoded(list(read_traffic_json(_chunks(path), stats, options)), stats)


@pytest.fixture(scope="module")
def quickstart(traffic_dir: Path) -> Decoded:
    return _decode(traffic_dir / "quickstart.json.gz")


def test_the_quickstart_sample_gives_exact_counts(quickstart: Decoded) -> None:
    stats = quickstart.stats
    read, accepted, observations, jumps = EXPECTED["quickstart.json.gz"]
    assert (stats.read, stats.accepted, stats.observations) == (read, accepted, observations)
    assert stats.rejected == {"implausible_jump": jumps}
    assert len({o.platform_id for o in quickstart.observations}) == 213
    assert balanced(stats)


@pytest.mark.parametrize("name", ["aircraft_carrier.json.gz", "inflight_refuelling.json.gz"])
def test_the_military_flight_samples_give_exact_counts(traffic_dir: Path, name: str) -> None:
    decoded = _decode(traffic_dir / name)
    read, accepted, observations, jumps = EXPECTED[name]
    assert (decoded.stats.read, decoded.stats.accepted, decoded.stats.observations) == (read, accepted, observations)
    assert decoded.stats.rejected == {"implausible_jump": jumps}


def test_a_known_record_is_converted_to_si(quickstart: Decoded) -> None:
    # {"altitude":13650.0,"callsign":"MSR799","groundspeed":325.0,"icao24":"0101de","latitude":48.4824371338,
    #  "longitude":3.8288057767,"onground":false,"squawk":"1000","timestamp":1633608773000,
    #  "track":311.1362180242,"vertical_rate":-896.0}
    first = quickstart.observations[0]
    assert (first.t, first.platform_id, first.source) == (1633608773.0, "icao:0101de", "traffic")
    assert first.domain is Domain.AIR
    assert (first.lat, first.lon, first.callsign) == (48.4824371338, 3.8288057767, "MSR799")
    assert first.alt_m == pytest.approx(13650 * FOOT)
    assert first.alt_m == pytest.approx(4160.52)
    assert first.sog_mps == pytest.approx(325 * KNOT)
    assert first.cog_deg == 311.1362180242
    assert first.vrate_mps == pytest.approx(-896 * FEET_PER_MINUTE)


def test_a_record_without_a_position_tells_the_callsign_once(traffic_dir: Path) -> None:
    decoded = _decode(traffic_dir / "aircraft_carrier.json.gz")
    first = decoded.observations[0]
    assert (first.has_position, first.callsign, first.t) == (False, "PSWRD35", 1600120071.0)
    assert sum(1 for o in decoded.observations if not o.has_position) == 1


def test_json_lines_and_junk_between_records_are_read_record_by_record() -> None:
    records = (
        b'{"timestamp": 1633608773000, "icao24": "0101DE", "latitude": 48.48, "longitude": 3.83}\n'
        b"garbage\n"
        b'{"timestamp": 1633608774000, "icao24": "0101de", "latitude": 48.4801, "longitude": 3.8301, '
        b'"altitude": "high"}\n'
        b'{"timestamp": null, "icao24": "0101de", "latitude": 48.48, "longitude": 3.83}\n'
        b'{"timestamp": 1633608775, "icao24": "xyz", "latitude": 48.48, "longitude": 3.83}\n'
        b'{"timestamp": "2021-10-07T12:12:56Z", "icao24": "0101de", "latitude": 48.4802, "longitude": 3.8302}\n'
        b'{"timestamp": 1633608777000, "icao24": "0101de", "latitude": 48.4803,'
    )
    stats = IngestStats()
    observations = list(read_traffic_json([records[i : i + 5] for i in range(0, len(records), 5)], stats))
    assert [(o.platform_id, o.t) for o in observations] == [
        ("icao:0101de", 1633608773.0),
        ("icao:0101de", 1633608776.0),
    ]
    assert stats.rejected == {
        "malformed": 2,
        "bad_field:altitude": 1,
        "no_timestamp": 1,
        "bad_field:icao24": 1,
    }
    assert balanced(stats)
