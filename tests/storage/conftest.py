"""Storage fixtures: a fresh database file per test, and real flight tracks to store as evidence.

The tracks are real ADS-B fixes of two military flights from ../shared/data/traffic (``traffic`` samples,
MIT; see that README): PSWRD35 (carrier operations, 14 Sep 2020) and FAF4011 (air-to-air refuelling,
30 Jun 2020). They never met: the storage tests pair them only to have realistic evidence to store.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskline.incidents.model import Encounter, Evidence
from riskline.storage import Database, open_database
from riskline.tracks.segment import TrackSegment
from riskline.units import feet_to_m

FLIGHTS = ("aircraft_carrier.json.gz", "inflight_refuelling.json.gz")
FIXES_PER_SEGMENT = 120


def read_segment(path: Path, fixes: int = FIXES_PER_SEGMENT) -> TrackSegment:
    """The first ``fixes`` complete fixes (time, position, altitude) of a one-aircraft ``traffic`` sample."""
    with gzip.open(path, "rt", encoding="utf-8") as file:
        records = json.load(file)
    complete = [r for r in records if None not in (r["latitude"], r["longitude"], r["altitude"])][:fixes]
    return TrackSegment(
        platform_id=f"icao:{complete[0]['icao24']}",
        t=tuple(r["timestamp"] / 1000.0 for r in complete),
        lat=tuple(float(r["latitude"]) for r in complete),
        lon=tuple(float(r["longitude"]) for r in complete),
        alt=tuple(feet_to_m(float(r["altitude"])) for r in complete),
    )


@pytest.fixture(scope="session")
def real_segments(data_dir: Path) -> tuple[TrackSegment, TrackSegment]:
    first, second = (read_segment(data_dir / "traffic" / name) for name in FLIGHTS)
    return first, second


@pytest.fixture(scope="session")
def real_encounter(real_segments: tuple[TrackSegment, TrackSegment]) -> Encounter:
    return _encounter_from_segments(*real_segments)


def _encounter_from_segments(a: TrackSegment, b: TrackSegment, *, rule: str = "air_proximity") -> Encounter:
    """An encounter whose every number comes from the two real segments (paired by index, not by time)."""
    separation_t = a.t
    separation_m = tuple(abs(alt_a - alt_b) for alt_a, alt_b in zip(a.alt, b.alt, strict=False))
    closest = min(range(len(separation_m)), key=separation_m.__getitem__)
    return Encounter(
        rule=rule,
        severity="high",
        a=a.platform_id,
        b=b.platform_id,
        party_a="US",
        party_b="FR",
        occurred=True,
        start=a.t[0],
        end=a.t[-1],
        t_cpa=a.t[closest],
        min_distance_m=separation_m[closest],
        min_horizontal_m=separation_m[closest],
        min_vertical_m=separation_m[closest],
        first_alert=a.t[0] - 30.0,
        lat=a.lat[closest],
        lon=a.lon[closest],
        details={"domain": "air", "light": "day", "findings": 3, "source": "EASA 2015", "mark": None},
        evidence=Evidence(a, b, separation_t, separation_m),
    )


@pytest.fixture
def database(database_target: str) -> Iterator[Database]:
    """A fresh riskline database, once on SQLite and once on PostgreSQL."""
    db = open_database(database_target)
    yield db
    db.close()
