"""Build a detector ``Snapshot`` by hand: a few platforms with exact positions and velocities.

For unit tests of rules, where a whole scenario would hide the one number under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import Geod

from riskline.tracks.snapshot import Snapshot

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    party: str
    lat: float  # [deg]
    lon: float  # [deg]
    alt: float = 0.0  # [m]
    speed: float = 0.0  # [m/s] over ground
    course: float = 0.0  # [deg] true
    climb: float = 0.0  # [m/s]
    air: bool = True
    military: bool = True
    transponder: bool = True
    t_fix: float | None = None  # [s]; None = the snapshot time


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """(lat, lon) [deg] of the point ``east_m``, ``north_m`` [m] away on the ellipsoid (geodesic)."""
    distance = math.hypot(east_m, north_m)
    if distance == 0:
        return lat, lon
    azimuth = math.degrees(math.atan2(east_m, north_m))
    lon2, lat2, _ = _GEOD.fwd(lon, lat, azimuth, distance)
    return lat2, lon2


def snapshot_of(t: float, *platforms: Platform) -> Snapshot:
    parties = tuple(sorted({p.party for p in platforms}))
    course = np.radians([p.course for p in platforms])
    speed = np.asarray([p.speed for p in platforms], dtype=np.float64)
    return Snapshot(
        t=t,
        ids=tuple(p.id for p in platforms),
        party=np.asarray([parties.index(p.party) for p in platforms], dtype=np.int64),
        party_names=parties,
        is_air=np.asarray([p.air for p in platforms], dtype=bool),
        is_military=np.asarray([p.military for p in platforms], dtype=bool),
        transponder=np.asarray([p.transponder for p in platforms], dtype=bool),
        lat=np.asarray([p.lat for p in platforms], dtype=np.float64),
        lon=np.asarray([p.lon for p in platforms], dtype=np.float64),
        alt=np.asarray([p.alt for p in platforms], dtype=np.float64),
        v_east=speed * np.sin(course),
        v_north=speed * np.cos(course),
        v_up=np.asarray([p.climb for p in platforms], dtype=np.float64),
        t_fix=np.asarray([t if p.t_fix is None else p.t_fix for p in platforms], dtype=np.float64),
    )
