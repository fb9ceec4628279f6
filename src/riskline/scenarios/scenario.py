"""Scenario builder: platforms flying exact legs, sampled into Observations and a positions table.

A test writes what happened ("a Su-24 makes 11 passes 9 m from the destroyer at 30 m"), the builder turns it into
the reports a receiver would have produced: aircraft every 1 s, ships every 10 s, on one time grid from ``start``.
Positions are exact on the WGS-84 ellipsoid (``pyproj.Geod``; see ``riskline.scenarios.motion`` for the design),
speed, course and vertical rate are the exact derivatives of the path, so dead reckoning from any fix on a
straight leg is exact, and the closest approach of an encounter built with ``encounter``/``head_on_encounter``/
``crossing_encounter``/``intercept`` reproduces the asked distance to well under a centimetre.

Nothing here reads the wall clock; the only randomness is ``ScenarioBuilder.rng`` (seeded) and the optional
position noise, so a builder with the same calls and seed gives the same scenario bit for bit.

The positions table written by ``Scenario.write_table`` is the format ``riskline.ingest`` reads:
``t,id,lat,lon,party,domain,alt_m,sog_kn,cog_deg,vrate_mps,transponder,kind`` (``id`` becomes ``id:<id>``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.scenarios.errors import GeometryError, ScenarioError
from riskline.scenarios.motion import (
    GEOD,
    AttackRun,
    Formation,
    Hold,
    Leg,
    Racetrack,
    State,
    Straight,
    Trajectory,
    Turn,
    attack_run_segment,
    expand,
    fly,
    formation_segment,
)
from riskline.timeutil import to_iso
from riskline.units import mps_to_knots

AIR_SAMPLE_S = 1.0  # [s] default report interval of an aircraft
SEA_SAMPLE_S = 10.0  # [s] default report interval of a ship (AIS class A underway)
TABLE_COLUMNS = (
    "t",
    "id",
    "lat",
    "lon",
    "party",
    "domain",
    "alt_m",
    "sog_kn",
    "cog_deg",
    "vrate_mps",
    "transponder",
    "kind",
)


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    """Who a scenario platform is."""

    id: str
    """Table id; the platform id is ``id:<id>``."""
    party: str
    domain: Domain
    kind: Kind
    transponder: bool = True
    """False: a non-cooperative track (seen by radar, transponder off)."""
    platform_type: str | None = None
    name: str | None = None
    callsign: str | None = None
    sample_s: float = AIR_SAMPLE_S
    """[s] report interval."""

    @property
    def platform_id(self) -> str:
        return f"id:{self.id}"


@dataclass(frozen=True, slots=True)
class ExpectedEncounter:
    """What the watch must report for a pair under the default rulebook."""

    rule: str
    severity: str
    a: str
    """Platform id (``id:…``) of one side."""
    b: str
    """Platform id of the other side (for single-platform rules, ``territory:<party>``)."""
    breach_t: float | None = None
    """[s] when the rule is first broken, where the scenario knows it."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A built scenario: platforms, their exact trajectories, the sampled reports and what must be found."""

    start: float
    """[s] POSIX time of the first possible report."""
    end: float
    """[s] time of the last report."""
    platforms: tuple[PlatformSpec, ...]
    observations: tuple[Observation, ...]
    """Every report, sorted by time then platform id."""
    expected: tuple[ExpectedEncounter, ...] = ()
    trajectories: tuple[tuple[str, Trajectory], ...] = field(default=(), compare=False, repr=False)
    """(table id, exact trajectory) for every built platform (recorded background traffic has none)."""

    def platform(self, platform_id: str) -> PlatformSpec:
        key = platform_id.removeprefix("id:")
        for spec in self.platforms:
            if spec.id == key:
                return spec
        raise ScenarioError(f"no platform {platform_id!r} in the scenario")

    def trajectory(self, platform_id: str) -> Trajectory:
        key = platform_id.removeprefix("id:")
        for name, trajectory in self.trajectories:
            if name == key:
                return trajectory
        raise ScenarioError(f"platform {platform_id!r} has no built trajectory")

    def track(self, platform_id: str) -> tuple[Observation, ...]:
        """The reports of one platform, in time order."""
        wanted = platform_id if platform_id.startswith("id:") else f"id:{platform_id}"
        return tuple(o for o in self.observations if o.platform_id == wanted)

    def write_table(self, path: str | Path) -> Path:
        """Write the positions table (CSV) and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as handle:
            write_table_rows(handle, self.observations)
        return target


def table_row(observation: Observation, table_id: str | None = None) -> list[str]:
    """One positions-table row for an observation: its id is ``table_id`` or the platform id without its scheme."""

    def number(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    return [
        to_iso(observation.t),
        table_id if table_id is not None else observation.platform_id.split(":", 1)[1],
        f"{observation.lat:.8f}",
        f"{observation.lon:.8f}",
        observation.party or "",
        observation.domain.value if observation.domain else "",
        number(observation.alt_m, 3),
        number(None if observation.sog_mps is None else mps_to_knots(observation.sog_mps), 6),
        number(observation.cog_deg, 6),
        number(observation.vrate_mps, 4),
        "true" if observation.transponder else "false",
        observation.kind.value if observation.kind else "",
    ]


def write_table_rows(
    handle: TextIO, observations: Iterable[Observation], table_id: Callable[[Observation], str] | None = None
) -> None:
    """Write the header and one row per observation to an open text file (ids from ``table_id`` when given)."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(table_row(o, None if table_id is None else table_id(o)) for o in observations)


