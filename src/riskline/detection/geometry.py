"""Vectorised geometry of track pairs: relative position and motion, closest approach, cylinder entry.

Every function is pure and works on whole arrays of pairs at once; results are named frozen dataclasses whose
arrays have one row per pair, in the order of the index arrays ``i`` and ``j`` given.

Design note — what is computed and what is approximated
---------------------------------------------------------
Motion model. Each track moves from its last fix (``Snapshot.t_fix``) at a constant *latitude rate* and
*longitude rate*, its east/north velocity converted once, at the latitude of the fix, with the WGS 84 radii of
curvature; altitude changes at ``v_up``. This differs from a constant-heading (rhumb) path, whose longitude rate
drifts with sec φ, by about ½·tan φ·Δφ of the eastward distance travelled: about 0.5 % for the 31 km an airliner
covers in 120 s or a fast ship in 30 minutes at 66° N — far less than what a 1 kn error in a reported speed does
(926 m in 30 minutes). The candidate-pair search (``pairs.py``) uses the very same model, so its guarantee and
this geometry agree exactly.

Local plane. A pair is measured in a local tangent plane centred on the pair's midpoint at ``t``: east
``x = N(φm)·cos φm·Δλ`` and north ``y = M(φm)·Δφ``, with M and N the WGS 84 meridian and prime-vertical radii
of curvature at the pair's mean latitude φm (an equirectangular projection about φm). Because both tracks move
linearly in (φ, λ), their relative motion in that fixed plane is exactly linear in time, so closest approach
and cylinder entry have closed forms (a quadratic horizontally, a linear function vertically). Against the
WGS 84 geodesic (``pyproj.Geod.inv``) the horizontal distance is within 0.01 % for separations up to 100 km
between latitudes 40° and 66° (0.002 % up to 50 km; ``tests/detection/test_geometry.py`` checks 50 km to 0.01 %),
and within 0.04 % up to 100 km anywhere between 0° and 80°; the error grows roughly as
(separation / Earth radius)²·tan²φ, so keep to |φ| < 85°. (A sphere of mean radius would be off by up to 0.35 %.)
Longitude differences are wrapped into [-180°, 180°), so a pair straddling the antimeridian is measured
correctly here (the candidate search does not look across it; see ``pairs.py``).

Direction and units. ``dx, dy, dz`` are the position of ``j`` relative to ``i`` (east, north, up) [m];
``dvx, dvy, dvz`` the velocity of ``j`` relative to ``i`` [m/s]; times are seconds relative to the common
time ``t`` (negative = before ``t``). This is BlueSky's state-based conflict geometry
(``bluesky/traffic/asas/statebased.py``) restricted to the pairs asked for, with named results instead of
tuples and no sentinel values: "never" is NaN, "for ever" is ±inf.

Degenerate cases are explicit: a relative speed below ``STILL_MPS`` counts as no relative motion (``tcpa`` 0,
separation constant); a path that only touches the cylinder enters and exits at the same instant. No function
emits floating-point warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskline.tracks.snapshot import BoolArray, FloatArray, IntArray, Snapshot

WGS84_A = 6_378_137.0  # [m] semi-major axis, exact by definition
WGS84_F = 1.0 / 298.257223563  # flattening, exact by definition
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared
MIN_MERIDIAN_RADIUS = WGS84_A * (1.0 - WGS84_E2)  # [m] M at the equator, the smallest it gets
STILL_MPS = 1e-6  # [m/s] a relative speed below this is no relative motion (1.8 mm in 30 minutes)
_MIN_COS_LAT = 1e-12  # cos φ floor, so a fix exactly at a pole yields a finite (huge) longitude rate
_RAD_A_POLAR = float(np.radians(WGS84_A * (1.0 - WGS84_E2)))  # [m/deg] a·(1 − e²)·π/180

FloatLike = float | FloatArray


def meridian_radius(lat_deg: FloatLike) -> FloatArray:
    """[m] WGS 84 radius of curvature along the meridian, M(φ), for latitude ``lat_deg`` [deg]."""
    sin_lat = np.sin(np.radians(lat_deg))
    w_sq = 1.0 - WGS84_E2 * sin_lat * sin_lat
    return np.asarray(WGS84_A * (1.0 - WGS84_E2) / (w_sq * np.sqrt(w_sq)), dtype=np.float64)


def parallel_radius(lat_deg: FloatLike) -> FloatArray:
    """[m] radius of the parallel of latitude ``lat_deg`` [deg], N(φ)·cos φ: metres per radian of longitude.

    It decreases monotonically with |φ| (0 at the poles), which ``pairs.py`` relies on for conservative bounds.
    """
    lat = np.radians(lat_deg)
    sin_lat = np.sin(lat)
    return np.asarray(
        WGS84_A * np.maximum(np.cos(lat), _MIN_COS_LAT) / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat),
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class LocalScale:
    """Metres per degree at given latitudes, one row per latitude."""

    north: FloatArray
    """[m/deg] metres per degree of latitude: M(φ)·π/180."""
    east: FloatArray
    """[m/deg] metres per degree of longitude: N(φ)·cos φ·π/180."""


def local_scale(lat_deg: FloatArray) -> LocalScale:
    """Metres per degree of latitude and of longitude at ``lat_deg`` [deg] (WGS 84), one sine for both."""
    lat = np.radians(lat_deg)
    sin_lat = np.sin(lat)
    w_sq = 1.0 - WGS84_E2 * sin_lat * sin_lat
    w = np.sqrt(w_sq)
    return LocalScale(
        north=_RAD_A_POLAR / (w_sq * w),
        east=np.radians(WGS84_A) * np.maximum(np.cos(lat), _MIN_COS_LAT) / w,
    )


@dataclass(frozen=True, slots=True)
class TrackMotion:
    """Every track of a snapshot moved to the common time ``t``, as linear motion in latitude and longitude.

    Arrays have one row per snapshot row. The position at ``t + τ`` is ``lat + lat_rate·τ``,
    ``lon + lon_rate·τ``, ``alt + v_up·τ``.
    """

    t: float
    """[s] POSIX time the positions are for."""
    lat: FloatArray
    """[deg] latitude at ``t``."""
    lon: FloatArray
    """[deg] longitude at ``t``, in [-180, 180)."""
    alt: FloatArray
    """[m] altitude at ``t``."""
    lat_rate: FloatArray
    """[deg/s] northward rate of latitude."""
    lon_rate: FloatArray
    """[deg/s] eastward rate of longitude."""
    v_up: FloatArray
    """[m/s] climb rate."""

    def __len__(self) -> int:
        return len(self.lat)


def track_motion(snapshot: Snapshot, t: float) -> TrackMotion:
    """Dead-reckon every track of ``snapshot`` from its own ``t_fix`` to ``t`` [s] (see the module's design note)."""
    lat_rate = np.degrees(snapshot.v_north / meridian_radius(snapshot.lat))
    lon_rate = np.degrees(snapshot.v_east / parallel_radius(snapshot.lat))
    elapsed = t - snapshot.t_fix  # [s] per track, negative for a fix later than t
    lon = snapshot.lon + lon_rate * elapsed
    return TrackMotion(
        t=t,
        lat=snapshot.lat + lat_rate * elapsed,
        lon=(lon + 180.0) % 360.0 - 180.0,
        alt=snapshot.alt + snapshot.v_up * elapsed,
        lat_rate=lat_rate,
        lon_rate=lon_rate,
        v_up=np.asarray(snapshot.v_up, dtype=np.float64),
    )


def paths_meet_box(
    motion: TrackMotion, rows: IntArray, tau_first: float, tau_last: float, bounds: tuple[float, float, float, float]
) -> BoolArray:
    """Per track of ``rows``: whether its positions ``lat + lat_rate·τ``, ``lon + lon_rate·τ`` for some τ [s] in
    ``[tau_first, tau_last]`` can lie in the box ``bounds`` = (west, south, east, north) [deg], borders included
    (longitudes unwrapped, as the samples of the area rules are). Exact for any samples computed so: a product and
    a sum round monotonically, so no sample lies outside the box of the path's two ends, which is what is tested.
    """
    west, south, east, north = bounds
    lat_first = motion.lat[rows] + motion.lat_rate[rows] * tau_first
    lat_last = motion.lat[rows] + motion.lat_rate[rows] * tau_last
    lon_first = motion.lon[rows] + motion.lon_rate[rows] * tau_first
    lon_last = motion.lon[rows] + motion.lon_rate[rows] * tau_last
    return (
        (np.minimum(lat_first, lat_last) <= north)
        & (np.maximum(lat_first, lat_last) >= south)
        & (np.minimum(lon_first, lon_last) <= east)
        & (np.maximum(lon_first, lon_last) >= west)
    )


def within_box(lat: FloatArray, lon: FloatArray, bounds: tuple[float, float, float, float]) -> BoolArray:
    """Whether each point (``lat``, ``lon``) [deg] lies in ``bounds`` = (west, south, east, north), borders included."""
    west, south, east, north = bounds
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


@dataclass(frozen=True, slots=True)
class MidPoint:
    """The midpoints of pairs at one time, one row per pair."""

    lat: FloatArray
    """[deg]"""
    lon: FloatArray
    """[deg] in [-180, 180)."""


@dataclass(frozen=True, slots=True)
class PairGeometry:
    """Relative position and motion of pairs ``(i[k], j[k])`` at the common time ``t``, in the pair's local plane.

    Every array has one row per pair. Relative quantities are "j as seen from i".
    """

    t: float
    """[s] POSIX time everything is measured at; other times are relative to it."""
    i: IntArray
    """Snapshot row of the first track of each pair."""
    j: IntArray
    """Snapshot row of the second track of each pair."""
    dx: FloatArray
    """[m] east position of j relative to i."""
    dy: FloatArray
    """[m] north position of j relative to i."""
    dz: FloatArray
    """[m] altitude of j minus altitude of i."""
    dvx: FloatArray
    """[m/s] east velocity of j relative to i."""
    dvy: FloatArray
    """[m/s] north velocity of j relative to i."""
    dvz: FloatArray
    """[m/s] climb rate of j minus climb rate of i."""
    horizontal_m: FloatArray
    """[m] horizontal separation at ``t``."""
    vertical_m: FloatArray
    """[m] absolute vertical separation at ``t``."""
    distance_m: FloatArray
    """[m] 3-D separation at ``t``."""
    tcpa_s: FloatArray
    """[s] time of 3-D closest approach relative to ``t``, unclipped (negative = in the past); 0 without relative
    motion."""
    mid_lat: FloatArray
    """[deg] latitude of the pair's midpoint at ``t`` (the centre of its local plane)."""
    mid_lon: FloatArray
    """[deg] longitude of the pair's midpoint at ``t``, in [-180, 180)."""
    mid_lat_rate: FloatArray
    """[deg/s] rate of ``mid_lat``."""
    mid_lon_rate: FloatArray
    """[deg/s] rate of ``mid_lon``."""

    def __len__(self) -> int:
        return len(self.i)

    def take(self, rows: IntArray | BoolArray) -> PairGeometry:
        """The pairs selected by ``rows`` (indices or a boolean mask over pairs), every array alike."""
        return PairGeometry(
            t=self.t,
            i=self.i[rows],
            j=self.j[rows],
            dx=self.dx[rows],
            dy=self.dy[rows],
            dz=self.dz[rows],
            dvx=self.dvx[rows],
            dvy=self.dvy[rows],
            dvz=self.dvz[rows],
            horizontal_m=self.horizontal_m[rows],
            vertical_m=self.vertical_m[rows],
            distance_m=self.distance_m[rows],
            tcpa_s=self.tcpa_s[rows],
            mid_lat=self.mid_lat[rows],
            mid_lon=self.mid_lon[rows],
            mid_lat_rate=self.mid_lat_rate[rows],
            mid_lon_rate=self.mid_lon_rate[rows],
        )

    def midpoint_at(self, tau: FloatLike) -> MidPoint:
        """The pairs' midpoints at ``t + tau`` [s] (``tau`` a scalar or one value per pair)."""
        lon = self.mid_lon + self.mid_lon_rate * tau
        return MidPoint(lat=self.mid_lat + self.mid_lat_rate * tau, lon=(lon + 180.0) % 360.0 - 180.0)


def pair_geometry(snapshot: Snapshot, i: IntArray, j: IntArray, t: float) -> PairGeometry:
    """Geometry of the pairs ``(i[k], j[k])`` of ``snapshot`` rows, both dead-reckoned to ``t`` [s]."""
    return geometry_of_pairs(track_motion(snapshot, t), i, j)


def geometry_of_pairs(motion: TrackMotion, i: IntArray, j: IntArray) -> PairGeometry:
    """Like ``pair_geometry``, from tracks already moved to a common time (reuse one ``TrackMotion`` per tick)."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    if i.shape != j.shape or i.ndim != 1:
        raise ValueError(f"pair indices must be two 1-D arrays of one length, got shapes {i.shape} and {j.shape}")
    lat_i, lat_j = motion.lat[i], motion.lat[j]
    delta_lon = (motion.lon[j] - motion.lon[i] + 180.0) % 360.0 - 180.0  # [deg] shortest way round
    mid_lat = 0.5 * (lat_i + lat_j)
    scale = local_scale(mid_lat)
    dx = scale.east * delta_lon
    dy = scale.north * (lat_j - lat_i)
    dz = motion.alt[j] - motion.alt[i]
    dvx = scale.east * (motion.lon_rate[j] - motion.lon_rate[i])
    dvy = scale.north * (motion.lat_rate[j] - motion.lat_rate[i])
    dvz = motion.v_up[j] - motion.v_up[i]
    horizontal_sq = dx * dx + dy * dy
    mid_lon = motion.lon[i] + 0.5 * delta_lon
    return PairGeometry(
        t=motion.t,
        i=i,
        j=j,
        dx=dx,
        dy=dy,
        dz=dz,
        dvx=dvx,
        dvy=dvy,
        dvz=dvz,
        horizontal_m=np.sqrt(horizontal_sq),
        vertical_m=np.abs(dz),
        distance_m=np.sqrt(horizontal_sq + dz * dz),
        tcpa_s=_time_of_minimum(dx * dvx + dy * dvy + dz * dvz, dvx * dvx + dvy * dvy + dvz * dvz),
        mid_lat=mid_lat,
        mid_lon=(mid_lon + 180.0) % 360.0 - 180.0,
        mid_lat_rate=0.5 * (motion.lat_rate[i] + motion.lat_rate[j]),
        mid_lon_rate=0.5 * (motion.lon_rate[i] + motion.lon_rate[j]),
    )


def _time_of_minimum(position_dot_velocity: FloatArray, speed_sq: FloatArray) -> FloatArray:
    """[s] unclipped time minimising |p + v·τ|, from p·v [m²/s] and |v|² [m²/s²]; 0 where |v| < STILL_MPS."""
    moving = speed_sq >= STILL_MPS * STILL_MPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(moving, -position_dot_velocity / speed_sq, 0.0)


@dataclass(frozen=True, slots=True)
class Approach:
    """Closest approach of pairs within a time window, one row per pair; times relative to ``PairGeometry.t``."""

    t_cpa_s: FloatArray
    """[s] time of minimum 3-D distance within the window (``tcpa_s`` clipped to it; 0 clipped to it when the
    pair has no relative motion)."""
    distance_m: FloatArray
    """[m] 3-D distance at ``t_cpa_s`` — the minimum over the window."""
    horizontal_m: FloatArray
    """[m] horizontal distance at ``t_cpa_s``."""
    vertical_m: FloatArray
    """[m] absolute vertical distance at ``t_cpa_s``."""
    t_cpa_horizontal_s: FloatArray
    """[s] time of minimum horizontal distance within the window (what sea rules use)."""
    horizontal_min_m: FloatArray
    """[m] minimum horizontal distance over the window, reached at ``t_cpa_horizontal_s``."""


def closest_approach(geom: PairGeometry, t_from: FloatLike, t_to: FloatLike) -> Approach:
    """Closest approach of each pair within [t_from, t_to] [s relative to ``geom.t``].

    The window may begin in the past (e.g. ``-tick`` to measure what happened since the previous tick) and may be
    given per pair. The unclipped time of closest approach is clipped to the window, which is exact because the
    squared distance is a convex quadratic in time.
    """
    start, end = _window(t_from, t_to)
    t_cpa = np.clip(geom.tcpa_s, start, end)
    dx = geom.dx + geom.dvx * t_cpa
    dy = geom.dy + geom.dvy * t_cpa
    dz = geom.dz + geom.dvz * t_cpa
    horizontal = np.sqrt(dx * dx + dy * dy)
    t_cpa_horizontal = np.clip(
        _time_of_minimum(geom.dx * geom.dvx + geom.dy * geom.dvy, geom.dvx * geom.dvx + geom.dvy * geom.dvy),
        start,
        end,
    )
    hx = geom.dx + geom.dvx * t_cpa_horizontal
    hy = geom.dy + geom.dvy * t_cpa_horizontal
    return Approach(
        t_cpa_s=t_cpa,
        distance_m=np.sqrt(horizontal * horizontal + dz * dz),
        horizontal_m=horizontal,
        vertical_m=np.abs(dz),
        t_cpa_horizontal_s=t_cpa_horizontal,
        horizontal_min_m=np.sqrt(hx * hx + hy * hy),
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """When pairs are inside a vertical cylinder around one another, one row per pair; times relative to ``t``.

    The cylinder is closed: a separation exactly equal to the radius or the half-height counts as inside.
    """

    entry_s: FloatArray
    """[s] first time within the window at which the pair is inside (the window start if inside then);
    NaN where it is not inside at any time of the window."""
    exit_s: FloatArray
    """[s] time the pair leaves the cylinder after ``entry_s``, NOT clipped to the window: may lie after the
    window's end, and is +inf where the pair never leaves (no relative motion); NaN where there is no entry."""
    inside_now: BoolArray
    """True where the pair is inside at ``t`` itself (relative time 0), whatever the window."""

    @property
    def enters(self) -> BoolArray:
        """True where the pair is inside at some time of the window."""
        return ~np.isnan(self.entry_s)


def cylinder_entry(
    geom: PairGeometry,
    horizontal_m: FloatLike,
    vertical_m: FloatLike,
    t_from: FloatLike,
    t_to: FloatLike,
) -> Entry:
    """First time within [t_from, t_to] [s relative to ``geom.t``] that each pair is within ``horizontal_m`` [m]
    horizontally AND within ``vertical_m`` [m] vertically — inside the cylinder — and when it leaves.

    ``horizontal_m`` and ``vertical_m`` are scalars or one value per pair; ``vertical_m`` may be +inf for a
    horizontal-only rule (between ships). The times inside form one interval (the intersection of the interval
    where a convex quadratic is below R² and the interval where a linear function is within ±H), so entry and
    exit are exact.
    """
    start, end = _window(t_from, t_to)
    radius = np.asarray(horizontal_m, dtype=np.float64)
    half_height = np.asarray(vertical_m, dtype=np.float64)
    if np.any(np.isnan(radius)) or np.any(radius < 0) or np.any(np.isinf(radius)):
        raise ValueError("cylinder radius horizontal_m must be finite and >= 0")
    if np.any(np.isnan(half_height)) or np.any(half_height < 0):
        raise ValueError("cylinder half-height vertical_m must be >= 0 (it may be +inf)")
    horizontal_in, horizontal_out = _horizontal_interval(geom, radius)
    vertical_in, vertical_out = _vertical_interval(geom, half_height)
    inside_from = np.maximum(horizontal_in, vertical_in)
    inside_until = np.minimum(horizontal_out, vertical_out)
    enters = (inside_from <= inside_until) & (inside_from <= end) & (inside_until >= start)
    return Entry(
        entry_s=np.where(enters, np.maximum(inside_from, start), np.nan),
        exit_s=np.where(enters, inside_until, np.nan),
        inside_now=(geom.horizontal_m <= radius) & (geom.vertical_m <= half_height),
    )


def _horizontal_interval(geom: PairGeometry, radius: FloatArray) -> tuple[FloatArray, FloatArray]:
    """[s] the interval where |(dx, dy) + (dvx, dvy)·τ| <= radius; (+inf, -inf) when empty."""
    speed_sq = geom.dvx * geom.dvx + geom.dvy * geom.dvy
    moving = speed_sq >= STILL_MPS * STILL_MPS
    t_min = _time_of_minimum(geom.dx * geom.dvx + geom.dy * geom.dvy, speed_sq)
    closest_x = geom.dx + geom.dvx * t_min
    closest_y = geom.dy + geom.dvy * t_min
    slack = radius * radius - (closest_x * closest_x + closest_y * closest_y)  # [m²] >= 0 where the path gets in
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half_width = np.where(moving, np.sqrt(np.maximum(slack, 0.0) / speed_sq), np.inf)
    reaches = slack >= 0.0
    return (
        np.where(reaches, t_min - half_width, np.inf),
        np.where(reaches, t_min + half_width, -np.inf),
    )


def _vertical_interval(geom: PairGeometry, half_height: FloatArray) -> tuple[FloatArray, FloatArray]:
    """[s] the interval where |dz + dvz·τ| <= half_height; (+inf, -inf) when empty, (-inf, +inf) when always."""
    climbing = np.abs(geom.dvz) >= STILL_MPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        crossing_low = (-half_height - geom.dz) / geom.dvz
        crossing_high = (half_height - geom.dz) / geom.dvz
    always = np.abs(geom.dz) <= half_height
    still_in = np.where(always, -np.inf, np.inf)
    still_out = np.where(always, np.inf, -np.inf)
    return (
        np.where(climbing, np.minimum(crossing_low, crossing_high), still_in),
        np.where(climbing, np.maximum(crossing_low, crossing_high), still_out),
    )


def _window(t_from: FloatLike, t_to: FloatLike) -> tuple[FloatArray, FloatArray]:
    start = np.asarray(t_from, dtype=np.float64)
    end = np.asarray(t_to, dtype=np.float64)
    if np.any(np.isnan(start)) or np.any(np.isnan(end)) or np.any(start > end):
        raise ValueError("time window must satisfy t_from <= t_to (no NaN)")
    return start, end


__all__ = [
    "MIN_MERIDIAN_RADIUS",
    "STILL_MPS",
    "Approach",
    "Entry",
    "LocalScale",
    "MidPoint",
    "PairGeometry",
    "TrackMotion",
    "closest_approach",
    "cylinder_entry",
    "geometry_of_pairs",
    "local_scale",
    "meridian_radius",
    "pair_geometry",
    "parallel_radius",
    "paths_meet_box",
    "track_motion",
    "within_box",
]
