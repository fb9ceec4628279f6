"""A labelled synthetic set for detection quality: many encounters whose truth is known by construction.

``labelled_set(n, seed)`` builds ``n`` two-platform encounters, each designed for one pair rule of the default
rulebook (REGIMES.md §6) — a true breach, a near-miss just outside a threshold (1.02–1.3 × the horizontal or
1.05–1.5 × the vertical limit), a diverging pair or a parallel pair — and labels every pair rule that applies to
the pair with whether it is breached, when the pair first enters the rule's volume and, for intercepts, the
severity band. The labels are computed from the exact trajectories (``riskline.scenarios.motion``): a coarse scan,
every local minimum refined with a bounded scalar minimisation, the entry time bisected to 0.1 ms. A benchmark
can then score a detector's precision, recall and lead time (first predicted alert → labelled entry).

Placement: encounter ``k`` is at Baltic sea point ``CELLS[k % len(CELLS)]`` (all ≥ 130 km apart) in time slot
``k // len(CELLS)`` (70 min each, closest approach 45 min into the slot). Aircraft tracks start 240–300 s before
the closest approach (twice the 120 s air lookahead) and fly at most 250 m/s, ships start 2700 s before it (the
1800 s sea lookahead plus 15 min), so no two encounters ever come within 5.6 km of each other: no cross-talk.
A case is redrawn (from the same seeded generator) until its designed rule's label matches its design and every
breach begins at least one lookahead after its tracks do, so a detector always has the chance to warn in time.
About 40 % of breaches and near-misses turn shortly before the closest approach (air: 10–40 s before, sea:
5–15 min before), so prediction from a straight-line extrapolation is not trivially right.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from astral import Observer
from astral.sun import elevation
from scipy.optimize import minimize_scalar

from riskline.ingest.observation import Domain, Kind
from riskline.scenarios.errors import ScenarioError
from riskline.scenarios.incidents import (
    AIR_PROXIMITY_H,
    AIR_PROXIMITY_V,
    CONTACT_DAY,
    CONTACT_NIGHT,
    LOW_PASS_ALT,
    LOW_PASS_H,
    NIGHT_SUN_ELEVATION,
    intercept_severity,
)
from riskline.scenarios.motion import GEOD, FloatArray, Leg, Straight, Trajectory, Turn
from riskline.scenarios.scenario import (
    EncounterPair,
    Scenario,
    ScenarioBuilder,
    Side,
    encounter,
    intercept,
)
from riskline.tracks.identity import CIVIL

RULES = ("air_proximity", "air_intercept", "low_pass", "ship_contact_range", "non_cooperative_aircraft")
DESIGNS = ("breach", "near_miss", "diverging", "parallel")
INTERCEPT_MAX = 30.0  # [m] widest intercept band
CELLS: tuple[tuple[float, float], ...] = (
    (54.9, 14.2),
    (55.45, 16.3),
    (55.3, 18.5),
    (56.5, 19.8),
    (57.8, 20.3),
    (59.0, 20.5),
    (59.8, 24.0),
    (60.0, 26.5),
    (61.0, 19.8),
    (62.5, 20.0),
    (64.0, 22.0),
    (65.0, 23.5),
    (58.2, 17.8),
    (56.6, 17.6),
)
"""[deg] (lat, lon) of open-sea points in the Baltic, pairwise at least 130 km apart."""
SLOT_S = 4200.0  # [s] one time slot per round of cells
CPA_IN_SLOT_S = 2700.0  # [s]
AIR_LOOKAHEAD_S = 120.0  # [s] default rulebook lookahead for air rules
SEA_LOOKAHEAD_S = 1800.0  # [s] and for ship_contact_range
AIR_LEAD_S = 240.0  # [s] air tracks start this long before the closest approach
AIR_TRAIL_S = 60.0
SEA_LEAD_S = 2700.0
SEA_TRAIL_S = 600.0
BASE_T = datetime(2016, 4, 12, tzinfo=UTC).timestamp()
"""[s] start of the first slot."""
_OTHER_PARTIES = ("EE", "US", "SE", "FI", "LV", "LT", "PL", "DE")


@dataclass(frozen=True, slots=True)
class RuleLabel:
    """The truth about one rule for one encounter."""

    rule: str
    breaches: bool
    breach_t: float | None
    """[s] first entry into the rule's volume; None when it never breaches."""
    severity: str | None
    """Severity of the breach (for ``air_intercept``, the band of the smallest 3-D distance)."""