@dataclass(slots=True)
class _Motion:
    anchor: State | AttackRun | Formation | None = None
    before: list[Leg] = field(default_factory=list)
    after: list[Leg] = field(default_factory=list)


class PlatformBuilder:
    """Fluent description of one platform's motion; obtained from ``ScenarioBuilder.platform``."""

    def __init__(self, owner: ScenarioBuilder, spec: PlatformSpec, noise_m: float) -> None:
        self._owner = owner
        self.spec = spec
        self.noise_m = noise_m
        self._motion = _Motion()

    def at(
        self,
        lat: float,
        lon: float,
        *,
        t: float | None = None,
        alt_m: float = 0.0,
        course_deg: float = 0.0,
        speed_mps: float = 0.0,
        vrate_mps: float = 0.0,
    ) -> PlatformBuilder:
        """Anchor the motion on an exact state at ``t`` (default: the scenario start)."""
        self._set_anchor(
            State(
                t=self._owner.start if t is None else t,
                lat=lat,
                lon=lon,
                alt_m=alt_m,
                course_deg=course_deg % 360.0,
                speed_mps=speed_mps,
                vrate_mps=vrate_mps,
            )
        )
        return self

    def attack_run(self, run: AttackRun) -> PlatformBuilder:
        """Anchor the motion on an attack run over another platform (added before this one)."""
        self._owner._require(run.target, self.spec.id)
        self._set_anchor(run)
        return self

    def formation(self, formation: Formation) -> PlatformBuilder:
        """Anchor the motion on formation flying with another platform (added before this one)."""
        self._owner._require(formation.target, self.spec.id)
        self._set_anchor(formation)
        return self

    def then(self, *legs: Leg) -> PlatformBuilder:
        """Legs flown after the anchor, in order."""
        self._motion.after.extend(legs)
        return self

    def before(self, *legs: Leg) -> PlatformBuilder:
        """Legs flown before the anchor, in chronological order (the last one ends at the anchor)."""
        self._motion.before.extend(legs)
        return self

    def straight(
        self,
        duration_s: float,
        *,
        speed_mps: float | None = None,
        course_deg: float | None = None,
        vrate_mps: float = 0.0,
    ) -> PlatformBuilder:
        return self.then(Straight(duration_s, speed_mps, course_deg, vrate_mps))

    def turn(self, duration_s: float, rate_deg_s: float, *, speed_mps: float | None = None) -> PlatformBuilder:
        return self.then(Turn(duration_s, rate_deg_s, speed_mps))

    def turn_by(self, angle_deg: float, rate_deg_s: float = 3.0) -> PlatformBuilder:
        return self.then(Turn.by(angle_deg, rate_deg_s))

    def hold(self, duration_s: float) -> PlatformBuilder:
        return self.then(Hold(duration_s))

    def racetrack(self, laps: int, straight_s: float, rate_deg_s: float = 3.0) -> PlatformBuilder:
        return self.then(Racetrack(laps, straight_s, rate_deg_s))

    def _set_anchor(self, anchor: State | AttackRun | Formation) -> None:
        if self._motion.anchor is not None:
            raise ScenarioError(f"platform {self.spec.id!r}: its motion is already anchored")
        self._motion.anchor = anchor

    def _build(self, resolved: dict[str, Trajectory]) -> Trajectory:
        anchor = self._motion.anchor
        where = f"platform {self.spec.id!r}"
        if anchor is None:
            raise ScenarioError(f"{where}: no motion: call .at(), .attack_run() or .formation()")
        try:
            if isinstance(anchor, State):
                return fly(anchor, anchor, (), self._motion.before, self._motion.after)
            target = resolved[anchor.target]
            segment = (
                attack_run_segment(anchor, target)
                if isinstance(anchor, AttackRun)
                else formation_segment(anchor, target)
            )
            first = segment.state_at(segment.t0)
            last = segment.state_at(segment.t1)
            return fly(first, last, (segment,), self._motion.before, self._motion.after)
        except GeometryError as error:
            raise GeometryError(f"{where}: {error}") from None


