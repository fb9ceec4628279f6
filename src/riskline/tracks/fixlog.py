"""Every platform's recent fixes in one set of columns, and their kinematics computed for many platforms at once.

Design note. ``FixHistory`` (``riskline.tracks.history``) keeps one platform's fixes in its own buffer, which
costs a Python call per platform per batch. ``FixLog`` keeps the fixes of every platform (a *slot* of the track
table) in shared columns ``t, lat, lon, alt, v_east, v_north, v_up`` in arrival order, each row linked to the
platform's previous fix in time (``prev``). A batch's fixes go in with one copy, and the state at each
platform's newest fix is computed for all of them by walking the links back in NumPy over the batch.

The rules are ``FixHistory``'s exactly (see its module note), and so are the numbers: the same IEEE operations
in the same order, the geodesic from ``pyproj.Geod.inv`` (the same C routine per element) and ``math.sin`` /
``math.cos``; ``FixHistory`` is kept as the test oracle. Held fixes are those of the slot's current platform no
older than ``trim_t[slot]`` (its newest appended fix minus the history span). A late fix is linked in at its
place (rare, a walk from the newest). Rows of forgotten fixes and expired platforms are dropped when the
columns are full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from riskline.tracks.history import _GEOD, VERTICAL_LOOKBACK, Kinematics

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_Scalar = TypeVar("_Scalar", bound=np.generic)
_DEG_TO_RAD = math.pi / 180.0  # exactly what ``math.radians`` multiplies by


@dataclass(frozen=True, slots=True)
class KinematicsColumns:
    """``Kinematics`` of many platforms, one row each, in the order of the slots asked for."""

    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    alt: FloatArray
    v_east: FloatArray
    v_north: FloatArray
    v_up: FloatArray


def horizontal_velocity(sog: FloatArray, cog: FloatArray) -> tuple[FloatArray, FloatArray]:
    """[m/s] (east, north) from speed and course, NaN where absent; a speed of 0 without course is at rest.
    The same numbers as ``math.sin`` / ``math.cos`` of ``math.radians`` per row."""
    both = ~(np.isnan(sog) | np.isnan(cog))
    if both.all():  # the common case: every report gives both
        radians = (cog * _DEG_TO_RAD).tolist()
        return (sog * np.fromiter(map(math.sin, radians), np.float64, len(radians)),
                sog * np.fromiter(map(math.cos, radians), np.float64, len(radians)))
    east = np.full(len(sog), np.nan)
    north = np.full(len(sog), np.nan)
    if both.any():
        radians = (cog[both] * _DEG_TO_RAD).tolist()
        speed = sog[both]
        east[both] = speed * np.fromiter(map(math.sin, radians), np.float64, len(radians))
        north[both] = speed * np.fromiter(map(math.cos, radians), np.float64, len(radians))
    at_rest = ~both & (sog == 0.0)
    east[at_rest] = 0.0
    north[at_rest] = 0.0
    return east, north


class FixLog:
    """Fixes of every slot, linked newest to oldest; one slot's fixes are strictly increasing in time."""

    def __init__(self, history_s: float, *, slots: int = 1024, capacity: int = 4096) -> None:
        self.history_s = history_s  # [s]
        self._n = 0
        self._capacity = capacity
        self.t = np.empty(capacity)  # [s]
        self.lat = np.empty(capacity)  # [deg]
        self.lon = np.empty(capacity)  # [deg]
        self.alt = np.empty(capacity)  # [m] as reported, NaN if not
        self.v_east = np.empty(capacity)  # [m/s] as reported, NaN if not
        self.v_north = np.empty(capacity)  # [m/s]
        self.v_up = np.empty(capacity)  # [m/s]
        self.prev = np.empty(capacity, dtype=np.int64)
        """Row of the slot's previous fix in time; -1 if none."""
        self.owner = np.empty(capacity, dtype=np.int64)
        """Slot of the row."""
        self.generation = np.empty(capacity, dtype=np.int64)
        """The slot's generation when the row was added: rows of an earlier platform in that slot are dead."""
        self.head = np.full(slots, -1, dtype=np.int64)
        """Row of the slot's newest fix; -1 if none."""
        self.trim_t = np.full(slots, -np.inf)  # [s] fixes older than this are forgotten
        self.alt_t = np.full(slots, -np.inf)  # [s] time of the newest fix with a finite altitude
        self.alt_v = np.full(slots, np.nan)  # [m] its altitude
        self.slot_generation = np.zeros(slots, dtype=np.int64)

    def __len__(self) -> int:
        """Rows in the columns, dead ones included."""
        return self._n

    # --- slots ---

    def grow_slots(self, size: int) -> None:
        old = len(self.head)
        if size <= old:
            return
        self.head = _grown(self.head, size, -1)
        self.trim_t = _grown(self.trim_t, size, -np.inf)
        self.alt_t = _grown(self.alt_t, size, -np.inf)
        self.alt_v = _grown(self.alt_v, size, np.nan)
        self.slot_generation = _grown(self.slot_generation, size, 0)

    def clear(self, slot: int) -> None:
        """Forget every fix of the slot (its platform expired); the slot may be given to another platform."""
        self.head[slot] = -1
        self.trim_t[slot] = -np.inf
        self.alt_t[slot] = -np.inf
        self.alt_v[slot] = np.nan
        self.slot_generation[slot] += 1

    # --- one fix ---

    def append(self, slot: int, t: float, lat: float, lon: float, alt: float, v_east: float, v_north: float,
               v_up: float) -> None:
        """Add a fix newer than every fix the slot holds (the caller checks); forget those older than the span."""
        row = self._rows(1)
        self._write(row, slot, t, lat, lon, alt, v_east, v_north, v_up)
        self.prev[row] = self.head[slot]
        self.head[slot] = row
        self.trim_t[slot] = t - self.history_s
        if math.isfinite(alt):
            self.alt_t[slot] = t
            self.alt_v[slot] = alt

    def insert(self, slot: int, t: float, lat: float, lon: float, alt: float, v_east: float, v_north: float,
               v_up: float) -> bool:
        """Add a fix older than the slot's newest (the caller checks) at its place in time; False (nothing added)
        if one at ``t`` is held already."""
        new = self._rows(1)  # first, as making room renumbers the rows
        after, row = self._place(slot, t)
        if row >= 0 and self.t[row] >= self.trim_t[slot] and self.t[row] == t:
            self._n -= 1
            return False
        self._write(new, slot, t, lat, lon, alt, v_east, v_north, v_up)
        self.prev[new] = row
        self.prev[after] = new
        if math.isfinite(alt) and t > self.alt_t[slot]:
            self.alt_t[slot] = t
            self.alt_v[slot] = alt
        return True

    def _place(self, slot: int, t: float) -> tuple[int, int]:
        """(oldest held row newer than ``t``, the row before it): where a fix at ``t`` goes."""
        after = int(self.head[slot])
        if after < 0 or not self.t[after] > t:
            raise ValueError(f"insert: {t} is not older than the newest fix of slot {slot}")
        trim = float(self.trim_t[slot])
        row = int(self.prev[after])
        while row >= 0 and self.t[row] >= trim and self.t[row] > t:
            after, row = row, int(self.prev[row])
        return after, row

    def _write(self, row: int, slot: int, t: float, lat: float, lon: float, alt: float, v_east: float,
               v_north: float, v_up: float) -> None:
        self.t[row], self.lat[row], self.lon[row], self.alt[row] = t, lat, lon, alt
        self.v_east[row], self.v_north[row], self.v_up[row] = v_east, v_north, v_up
        self.owner[row] = slot
        self.generation[row] = self.slot_generation[slot]

    # --- many fixes ---

    def extend(self, slots: IntArray, starts: IntArray, t: FloatArray, lat: FloatArray, lon: FloatArray,
               alt: FloatArray, v_east: FloatArray, v_north: FloatArray, v_up: FloatArray) -> None:
        """Add fixes grouped by slot: group ``k`` (rows ``starts[k]`` up to the next start) belongs to
        ``slots[k]``, strictly increasing in time and newer than every fix the slot holds (the caller checks)."""
        m = len(t)
        if m == 0:
            return
        first = self._rows(m)
        rows = slice(first, first + m)
        ends = np.concatenate((starts[1:], [m]))
        owner = slots.repeat(ends - starts)
        self.t[rows], self.lat[rows], self.lon[rows], self.alt[rows] = t, lat, lon, alt
        self.v_east[rows], self.v_north[rows], self.v_up[rows] = v_east, v_north, v_up
        self.owner[rows] = owner
        self.generation[rows] = self.slot_generation[owner]
        prev = np.arange(first - 1, first + m - 1, dtype=np.int64)
        prev[starts] = self.head[slots]
        self.prev[rows] = prev
        self.head[slots] = first + ends - 1
        self.trim_t[slots] = t[ends - 1] - self.history_s
        with_alt = np.where(np.isfinite(alt), np.arange(m), -1)
        newest_alt = np.maximum.reduceat(with_alt, starts)
        has = newest_alt >= starts
        self.alt_t[slots[has]] = t[newest_alt[has]]
        self.alt_v[slots[has]] = alt[newest_alt[has]]

    # --- reading ---

    def rows_of(self, slot: int) -> IntArray:
        """Rows of the fixes the slot holds, oldest first."""
        rows: list[int] = []
        row = int(self.head[slot])
        trim = float(self.trim_t[slot])
        t, prev = self.t, self.prev
        while row >= 0 and t[row] >= trim:
            rows.append(row)
            row = int(prev[row])
        return np.array(rows[::-1], dtype=np.int64)

    def kinematics(self, slot: int, min_dt: float) -> Kinematics:
        """State at the slot's newest fix, by ``FixHistory.kinematics``'s rules (one platform, row by row)."""
        t_col, prev, trim = self.t, self.prev, float(self.trim_t[slot])
        newest = int(self.head[slot])
        t, lat, lon = float(t_col[newest]), float(self.lat[newest]), float(self.lon[newest])
        v_east, v_north = float(self.v_east[newest]), float(self.v_north[newest])
        if math.isnan(v_east) or math.isnan(v_north):
            v_east = v_north = 0.0
            row = int(prev[newest])
            while row >= 0 and t_col[row] >= trim:
                if t - t_col[row] >= min_dt:
                    v_east, v_north = _derived(float(self.lon[row]), float(self.lat[row]), float(t_col[row]),
                                               t, lat, lon)
                    break
                if not (math.isnan(self.v_east[row]) or math.isnan(self.v_north[row])):
                    v_east, v_north = float(self.v_east[row]), float(self.v_north[row])
                    break
                row = int(prev[row])
        alt = float(self.alt[newest])
        v_up = float(self.v_up[newest])
        if math.isnan(v_up):
            v_up = 0.0
            row = int(prev[newest])
            steps = 0
            while row >= 0 and t_col[row] >= trim and steps < VERTICAL_LOOKBACK:
                baseline = t - float(t_col[row])
                if baseline >= min_dt and not (math.isnan(alt) or math.isnan(self.alt[row])):
                    v_up = (alt - float(self.alt[row])) / baseline
                    break
                if baseline < min_dt and not math.isnan(self.v_up[row]):
                    v_up = float(self.v_up[row])
                    break
                row = int(prev[row])
                steps += 1
        if math.isnan(alt) and self.alt_t[slot] >= trim:
            alt = float(self.alt_v[slot])
        return Kinematics(t, lat, lon, alt, v_east, v_north, v_up)

    def kinematics_of(self, slots: IntArray, min_dt: float) -> KinematicsColumns:
        """``kinematics`` of every slot given (each must hold a fix), computed over all of them at once."""
        newest = self.head[slots]
        trim = self.trim_t[slots]
        t, lat, lon = self.t[newest], self.lat[newest], self.lon[newest]
        v_east, v_north = self.v_east[newest], self.v_north[newest]
        alt, v_up = self.alt[newest], self.v_up[newest]
        prev, t_col = self.prev, self.t

        wanting = (np.isnan(v_east) | np.isnan(v_north)).nonzero()[0]
        if len(wanting):
            v_east[wanting] = 0.0
            v_north[wanting] = 0.0
            row = prev[newest[wanting]]
            derive_from: list[IntArray] = []
            derive_for: list[IntArray] = []
            while len(wanting):
                held = (row >= 0) & (t_col[row] >= trim[wanting])
                wanting, row = wanting[held], row[held]
                older = t[wanting] - t_col[row] >= min_dt
                derive_for.append(wanting[older])
                derive_from.append(row[older])
                reported = ~older & ~(np.isnan(self.v_east[row]) | np.isnan(self.v_north[row]))
                v_east[wanting[reported]] = self.v_east[row[reported]]
                v_north[wanting[reported]] = self.v_north[row[reported]]
                going_on = ~(older | reported)
                wanting, row = wanting[going_on], prev[row[going_on]]
            which, earlier = np.concatenate(derive_for), np.concatenate(derive_from)
            if len(which):
                v_east[which], v_north[which] = _derived_many(
                    self.lon[earlier], self.lat[earlier], t_col[earlier], t[which], lat[which], lon[which])

        climbing = np.isnan(v_up).nonzero()[0]
        if len(climbing):
            v_up[climbing] = 0.0
            row = prev[newest[climbing]]
            for _ in range(VERTICAL_LOOKBACK):
                held = (row >= 0) & (t_col[row] >= trim[climbing])
                climbing, row = climbing[held], row[held]
                if not len(climbing):
                    break
                baseline = t[climbing] - t_col[row]
                far = baseline >= min_dt
                own_alt = alt[climbing]
                derived = far & ~(np.isnan(own_alt) | np.isnan(self.alt[row]))
                v_up[climbing[derived]] = (own_alt[derived] - self.alt[row[derived]]) / baseline[derived]
                reported = ~far & ~np.isnan(self.v_up[row])
                v_up[climbing[reported]] = self.v_up[row[reported]]
                # further back the baseline only grows: a fix without its own altitude can derive nothing more
                going_on = ~(derived | reported | (far & np.isnan(own_alt)))
                climbing, row = climbing[going_on], prev[row[going_on]]

        carried = np.isnan(alt) & (self.alt_t[slots] >= trim)
        alt[carried] = self.alt_v[slots[carried]]
        return KinematicsColumns(t, lat, lon, alt, v_east, v_north, v_up)

    # --- room ---

    def _rows(self, count: int) -> int:
        """Room for ``count`` more rows at the end; the first one's index."""
        if self._n + count > self._capacity:
            self._compact(count)
        first = self._n
        self._n += count
        return first

    def _compact(self, extra: int) -> None:
        """Drop the dead rows (forgotten fixes, expired platforms), keeping order and links; grow if need be."""
        n = self._n
        owner = self.owner[:n]
        alive = (self.generation[:n] == self.slot_generation[owner]) & (self.t[:n] >= self.trim_t[owner])
        kept = np.flatnonzero(alive)
        live = len(kept)
        capacity = self._capacity
        while live + extra > capacity // 2:
            capacity *= 2
        renumber = np.full(n + 1, -1, dtype=np.int64)  # renumber[-1] is the "none" link
        renumber[kept] = np.arange(live)
        for name in ("t", "lat", "lon", "alt", "v_east", "v_north", "v_up", "owner", "generation"):
            column = getattr(self, name)
            fresh = np.empty(capacity, dtype=column.dtype)
            fresh[:live] = column[kept]
            setattr(self, name, fresh)
        prev = np.empty(capacity, dtype=np.int64)
        prev[:live] = renumber[self.prev[kept]]
        self.prev = prev
        self.head = np.where(self.head >= 0, renumber[self.head], -1)
        self._n = live
        self._capacity = capacity


