"""The exercise scenario: a declared exercise, activity inside and outside it, and a hazard notice, from real traffic.

Three hours in the southern Baltic (10 March 2026, 06:00–09:00 UTC), written as a positions table:

- RU notifies an exercise (Vienna Document ch. V) over a 1.4° × 3° box off Kaliningrad, 10–12 March: six
  warships, whose speeds are those of real AIS reports (NOAA MarineCadastre, bundled excerpt), hold racetracks
  inside it; three RU aircraft fly real OpenSky trajectories (bundled excerpt, Paris, 7 Oct 2021) relocated into
  it. Declared: 8,600 troops (just under the 9,000 notification threshold), 6 naval vessels, 12 sorties.
- A second RU group — four warships and one aircraft on a real trajectory — operates 150 km to the north, east of
  Gotland, outside the declared area for the whole three hours: undeclared activity.
- RU also announces gunnery in a 10 NM circle inside the exercise area as a NAVAREA I warning (4 days ahead), and
  an EE patrol vessel steams towards the circle while it is active: the watch's ``hazard_area_entry`` rule must
  predict its entry.

Files: ``exercise_positions.csv`` (the watch's input), ``exercise_notification.json`` (the notification, in the
documented JSON contract), ``exercise_navarea.txt`` (the warning as broadcast) and ``exercise_hazards.json``
(the warning as the watch's ``hazard_area_entry.notices`` file, written by ``riskline scenario exercise``
with ``riskline.transparency.hazard``, which this package may not import).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from riskline.ingest.observation import Domain, Kind
from riskline.scenarios.baltic import _by_platform, demo_sources, relocate
from riskline.scenarios.scenario import PlatformSpec, Scenario, ScenarioBuilder

EXERCISE_START = datetime(2026, 3, 10, 6, 0, tzinfo=UTC).timestamp()
EXERCISE_SPAN_S = 3 * 3600.0
AREA = {
    "type": "Polygon",
    "coordinates": [[[18.0, 54.8], [21.0, 54.8], [21.0, 56.2], [18.0, 56.2], [18.0, 54.8]]],
}
DESIGNATION = "BALTIC-SHIELD-2026"
NAVAREA_LEAD_S = 4 * 86_400.0
"""[s] RU issues the warning 4 days ahead, inside INCSEA's 3–5 days."""
NOTIFICATION_LEAD_S = 49 * 86_400.0
"""[s] RU notifies 49 days before the exercise's first day (42 are due)."""
AIR_SAMPLE_S = 10.0  # [s]
SEA_SAMPLE_S = 60.0  # [s]


@dataclass(frozen=True, slots=True)
class ExerciseScenario:
    scenario: Scenario
    table_path: Path
    notification_path: Path
    navarea_path: Path
    hazards_path: Path
    inside: tuple[str, ...]
    """Platform ids of the declared activity."""
    outside: tuple[str, ...]
    """Platform ids of the undeclared group."""
    intruder: str
    """Platform id of the EE vessel heading into the hazard area."""
    navarea_issued: float
    """[s] when RU issued the warning."""


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dtg(t: float) -> str:
    moment = datetime.fromtimestamp(t, tz=UTC)
    return f"{moment:%d%H%M} UTC {moment:%b}".upper() + f" {moment:%y}"


def navarea_text(start: float) -> str:
    """RU's gunnery warning for the six hours from ``start`` [s], as NAVAREA I broadcasts it."""
    begin = _dtg(start).split(" UTC")[0]
    return (
        f"NAVAREA I 58/{datetime.fromtimestamp(start, tz=UTC):%y}\nSOUTHERN BALTIC.\nGDANSK BASIN.\n"
        f"GUNNERY EXERCISES FROM {begin} UTC TO {_dtg(start + 6 * 3600.0)}\n"
        "WITHIN 10 MILES OF 55-00.0N 018-40.0E.\n"
        f"CANCEL THIS MSG {_dtg(start + 7 * 3600.0)}.\n"
    )


def notification(start: float = EXERCISE_START) -> dict[str, object]:
    """RU's notification of the exercise that runs from the day of ``start`` [s] for three days."""
    day = start - start % 86_400.0
    return {
        "party": "RU",
        "designation": DESIGNATION,
        "purpose": "Naval and air exercise of the Baltic Fleet: air defence and gunnery",
        "states": ["RU"],
        "level_of_command": "fleet",
        "notified": _iso(day - NOTIFICATION_LEAD_S),
        "start": _iso(day),
        "end": _iso(day + 3 * 86_400.0 - 60.0),
        "area": AREA,
        "troops": 8600,
        "tanks": 0,
        "acv": 40,
        "artillery": 24,
        "helicopters": 4,
        "aircraft_sorties": 12,
        "naval_vessels": 6,
        "amphibious_troops": 600,
        "calendar_year_listed": True,
    }


