"""Real incidents as scenarios: the rows of ``shared/domain/incidents.csv`` rebuilt as exact geometry.

Each row with a reported distance becomes a scenario at the row's place and date (12:00 UTC; the 1st of the month
when only a month is given) that reproduces the reported closest approach, and carries what the watch must report
under the default rulebook (REGIMES.md §6). Reported figures mean "within X", so the closest approach is placed at
X·(1 − 1e-3) (0 stays 0). Choices the rows do not fix, written down once:

- air–air between military aircraft is an intercept: the second aircraft (``platform_b``) formats on the first
  and slides past it, matching its manoeuvres (``testing.scenario.intercept``); the formation lasts the row's
  duration (10 min when none is given). With only a horizontal distance, the vertical separation is 0.
- air–air with civil traffic is a crossing near-miss (``crossing_encounter``) at 60–120°.
- air–sea is an attack run (``testing.motion.AttackRun``): the row's ``passes`` low passes over the ship, evenly
  spaced over the duration (or 30 min when none is given); the vertical figure is the aircraft's height above the
  ship. A "pair" of aircraft is flown as one aircraft making all the passes.
- speeds and altitudes are plausible for each type (``AIRCRAFT``), ships make 8 m/s.

Rows without any distance are listed with the reason and no scenario.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from astral import Observer
from astral.sun import elevation

from riskline.ingest.observation import Domain, Kind
from riskline.scenarios.errors import IncidentFileError
from riskline.scenarios.motion import AttackRun, Straight
from riskline.scenarios.scenario import Scenario, ScenarioBuilder, Side, crossing_encounter, intercept
from riskline.tracks.identity import CIVIL

REPORTED_MARGIN = 1e-3
"""Reported distances mean "within X": the closest approach is placed at X·(1 − REPORTED_MARGIN)."""
DEFAULT_INTERCEPT_S = 600.0  # [s] formation length when a row gives no duration
DEFAULT_PASS_WINDOW_S = 1800.0  # [s] passes are spread over this when a row gives no duration
SHIP_SPEED = 8.0  # [m/s] about 16 kn
ATTACK_SPEED = 200.0  # [m/s] a Su-24 low pass

# Default rulebook thresholds (REGIMES.md §6; riskline/detection/default_rules.toml).
AIR_PROXIMITY_H = 926.0  # [m]
AIR_PROXIMITY_V = 91.0  # [m]
INTERCEPT_BANDS = ((1.5, "critical"), (8.0, "high"), (15.0, "medium"), (30.0, "low"))  # [m] 3-D, inclusive
LOW_PASS_H = 914.0  # [m]
LOW_PASS_ALT = 152.0  # [m]
REPEATED_COUNT = 3
REPEATED_WINDOW_S = 1800.0  # [s]
CONTACT_DAY = 3704.0  # [m]
CONTACT_NIGHT = 5556.0  # [m]
NIGHT_SUN_ELEVATION = -0.833  # [deg] sun's centre below the horizon (refraction and semi-diameter)


@dataclass(frozen=True, slots=True)
class AircraftType:
    speed_mps: float
    """[m/s] typical speed in the reported situation."""
    alt_m: float
    """[m] typical altitude."""


AIRCRAFT: dict[str, AircraftType] = {
    "RC-135": AircraftType(150.0, 9000.0),
    "P-8": AircraftType(130.0, 7500.0),
    "EP-3": AircraftType(110.0, 7000.0),
    "B-52": AircraftType(230.0, 10500.0),
    "MQ-9": AircraftType(90.0, 7000.0),
    "Il-20": AircraftType(180.0, 3000.0),
    "B737": AircraftType(210.0, 3000.0),
    "CRJ-200": AircraftType(200.0, 6000.0),
    "ISR aircraft": AircraftType(180.0, 6000.0),
    "Su-27": AircraftType(250.0, 9000.0),
    "Su-24": AircraftType(ATTACK_SPEED, 30.0),
    "fighters": AircraftType(250.0, 9000.0),
}
"""Plausible speed and altitude by type (matched as a substring of the row's platform text)."""
_DEFAULT_AIRCRAFT = AircraftType(200.0, 6000.0)


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One row of incidents.csv, in SI units."""

    line: int
    """Line number in the file (the header is line 1)."""
    date: str
    """As written: ``YYYY-MM-DD`` or ``YYYY-MM``."""
    t: float
    """[s] POSIX time used for the reconstruction: 12:00 UTC of the date (of the 1st when only a month)."""
    area: str
    lat: float
    """[deg] approximate."""
    lon: float
    """[deg] approximate."""
    platform_a: str
    party_a: str
    platform_b: str
    party_b: str
    domain: str
    """``air-air``, ``air-sea`` or ``sea-sea``."""
    horizontal_m: float | None
    """[m] reported closest horizontal distance."""
    vertical_m: float | None
    """[m] reported vertical separation (for air–sea, the aircraft's height above the ship)."""
    passes: int | None
    duration_s: float | None
    """[s]"""
    transponder_b_off: bool
    judged: str
    source: str

    @property
    def has_distance(self) -> bool:
        return self.horizontal_m is not None or self.vertical_m is not None


@dataclass(frozen=True, slots=True)
class ExpectedFinding:
    rule: str
    severity: str


@dataclass(frozen=True, slots=True)
class Reconstruction:
    row: IncidentRow
    scenario: Scenario | None
    """None when the row reports no distance."""
    expected: tuple[ExpectedFinding, ...]
    """What the watch must report under the default rulebook; empty when nothing is breached."""
    reason: str
    """Why there is no scenario, why nothing is expected, or what a reader must know about the label."""
    a: str | None = None
    """Platform id of ``platform_a``."""
    b: str | None = None
    horizontal_m: float | None = None
    """[m] placed closest horizontal approach."""
    vertical_m: float | None = None
    """[m] placed vertical separation at closest approach (b above a)."""


@dataclass(frozen=True, slots=True)
class Placement:
    """What ``add_reconstruction`` put into a builder."""

    a: str
    b: str
    horizontal_m: float
    vertical_m: float
    expected: tuple[ExpectedFinding, ...]
    reason: str
    first_t: float
    """[s] earliest report of the two."""
    last_t: float


def _number(text: str, column: str, where: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise IncidentFileError(f"{where}: {column}: not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise IncidentFileError(f"{where}: {column}: must be a finite number >= 0, got {text!r}")
    return value


def _coordinate(text: str, column: str, limit: float, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise IncidentFileError(f"{where}: {column}: not a number: {text!r}") from None
    if not -limit <= value <= limit:
        raise IncidentFileError(f"{where}: {column}: must be within [-{limit:g}, {limit:g}], got {text!r}")
    return value


def _noon(date: str, where: str) -> float:
    for pattern, fmt in ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{4}-\d{2}", "%Y-%m")):
        if re.fullmatch(pattern, date):
            day = datetime.strptime(date, fmt).replace(hour=12, tzinfo=UTC)
            return day.timestamp()
    raise IncidentFileError(f"{where}: date: expected YYYY-MM-DD or YYYY-MM, got {date!r}")


def load_incidents(path: str | Path) -> list[IncidentRow]:
    """Read incidents.csv; a malformed row stops the load with a one-line ``IncidentFileError``."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise IncidentFileError(f"{source}: cannot read: {error.strerror}") from None
    rows: list[IncidentRow] = []
    reader = csv.DictReader(text.splitlines())
    required = (
        "date",
        "lat_approx",
        "lon_approx",
        "platform_a",
        "party_a",
        "platform_b",
        "party_b",
        "domain",
        "closest_horizontal_m",
        "closest_vertical_m",
        "passes",
        "duration_min",
        "transponder_b",
    )
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise IncidentFileError(f"{source}: missing columns: {', '.join(missing)}")
    for line, record in enumerate(reader, start=2):
        where = f"{source}:{line}"
        domain = record["domain"].strip()
        if domain not in ("air-air", "air-sea", "sea-sea"):
            raise IncidentFileError(f"{where}: domain: expected air-air, air-sea or sea-sea, got {domain!r}")
        lat = _coordinate(record["lat_approx"], "lat_approx", 90.0, where)
        lon = _coordinate(record["lon_approx"], "lon_approx", 180.0, where)
        passes = _number(record["passes"], "passes", where)
        duration = _number(record["duration_min"], "duration_min", where)
        transponder = record["transponder_b"].strip().lower()
        if transponder not in ("", "on", "off"):
            raise IncidentFileError(f"{where}: transponder_b: expected on, off or empty, got {transponder!r}")
        rows.append(
            IncidentRow(
                line=line,
                date=record["date"].strip(),
                t=_noon(record["date"].strip(), where),
                area=record.get("area", "").strip(),
                lat=lat,
                lon=lon,
                platform_a=record["platform_a"].strip(),
                party_a=record["party_a"].strip(),
                platform_b=record["platform_b"].strip(),
                party_b=record["party_b"].strip(),
                domain=domain,
                horizontal_m=_number(record["closest_horizontal_m"], "closest_horizontal_m", where),
                vertical_m=_number(record["closest_vertical_m"], "closest_vertical_m", where),
                passes=None if passes is None else int(passes),
                duration_s=None if duration is None else duration * 60.0,
                transponder_b_off=transponder == "off",
                judged=record.get("judged", "").strip(),
                source=record.get("source", "").strip(),
            )
        )
    return rows


def slug(text: str) -> str:
    """A table id from free text: ``USS Donald Cook`` → ``uss-donald-cook``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "platform"


def aircraft_type(text: str) -> AircraftType:
    for name, known in AIRCRAFT.items():
        if name.lower() in text.lower():
            return known
    return _DEFAULT_AIRCRAFT


def _placed(reported: float | None) -> float:
    return 0.0 if not reported else reported * (1.0 - REPORTED_MARGIN)


def intercept_severity(distance_m: float) -> str | None:
    for limit, severity in INTERCEPT_BANDS:
        if distance_m <= limit:
            return severity
    return None


def is_night(lat: float, lon: float, t: float) -> bool:
    """True when the sun's centre is below the horizon (−0.833°) at (lat, lon) [deg], time t [s]."""
    moment = datetime.fromtimestamp(t, tz=UTC)
    return float(elevation(Observer(latitude=lat, longitude=lon), moment, with_refraction=False)) < NIGHT_SUN_ELEVATION


def expected_findings(
    row: IncidentRow, horizontal_m: float, vertical_m: float, *, spacing_s: float | None = None, night: bool = False
) -> tuple[ExpectedFinding, ...]:
    """The default rulebook applied to the placed geometry of ``row`` (REGIMES.md §6)."""
    found: list[ExpectedFinding] = []
    if row.domain == "air-air":
        inside = horizontal_m < AIR_PROXIMITY_H and vertical_m < AIR_PROXIMITY_V
        if inside:
            found.append(ExpectedFinding("air_proximity", "high"))
        band = intercept_severity(math.hypot(horizontal_m, vertical_m))
        if band is not None:
            found.append(ExpectedFinding("air_intercept", band))
        civil_side = CIVIL in (row.party_a, row.party_b)
        if inside and civil_side and row.transponder_b_off and row.party_b != CIVIL:
            found.append(ExpectedFinding("non_cooperative_aircraft", "high"))
    elif row.domain == "air-sea":
        if horizontal_m <= LOW_PASS_H and vertical_m <= LOW_PASS_ALT:
            found.append(ExpectedFinding("low_pass", "medium"))
            passes = row.passes or 1
            in_window = passes if spacing_s is None else min(passes, int(REPEATED_WINDOW_S // spacing_s) + 1)
            if in_window >= REPEATED_COUNT:
                found.append(ExpectedFinding("repeated_low_passes", "high"))
    elif horizontal_m < (CONTACT_NIGHT if night else CONTACT_DAY):
        found.append(ExpectedFinding("ship_contact_range", "low"))
    return tuple(found)


def _party(text: str) -> str:
    return CIVIL if text.strip().lower() == CIVIL else text.strip().upper()


def _kind(party: str) -> Kind:
    return Kind.CIVIL if party == CIVIL else Kind.MILITARY


def add_reconstruction(
    builder: ScenarioBuilder,
    row: IncidentRow,
    *,
    lat: float | None = None,
    lon: float | None = None,
    t_cpa: float | None = None,
    prefix: str = "",
    pass_spacing_s: float | None = None,
    intercept_s: float | None = None,
    parties: tuple[str, str] | None = None,
) -> Placement:
    """Add ``row``'s two platforms to ``builder`` (a row with a distance only).

    ``lat``/``lon``/``t_cpa`` move the incident (default: the row's own place and noon), ``prefix`` keeps ids
    unique when several incidents share a builder, ``pass_spacing_s``/``intercept_s`` compress an attack run or an
    intercept in time, and ``parties`` relabels the two sides (the geometry stays the reported one).
    """
    if not row.has_distance:
        raise IncidentFileError(f"incidents.csv:{row.line} ({row.date}): no reported distance to reconstruct")
    rng = builder.rng
    lat = row.lat if lat is None else lat
    lon = row.lon if lon is None else lon
    t = row.t if t_cpa is None else t_cpa
    party_a, party_b = parties if parties is not None else (_party(row.party_a), _party(row.party_b))
    horizontal = _placed(row.horizontal_m)
    vertical = _placed(row.vertical_m)
    id_a = f"{prefix}{slug(row.platform_a)}"
    id_b = f"{prefix}{slug(row.platform_b)}"
    if id_a == id_b:
        id_a, id_b = f"{id_a}-a", f"{id_b}-b"
    course = float(rng.uniform(0.0, 360.0))
    reason = ""
    spacing: float | None = None
    if row.domain == "air-air":
        type_a, type_b = aircraft_type(row.platform_a), aircraft_type(row.platform_b)
        side_a = Side(
            id_a,
            party_a,
            Domain.AIR,
            type_a.speed_mps,
            kind=_kind(party_a),
            alt_m=type_a.alt_m,
            platform_type=row.platform_a,
            name=row.platform_a,
        )
        side_b = Side(
            id_b,
            party_b,
            Domain.AIR,
            type_b.speed_mps,
            kind=_kind(party_b),
            transponder=not row.transponder_b_off,
            platform_type=row.platform_b,
            name=row.platform_b,
        )
        if CIVIL in (party_a, party_b):
            crossing = float(rng.uniform(60.0, 120.0))
            pair = crossing_encounter(
                builder,
                side_a,
                side_b,
                lat=lat,
                lon=lon,
                t_cpa=t,
                horizontal_m=horizontal,
                vertical_m=vertical,
                course_deg=course,
                crossing_deg=crossing,
                lead_s=300.0,
                trail_s=120.0,
            )
            first, last = t - 300.0, t + 120.0
        else:
            duration = intercept_s or row.duration_s or DEFAULT_INTERCEPT_S
            pair = intercept(
                builder,
                side_a,
                side_b,
                lat=lat,
                lon=lon,
                t_cpa=t,
                horizontal_m=horizontal,
                vertical_m=vertical,
                course_deg=course,
                duration_s=duration,
            )
            first, last = t - duration / 2 - 300.0, t + duration / 2 + 120.0
        id_a, id_b = pair.a, pair.b
    elif row.domain == "air-sea":
        passes = row.passes or 1
        window = row.duration_s or DEFAULT_PASS_WINDOW_S
        spacing = pass_spacing_s or float(math.floor(window / passes))
        run = AttackRun(
            target=id_a,
            passes=passes,
            spacing_s=spacing,
            first_pass_t=t,
            min_horizontal_m=horizontal,
            height_m=vertical,
            speed_mps=ATTACK_SPEED,
        )
        lead, trail = 600.0, 600.0
        first, last = t - lead, run.last_pass_t + trail
        builder.platform(
            id_a,
            party=party_a,
            domain=Domain.SEA,
            kind=_kind(party_a),
            platform_type=row.platform_a,
            name=row.platform_a,
        ).at(lat, lon, t=t, course_deg=course, speed_mps=SHIP_SPEED).before(Straight(lead)).then(Straight(last - t))
        builder.platform(
            id_b,
            party=party_b,
            domain=Domain.AIR,
            kind=_kind(party_b),
            transponder=not row.transponder_b_off,
            platform_type=row.platform_b,
            name=row.platform_b,
        ).attack_run(run).before(Straight(240.0)).then(Straight(240.0))
        id_a, id_b = f"id:{id_a}", f"id:{id_b}"
        if "pair" in row.platform_b.lower():
            reason = "the pair of aircraft is flown as one aircraft making all the reported passes"
    else:
        side_a = Side(
            id_a,
            party_a,
            Domain.SEA,
            SHIP_SPEED,
            kind=_kind(party_a),
            platform_type=row.platform_a,
            name=row.platform_a,
        )
        side_b = Side(
            id_b,
            party_b,
            Domain.SEA,
            SHIP_SPEED,
            kind=_kind(party_b),
            platform_type=row.platform_b,
            name=row.platform_b,
        )
        pair = crossing_encounter(
            builder,
            side_a,
            side_b,
            lat=lat,
            lon=lon,
            t_cpa=t,
            horizontal_m=horizontal,
            course_deg=course,
            crossing_deg=float(rng.uniform(60.0, 120.0)),
            lead_s=2400.0,
            trail_s=600.0,
        )
        id_a, id_b = pair.a, pair.b
        first, last = t - 2400.0, t + 600.0
    night = row.domain == "sea-sea" and is_night(lat, lon, t)
    expected = expected_findings(row, horizontal, vertical, spacing_s=spacing, night=night)
    for finding in expected:
        builder.expect(finding.rule, id_a, id_b, finding.severity)
    if not expected and row.horizontal_m is None:
        reason = (
            f"only a vertical separation is reported ({row.vertical_m:g} m): flown as a crossing directly "
            f"over at {vertical:g} m, which is outside the default air-proximity volume "
            f"({AIR_PROXIMITY_H:g} m horizontal and {AIR_PROXIMITY_V:g} m vertical), so the watch must "
            f"report nothing for it"
        )
    if row.judged == "safe":
        reason = (
            f"judged '{row.judged}' by the reporting side ({row.source}): that label is a human judgement "
            f"of airmanship; the geometry itself breaches the default rulebook and the watch flags it"
        )
    return Placement(
        a=id_a,
        b=id_b,
        horizontal_m=horizontal,
        vertical_m=vertical,
        expected=expected,
        reason=reason,
        first_t=first,
        last_t=last,
    )


def reconstruct(row: IncidentRow, *, seed: int = 0) -> Reconstruction:
    """Rebuild ``row`` at its own place and date; rows without any distance get a reason and no scenario."""
    if not row.has_distance:
        return Reconstruction(
            row=row,
            scenario=None,
            expected=(),
            reason="no distance is reported, so there is no geometry to reconstruct",
        )
    lead = 2400.0 if row.domain == "sea-sea" else 600.0
    if row.domain == "air-air" and CIVIL not in (_party(row.party_a), _party(row.party_b)):
        lead = (row.duration_s or DEFAULT_INTERCEPT_S) / 2 + 300.0
    builder = ScenarioBuilder(start=row.t - lead, seed=seed)
    placed = add_reconstruction(builder, row)
    return Reconstruction(
        row=row,
        scenario=builder.build(),
        expected=placed.expected,
        reason=placed.reason,
        a=placed.a,
        b=placed.b,
        horizontal_m=placed.horizontal_m,
        vertical_m=placed.vertical_m,
    )


def reconstruct_all(rows: list[IncidentRow], *, seed: int = 0) -> list[Reconstruction]:
    return [reconstruct(row, seed=seed) for row in rows]
