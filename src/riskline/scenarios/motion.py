"""Exact platform motion for the scenario test doubles: legs flown on the WGS-84 ellipsoid.

Design note. Every position comes from ``pyproj.Geod.fwd`` and is therefore exact on the ellipsoid:

- a straight leg is a geodesic flown at constant speed: ``fwd(ref, course, speed·τ)``;
- a constant-rate turn is the circle of radius ``r = v/ω`` drawn in the tangent plane at the leg's reference
  point and carried onto the ellipsoid along its chords: ``fwd(ref, course + φ/2, 2r·sin(φ/2))``, ``φ = ω·τ``
  (an azimuthal-equidistant map about the reference; over a turn's few kilometres the shape error is < 1 mm);
- a relative motion (an attack run over a ship, an interceptor formating on its target) is an offset from the
  other platform's exact position, ``fwd(target(t), bearing, |offset|)``: the separation of the two is exactly
  ``|offset|`` whatever the target does, which is what lets a reconstruction hit a reported 1.5 m.

A motion is anchored on one state (in an encounter, the state at closest approach): legs after the anchor are
flown forward from it and legs before it backward (the same formulas with a negative ``τ``), so the anchor is
exact by construction whatever manoeuvres come before it. Speed, course and vertical rate are analytic on arc
legs (geodesic forward azimuth plus half the turned angle) and the central difference of the exact position
(±10 ms, on the ellipsoid) on relative legs, so dead reckoning from a fix on a straight leg lands on the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from pyproj import Geod

from riskline.scenarios.errors import GeometryError

FloatArray = npt.NDArray[np.float64]

GEOD = Geod(ellps="WGS84")
STANDARD_TURN_RATE = 3.0  # [deg/s] rate-one turn
_DIFF_STEP = 0.01  # [s] half-width of the central difference on relative legs


@dataclass(frozen=True, slots=True)
class State:
    """Where a platform is and how it moves at one instant."""

    t: float
    """[s] POSIX time."""
    lat: float
    """[deg]"""
    lon: float
    """[deg]"""
    alt_m: float = 0.0
    """[m] above mean sea level (0 for ships)."""
    course_deg: float = 0.0
    """[deg] true course over ground."""
    speed_mps: float = 0.0
    """[m/s] speed over ground."""
    vrate_mps: float = 0.0
    """[m/s] climb positive."""


@dataclass(frozen=True, slots=True)
class Straight:
    """Fly a geodesic for ``duration_s``; speed and course default to the current ones, the leg is level unless
    ``vrate_mps`` is given. A leg's course is taken where it joins the anchor side: at its start for legs flown
    after the anchor, at its end for legs before it."""

    duration_s: float
    speed_mps: float | None = None
    course_deg: float | None = None
    vrate_mps: float = 0.0


@dataclass(frozen=True, slots=True)
class Turn:
    """A constant-rate turn; ``rate_deg_s`` positive turns right (clockwise seen from above)."""

    duration_s: float
    rate_deg_s: float
    speed_mps: float | None = None
    vrate_mps: float = 0.0

    @staticmethod
    def by(angle_deg: float, rate_deg_s: float = STANDARD_TURN_RATE, speed_mps: float | None = None) -> Turn:
        """Turn through ``angle_deg`` (positive right) at ``|rate_deg_s|``."""
        if rate_deg_s == 0:
            raise GeometryError("Turn.by: rate_deg_s must not be 0")
        rate = math.copysign(abs(rate_deg_s), angle_deg)
        return Turn(duration_s=abs(angle_deg / rate_deg_s), rate_deg_s=rate, speed_mps=speed_mps)


@dataclass(frozen=True, slots=True)
class Hold:
    """Stay in place (a ship stopped, a helicopter hovering): speed over ground 0, course and altitude kept."""

    duration_s: float


@dataclass(frozen=True, slots=True)
class Racetrack:
    """A holding or orbit pattern: ``laps`` times (straight, 180° turn, straight, 180° turn)."""

    laps: int
    straight_s: float
    rate_deg_s: float = STANDARD_TURN_RATE
    """Positive: right-hand pattern."""

    def legs(self) -> tuple[Straight | Turn, ...]:
        turn = Turn.by(math.copysign(180.0, self.rate_deg_s), abs(self.rate_deg_s))
        lap = (Straight(self.straight_s), turn, Straight(self.straight_s), turn)
        return lap * self.laps


Leg = Straight | Turn | Hold | Racetrack


@dataclass(frozen=True, slots=True)
class Positions:
    lat: FloatArray
    """[deg]"""
    lon: FloatArray
    """[deg]"""
    alt_m: FloatArray
    """[m]"""


@dataclass(frozen=True, slots=True)
class Kinematics:
    """Exact state at each of ``t``."""

    t: FloatArray
    """[s]"""
    lat: FloatArray
    """[deg]"""
    lon: FloatArray
    """[deg]"""
    alt_m: FloatArray
    """[m]"""
    speed_mps: FloatArray
    """[m/s]"""
    course_deg: FloatArray
    """[deg] in [0, 360)."""
    vrate_mps: FloatArray
    """[m/s]"""


def _fwd(
    lat: FloatArray, lon: FloatArray, az: FloatArray, dist: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Geodesic forward problem with signed distances; returns (lat, lon, back azimuth at the end point)."""
    backwards = dist < 0
    az = np.where(backwards, az + 180.0, az)
    lon2, lat2, back = GEOD.fwd(lon, lat, az, np.abs(dist))
    return np.asarray(lat2, dtype=float), np.asarray(lon2, dtype=float), np.asarray(back, dtype=float)