@dataclass(frozen=True, slots=True)
class LabelledEncounter:
    case_id: str
    rule: str
    """The rule the encounter was designed for."""
    design: str
    """``breach``, ``near_miss``, ``diverging`` or ``parallel``."""
    a: str
    """Platform id."""
    b: str
    t_cpa: float
    """[s] designed closest approach."""
    lat: float
    """[deg] where the encounter happens."""
    lon: float
    manoeuvre: bool
    """True when one side turns shortly before the closest approach."""
    labels: tuple[RuleLabel, ...]
    """Every pair rule that applies to the pair."""

    def label(self, rule: str | None = None) -> RuleLabel:
        wanted = rule or self.rule
        for label in self.labels:
            if label.rule == wanted:
                return label
        raise ScenarioError(f"{self.case_id}: rule {wanted!r} does not apply to this pair")

    @property
    def breaches(self) -> bool:
        return self.label().breaches


@dataclass(frozen=True, slots=True)
class LabelledSet:
    seed: int
    scenario: Scenario
    encounters: tuple[LabelledEncounter, ...]

    def positives(self, rule: str) -> tuple[LabelledEncounter, ...]:
        return tuple(e for e in self.encounters if any(lb.rule == rule and lb.breaches for lb in e.labels))


# --- volumes ----------------------------------------------------------------------------------------------------

Inside = Callable[[FloatArray], FloatArray]
"""t → a ratio that is below 1 (for the inclusive rules: at most 1) exactly inside the volume."""


