"""What ingest produces: one frozen ``Observation`` per usable report, whatever the source format.

Identifiers are namespaced so that an MMSI and an ICAO address never collide:
``mmsi:273123456``, ``icao:3c6444``, or ``id:<text>`` for radar/fused tracks from a positions table.
A report without a position (AIS statics 5/24, Mode S identification) still carries identity fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Domain(StrEnum):
    AIR = "air"
    SEA = "sea"


class Kind(StrEnum):
    MILITARY = "military"
    CIVIL = "civil"


@dataclass(frozen=True, slots=True)
class Observation:
    """One report about one platform at one time. Units are SI; angles in degrees."""

    t: float
    """[s] POSIX time (UTC) of the report: the receiver's or the message's own timestamp."""
    platform_id: str
    """Namespaced identifier: ``mmsi:…``, ``icao:…`` or ``id:…``."""
    source: str
    """Format that produced it: ``nmea``, ``marinecadastre``, ``modes``, ``beast``, ``sbs``, ``traffic``, ``table``."""
    lat: float | None = None
    """[deg] WGS-84 latitude, north positive; None when the report has no position."""
    lon: float | None = None
    """[deg] WGS-84 longitude, east positive."""
    alt_m: float | None = None
    """[m] altitude above mean sea level (barometric for ADS-B); None for ships."""
    sog_mps: float | None = None
    """[m/s] speed over ground."""
    cog_deg: float | None = None
    """[deg] course over ground, true, 0 = north, clockwise, in [0, 360)."""
    vrate_mps: float | None = None
    """[m/s] vertical rate, climb positive."""
    domain: Domain | None = None
    """Air or sea when the format tells it (AIS SAR aircraft type 9 is air)."""
    party: str | None = None
    """Party given by the input itself (positions table); wins over every other attribution."""
    kind: Kind | None = None
    """Military or civil when the input tells it."""
    transponder: bool = True
    """False for a radar/fused track of a platform whose transponder is off (non-cooperative)."""
    callsign: str | None = None
    name: str | None = None
    ship_type: int | None = None
    """AIS ship and cargo type (35 = military operations)."""
    station: str | None = None
    """Receiving station, from an NMEA 4.10 ``s:`` tag, when known."""

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None
