"""Plausibility gates: a decoded position becomes an observation only if it could be true.

Bad CPR decodes (Mode S), corrupted AIS payloads and spoofed jumps show up as a position that the
platform could not have reached from its last accepted fix. ``JumpGate`` keeps that last fix per platform
and rejects a new one implying more than ``max_speed`` over the gap (with ``slack`` for noise):

* aircraft 600 m/s (no airliner or fighter in cruise goes faster over the ground), ships 60 m/s;
* a rejected fix never moves the anchor, so one bad decode cannot drag the track away;
* recovery from a bad *first* fix: once the anchor is older than ``reset_after`` and two consecutive
  rejected fixes agree with each other, the newer one becomes the anchor.

Values outside the WGS-84 ranges are ``implausible_value``, never positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from riskline.units import EARTH_RADIUS


@dataclass(frozen=True, slots=True)
class GateLimits:
    max_speed: float
    """[m/s] fastest plausible ground speed between two fixes."""
    slack: float
    """[m] distance always allowed: position noise, near-simultaneous duplicates, and the 0.1' (185 m)
    resolution of AIS long-range type 27 positions."""
    reset_after: float
    """[s] age of the anchor after which two agreeing rejected fixes re-anchor the platform."""


_METRES_PER_DEGREE = math.radians(1.0) * EARTH_RADIUS  # [m] of arc on the mean sphere

AIR_LIMITS = GateLimits(max_speed=600.0, slack=500.0, reset_after=60.0)
SEA_LIMITS = GateLimits(max_speed=60.0, slack=500.0, reset_after=600.0)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """[m] great-circle distance (haversine on the mean Earth sphere)."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = (phi2 - phi1) * 0.5
    half_dlambda = math.radians(lon2 - lon1) * 0.5
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2.0 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(h)))


def valid_lat_lon(lat: float, lon: float) -> bool:
    """True for finite WGS-84 latitude in [-90, 90] and longitude in [-180, 180]."""
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def wrap_lon(lon: float) -> float:
    """[deg] a longitude brought into [-180, 180); CPR local decoding may step past the antimeridian."""
    if -180.0 <= lon < 180.0:
        return lon
    return (lon + 180.0) % 360.0 - 180.0


@dataclass(frozen=True, slots=True)
class Fix:
    """A platform's last accepted position."""

    t: float  # [s] POSIX
    lat: float  # [deg]
    lon: float  # [deg]


class JumpGate:
    """Per-platform implied-speed check; see the module docstring for the policy."""

    __slots__ = ("_anchor", "_candidate", "_max_speed", "_reset_after", "_slack")

    def __init__(self, limits: GateLimits) -> None:
        self._max_speed = limits.max_speed  # [m/s]
        self._slack = limits.slack  # [m]
        self._reset_after = limits.reset_after  # [s]
        # (t [s], lat [deg], lon [deg]) per platform: plain tuples, this runs once per position
        self._anchor: dict[str, tuple[float, float, float]] = {}
        self._candidate: dict[str, tuple[float, float, float]] = {}

    def _agrees(self, fix: tuple[float, float, float], t: float, lat: float, lon: float) -> bool:
        allowed = self._max_speed * abs(t - fix[0]) + self._slack  # [m]
        # R(|dphi| + |dlambda|) bounds the great-circle distance from above: a cheap accept for the usual case
        if (abs(lat - fix[1]) + abs(lon - fix[2])) * _METRES_PER_DEGREE <= allowed:
            return True
        return distance_m(fix[1], fix[2], lat, lon) <= allowed

    def admit(self, key: str, t: float, lat: float, lon: float) -> bool:
        """True if the fix is plausible (it then becomes the anchor when it is the newest)."""
        anchor = self._anchor.get(key)
        if anchor is None:
            self._anchor[key] = (t, lat, lon)
            return True
        if self._agrees(anchor, t, lat, lon):
            if t >= anchor[0]:
                self._anchor[key] = (t, lat, lon)
            if self._candidate:
                self._candidate.pop(key, None)
            return True
        candidate = self._candidate.get(key)
        if candidate is not None and t - anchor[0] > self._reset_after and self._agrees(candidate, t, lat, lon):
            self._anchor[key] = (t, lat, lon)
            del self._candidate[key]
            return True
        self._candidate[key] = (t, lat, lon)
        return False

    def last_fix(self, key: str) -> Fix | None:
        """The platform's anchor (its last accepted fix), if any."""
        anchor = self._anchor.get(key)
        return None if anchor is None else Fix(*anchor)


class RangeGate:
    """Rejects positions farther than ``max_range`` from the receiver reference (no-op without one)."""

    __slots__ = ("_lat", "_lon", "_max_range")

    def __init__(self, reference: tuple[float, float] | None, max_range_m: float | None) -> None:
        self._max_range = max_range_m  # [m]
        self._lat, self._lon = reference if reference is not None else (0.0, 0.0)

    def admit(self, lat: float, lon: float) -> bool:
        if self._max_range is None:
            return True
        return distance_m(self._lat, self._lon, lat, lon) <= self._max_range
