"""What two tracks were observed to do: their separation between fixes, exactly, and whether a breach happened.

Design note
-----------
The detector works on dead-reckoned states (``geometry.py``): right for predictions, wrong for a claim that a
rule *was* broken. Dead reckoning past a track's last fix, with a course rounded to a degree or a tenth, moves a
fast aircraft metres to tens of metres from where it was: two aircraft in formation 3 m abeam come out 0 m
apart, and on real traffic a breach can be called 30–60 s after one aircraft stopped being heard.

Here a track is only where it was observed: each track moves linearly (in latitude, longitude and altitude)
between consecutive fixes no more than ``max_gap_s`` apart, and is unknown elsewhere (before its first fix,
after its last, across a longer gap). On the union of both tracks' fix times, the pair's relative position in
a local tangent plane (the equirectangular plane of ``geometry.py`` about the pair's mid-latitude) is linear
within each piece, so the minimum of the 3-D or horizontal separation on a piece, and the times inside a
cylinder (horizontal radius R, half-height H) or a sphere, have closed forms — exact for straight tracks up
to the plane's approximation (0.002 % of the separation) and the chord of a 1 s arc (sub-millimetre).

A breach is ``occurred`` only if the pair is inside the rule's volume at some observed instant; a breach that
exists only in dead reckoning stays a prediction until the fixes that would show it arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskline.detection.geometry import local_scale
from riskline.tracks.segment import TrackSegment
from riskline.tracks.snapshot import BoolArray, FloatArray

MAX_GAP_AIR_S = 10.0
"""[s] longest gap between two fixes of an aircraft that is still interpolated (ADS-B: 0.5–1 s; a few lost)."""
MAX_GAP_SEA_S = 60.0
"""[s] longest gap between two fixes of a ship that is still interpolated (AIS class A: 2–10 s underway,
class B: 30 s)."""


@dataclass(frozen=True, slots=True)
class Volume:
    """The space around a platform a rule protects, centred on the other one."""

    radius_m: float
    """[m] horizontal radius (the sphere's radius when ``sphere``)."""
    half_height_m: float = math.inf
    """[m] vertical half-height of the cylinder; +inf for a horizontal-only rule."""
    sphere: bool = False
    """A sphere of ``radius_m`` (3-D distance) instead of a cylinder."""


@dataclass(frozen=True, slots=True)
class ObservedApproach:
    """The pair's closest observed approach within a window, and the observed time inside the volume."""

    t_cpa: float
    """[s] POSIX time of the minimum separation (3-D, or horizontal for ``three_d=False``)."""
    distance_m: float
    """[m] that minimum."""
    horizontal_m: float
    """[m] horizontal separation at ``t_cpa``."""
    vertical_m: float
    """[m] absolute vertical separation at ``t_cpa`` (0 when not ``three_d``)."""
    lat: float
    """[deg] the pair's midpoint at ``t_cpa``."""
    lon: float
    """[deg]"""
    t_entry: float
    """[s] first observed instant inside the volume; NaN if never inside."""
    t_exit: float
    """[s] last observed instant inside the volume; NaN if never inside."""
    observed_s: float
    """[s] how much of the window both tracks were observed."""

    @property
    def inside(self) -> bool:
        return not math.isnan(self.t_entry)


def _covered(t_fix: FloatArray, starts: FloatArray, ends: FloatArray, max_gap_s: float) -> BoolArray:
    """True for each piece [start, end] lying between two consecutive fixes at most ``max_gap_s`` apart (or on
    one fix, for a piece of zero length). ``t_fix`` is sorted and every fix time is a piece boundary."""
    before = np.searchsorted(t_fix, starts, side="right") - 1
    after = np.searchsorted(t_fix, ends, side="left")
    valid = (before >= 0) & (after < len(t_fix))
    before_c = np.clip(before, 0, len(t_fix) - 1)
    after_c = np.clip(after, 0, len(t_fix) - 1)
    gap = t_fix[after_c] - t_fix[before_c]
    return np.asarray(valid & (gap <= max_gap_s), dtype=bool)


def _at(segment: TrackSegment, times: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    t = np.asarray(segment.t, dtype=np.float64)
    alt = np.asarray(segment.alt, dtype=np.float64)
    known = np.isfinite(alt)
    alt_at = np.interp(times, t[known], alt[known]) if known.any() else np.zeros(len(times))
    lon = np.unwrap(np.asarray(segment.lon, dtype=np.float64), period=360.0)
    return np.interp(times, t, np.asarray(segment.lat, dtype=np.float64)), np.interp(times, t, lon), alt_at


def observed_approach(
    a: TrackSegment,
    b: TrackSegment,
    t0: float,
    t1: float,
    volume: Volume,
    *,
    three_d: bool,
    max_gap_a_s: float,
    max_gap_b_s: float,
) -> ObservedApproach | None:
    """Closest observed approach of ``a`` and ``b`` within [t0, t1] [s], and their observed time inside
    ``volume``; None if there is no instant in the window where both were observed."""
    if len(a) == 0 or len(b) == 0 or t1 < t0:
        return None
    ta = np.asarray(a.t, dtype=np.float64)
    tb = np.asarray(b.t, dtype=np.float64)
    cuts = np.union1d(np.concatenate((ta, tb)), [t0, t1])
    cuts = cuts[(cuts >= t0) & (cuts <= t1)]
    starts, ends = cuts[:-1], cuts[1:]
    if len(cuts) == 1:
        starts, ends = cuts, cuts
    both = _covered(ta, starts, ends, max_gap_a_s) & _covered(tb, starts, ends, max_gap_b_s)
    if not both.any():
        return None
    starts, ends = starts[both], ends[both]
    lat_a0, lon_a0, alt_a0 = _at(a, starts)
    lat_a1, lon_a1, alt_a1 = _at(a, ends)
    lat_b0, lon_b0, alt_b0 = _at(b, starts)
    lat_b1, lon_b1, alt_b1 = _at(b, ends)
    mid_lat = 0.25 * (lat_a0 + lat_a1 + lat_b0 + lat_b1)
    scale = local_scale(mid_lat)

    def wrapped(delta: FloatArray) -> FloatArray:
        return np.asarray((delta + 180.0) % 360.0 - 180.0, dtype=np.float64)

    x0 = scale.east * wrapped(lon_b0 - lon_a0)  # [m] east of b from a at the piece's start
    y0 = scale.north * (lat_b0 - lat_a0)
    z0 = (alt_b0 - alt_a0) if three_d or not math.isinf(volume.half_height_m) else np.zeros(len(starts))
    x1 = scale.east * wrapped(lon_b1 - lon_a1)
    y1 = scale.north * (lat_b1 - lat_a1)
    z1 = (alt_b1 - alt_a1) if three_d or not math.isinf(volume.half_height_m) else np.zeros(len(starts))
    dx, dy, dz = x1 - x0, y1 - y0, z1 - z0  # [m] change over the piece; the piece's parameter s runs 0 → 1

    z_weight = 1.0 if three_d else 0.0
    s_min = _argmin_on_unit(x0, y0, z0 * z_weight, dx, dy, dz * z_weight)
    px, py, pz = x0 + dx * s_min, y0 + dy * s_min, z0 + dz * s_min
    measured = np.sqrt(px * px + py * py + z_weight * pz * pz)
    best = int(np.argmin(measured))
    s_best = float(s_min[best])
    t_cpa = float(starts[best] + (ends[best] - starts[best]) * s_best)

    entry, exit_ = _inside_interval(x0, y0, z0, dx, dy, dz, volume)
    inside = entry <= exit_
    span = ends - starts
    t_entry = float(np.min((starts + span * entry)[inside])) if inside.any() else math.nan
    t_exit = float(np.max((starts + span * exit_)[inside])) if inside.any() else math.nan
    lat_a = float(lat_a0[best] + (lat_a1[best] - lat_a0[best]) * s_best)
    lon_a = float(lon_a0[best] + (lon_a1[best] - lon_a0[best]) * s_best)
    lat_b = float(lat_b0[best] + (lat_b1[best] - lat_b0[best]) * s_best)
    lon_b = float(lon_b0[best] + (lon_b1[best] - lon_b0[best]) * s_best)
    mid_lon = lon_a + 0.5 * ((lon_b - lon_a + 180.0) % 360.0 - 180.0)
    return ObservedApproach(
        t_cpa=t_cpa,
        distance_m=float(measured[best]),
        horizontal_m=float(math.hypot(px[best], py[best])),
        vertical_m=float(abs(pz[best])) if three_d else 0.0,
        lat=0.5 * (lat_a + lat_b),
        lon=(mid_lon + 180.0) % 360.0 - 180.0,
        t_entry=t_entry,
        t_exit=t_exit,
        observed_s=float(np.sum(span)),
    )


def _argmin_on_unit(
    x0: FloatArray, y0: FloatArray, z0: FloatArray, dx: FloatArray, dy: FloatArray, dz: FloatArray
) -> FloatArray:
    """The s in [0, 1] minimising |p0 + d·s| for each piece (0 where d is zero)."""
    speed_sq = dx * dx + dy * dy + dz * dz
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(speed_sq > 0.0, -(x0 * dx + y0 * dy + z0 * dz) / speed_sq, 0.0)
    return np.asarray(np.clip(s, 0.0, 1.0), dtype=np.float64)


def _inside_interval(
    x0: FloatArray, y0: FloatArray, z0: FloatArray, dx: FloatArray, dy: FloatArray, dz: FloatArray, volume: Volume
) -> tuple[FloatArray, FloatArray]:
    """For each piece, the sub-interval [entry, exit] of s in [0, 1] inside the volume (entry > exit: none)."""
    radius = volume.radius_m
    if volume.sphere:
        low, high = _quadratic_below(x0, y0, z0, dx, dy, dz, radius)
    else:
        low, high = _quadratic_below(x0, y0, np.zeros_like(z0), dx, dy, np.zeros_like(dz), radius)
        if not math.isinf(volume.half_height_m):
            h = volume.half_height_m
            with np.errstate(divide="ignore", invalid="ignore"):
                cross_low, cross_high = (-h - z0) / dz, (h - z0) / dz
            moving = dz != 0.0
            always = np.abs(z0) <= h
            v_low = np.where(moving, np.minimum(cross_low, cross_high), np.where(always, -np.inf, np.inf))
            v_high = np.where(moving, np.maximum(cross_low, cross_high), np.where(always, np.inf, -np.inf))
            low, high = np.maximum(low, v_low), np.minimum(high, v_high)
    return np.maximum(low, 0.0), np.minimum(high, 1.0)


def _quadratic_below(
    x0: FloatArray, y0: FloatArray, z0: FloatArray, dx: FloatArray, dy: FloatArray, dz: FloatArray, radius: float
) -> tuple[FloatArray, FloatArray]:
    """The interval of s where |p0 + d·s| <= radius; (+inf, -inf) where empty."""
    a = dx * dx + dy * dy + dz * dz
    b = x0 * dx + y0 * dy + z0 * dz
    c = x0 * x0 + y0 * y0 + z0 * z0 - radius * radius
    moving = a > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        s_mid = np.where(moving, -b / a, 0.0)
        slack = np.where(moving, b * b - a * c, -c)  # >= 0 where some s is inside
        half = np.where(moving, np.sqrt(np.maximum(slack, 0.0)) / a, np.inf)
    reaches = slack >= 0.0
    return np.where(reaches, s_mid - half, np.inf), np.where(reaches, s_mid + half, -np.inf)


__all__ = ["MAX_GAP_AIR_S", "MAX_GAP_SEA_S", "ObservedApproach", "Volume", "observed_approach"]