class ScenarioBuilder:
    """Build a ``Scenario`` fluently::

        builder = ScenarioBuilder(start=t0, seed=1)
        builder.platform("cook", party="US", domain=Domain.SEA, platform_type="Arleigh Burke destroyer") \\
            .at(55.3, 18.5, course_deg=80, speed_mps=8).straight(3600)
        scenario = builder.build()
    """

    def __init__(self, start: float, *, seed: int = 0, end: float | None = None) -> None:
        self.start = float(start)
        self.end = None if end is None else float(end)
        """[s] no report is sampled after this time (default: each platform's own end)."""
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        """Seeded generator for the caller's and the helpers' random choices."""
        self._platforms: dict[str, PlatformBuilder] = {}
        self._expected: list[ExpectedEncounter] = []
        self._recorded: list[Observation] = []
        self._recorded_specs: dict[str, PlatformSpec] = {}

    def platform(
        self,
        id: str,
        *,
        party: str,
        domain: Domain,
        kind: Kind = Kind.MILITARY,
        transponder: bool = True,
        platform_type: str | None = None,
        name: str | None = None,
        callsign: str | None = None,
        sample_s: float | None = None,
        noise_m: float = 0.0,
    ) -> PlatformBuilder:
        """Add a platform; ``sample_s`` defaults to 1 s for aircraft and 10 s for ships."""
        if not id or any(char.isspace() or char == "," for char in id):
            raise ScenarioError(f"platform id must be non-empty text without blanks or commas, got {id!r}")
        if id in self._platforms or id in self._recorded_specs:
            raise ScenarioError(f"platform {id!r} is already in the scenario")
        interval = sample_s if sample_s is not None else AIR_SAMPLE_S if domain is Domain.AIR else SEA_SAMPLE_S
        if not interval > 0:
            raise ScenarioError(f"platform {id!r}: sample_s must be > 0, got {interval}")
        spec = PlatformSpec(
            id=id,
            party=party,
            domain=domain,
            kind=kind,
            transponder=transponder,
            platform_type=platform_type,
            name=name,
            callsign=callsign,
            sample_s=interval,
        )
        builder = PlatformBuilder(self, spec, noise_m)
        self._platforms[id] = builder
        return builder

    def add_recorded(self, spec: PlatformSpec, observations: Iterable[Observation]) -> ScenarioBuilder:
        """Add real recorded reports (background traffic) as they are; they have no exact trajectory."""
        if spec.id in self._platforms or spec.id in self._recorded_specs:
            raise ScenarioError(f"platform {spec.id!r} is already in the scenario")
        self._recorded_specs[spec.id] = spec
        self._recorded.extend(observations)
        return self

    def expect(
        self, rule: str, a: str, b: str, severity: str, *, breach_t: float | None = None, note: str = ""
    ) -> ScenarioBuilder:
        """Record what the watch must report for the pair (ids with or without ``id:``)."""
        self._expected.append(
            ExpectedEncounter(rule=rule, severity=severity, a=_pid(a), b=_pid(b), breach_t=breach_t, note=note)
        )
        return self

    def merge(self, other: ScenarioBuilder) -> ScenarioBuilder:
        """Add every platform, recorded track and expectation of ``other`` (which must share this start)."""
        if other.start != self.start or other.end != self.end:
            raise ScenarioError(
                f"cannot merge a builder spanning {other.start}..{other.end} into one spanning {self.start}..{self.end}"
            )
        for key, platform in other._platforms.items():
            if key in self._platforms or key in self._recorded_specs:
                raise ScenarioError(f"platform {key!r} is already in the scenario")
            platform._owner = self
            self._platforms[key] = platform
        for spec in other._recorded_specs.values():
            self.add_recorded(spec, [o for o in other._recorded if o.platform_id == spec.platform_id])
        self._expected.extend(other._expected)
        return self

    def _require(self, target: str, by: str) -> None:
        if target not in self._platforms:
            raise ScenarioError(f"platform {by!r} refers to {target!r}, which is not (yet) in the scenario")

    def build(self) -> Scenario:
        resolved: dict[str, Trajectory] = {}
        for key, platform in self._platforms.items():
            resolved[key] = platform._build(resolved)
        observations: list[Observation] = list(self._recorded)
        for key, platform in self._platforms.items():
            observations.extend(self._sample(platform, resolved[key]))
        observations.sort(key=lambda o: (o.t, o.platform_id))
        specs = tuple(p.spec for p in self._platforms.values()) + tuple(self._recorded_specs.values())
        end = observations[-1].t if observations else self.start
        return Scenario(
            start=self.start,
            end=end,
            platforms=specs,
            observations=tuple(observations),
            expected=tuple(self._expected),
            trajectories=tuple(resolved.items()),
        )

    def _sample(self, platform: PlatformBuilder, trajectory: Trajectory) -> list[Observation]:
        spec = platform.spec
        step = spec.sample_s
        first = max(math.ceil((trajectory.start - self.start) / step - 1e-9), 0)
        stop = trajectory.end if self.end is None else min(trajectory.end, self.end)
        last = math.floor((stop - self.start) / step + 1e-9)
        if last < first:
            return []
        times = self.start + np.arange(first, last + 1, dtype=np.float64) * step
        k = trajectory.kinematics(times)
        lat, lon = k.lat, k.lon
        if platform.noise_m > 0:
            # One generator per platform, seeded by the scenario seed and the platform id: reproducible and
            # independent of the order platforms are added in.
            noise_rng = np.random.default_rng([self.seed, *spec.id.encode()])
            distance = np.abs(noise_rng.normal(0.0, platform.noise_m, len(times)))
            bearing = noise_rng.uniform(0.0, 360.0, len(times))
            lon_n, lat_n, _ = GEOD.fwd(lon, lat, bearing, distance)
            lat, lon = np.asarray(lat_n, dtype=float), np.asarray(lon_n, dtype=float)
        air = spec.domain is Domain.AIR
        platform_id = spec.platform_id
        return [
            Observation(
                t=float(times[i]),
                platform_id=platform_id,
                source="table",
                lat=float(lat[i]),
                lon=float(lon[i]),
                alt_m=float(k.alt_m[i]) if air else None,
                sog_mps=float(k.speed_mps[i]),
                cog_deg=float(k.course_deg[i]),
                vrate_mps=float(k.vrate_mps[i]) if air else None,
                domain=spec.domain,
                party=spec.party,
                kind=spec.kind,
                transponder=spec.transponder,
                callsign=spec.callsign,
                name=spec.name,
            )
            for i in range(len(times))
        ]