def _derived(lon0: float, lat0: float, t0: float, t: float, lat: float, lon: float) -> tuple[float, float]:
    """[m/s] (east, north) from an earlier fix to (t, lat, lon), heading taken on arrival (as ``FixHistory``)."""
    _, back_azimuth, distance = _GEOD.inv(lon0, lat0, lon, lat)
    speed = distance / (t - t0)  # [m/s]
    heading = math.radians(back_azimuth + 180.0)
    return speed * math.sin(heading), speed * math.cos(heading)


def _derived_many(lon0: FloatArray, lat0: FloatArray, t0: FloatArray, t: FloatArray, lat: FloatArray,
                  lon: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``_derived`` for many pairs of fixes, with the same numbers."""
    _, back_azimuth, distance = _GEOD.inv(lon0, lat0, lon, lat)
    speed = np.asarray(distance) / (t - t0)  # [m/s]
    heading = ((np.asarray(back_azimuth) + 180.0) * _DEG_TO_RAD).tolist()
    count = len(heading)
    return (speed * np.fromiter(map(math.sin, heading), np.float64, count),
            speed * np.fromiter(map(math.cos, heading), np.float64, count))


def _grown(array: npt.NDArray[_Scalar], size: int, fill: object) -> npt.NDArray[_Scalar]:
    bigger = np.full(size, fill, dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger
