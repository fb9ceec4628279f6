"""Evidence for an incident: both tracks around the closest approach, and their separation over time."""

from __future__ import annotations

import numpy as np
from pyproj import Geod

from riskline.incidents.model import Evidence
from riskline.tracks.segment import TrackSegment

_GEOD = Geod(ellps="WGS84")


def build_evidence(segment_a: TrackSegment, segment_b: TrackSegment | None, *, three_d: bool) -> Evidence:
    """Pair both segments on the union of their fix times inside their common span and measure separation.

    Horizontal separation is geodesic (WGS-84); with ``three_d`` the altitude difference is added in quadrature
wherever both altitudes are known.
    """
    if segment_b is None or len(segment_a) == 0 or len(segment_b) == 0:
        return Evidence(segment_a=segment_a, segment_b=segment_b)
    ta, tb = np.asarray(segment_a.t), np.asarray(segment_b.t)
    start, stop = max(ta[0], tb[0]), min(ta[-1], tb[-1])
    times = np.union1d(ta, tb)
    times = times[(times >= start) & (times <= stop)]
    if len(times) == 0:
        return Evidence(segment_a=segment_a, segment_b=segment_b)

    def at(segment: TrackSegment, t_seg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.interp(times, t_seg, np.asarray(segment.lat)),
            np.interp(times, t_seg, np.asarray(segment.lon)),
            np.interp(times, t_seg, np.asarray(segment.alt)),
        )

    lat_a, lon_a, alt_a = at(segment_a, ta)
    lat_b, lon_b, alt_b = at(segment_b, tb)
    _, _, horizontal = _GEOD.inv(lon_a, lat_a, lon_b, lat_b)  # [m]
    horizontal = np.abs(horizontal)
    vertical = alt_b - alt_a
    separation = np.where(np.isfinite(vertical), np.hypot(horizontal, vertical), horizontal) if three_d else horizontal
    return Evidence(
        segment_a=segment_a,
        segment_b=segment_b,
        separation_t=tuple(float(x) for x in times),
        separation_m=tuple(float(x) for x in separation),
    )
