"""Measure what a scenario's sampled reports say, independently of how the scenario was built."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyproj import Geod

from riskline.ingest.observation import Observation

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class Approach:
    t: float
    horizontal_m: float
    vertical_m: float

    @property
    def distance_m(self) -> float:
        return float(np.hypot(self.horizontal_m, self.vertical_m))


def _interpolate(track: Sequence[Observation], times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.array([o.t for o in track])
    lat = np.interp(times, t, np.array([o.lat for o in track], dtype=float))
    lon = np.interp(times, t, np.array([o.lon for o in track], dtype=float))
    alt = np.interp(times, t, np.array([o.alt_m or 0.0 for o in track], dtype=float))
    return lat, lon, alt


def separation(a: Sequence[Observation], b: Sequence[Observation], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal [m], vertical [m]) between linearly interpolated reports at ``times``."""
    lat_a, lon_a, alt_a = _interpolate(a, times)
    lat_b, lon_b, alt_b = _interpolate(b, times)
    _, _, horizontal = GEOD.inv(lon_a, lat_a, lon_b, lat_b)
    return np.asarray(horizontal), np.abs(alt_b - alt_a)


def closest_approach(a: Sequence[Observation], b: Sequence[Observation]) -> Approach:
    """Smallest 3-D distance between two sampled tracks: a 0.5 s scan, then 1 ms around the minimum."""
    t0, t1 = max(a[0].t, b[0].t), min(a[-1].t, b[-1].t)
    coarse = np.arange(t0, t1, 0.5)
    horizontal, vertical = separation(a, b, coarse)
    k = int(np.argmin(np.hypot(horizontal, vertical)))
    fine = np.arange(max(coarse[k] - 1.0, t0), min(coarse[k] + 1.0, t1), 0.001)
    horizontal, vertical = separation(a, b, fine)
    j = int(np.argmin(np.hypot(horizontal, vertical)))
    return Approach(t=float(fine[j]), horizontal_m=float(horizontal[j]), vertical_m=float(vertical[j]))


def volume_entries(a: Sequence[Observation], b: Sequence[Observation], horizontal_m: float, altitude_m: float,
                   step: float = 0.5) -> int:
    """How many times b enters the cylinder of ``horizontal_m`` around a, at or below ``altitude_m``."""
    t0, t1 = max(a[0].t, b[0].t), min(a[-1].t, b[-1].t)
    times = np.arange(t0, t1, step)
    horizontal, _ = separation(a, b, times)
    _, _, alt_b = _interpolate(b, times)
    inside = (horizontal <= horizontal_m) & (alt_b <= altitude_m)
    return int(np.sum(np.diff(inside.astype(int)) == 1) + int(inside[0]))