def exercise_scenario(
    out_dir: Path, *, start: float = EXERCISE_START, shared_data: Path | None = None
) -> ExerciseScenario:
    """Build and write the scenario; ``start`` [s] moves it to another day (the demo's exercise lies ahead)."""
    end = start + EXERCISE_SPAN_S
    builder = ScenarioBuilder(start=start, seed=2026, end=end)
    aircraft, ships = demo_sources(shared_data)
    speeds = sorted(s.sog_mps for s in ships if s.sog_mps and 3.0 <= s.sog_mps <= 9.0)
    if len(speeds) < 10:
        speeds = [5.0] * 10
    inside: list[str] = []
    for k, (lat, lon, course) in enumerate(
        [(55.30, 19.00, 90.0), (55.45, 19.30, 270.0), (55.60, 19.60, 45.0),
         (55.20, 19.90, 200.0), (55.70, 20.20, 135.0), (55.40, 20.40, 320.0)]
    ):
        ship = f"ru-bf-{k + 1}"
        speed = speeds[(k * 7) % len(speeds)]
        builder.platform(ship, party="RU", domain=Domain.SEA, platform_type="Baltic Fleet warship",
                         sample_s=SEA_SAMPLE_S).at(lat, lon, course_deg=course, speed_mps=speed).racetrack(
            laps=12, straight_s=600.0, rate_deg_s=1.0
        )
        inside.append(f"id:{ship}")
    outside: list[str] = []
    for k, (lat, lon, course) in enumerate([(57.30, 19.60, 0.0), (57.40, 19.90, 60.0), (57.20, 20.10, 120.0),
                                            (57.50, 19.50, 180.0)]):
        ship = f"ru-grp-{k + 1}"
        speed = speeds[(k * 5 + 3) % len(speeds)]
        builder.platform(ship, party="RU", domain=Domain.SEA, platform_type="Baltic Fleet warship",
                         sample_s=SEA_SAMPLE_S).at(lat, lon, course_deg=course, speed_mps=speed).racetrack(
            laps=12, straight_s=600.0, rate_deg_s=1.0
        )
        outside.append(f"id:{ship}")
    intruder = "ee-patrol"
    patrol = builder.platform(intruder, party="EE", domain=Domain.SEA, platform_type="patrol vessel",
                              sample_s=SEA_SAMPLE_S)
    patrol.at(55.25, 18.10, t=start + 3600.0, course_deg=135.0, speed_mps=6.0).straight(EXERCISE_SPAN_S - 3600.0)
    tracks = list(_by_platform(aircraft).values())
    flights = [(tracks[1], 55.5, 19.4, 0.0), (tracks[4], 55.4, 19.8, 1800.0), (tracks[11], 55.6, 19.2, 5400.0),
               (tracks[5], 57.4, 19.8, 2400.0)]
    for k, (track, lat, lon, offset) in enumerate(flights):
        pid = f"ru-air-{k + 1}" if k < 3 else "ru-grp-air"
        moved = relocate(track, to_lat=lat, to_lon=lon, time_shift_s=start + offset - track[0].t,
                         rename={track[0].platform_id: f"id:{pid}"}, party="RU", kind=Kind.MILITARY, source="table")
        moved = [o for o in moved[:: int(AIR_SAMPLE_S // 5) or 1] if start <= o.t <= end]
        builder.add_recorded(
            PlatformSpec(id=pid, party="RU", domain=Domain.AIR, kind=Kind.MILITARY, platform_type="Su-27 (track of "
                         f"{track[0].callsign or track[0].platform_id}, relocated)", sample_s=AIR_SAMPLE_S),
            moved,
        )
        (inside if k < 3 else outside).append(f"id:{pid}")
    builder.expect("hazard_area_entry", f"id:{intruder}", "hazard:RU", "medium",
                   note="an EE patrol vessel heads into RU's announced gunnery circle while it is active")
    scenario = builder.build()
    out_dir.mkdir(parents=True, exist_ok=True)
    table_path = scenario.write_table(out_dir / "exercise_positions.csv")
    notification_path = out_dir / "exercise_notification.json"
    notification_path.write_text(json.dumps(notification(start), indent=2) + "\n", encoding="utf-8")
    navarea_path = out_dir / "exercise_navarea.txt"
    text = navarea_text(start)
    navarea_path.write_text(text, encoding="utf-8")
    hazards_path = out_dir / "exercise_hazards.json"
    return ExerciseScenario(
        scenario=scenario,
        table_path=table_path,
        notification_path=notification_path,
        navarea_path=navarea_path,
        hazards_path=hazards_path,
        inside=tuple(inside),
        outside=tuple(outside),
        intruder=f"id:{intruder}",
        navarea_issued=start - NAVAREA_LEAD_S,
    )