def _pid(text: str) -> str:
    return text if ":" in text else f"id:{text}"


# --- two-platform encounters -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Side:
    """One side of an encounter: who it is and how fast it goes."""

    id: str
    party: str
    domain: Domain
    speed_mps: float
    """[m/s] over ground."""
    kind: Kind = Kind.MILITARY
    alt_m: float = 0.0
    """[m] altitude at closest approach (0 for ships); the upper side's is set from ``vertical_m``."""
    transponder: bool = True
    platform_type: str | None = None
    name: str | None = None
    callsign: str | None = None


@dataclass(frozen=True, slots=True)
class EncounterPair:
    """Where and when the built encounter's closest approach is."""

    a: str
    """Platform id of side a."""
    b: str
    t_cpa: float
    """[s]"""
    lat: float
    """[deg] midpoint at closest approach."""
    lon: float
    horizontal_m: float
    """[m] horizontal distance at closest approach."""
    vertical_m: float
    """[m] height of b above a at closest approach."""


def _add_side(builder: ScenarioBuilder, side: Side, sample_s: float | None) -> PlatformBuilder:
    return builder.platform(
        side.id,
        party=side.party,
        domain=side.domain,
        kind=side.kind,
        transponder=side.transponder,
        platform_type=side.platform_type,
        name=side.name,
        callsign=side.callsign,
        sample_s=sample_s,
    )


