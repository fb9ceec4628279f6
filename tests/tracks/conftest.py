"""Real data as observations for the tracks tests, through small loaders of our own.

The ingest package is written in parallel; these loaders read just enough of each format to feed the track
table: NMEA AIS through pyais, and the ``traffic`` library's JSON records (feet, knots, ft/min → SI here).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyais.stream import FileReaderStream

from riskline.ingest.observation import Domain, Observation
from riskline.units import FEET_PER_MINUTE, FOOT, KNOT

NmeaLoader = Callable[[Path], list[Observation]]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _nmea_observations(path: Path) -> Iterator[Observation]:
    for index, message in enumerate(FileReaderStream(str(path))):
        try:
            fields = message.decode().asdict()
        except Exception:  # dirty line: skipped, as ingest would count it
            continue
        mmsi = fields.get("mmsi")
        if not isinstance(mmsi, int):
            continue
        tag_time = None
        if message.tag_block is not None:
            message.tag_block.init()
            tag_time = message.tag_block.receiver_timestamp
        t = float(tag_time) if tag_time else float(index)
        lat, lon = fields.get("lat"), fields.get("lon")
        if not (isinstance(lat, float) and isinstance(lon, float) and abs(lat) <= 90 and abs(lon) <= 180):
            lat = lon = None
        speed, course = fields.get("speed"), fields.get("course")
        ship_type = fields.get("ship_type")
        yield Observation(
            t=t,
            platform_id=f"mmsi:{mmsi}",
            source="nmea",
            lat=lat,
            lon=lon,
            sog_mps=speed * KNOT if isinstance(speed, float) and speed < 102.3 else None,
            cog_deg=course if isinstance(course, float) and course < 360 else None,
            domain=Domain.AIR if fields.get("msg_type") == 9 else None,
            callsign=_text(fields.get("callsign")),
            name=_text(fields.get("shipname")),
            ship_type=int(ship_type) if ship_type is not None else None,
        )


@pytest.fixture(scope="session")
def nmea_observations() -> NmeaLoader:
    """Decode an NMEA AIS file into observations (time from the NMEA 4.10 ``c:`` tag, else the line index)."""
    return lambda path: list(_nmea_observations(path))


def traffic_observation(record: dict[str, object]) -> Observation:
    """One ``traffic`` JSON record (timestamp ms, altitude ft, groundspeed kn, vertical_rate ft/min) in SI."""

    def number(key: str) -> float | None:
        value = record.get(key)
        return float(value) if isinstance(value, int | float) else None

    altitude, groundspeed, vertical_rate = number("altitude"), number("groundspeed"), number("vertical_rate")
    callsign = record.get("callsign")
    return Observation(
        t=float(number("timestamp") or 0.0) / 1000.0,
        platform_id=f"icao:{record['icao24']}",
        source="traffic",
        lat=number("latitude"),
        lon=number("longitude"),
        alt_m=altitude * FOOT if altitude is not None else None,
        sog_mps=groundspeed * KNOT if groundspeed is not None else None,
        cog_deg=number("track"),
        vrate_mps=vertical_rate * FEET_PER_MINUTE if vertical_rate is not None else None,
        callsign=callsign if isinstance(callsign, str) else None,
    )


@pytest.fixture(scope="session")
def quickstart_records(data_dir: Path) -> list[dict[str, object]]:
    """284,505 OpenSky positions of 213 aircraft around Paris (``traffic`` sample), in time order."""
    with gzip.open(data_dir / "traffic" / "quickstart.json.gz", "rt", encoding="utf-8") as stream:
        records: list[dict[str, object]] = json.load(stream)
    records.sort(key=lambda record: (record["timestamp"], record["icao24"]))
    return records


@pytest.fixture(scope="session")
def quickstart_observations(quickstart_records: list[dict[str, object]]) -> list[Observation]:
    return [traffic_observation(record) for record in quickstart_records]
