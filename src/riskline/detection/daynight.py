"""Day or night at a place and time, from the sun's elevation (astral's NOAA solar position algorithm).

The Russia–Greece INCSEA sets one contact range by day and a larger one "at night or in poor visibility";
riskline judges night as the sun's centre below ``night_sun_elevation_deg`` (default −0.833°, the
conventional sunset: refraction plus the sun's semi-diameter). Poor visibility is not observable from AIS
and is left to the operator (lower the day range with ``--set``).
Elevations are cached per 0.05° cell and minute: the sun moves less than 0.25° in that span.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from astral import Observer
from astral.sun import elevation

from riskline.tracks.snapshot import BoolArray, FloatArray

_CELL_DEG = 0.05  # [deg]
_MINUTE = 60.0  # [s]


@lru_cache(maxsize=65_536)
def _elevation_cached(lat_cell: int, lon_cell: int, minute: int) -> float:
    observer = Observer(latitude=lat_cell * _CELL_DEG, longitude=lon_cell * _CELL_DEG)
    moment = datetime.fromtimestamp(minute * _MINUTE, tz=UTC)
    return float(elevation(observer, moment, with_refraction=False))


def sun_elevation_deg(lat: float, lon: float, t: float) -> float:
    """[deg] elevation of the sun's centre above the horizon at (lat, lon) [deg] and POSIX time t [s]."""
    return _elevation_cached(round(lat / _CELL_DEG), round(lon / _CELL_DEG), int(t // _MINUTE))


def is_night(lat: FloatArray, lon: FloatArray, t: float, threshold_deg: float) -> BoolArray:
    """True where the sun is below ``threshold_deg`` at time ``t`` [s] for each (lat, lon) [deg]."""
    result = np.zeros(len(lat), dtype=bool)
    for k in range(len(lat)):
        result[k] = sun_elevation_deg(float(lat[k]), float(lon[k]), t) < threshold_deg
    return result