class Segment:
    """One piece of a trajectory over ``[t0, t1]``; its formulas extend smoothly beyond it."""

    t0: float
    t1: float

    def positions(self, t: FloatArray) -> Positions:
        raise NotImplementedError

    def kinematics(self, t: FloatArray) -> Kinematics:
        raise NotImplementedError


class ArcSegment(Segment):
    """A straight leg, a constant-rate turn or a hold, referred to one exact state ``ref``."""

    def __init__(self, t0: float, t1: float, ref: State, rate_deg_s: float, *, moving: bool = True) -> None:
        self.t0, self.t1 = t0, t1
        self.ref = ref
        self.rate_deg_s = rate_deg_s
        self.moving = moving and ref.speed_mps > 0

    def _chord(self, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(signed chord length [m], its azimuth at ref [deg], turned angle [deg]) after ``dt`` seconds."""
        ref = self.ref
        if not self.moving:
            zero = np.zeros_like(dt)
            return zero, np.full_like(dt, ref.course_deg), zero
        turned = self.rate_deg_s * dt
        if self.rate_deg_s == 0:
            return ref.speed_mps * dt, np.full_like(dt, ref.course_deg), turned
        radius = ref.speed_mps / math.radians(abs(self.rate_deg_s))
        chord = 2.0 * radius * np.sin(np.radians(turned) / 2.0) * math.copysign(1.0, self.rate_deg_s)
        return chord, ref.course_deg + turned / 2.0, turned

    def positions(self, t: FloatArray) -> Positions:
        ref = self.ref
        dt = t - ref.t
        chord, az, _ = self._chord(dt)
        lat, lon, _ = _fwd(np.full_like(dt, ref.lat), np.full_like(dt, ref.lon), az, chord)
        return Positions(lat=lat, lon=lon, alt_m=ref.alt_m + ref.vrate_mps * dt)

    def kinematics(self, t: FloatArray) -> Kinematics:
        ref = self.ref
        dt = t - ref.t
        chord, az, turned = self._chord(dt)
        lat, lon, back = _fwd(np.full_like(dt, ref.lat), np.full_like(dt, ref.lon), az, chord)
        # The chord's direction of travel at the end point, then half the turned angle beyond it.
        chord_course = np.where(chord > 0, back + 180.0, back)
        course = np.where(chord == 0, ref.course_deg + turned, chord_course + turned / 2.0) % 360.0
        speed = np.full_like(dt, ref.speed_mps if self.moving else 0.0)
        return Kinematics(
            t=t,
            lat=lat,
            lon=lon,
            alt_m=ref.alt_m + ref.vrate_mps * dt,
            speed_mps=speed,
            course_deg=course,
            vrate_mps=np.full_like(dt, ref.vrate_mps),
        )

    def state_at(self, t: float) -> State:
        k = self.kinematics(np.array([t], dtype=float))
        return replace(
            self.ref,
            t=t,
            lat=float(k.lat[0]),
            lon=float(k.lon[0]),
            alt_m=float(k.alt_m[0]),
            course_deg=float(k.course_deg[0]),
        )


OffsetFunction = Callable[[FloatArray], tuple[FloatArray, FloatArray, FloatArray]]
"""t [s] → (along [m], right [m], up [m]) in the relative frame."""


class RelativeSegment(Segment):
    """A platform placed at an offset from another platform's exact position.

    The offset's axes are ``along`` a bearing and to its ``right``: the bearing is fixed (``heading_deg``) or, when
    ``heading_deg`` is None, the target's own course at each instant (a body frame, for formation flying).
    """

    def __init__(
        self, t0: float, t1: float, target: Trajectory, offset: OffsetFunction, heading_deg: float | None
    ) -> None:
        self.t0, self.t1 = t0, t1
        self.target = target
        self.offset = offset
        self.heading_deg = heading_deg

    def positions(self, t: FloatArray) -> Positions:
        if self.heading_deg is None:
            anchor = self.target.kinematics(t)
            bearing = anchor.course_deg
            lat0, lon0, alt0 = anchor.lat, anchor.lon, anchor.alt_m
        else:
            where = self.target.positions(t)
            bearing = np.full_like(t, self.heading_deg)
            lat0, lon0, alt0 = where.lat, where.lon, where.alt_m
        along, right, up = self.offset(t)
        az = bearing + np.degrees(np.arctan2(right, along))
        lat, lon, _ = _fwd(lat0, lon0, az, np.hypot(along, right))
        return Positions(lat=lat, lon=lon, alt_m=alt0 + up)

    def kinematics(self, t: FloatArray) -> Kinematics:
        here = self.positions(t)
        before = self.positions(t - _DIFF_STEP)
        after = self.positions(t + _DIFF_STEP)
        az_out, az_back, dist = GEOD.inv(before.lon, before.lat, after.lon, after.lat)
        az_out = np.asarray(az_out, dtype=float)
        az_in = np.asarray(az_back, dtype=float) + 180.0
        # Circular mean of the course at both ends of the short chord: the course at its middle.
        course = (
            np.degrees(
                np.arctan2(
                    np.sin(np.radians(az_out)) + np.sin(np.radians(az_in)),
                    np.cos(np.radians(az_out)) + np.cos(np.radians(az_in)),
                )
            )
            % 360.0
        )
        return Kinematics(
            t=t,
            lat=here.lat,
            lon=here.lon,
            alt_m=here.alt_m,
            speed_mps=np.asarray(dist, dtype=float) / (2 * _DIFF_STEP),
            course_deg=course,
            vrate_mps=(after.alt_m - before.alt_m) / (2 * _DIFF_STEP),
        )

    def state_at(self, t: float) -> State:
        k = self.kinematics(np.array([t], dtype=float))
        return State(
            t=t,
            lat=float(k.lat[0]),
            lon=float(k.lon[0]),
            alt_m=float(k.alt_m[0]),
            course_deg=float(k.course_deg[0]),
            speed_mps=float(k.speed_mps[0]),
            vrate_mps=float(k.vrate_mps[0]),
        )


class Trajectory:
    """A platform's whole motion: contiguous segments over ``[start, end]``, evaluable at any time (the first and
    last segments extend their formulas beyond the span)."""

    def __init__(self, segments: Sequence[Segment], start: float, end: float) -> None:
        if not segments:
            raise GeometryError("a trajectory needs at least one segment")
        lasting = [s for s in segments if s.t1 > s.t0]
        self.segments = tuple(sorted(lasting or segments[:1], key=lambda s: s.t0))
        self.start = start
        self.end = end
        self._starts = np.array([s.t0 for s in self.segments], dtype=float)

    def _split(self, t: FloatArray) -> list[tuple[Segment, npt.NDArray[np.intp]]]:
        index = np.clip(np.searchsorted(self._starts, t, side="right") - 1, 0, len(self.segments) - 1)
        return [(segment, np.flatnonzero(index == k)) for k, segment in enumerate(self.segments) if np.any(index == k)]

    def positions(self, t: FloatArray) -> Positions:
        t = np.asarray(t, dtype=float)
        lat, lon, alt = np.empty_like(t), np.empty_like(t), np.empty_like(t)
        for segment, rows in self._split(t):
            part = segment.positions(t[rows])
            lat[rows], lon[rows], alt[rows] = part.lat, part.lon, part.alt_m
        return Positions(lat=lat, lon=lon, alt_m=alt)

    def kinematics(self, t: FloatArray) -> Kinematics:
        t = np.asarray(t, dtype=float)
        out = {name: np.empty_like(t) for name in ("lat", "lon", "alt_m", "speed_mps", "course_deg", "vrate_mps")}
        for segment, rows in self._split(t):
            part = segment.kinematics(t[rows])
            for name, values in out.items():
                values[rows] = getattr(part, name)
        return Kinematics(t=t, **out)

    def state_at(self, t: float) -> State:
        k = self.kinematics(np.array([t], dtype=float))
        return State(
            t=t,
            lat=float(k.lat[0]),
            lon=float(k.lon[0]),
            alt_m=float(k.alt_m[0]),
            course_deg=float(k.course_deg[0]),
            speed_mps=float(k.speed_mps[0]),
            vrate_mps=float(k.vrate_mps[0]),
        )


def expand(legs: Sequence[Leg]) -> list[Straight | Turn | Hold]:
    flat: list[Straight | Turn | Hold] = []
    for leg in legs:
        if isinstance(leg, Racetrack):
            flat.extend(leg.legs())
        else:
            flat.append(leg)
    for leg in flat:
        if not leg.duration_s >= 0 or math.isinf(leg.duration_s):
            raise GeometryError(f"{type(leg).__name__}: duration_s must be finite and >= 0, got {leg.duration_s}")
    return flat


def _leg_segment(leg: Straight | Turn | Hold, joint: State, forward: bool) -> ArcSegment:
    """The segment of ``leg`` that touches ``joint``: starting there when ``forward``, else ending there."""
    t0, t1 = (joint.t, joint.t + leg.duration_s) if forward else (joint.t - leg.duration_s, joint.t)
    if isinstance(leg, Hold):
        return ArcSegment(t0, t1, replace(joint, vrate_mps=0.0), 0.0, moving=False)
    speed = joint.speed_mps if leg.speed_mps is None else leg.speed_mps
    if speed < 0:
        raise GeometryError(f"{type(leg).__name__}: speed_mps must be >= 0, got {speed}")
    if isinstance(leg, Straight):
        course = joint.course_deg if leg.course_deg is None else leg.course_deg
        ref = replace(joint, speed_mps=speed, course_deg=course % 360.0, vrate_mps=leg.vrate_mps)
        return ArcSegment(t0, t1, ref, 0.0)
    ref = replace(joint, speed_mps=speed, vrate_mps=leg.vrate_mps)
    return ArcSegment(t0, t1, ref, leg.rate_deg_s)


def fly(first: State, last: State, core: Sequence[Segment], before: Sequence[Leg], after: Sequence[Leg]) -> Trajectory:
    """Chain ``before`` legs backward from ``first`` and ``after`` legs forward from ``last`` around ``core``."""
    segments = list(core)
    joint = first
    for leg in reversed(expand(before)):
        segment = _leg_segment(leg, joint, forward=False)
        segments.append(segment)
        joint = segment.state_at(segment.t0)
    start = joint.t
    joint = last
    for leg in expand(after):
        segment = _leg_segment(leg, joint, forward=True)
        segments.append(segment)
        joint = segment.state_at(segment.t1)
    end = joint.t
    if not segments:
        segments.append(ArcSegment(first.t, first.t, first, 0.0))
    return Trajectory(segments, start, end)


@dataclass(frozen=True, slots=True)
class AttackRun:
    """Repeated low passes over a moving ship (the simulated-attack profile of USS Donald Cook, 2014 and 2016).

    In the ship's frame the aircraft flies a racetrack whose one straight passes ``min_horizontal_m`` to the right
    of the ship at ``height_m`` above it; one pass per circuit, every ``spacing_s``. Between passes the aircraft
    stays at least ``clear_m`` from the ship (the racetrack's turns begin ``clear_m`` beyond it and its return
    straight lies at least ``clear_m`` to the side), so each circuit is exactly one pass. The aircraft's ground
    speed is ``speed_mps`` relative to the ship, plus the ship's own velocity.
    """

    target: str
    """Id of the ship."""
    passes: int
    spacing_s: float
    """[s] between the closest approaches of successive passes."""
    first_pass_t: float
    """[s] POSIX time of the first pass's closest approach."""
    min_horizontal_m: float
    """[m] horizontal distance at each pass's closest approach."""
    height_m: float
    """[m] above the ship (its altitude is 0) throughout the run."""
    speed_mps: float
    """[m/s] relative to the ship."""
    heading_deg: float | None = None
    """[deg] direction of the passes; default across the ship's bow (its course at the first pass + 90°)."""
    clear_m: float = 2000.0
    """[m] smallest distance to the ship between passes."""

    @property
    def last_pass_t(self) -> float:
        return self.first_pass_t + (self.passes - 1) * self.spacing_s


