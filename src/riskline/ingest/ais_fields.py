"""From a pyais-decoded AIS message to the fields riskline keeps, with "not available" values as None.

ITU-R M.1371-5 (and gpsd's AIVDM/AIVDO protocol decoding) sentinel values:

* latitude 91° and longitude 181° (types 1-3, 9, 18, 19, 27): not available;
* SOG 102.3 kn (1-3, 18, 19), 1023 kn (9), 63 kn (27): not available;
* COG 360.0° (1-3, 9, 18, 19), 511° (27): not available; higher values are invalid, also None;
* altitude 4095 m (9): not available; ship type 0: not available.

Speeds leave here in m/s (``riskline.units``); angles in degrees; SAR aircraft altitude in metres.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from riskline.ingest.observation import Domain
from riskline.units import knots_to_mps

POSITION_TYPES = frozenset({1, 2, 3, 9, 18, 19, 27})
STATIC_TYPES = frozenset({5, 19, 24})
SUPPORTED_TYPES = POSITION_TYPES | STATIC_TYPES


class AisReport(NamedTuple):
    """The usable content of one AIS message (a named tuple: built once per message, it must be cheap)."""

    mmsi: int
    lat: float | None = None
    """[deg] None when not available (91) or absent; may be out of range (the reader rejects it)."""
    lon: float | None = None
    """[deg] None when not available (181) or absent."""
    sog_mps: float | None = None
    """[m/s]"""
    cog_deg: float | None = None
    """[deg]"""
    alt_m: float | None = None
    """[m] SAR aircraft (type 9) only."""
    domain: Domain = Domain.SEA
    name: str | None = None
    callsign: str | None = None
    ship_type: int | None = None

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None


def _text(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip()
    return text or None


def _ship_type(value: Any) -> int | None:
    if value is None:
        return None
    number = int(value)
    return number if number > 0 else None


def _lat(value: Any) -> float | None:
    return None if value is None or value == 91.0 else float(value)


def _lon(value: Any) -> float | None:
    return None if value is None or value == 181.0 else float(value)


def _sog_tenths(value: Any) -> float | None:
    """Class A/B SOG, 0.1 kn resolution; 102.3 kn is not available."""
    if value is None or value >= 102.3:
        return None
    return knots_to_mps(float(value))


def _cog_tenths(value: Any) -> float | None:
    if value is None or not 0.0 <= value < 360.0:
        return None
    return float(value)


def ais_report(msg: Any) -> AisReport | None:
    """The report of a decoded pyais message of a supported type, else None. ``msg.mmsi`` must be set."""
    msg_type: int = msg.msg_type
    mmsi = int(msg.mmsi)
    if msg_type in (1, 2, 3, 18):
        return AisReport(mmsi, _lat(msg.lat), _lon(msg.lon), _sog_tenths(msg.speed), _cog_tenths(msg.course))
    if msg_type == 19:
        return AisReport(
            mmsi,
            _lat(msg.lat),
            _lon(msg.lon),
            _sog_tenths(msg.speed),
            _cog_tenths(msg.course),
            name=_text(msg.shipname),
            ship_type=_ship_type(msg.ship_type),
        )
    if msg_type == 9:
        speed = msg.speed  # [kn] 1 kn resolution
        altitude = msg.alt  # [m]
        return AisReport(
            mmsi,
            _lat(msg.lat),
            _lon(msg.lon),
            None if speed is None or speed >= 1023 else knots_to_mps(float(speed)),
            _cog_tenths(msg.course),
            alt_m=None if altitude is None or altitude >= 4095 else float(altitude),
            domain=Domain.AIR,
        )
    if msg_type == 27:
        speed = msg.speed  # [kn] 1 kn resolution
        course = msg.course  # [deg] 1 deg resolution
        return AisReport(
            mmsi,
            _lat(msg.lat),
            _lon(msg.lon),
            None if speed is None or speed >= 63 else knots_to_mps(float(speed)),
            None if course is None or not 0 <= course < 360 else float(course),
        )
    if msg_type == 5:
        return AisReport(
            mmsi, name=_text(msg.shipname), callsign=_text(msg.callsign), ship_type=_ship_type(msg.ship_type)
        )
    if msg_type == 24:
        if msg.partno == 0:
            return AisReport(mmsi, name=_text(msg.shipname))
        return AisReport(mmsi, callsign=_text(msg.callsign), ship_type=_ship_type(msg.ship_type))
    return None