def encounter(
    builder: ScenarioBuilder,
    a: Side,
    b: Side,
    *,
    lat: float,
    lon: float,
    t_cpa: float,
    horizontal_m: float,
    vertical_m: float = 0.0,
    course_a_deg: float = 0.0,
    course_b_deg: float = 90.0,
    lead_s: float = 600.0,
    trail_s: float = 120.0,
    before_a: Sequence[Leg] = (),
    before_b: Sequence[Leg] = (),
    after_a: Sequence[Leg] = (),
    after_b: Sequence[Leg] = (),
    sample_s: float | None = None,
) -> EncounterPair:
    """Two platforms on straight legs through a closest approach at ``(lat, lon)``, ``t_cpa``.

    At ``t_cpa`` the two are ``horizontal_m`` apart across their relative velocity (so that instant is the
    closest approach of the straight legs) and b is ``vertical_m`` above a. Each side flies ``lead_s`` before and
    ``trail_s`` after; ``before_*`` legs (chronological, e.g. a turn onto the collision course) replace the tail
    of the lead-in straight, and ``after_*`` legs follow the trail straight.
    """
    if horizontal_m < 0:
        raise GeometryError(f"encounter {a.id}/{b.id}: horizontal_m must be >= 0, got {horizontal_m}")
    va = np.array([math.sin(math.radians(course_a_deg)), math.cos(math.radians(course_a_deg))]) * a.speed_mps
    vb = np.array([math.sin(math.radians(course_b_deg)), math.cos(math.radians(course_b_deg))]) * b.speed_mps
    relative = vb - va  # [m/s] east, north: b's velocity seen from a
    if float(np.hypot(*relative)) < 1e-9:
        relative = va if a.speed_mps > 0 else np.array([0.0, 1.0])
    across = (math.degrees(math.atan2(relative[0], relative[1])) + 90.0) % 360.0  # b lies to this side of a
    lon_a, lat_a, back_a = GEOD.fwd(lon, lat, across + 180.0, horizontal_m / 2)
    lon_b, lat_b, back_b = GEOD.fwd(lon, lat, across, horizontal_m / 2)
    # Carry each course from the midpoint to its platform along the short geodesic (meridian convergence).
    turn_a = ((back_a + 180.0) - (across + 180.0)) if horizontal_m > 0 else 0.0
    turn_b = ((back_b + 180.0) - across) if horizontal_m > 0 else 0.0
    alt_b = a.alt_m + vertical_m
    for side, extra in ((a, before_a), (b, before_b)):
        lead = sum(leg.duration_s for leg in expand(extra))
        if lead > lead_s:
            raise GeometryError(
                f"encounter: platform {side.id!r}: manoeuvres before the closest approach last "
                f"{lead} s, longer than lead_s={lead_s}"
            )
    for side, la, lo, course, alt, before, after in (
        (a, lat_a, lon_a, course_a_deg + turn_a, a.alt_m, before_a, after_a),
        (b, lat_b, lon_b, course_b_deg + turn_b, alt_b, before_b, after_b),
    ):
        lead = lead_s - sum(leg.duration_s for leg in expand(before))
        _add_side(builder, side, sample_s).at(
            float(la),
            float(lo),
            t=t_cpa,
            alt_m=alt,
            course_deg=float(course) % 360.0,
            speed_mps=side.speed_mps,
        ).before(Straight(lead), *before).then(Straight(trail_s), *after)
    return EncounterPair(
        a=_pid(a.id), b=_pid(b.id), t_cpa=t_cpa, lat=lat, lon=lon, horizontal_m=horizontal_m, vertical_m=vertical_m
    )


def head_on_encounter(
    builder: ScenarioBuilder,
    a: Side,
    b: Side,
    *,
    lat: float,
    lon: float,
    t_cpa: float,
    horizontal_m: float,
    vertical_m: float = 0.0,
    course_deg: float = 0.0,
    lead_s: float = 600.0,
    trail_s: float = 120.0,
) -> EncounterPair:
    """a on ``course_deg``, b on the reciprocal, passing ``horizontal_m`` apart."""
    return encounter(
        builder,
        a,
        b,
        lat=lat,
        lon=lon,
        t_cpa=t_cpa,
        horizontal_m=horizontal_m,
        vertical_m=vertical_m,
        course_a_deg=course_deg,
        course_b_deg=course_deg + 180.0,
        lead_s=lead_s,
        trail_s=trail_s,
    )