@dataclass(frozen=True, slots=True)
class Formation:
    """An interceptor formating on its target: an offset in the target's own frame (along its course, to its
    right, above it) that slides along at ``closing_mps``, so the interceptor matches every manoeuvre of the
    target and passes it at exactly ``hypot(along_m, right_m)`` horizontally at ``t_cpa``."""

    target: str
    t_cpa: float
    """[s] time of closest approach."""
    start_t: float
    end_t: float
    right_m: float
    """[m] lateral offset at closest approach, positive to the target's right."""
    up_m: float
    """[m] height above the target."""
    closing_mps: float
    """[m/s] along-track speed relative to the target, positive when overtaking."""
    along_m: float = 0.0
    """[m] along-track offset at closest approach (0: exactly abeam, the closest point of a straight slide)."""


@dataclass(frozen=True, slots=True)
class AttackRunGeometry:
    """The racetrack an ``AttackRun`` flies in the ship's frame."""

    straight_m: float
    """[m] length of each straight."""
    radius_m: float
    """[m] radius of the 180° turns."""
    circuit_m: float
    """[m] one circuit, one pass."""


def attack_run_geometry(run: AttackRun) -> AttackRunGeometry:
    """Solve the racetrack for ``run``: a rate-one turn when the spacing allows, tighter turns otherwise."""
    where = f"attack run on {run.target!r}"
    if run.passes < 1:
        raise GeometryError(f"{where}: passes must be >= 1, got {run.passes}")
    if not (run.speed_mps > 0 and run.spacing_s > 0):
        raise GeometryError(f"{where}: speed_mps and spacing_s must be > 0")
    if not 0 <= run.min_horizontal_m < run.clear_m:
        raise GeometryError(
            f"{where}: min_horizontal_m must be in [0, clear_m={run.clear_m}), got {run.min_horizontal_m}"
        )
    circuit = run.speed_mps * run.spacing_s
    radius = run.speed_mps / math.radians(STANDARD_TURN_RATE)
    straight = (circuit - 2 * math.pi * radius) / 2
    if straight < 2 * run.clear_m:
        straight = 2 * run.clear_m
        radius = (circuit - 2 * straight) / (2 * math.pi)
    if run.min_horizontal_m + 2 * radius < run.clear_m or radius <= 0:
        shortest = (4 * run.clear_m + math.pi * (run.clear_m - run.min_horizontal_m)) / run.speed_mps
        raise GeometryError(
            f"{where}: passes every {run.spacing_s} s at {run.speed_mps} m/s leave no room to turn "
            f"clear of the ship; space them at least {math.ceil(shortest)} s apart"
        )
    return AttackRunGeometry(straight_m=straight, radius_m=radius, circuit_m=circuit)