def _separation(a: Trajectory, b: Trajectory, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(horizontal [m], |vertical| [m], b's altitude [m], midpoint latitude [deg]) at times t."""
    pa, pb = a.positions(t), b.positions(t)
    _, _, horizontal = GEOD.inv(pa.lon, pa.lat, pb.lon, pb.lat)
    return np.asarray(horizontal, dtype=float), np.abs(pb.alt_m - pa.alt_m), pb.alt_m, (pa.lat + pb.lat) / 2


def _night(lat: float, lon: float, t: float) -> bool:
    moment = datetime.fromtimestamp(t, tz=UTC)
    return float(elevation(Observer(latitude=lat, longitude=lon), moment, with_refraction=False)) < NIGHT_SUN_ELEVATION


def _ratio(rule: str, a: Trajectory, b: Trajectory, lat: float, lon: float) -> Inside:
    def ratio(t: FloatArray) -> FloatArray:
        horizontal, vertical, alt_b, _ = _separation(a, b, t)
        if rule in ("air_proximity", "non_cooperative_aircraft"):
            return np.maximum(horizontal / AIR_PROXIMITY_H, vertical / AIR_PROXIMITY_V)
        if rule == "air_intercept":
            return np.hypot(horizontal, vertical) / INTERCEPT_MAX
        if rule == "low_pass":
            return np.maximum(horizontal / LOW_PASS_H, alt_b / LOW_PASS_ALT)
        limit = np.array(
            [CONTACT_NIGHT if _night(lat, lon, float(x)) else CONTACT_DAY for x in np.atleast_1d(t)], dtype=np.float64
        )
        ratio_sea: FloatArray = horizontal / limit
        return ratio_sea

    return ratio


def _is_inside(rule: str, value: float) -> bool:
    # Strict limits for the volumes written "<" in REGIMES.md §6, inclusive for "within"/"≤" ones.
    return value <= 1.0 if rule in ("air_intercept", "low_pass") else value < 1.0


def first_entry(rule: str, ratio: Inside, t0: float, t1: float, step: float) -> float | None:
    """[s] first time in [t0, t1] when ``ratio`` says inside, to 0.1 ms; None if never."""
    times = np.arange(t0, t1 + step / 2, step)
    values = ratio(times)
    inside = np.array([_is_inside(rule, float(v)) for v in values])
    candidates: list[tuple[float, float]] = []  # (outside time, inside time) brackets
    if inside.any():
        k = int(np.argmax(inside))
        if k == 0:
            return float(times[0])
        candidates.append((float(times[k - 1]), float(times[k])))
    last = int(np.argmax(inside)) if inside.any() else len(times) - 1
    for k in range(1, last + 1):
        # Local minima between samples can dip inside unseen: refine each one before the first inside sample.
        if k + 1 < len(times) and values[k] <= values[k - 1] and values[k] <= values[k + 1] and not inside[k]:
            result = minimize_scalar(
                lambda x: float(ratio(np.array([x]))[0]),
                bounds=(times[k - 1], times[k + 1]),
                method="bounded",
                options={"xatol": 1e-5},
            )
            if _is_inside(rule, float(result.fun)):
                candidates.append((float(times[k - 1]), float(result.x)))
                break
    if not candidates:
        return None
    outside_t, inside_t = min(candidates)
    while inside_t - outside_t > 1e-4:
        middle = (outside_t + inside_t) / 2
        if _is_inside(rule, float(ratio(np.array([middle]))[0])):
            inside_t = middle
        else:
            outside_t = middle
    return inside_t


def _min_distance_3d(a: Trajectory, b: Trajectory, t0: float, t1: float, step: float) -> float:
    times = np.arange(t0, t1 + step / 2, step)
    horizontal, vertical, _, _ = _separation(a, b, times)
    distance = np.hypot(horizontal, vertical)
    k = int(np.argmin(distance))
    lo, hi = times[max(k - 1, 0)], times[min(k + 1, len(times) - 1)]

    def at(x: float) -> float:
        h, v, _, _ = _separation(a, b, np.array([x]))
        return float(math.hypot(float(h[0]), float(v[0])))

    result = minimize_scalar(at, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return min(float(result.fun), float(distance[k]))


def rules_for(side_a: Side, side_b: Side) -> tuple[str, ...]:
    """The pair rules of the default rulebook that apply to two platforms of different parties."""
    if side_a.party == side_b.party:
        return ()
    if side_a.domain is Domain.AIR and side_b.domain is Domain.AIR:
        rules = ["air_proximity", "air_intercept"]
        civil = CIVIL in (side_a.party, side_b.party)
        off = (not side_a.transponder) or (not side_b.transponder)
        if civil and off:
            rules.append("non_cooperative_aircraft")
        return tuple(rules)
    if side_a.domain is Domain.SEA and side_b.domain is Domain.SEA:
        return ("ship_contact_range",)
    return ("low_pass",)


def label_pair(
    rule_list: tuple[str, ...], a: Trajectory, b: Trajectory, lat: float, lon: float, t0: float, t1: float, *, air: bool
) -> tuple[RuleLabel, ...]:
    step = 0.5 if air else 5.0
    labels = []
    for rule in rule_list:
        entry = first_entry(rule, _ratio(rule, a, b, lat, lon), t0, t1, step)
        severity: str | None = None
        if entry is not None:
            severity = {
                "air_proximity": "high",
                "low_pass": "medium",
                "ship_contact_range": "low",
                "non_cooperative_aircraft": "high",
            }.get(rule)
            if rule == "air_intercept":
                severity = intercept_severity(_min_distance_3d(a, b, t0, t1, step))
        labels.append(RuleLabel(rule=rule, breaches=entry is not None, breach_t=entry, severity=severity))
    return tuple(labels)


# --- design -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Design:
    horizontal_m: float
    vertical_m: float


def _limits(rule: str, night: bool) -> tuple[float, float]:
    """(horizontal [m], vertical [m]) limits of the rule's volume."""
    if rule in ("air_proximity", "non_cooperative_aircraft"):
        return AIR_PROXIMITY_H, AIR_PROXIMITY_V
    if rule == "air_intercept":
        return INTERCEPT_MAX, INTERCEPT_MAX
    if rule == "low_pass":
        return LOW_PASS_H, LOW_PASS_ALT
    return (CONTACT_NIGHT if night else CONTACT_DAY), math.inf


def _design(rule: str, design: str, rng: np.random.Generator, *, clear_day: bool) -> _Design:
    horizontal, vertical = _limits(rule, night=not clear_day)
    if rule == "ship_contact_range":
        if design == "breach":
            return _Design(float(rng.uniform(0.2, 0.9)) * CONTACT_DAY, 0.0)
        return _Design(float(rng.uniform(1.02, 1.3)) * horizontal, 0.0)
    if rule == "air_intercept":
        if design in ("diverging", "parallel"):
            return _Design(float(rng.uniform(1.02, 1.3)) * AIR_PROXIMITY_H, 0.0)
        if design == "breach":
            return _Design(float(rng.uniform(0.3, 0.95)) * INTERCEPT_MAX, 0.0)
        return _Design(float(rng.uniform(1.05, 1.5)) * INTERCEPT_MAX, 0.0)
    low = 20.0 if rule == "low_pass" else 0.0
    if design == "breach":
        return _Design(
            float(rng.uniform(0.1, 0.85)) * horizontal,
            float(rng.uniform(low, 0.85 * vertical)) if rule != "low_pass" else float(rng.uniform(low, 0.9 * vertical)),
        )
    if design in ("diverging", "parallel") or rng.uniform() < 0.5:
        return _Design(float(rng.uniform(1.02, 1.3)) * horizontal, float(rng.uniform(low, 0.8 * vertical)))
    return _Design(float(rng.uniform(0.1, 0.85)) * horizontal, float(rng.uniform(1.05, 1.5)) * vertical)


def _sides(rule: str, k: int, rng: np.random.Generator) -> tuple[Side, Side]:
    other = _OTHER_PARTIES[int(rng.integers(len(_OTHER_PARTIES)))]
    ru = f"c{k:04d}-ru"
    if rule == "ship_contact_range":
        return (
            Side(ru, "RU", Domain.SEA, float(rng.uniform(4.0, 10.0)), platform_type="corvette"),
            Side(
                f"c{k:04d}-{other.lower()}",
                other,
                Domain.SEA,
                float(rng.uniform(4.0, 10.0)),
                platform_type="patrol vessel",
            ),
        )
    if rule == "low_pass":
        return (
            Side(f"c{k:04d}-{other.lower()}", other, Domain.SEA, float(rng.uniform(4.0, 9.0)), platform_type="frigate"),
            Side(ru, "RU", Domain.AIR, float(rng.uniform(180.0, 230.0)), platform_type="Su-24"),
        )
    if rule == "non_cooperative_aircraft":
        return (
            Side(
                f"c{k:04d}-civil",
                CIVIL,
                Domain.AIR,
                float(rng.uniform(200.0, 240.0)),
                kind=Kind.CIVIL,
                alt_m=float(rng.uniform(3000.0, 11000.0)),
                platform_type="A320",
            ),
            Side(ru, "RU", Domain.AIR, float(rng.uniform(150.0, 230.0)), transponder=False, platform_type="Il-20"),
        )
    if rule == "air_intercept":
        return (
            Side(
                f"c{k:04d}-{other.lower()}",
                other,
                Domain.AIR,
                float(rng.uniform(130.0, 160.0)),
                alt_m=float(rng.uniform(6000.0, 10000.0)),
                platform_type="RC-135",
            ),
            Side(ru, "RU", Domain.AIR, 250.0, platform_type="Su-27"),
        )
    return (
        Side(
            f"c{k:04d}-{other.lower()}",
            other,
            Domain.AIR,
            float(rng.uniform(150.0, 250.0)),
            alt_m=float(rng.uniform(3000.0, 10000.0)),
            platform_type="F-16",
        ),
        Side(ru, "RU", Domain.AIR, float(rng.uniform(150.0, 250.0)), platform_type="Su-27"),
    )


def _clear_day(lat: float, lon: float, t0: float, t1: float) -> bool:
    """True when the sun stays at least 3° above the night limit over [t0, t1] (checked every 5 min)."""
    moment = t0
    while moment <= t1 + 300.0:
        sun = float(
            elevation(
                Observer(latitude=lat, longitude=lon), datetime.fromtimestamp(moment, tz=UTC), with_refraction=False
            )
        )
        if sun < NIGHT_SUN_ELEVATION + 3.0:
            return False
        moment += 300.0
    return True


def _manoeuvre(air: bool, rng: np.random.Generator) -> list[Leg]:
    angle = float(rng.choice([-1.0, 1.0])) * float(rng.uniform(20.0, 60.0))
    if air:
        return [Turn.by(angle, float(rng.uniform(2.0, 4.0))), Straight(float(rng.uniform(10.0, 40.0)))]
    return [Turn.by(angle, float(rng.uniform(0.5, 1.5))), Straight(float(rng.uniform(300.0, 900.0)))]


def _build_case(
    builder: ScenarioBuilder,
    k: int,
    rule: str,
    design: str,
    manoeuvre: bool,
    rng: np.random.Generator,
    lat: float,
    lon: float,
    t_cpa: float,
) -> EncounterPair:
    side_a, side_b = _sides(rule, k, rng)
    air = rule != "ship_contact_range"
    lead, trail = (AIR_LEAD_S, AIR_TRAIL_S) if air else (SEA_LEAD_S, SEA_TRAIL_S)
    clear_day = (not air) and _clear_day(lat, lon, t_cpa - lead, t_cpa + trail)
    geometry = _design(rule, design, rng, clear_day=clear_day)
    course = float(rng.uniform(0.0, 360.0))
    before_b = _manoeuvre(air, rng) if manoeuvre else []
    if rule == "air_intercept" and design in ("breach", "near_miss"):
        duration = float(rng.uniform(120.0, 240.0))
        return intercept(
            builder,
            side_a,
            side_b,
            lat=lat,
            lon=lon,
            t_cpa=t_cpa,
            horizontal_m=geometry.horizontal_m,
            course_deg=course,
            duration_s=duration,
            lead_s=lead - duration / 2,
            trail_s=trail,
            side=float(rng.choice([-1.0, 1.0])),
        )
    if rule == "low_pass":
        vertical = geometry.vertical_m
    else:
        vertical = geometry.vertical_m * float(rng.choice([-1.0, 1.0]))
        if side_a.domain is Domain.AIR and side_a.alt_m + vertical < 300.0:
            vertical = abs(vertical)
    if design == "parallel":
        return encounter(
            builder,
            side_a,
            replace(side_b, speed_mps=side_a.speed_mps),
            lat=lat,
            lon=lon,
            t_cpa=t_cpa,
            horizontal_m=geometry.horizontal_m,
            vertical_m=vertical,
            course_a_deg=course,
            course_b_deg=course,
            lead_s=lead,
            trail_s=trail,
        )
    crossing = float(rng.uniform(30.0, 180.0)) * float(rng.choice([-1.0, 1.0]))
    if design == "diverging":
        # Closest approach (outside the volume) when the tracks begin: from then on they only draw apart.
        return encounter(
            builder,
            side_a,
            side_b,
            lat=lat,
            lon=lon,
            t_cpa=t_cpa - lead,
            horizontal_m=geometry.horizontal_m,
            vertical_m=vertical,
            course_a_deg=course,
            course_b_deg=course + crossing,
            lead_s=0.0,
            trail_s=lead,
        )
    return encounter(
        builder,
        side_a,
        side_b,
        lat=lat,
        lon=lon,
        t_cpa=t_cpa,
        horizontal_m=geometry.horizontal_m,
        vertical_m=vertical,
        course_a_deg=course,
        course_b_deg=course + crossing,
        lead_s=lead,
        trail_s=trail,
        before_b=before_b,
    )


def labelled_set(n: int, seed: int) -> LabelledSet:
    """``n`` labelled encounters (see the module docstring), deterministic given ``seed``."""
    if n < 0:
        raise ScenarioError(f"labelled_set: n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    encounters: list[LabelledEncounter] = []
    builder = ScenarioBuilder(start=BASE_T, seed=seed)
    for k in range(n):
        rule = RULES[k % len(RULES)]
        design = str(rng.choice(DESIGNS, p=[0.45, 0.35, 0.1, 0.1]))
        manoeuvre = design in ("breach", "near_miss") and rng.uniform() < 0.4
        lat, lon = CELLS[k % len(CELLS)]
        t_cpa = BASE_T + (k // len(CELLS)) * SLOT_S + CPA_IN_SLOT_S
        air = rule != "ship_contact_range"
        window = (t_cpa - (AIR_LEAD_S if air else SEA_LEAD_S), t_cpa + (AIR_TRAIL_S if air else SEA_TRAIL_S))
        for _attempt in range(50):
            trial = ScenarioBuilder(start=BASE_T, seed=seed)
            pair = _build_case(trial, k, rule, design, manoeuvre, rng, lat, lon, t_cpa)
            built = trial.build()
            a_spec, b_spec = built.platform(pair.a), built.platform(pair.b)
            side = {
                s.id: Side(s.id, s.party, s.domain, 0.0, kind=s.kind, transponder=s.transponder)
                for s in (a_spec, b_spec)
            }
            labels = label_pair(
                rules_for(side[a_spec.id], side[b_spec.id]),
                built.trajectory(pair.a),
                built.trajectory(pair.b),
                lat,
                lon,
                window[0],
                window[1],
                air=air,
            )
            designed = next(label for label in labels if label.rule == rule)
            lookahead = AIR_LOOKAHEAD_S if air else SEA_LOOKAHEAD_S
            warned = all(lb.breach_t is None or lb.breach_t - window[0] >= lookahead for lb in labels)
            if designed.breaches == (design == "breach") and warned:
                break
        else:
            raise ScenarioError(f"labelled_set: case {k} ({rule}, {design}) could not be built in 50 attempts")
        builder.merge(trial)
        encounters.append(
            LabelledEncounter(
                case_id=f"c{k:04d}",
                rule=rule,
                design=design,
                a=pair.a,
                b=pair.b,
                t_cpa=t_cpa,
                lat=lat,
                lon=lon,
                manoeuvre=manoeuvre,
                labels=labels,
            )
        )
        for label in labels:
            if label.breaches:
                builder.expect(label.rule, pair.a, pair.b, label.severity or "", breach_t=label.breach_t)
    return LabelledSet(seed=seed, scenario=builder.build(), encounters=tuple(encounters))