def crossing_encounter(
    builder: ScenarioBuilder,
    a: Side,
    b: Side,
    *,
    lat: float,
    lon: float,
    t_cpa: float,
    horizontal_m: float,
    vertical_m: float = 0.0,
    course_deg: float = 0.0,
    crossing_deg: float = 90.0,
    lead_s: float = 600.0,
    trail_s: float = 120.0,
    before_b: Sequence[Leg] = (),
) -> EncounterPair:
    """b crosses a's course at ``crossing_deg`` (relative to a's course, positive to the right)."""
    return encounter(
        builder,
        a,
        b,
        lat=lat,
        lon=lon,
        t_cpa=t_cpa,
        horizontal_m=horizontal_m,
        vertical_m=vertical_m,
        course_a_deg=course_deg,
        course_b_deg=course_deg + crossing_deg,
        lead_s=lead_s,
        trail_s=trail_s,
        before_b=before_b,
    )


def intercept(
    builder: ScenarioBuilder,
    target: Side,
    interceptor: Side,
    *,
    lat: float,
    lon: float,
    t_cpa: float,
    horizontal_m: float,
    vertical_m: float = 0.0,
    course_deg: float = 0.0,
    duration_s: float = 600.0,
    join_from_m: float = 1000.0,
    side: float = -1.0,
    lead_s: float = 300.0,
    trail_s: float = 120.0,
    orbit_straight_s: float = 1200.0,
) -> EncounterPair:
    """An interceptor joins the target from behind, slides past it ``horizontal_m`` abeam and ``vertical_m``
    above at ``t_cpa``, matching the target's every manoeuvre, then breaks away.

    The formation lasts ``duration_s`` centred on ``t_cpa``: the interceptor starts ``join_from_m`` behind and ends
    as far ahead, so its closing speed is ``2·join_from_m/duration_s``. It comes in on a converging straight with
    a 30° turn (``lead_s`` before the formation) and breaks away with a 60° turn. The target flies straight, or
    racetrack orbits (``orbit_straight_s`` straights, rate-one turns) when the intercept is longer than one
    straight; ``t_cpa`` is always in the middle of a straight. ``side`` −1 puts the interceptor on the left.
    """
    if duration_s <= 0:
        raise GeometryError(f"intercept {target.id}/{interceptor.id}: duration_s must be > 0")
    half = duration_s / 2
    span_before = half + lead_s
    span_after = half + trail_s
    before: list[Leg] = []
    after: list[Leg] = []
    if max(span_before, span_after) <= orbit_straight_s / 2:
        before = [Straight(span_before)]
        after = [Straight(span_after)]
    else:
        orbit: list[Leg] = [Straight(orbit_straight_s / 2)]
        remaining = span_after - orbit_straight_s / 2
        turn = Turn.by(180.0, 1.5)
        while remaining > 0:
            orbit.extend([turn, Straight(min(orbit_straight_s, max(remaining - turn.duration_s, 0.0)))])
            remaining -= turn.duration_s + orbit_straight_s
        after = orbit
        pre: list[Leg] = [Straight(orbit_straight_s / 2)]
        remaining = span_before - orbit_straight_s / 2
        while remaining > 0:
            pre[:0] = [Straight(min(orbit_straight_s, max(remaining - turn.duration_s, 0.0))), turn]
            remaining -= turn.duration_s + orbit_straight_s
        before = pre
    _add_side(builder, target, None).at(
        lat, lon, t=t_cpa, alt_m=target.alt_m, course_deg=course_deg, speed_mps=target.speed_mps
    ).before(*before).then(*after)
    closing = 2 * join_from_m / duration_s
    formation = Formation(
        target=target.id,
        t_cpa=t_cpa,
        start_t=t_cpa - half,
        end_t=t_cpa + half,
        right_m=math.copysign(horizontal_m, side) if horizontal_m else 0.0,
        up_m=vertical_m,
        closing_mps=closing,
    )
    _add_side(builder, interceptor, None).formation(formation).before(
        Straight(lead_s * 0.8), Turn(lead_s * 0.2, 30.0 / (lead_s * 0.2) * side)
    ).then(Turn(trail_s * 0.3, 60.0 / (trail_s * 0.3) * side, speed_mps=interceptor.speed_mps), Straight(trail_s * 0.7))
    return EncounterPair(
        a=_pid(target.id),
        b=_pid(interceptor.id),
        t_cpa=t_cpa,
        lat=lat,
        lon=lon,
        horizontal_m=horizontal_m,
        vertical_m=vertical_m,
    )