def attack_run_segment(run: AttackRun, target: Trajectory) -> RelativeSegment:
    geometry = attack_run_geometry(run)
    length, radius, circuit = geometry.straight_m, geometry.radius_m, geometry.circuit_m
    lateral = run.min_horizontal_m
    speed = run.speed_mps
    run_start = run.first_pass_t - length / 2 / speed
    run_end = run.last_pass_t + length / 2 / speed
    heading = run.heading_deg
    if heading is None:
        heading = (target.state_at(run.first_pass_t).course_deg + 90.0) % 360.0
    bounds = np.array([length, length + math.pi * radius, 2 * length + math.pi * radius])
    last_circuit_end = (run.passes - 1) * circuit + length

    def offset(t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        s = speed * (t - run_start)  # [m] flown since the run's start, relative to the ship
        outside = (s < 0) | (s > last_circuit_end)
        q = np.where(outside, 0.0, np.mod(s, circuit))
        # Outside the run the pass straight extends: the approach before, the departure after.
        q = np.where(s < 0, s, np.where(s > last_circuit_end, s - (run.passes - 1) * circuit, q))
        theta_out = (q - bounds[0]) / radius
        theta_back = (q - bounds[2]) / radius
        along = np.select(
            [(q < bounds[0]) | outside, q < bounds[1], q < bounds[2]],
            [-length / 2 + q, length / 2 + radius * np.sin(theta_out), length / 2 - (q - bounds[1])],
            -length / 2 - radius * np.sin(theta_back),
        )
        right = np.select(
            [(q < bounds[0]) | outside, q < bounds[1], q < bounds[2]],
            [
                np.full_like(q, lateral),
                lateral + radius - radius * np.cos(theta_out),
                np.full_like(q, lateral + 2 * radius),
            ],
            lateral + radius + radius * np.cos(theta_back),
        )
        return along, right, np.full_like(q, run.height_m)

    return RelativeSegment(run_start, run_end, target, offset, heading)


def formation_segment(formation: Formation, target: Trajectory) -> RelativeSegment:
    if formation.end_t < formation.start_t:
        raise GeometryError(f"formation on {formation.target!r}: end_t is before start_t")

    def offset(t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        along = formation.along_m + formation.closing_mps * (t - formation.t_cpa)
        return along, np.full_like(t, formation.right_m), np.full_like(t, formation.up_m)

    return RelativeSegment(formation.start_t, formation.end_t, target, offset, None)
