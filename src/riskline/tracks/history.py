"""One platform's recent fixes, oldest first, and the current kinematics they imply.

Storage: rows ``[t, lat, lon, alt, v_east, v_north, v_up]`` in one growable ``(capacity, 7)`` float64 buffer
with a live window ``[start, end)``; altitude and velocity are kept as *reported* (NaN when the report had
none). Appending in time order is O(1) amortised, trimming the old end only moves ``start``, and the buffer is
compacted or doubled when the live window reaches its end. A late fix is inserted in place (rare, O(n)).

Kinematics of the newest fix are a pure function of the rows held, so the same set of fixes gives the same
state whatever order they arrived in:

- horizontal velocity: the newest fix's own speed and course; else derived on the WGS-84 ellipsoid
  (``pyproj.Geod``) from the newest earlier fix at least ``min_dt`` older; but if a reported velocity came
  within ``min_dt`` before (fixes too close to derive from), that last known velocity is kept; else 0;
- vertical velocity: the newest fix's own vertical rate; else derived from the newest earlier fix with an
  altitude at least ``min_dt`` older; a vertical rate reported within ``min_dt`` before is kept; else 0.
  The walk back for it stops after ``VERTICAL_LOOKBACK`` fixes;
- altitude: the newest reported altitude held (NaN if none is held).

The track table keeps every platform's fixes in one ``FixLog`` (``riskline.tracks.fixlog``) by these rules;
``FixHistory`` is its test oracle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import Geod

_T, _LAT, _LON, _ALT, _VE, _VN, _VU = range(7)
_COLUMNS = 7
VERTICAL_LOOKBACK = 16
"""Fixes looked back through for a vertical rate or an altitude to derive one from."""
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class Kinematics:
    """State of a platform at its newest fix."""

    t: float
    """[s] time of the newest fix."""
    lat: float
    """[deg]"""
    lon: float
    """[deg]"""
    alt: float
    """[m] newest reported altitude held; NaN if none."""
    v_east: float
    """[m/s]"""
    v_north: float
    """[m/s]"""
    v_up: float
    """[m/s] climb positive."""


class FixHistory:
    """Fixes of one platform, strictly increasing in time (no two fixes share a time)."""

    __slots__ = ("_buffer", "_end", "_start")

    def __init__(self, capacity: int = 8) -> None:
        self._buffer = np.empty((max(capacity, 2), _COLUMNS))
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def times(self) -> npt.NDArray[np.float64]:
        """[s] times of the fixes, oldest first (a view: do not keep it across updates)."""
        return self._buffer[self._start:self._end, _T]

    def append(self, t: float, lat: float, lon: float, alt: float, v_east: float, v_north: float,
               v_up: float) -> None:
        """Add a fix newer than every fix held (the caller checks the order); NaN for what was not reported."""
        if self._end == len(self._buffer):
            self._make_room()
        self._buffer[self._end] = (t, lat, lon, alt, v_east, v_north, v_up)
        self._end += 1

    def extend(self, rows: npt.NDArray[np.float64]) -> None:
        """Add fixes ``[t, lat, lon, alt, v_east, v_north, v_up]`` (one per row, strictly increasing in time and
        newer than every fix held; the caller checks the order) in one copy."""
        while self._end + len(rows) > len(self._buffer):
            self._make_room(len(rows))
        self._buffer[self._end:self._end + len(rows)] = rows
        self._end += len(rows)

    def insert(self, t: float, lat: float, lon: float, alt: float, v_east: float, v_north: float,
               v_up: float) -> bool:
        """Add a fix at its place in time; False (and nothing added) if a fix at ``t`` is already held."""
        position = self._start + int(np.searchsorted(self.times, t, side="left"))
        if position < self._end and self._buffer[position, _T] == t:
            return False
        if self._end == len(self._buffer):
            offset = position - self._start
            self._make_room()
            position = self._start + offset
        self._buffer[position + 1:self._end + 1] = self._buffer[position:self._end]
        self._buffer[position] = (t, lat, lon, alt, v_east, v_north, v_up)
        self._end += 1
        return True

    def trim_before(self, t: float) -> None:
        """Forget the fixes older than ``t``."""
        if self._end > self._start and self._buffer[self._start, _T] < t:
            self._start += int(np.searchsorted(self.times, t, side="left"))

    def between(self, t0: float, t1: float) -> npt.NDArray[np.float64]:
        """Rows ``[t, lat, lon, alt]`` with ``t0 <= t <= t1``, oldest first; a missing altitude is carried
        forward from the fix before it (NaN while none is known)."""
        times = self.times
        first = self._start + int(np.searchsorted(times, t0, side="left"))
        last = self._start + int(np.searchsorted(times, t1, side="right"))
        rows = self._buffer[first:last, :_ALT + 1].copy()
        if len(rows):
            known = self._buffer[self._start:last, _ALT]
            index = np.where(np.isfinite(known), np.arange(len(known)), -1)
            carried = np.maximum.accumulate(index)[first - self._start:]
            rows[:, _ALT] = np.where(carried >= 0, known[np.maximum(carried, 0)], np.nan)
        return rows

    def kinematics(self, min_dt: float) -> Kinematics:
        """State at the newest fix (see the module note); the history must not be empty."""
        buffer, newest, start = self._buffer, self._end - 1, self._start
        t, lat, lon = float(buffer[newest, _T]), float(buffer[newest, _LAT]), float(buffer[newest, _LON])
        v_east, v_north = float(buffer[newest, _VE]), float(buffer[newest, _VN])
        if math.isnan(v_east) or math.isnan(v_north):
            v_east = v_north = 0.0
            for row in range(newest - 1, start - 1, -1):
                if t - buffer[row, _T] >= min_dt:
                    v_east, v_north = _derived(buffer[row], t, lat, lon)
                    break
                if not (math.isnan(buffer[row, _VE]) or math.isnan(buffer[row, _VN])):
                    v_east, v_north = float(buffer[row, _VE]), float(buffer[row, _VN])
                    break
        alt = float(buffer[newest, _ALT])
        v_up = float(buffer[newest, _VU])
        if math.isnan(v_up):
            v_up = 0.0
            for row in range(newest - 1, max(start, newest - VERTICAL_LOOKBACK) - 1, -1):
                baseline = t - buffer[row, _T]
                if baseline >= min_dt and not (math.isnan(alt) or math.isnan(buffer[row, _ALT])):
                    v_up = (alt - float(buffer[row, _ALT])) / baseline
                    break
                if baseline < min_dt and not math.isnan(buffer[row, _VU]):
                    v_up = float(buffer[row, _VU])
                    break
        if math.isnan(alt):
            reported = np.flatnonzero(np.isfinite(buffer[start:newest, _ALT]))
            if reported.size:
                alt = float(buffer[start + reported[-1], _ALT])
        return Kinematics(t, lat, lon, alt, v_east, v_north, v_up)

    def _make_room(self, extra: int = 1) -> None:
        live = self._end - self._start
        if live * 2 > len(self._buffer) or live + extra > len(self._buffer):
            grown = np.empty((max(len(self._buffer) * 2, 2 * (live + extra)), _COLUMNS))
            grown[:live] = self._buffer[self._start:self._end]
            self._buffer = grown
        else:
            self._buffer[:live] = self._buffer[self._start:self._end]
        self._start, self._end = 0, live


def _derived(earlier: npt.NDArray[np.float64], t: float, lat: float, lon: float) -> tuple[float, float]:
    """[m/s] (east, north) velocity from an earlier fix to (t, lat, lon), heading taken on arrival."""
    _, back_azimuth, distance = _GEOD.inv(float(earlier[_LON]), float(earlier[_LAT]), lon, lat)
    speed = distance / (t - float(earlier[_T]))  # [m/s]
    heading = math.radians(back_azimuth + 180.0)
    return speed * math.sin(heading), speed * math.cos(heading)
