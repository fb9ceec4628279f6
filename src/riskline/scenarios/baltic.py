"""Real traffic moved into the Baltic: relocation, a busy hour for replay benchmarks, and the demo scenario.

- ``relocate`` moves recorded trajectories to a new centre. Each point keeps its geodesic distance and azimuth
  from the recording's centre (optionally rotated), carried to the new centre with ``pyproj.Geod``; courses are
  carried the same way. On a sphere this is a rigid rotation, on the ellipsoid it keeps every inter-point
  distance to about 1e-6 over a few hundred kilometres: shape, timing, speeds and turns are the recording's own.
- ``busy_baltic_hour`` builds one dense hour: aircraft are real OpenSky trajectories (``quickstart.json.gz``,
  Paris, 7 Oct 2021) relocated, rotated and time-shifted into the Baltic; ships take their speed and navigational
  status from real AIS reports (NOAA MarineCadastre, via AISdb) and are placed along the Baltic's main shipping
  lanes (the recorded ships are single reports off the US coast, so their lane, not their position, is made up),
  each dead-reckoned on a geodesic. It writes the real wire formats — AIS ``!AIVDM`` type 1 with NMEA 4.10 ``c:``
  tag blocks (encoded by ``pyais.encode_dict``) and SBS-1 BaseStation ``MSG`` lines — plus a positions table.
- ``demo_scenario`` puts reconstructed real incidents (``testing.incidents``) and a constructed night-time ship
  contact into the Baltic at night, over ~15 minutes, with real background traffic from the bundled excerpts
  (``riskline/data``, provenance in its README.md), so the demo needs nothing outside the package.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pyais import encode_dict
from pyais.util import checksum

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.scenarios.errors import ScenarioError
from riskline.scenarios.incidents import IncidentRow, add_reconstruction, load_incidents
from riskline.scenarios.motion import GEOD, FloatArray
from riskline.scenarios.scenario import (
    ExpectedEncounter,
    PlatformSpec,
    Scenario,
    ScenarioBuilder,
    Side,
    crossing_encounter,
    write_table_rows,
)
from riskline.timeutil import parse_time
from riskline.tracks.identity import CIVIL
from riskline.units import feet_to_m, fpm_to_mps, knots_to_mps, m_to_feet, mps_to_knots

BALTIC_BOX = (54.3, 60.3, 13.0, 27.0)
"""[deg] (south, north, west, east) of the busy hour's aircraft centres."""
BUSY_HOUR_START = datetime(2016, 4, 12, 10, 0, tzinfo=UTC).timestamp()
DEMO_START = datetime(2016, 4, 12, 20, 0, tzinfo=UTC).timestamp()
"""[s] the demo runs at night in the Baltic (sunset about 17:50 UTC)."""
DEMO_SPAN_S = 900.0
BUNDLED_AIRCRAFT = "opensky_quickstart_excerpt.json.gz"
BUNDLED_SHIPS = "noaa_ais_excerpt.csv"
BUNDLE_AIRCRAFT_COUNT = 20
BUNDLE_SHIP_COUNT = 60
BUNDLE_THIN_S = 5.0  # [s]
BUNDLE_SPAN_S = 1800.0  # [s] kept of each bundled trajectory
STATION = "riskline-sim"

SHIPPING_LANES: tuple[tuple[tuple[float, float], ...], ...] = (
    # Fehmarn Belt → Kadet Channel → Bornholmsgat → east of Öland and Gotland → Gulf of Finland → Primorsk
    (
        (54.55, 11.2),
        (54.5, 12.2),
        (54.85, 13.4),
        (55.3, 14.4),
        (55.5, 15.6),
        (55.9, 16.9),
        (56.8, 18.2),
        (57.3, 19.6),
        (58.3, 20.3),
        (59.0, 21.5),
        (59.35, 22.5),
        (59.6, 24.0),
        (59.85, 25.5),
        (60.0, 27.0),
        (60.2, 28.5),
    ),
    ((55.4, 16.0), (55.3, 18.0), (54.6, 18.8)),  # to Gdańsk
    ((55.5, 17.0), (55.6, 19.5), (55.7, 21.0)),  # to Klaipėda
    ((57.3, 19.6), (57.6, 21.0), (57.75, 22.0), (57.4, 23.5)),  # through the Irbe Strait to Riga
    ((58.3, 20.3), (58.6, 18.6), (58.7, 18.0)),  # to Stockholm
    ((60.1, 24.95), (59.5, 24.75)),  # Helsinki–Tallinn ferries
    ((60.0, 19.5), (61.5, 20.0), (63.0, 20.8), (65.0, 23.5)),  # Gulf of Bothnia
)
"""[deg] (lat, lon) waypoints of the Baltic's main shipping routes (approximate, from nautical charts)."""
SHIP_FLAGS = (
    ("273", "RU"),
    ("276", "EE"),
    ("275", "LV"),
    ("277", "LT"),
    ("261", "PL"),
    ("211", "DE"),
    ("219", "DK"),
    ("265", "SE"),
    ("230", "FI"),
)
"""(MMSI maritime identification digits, flag) of the Baltic states."""
MILITARY_PARTIES = ("RU", "EE", "US", "SE", "FI", "PL", "DE")


# --- reading the real recordings -----------------------------------------------------------------------------------


def read_traffic_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``traffic`` sample (a gzipped JSON array, or plain JSON)."""
    source = Path(path)
    raw = source.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    records = json.loads(raw)
    if not isinstance(records, list):
        raise ScenarioError(f"{source}: expected a JSON array of records")
    return records


def traffic_observations(records: Iterable[Mapping[str, Any]]) -> list[Observation]:
    """Airborne records with a full state (position, altitude, speed, track, vertical rate) as Observations."""
    out: list[Observation] = []
    for record in records:
        values = [
            record.get(key)
            for key in ("latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate", "timestamp")
        ]
        if any(v is None for v in values) or record.get("onground"):
            continue
        out.append(
            Observation(
                t=float(record["timestamp"]) / 1000.0,
                platform_id=f"icao:{record['icao24']}",
                source="traffic",
                lat=float(record["latitude"]),
                lon=float(record["longitude"]),
                alt_m=feet_to_m(float(record["altitude"])),
                sog_mps=knots_to_mps(float(record["groundspeed"])),
                cog_deg=float(record["track"]) % 360.0,
                vrate_mps=fpm_to_mps(float(record["vertical_rate"])),
                domain=Domain.AIR,
                callsign=(record.get("callsign") or None),
            )
        )
    return out


def noaa_observations(text: str) -> list[Observation]:
    """Rows of a NOAA MarineCadastre AIS CSV with a position, speed and course as Observations."""
    out: list[Observation] = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            t = parse_time(row["BaseDateTime"])
            lat, lon = float(row["LAT"]), float(row["LON"])
            sog, cog = float(row["SOG"]), float(row["COG"])
        except (KeyError, ValueError):
            continue
        out.append(
            Observation(
                t=t,
                platform_id=f"mmsi:{row['MMSI']}",
                source="marinecadastre",
                lat=lat,
                lon=lon,
                sog_mps=knots_to_mps(sog),
                cog_deg=cog % 360.0,
                domain=Domain.SEA,
                name=(row.get("VesselName") or None),
            )
        )
    return out


def _by_platform(observations: Iterable[Observation]) -> dict[str, list[Observation]]:
    tracks: dict[str, list[Observation]] = defaultdict(list)
    for observation in observations:
        tracks[observation.platform_id].append(observation)
    for track in tracks.values():
        track.sort(key=lambda o: o.t)
    return dict(tracks)


# --- relocation ----------------------------------------------------------------------------------------------------


def relocate(
    observations: Sequence[Observation],
    *,
    to_lat: float,
    to_lon: float,
    from_lat: float | None = None,
    from_lon: float | None = None,
    rotate_deg: float = 0.0,
    time_shift_s: float = 0.0,
    rename: Mapping[str, str] | None = None,
    party: str | None = None,
    kind: Kind | None = None,
    source: str | None = None,
) -> list[Observation]:
    """Move ``observations`` so that ``(from_lat, from_lon)`` (default: the mean position) lands on
    ``(to_lat, to_lon)``, each point keeping its geodesic distance and azimuth (+ ``rotate_deg``) from the centre.

    Times shift by ``time_shift_s``; ``rename`` maps old platform ids to new ones; ``party``, ``kind`` and
    ``source`` relabel every observation when given. Observations without a position only get re-keyed.
    """
    placed = [o for o in observations if o.lat is not None and o.lon is not None]
    if from_lat is None or from_lon is None:
        if not placed:
            raise ScenarioError("relocate: no observation has a position to take the centre from")
        from_lat = float(np.mean([o.lat for o in placed]))
        from_lon = float(np.mean([o.lon for o in placed]))
    lat = np.array([o.lat if o.lat is not None else np.nan for o in observations], dtype=float)
    lon = np.array([o.lon if o.lon is not None else np.nan for o in observations], dtype=float)
    has = ~np.isnan(lat)
    new_lat, new_lon, turn = lat.copy(), lon.copy(), np.zeros_like(lat)
    if has.any():
        centre_lat = np.full(int(has.sum()), from_lat)
        centre_lon = np.full(int(has.sum()), from_lon)
        az, back, dist = GEOD.inv(centre_lon, centre_lat, lon[has], lat[has])
        moved_lon, moved_lat, moved_back = GEOD.fwd(
            np.full_like(centre_lon, to_lon), np.full_like(centre_lat, to_lat), np.asarray(az) + rotate_deg, dist
        )
        new_lat[has], new_lon[has] = moved_lat, moved_lon
        # The radial geodesic's direction at the point, before and after: courses turn by the same angle.
        turn[has] = np.asarray(moved_back) - np.asarray(back)
    names = rename or {}
    out = []
    for k, o in enumerate(observations):
        course = None if o.cog_deg is None else float((o.cog_deg + turn[k]) % 360.0)
        out.append(
            replace(
                o,
                t=o.t + time_shift_s,
                platform_id=names.get(o.platform_id, o.platform_id),
                lat=float(new_lat[k]) if has[k] else o.lat,
                lon=float(new_lon[k]) if has[k] else o.lon,
                cog_deg=course,
                party=party if party is not None else o.party,
                kind=kind if kind is not None else o.kind,
                source=source if source is not None else o.source,
            )
        )
    return out


# --- lanes ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LanePoints:
    lat: FloatArray
    lon: FloatArray
    course_deg: FloatArray


def lane_points(count: int, rng: np.random.Generator, *, width_m: float = 1500.0) -> LanePoints:
    """``count`` points along the shipping lanes (uniform by length), offset across the lane by N(0, width_m),
    each with the lane's direction at that point, either way."""
    starts_lat, starts_lon, azimuths, lengths = [], [], [], []
    for lane in SHIPPING_LANES:
        for (lat1, lon1), (lat2, lon2) in itertools.pairwise(lane):
            az, _, length = GEOD.inv(lon1, lat1, lon2, lat2)
            starts_lat.append(lat1)
            starts_lon.append(lon1)
            azimuths.append(az)
            lengths.append(length)
    weights = np.array(lengths) / np.sum(lengths)
    pick = rng.choice(len(lengths), size=count, p=weights)
    along = rng.uniform(0.0, 1.0, count) * np.array(lengths)[pick]
    lon1, lat1, back = GEOD.fwd(np.array(starts_lon)[pick], np.array(starts_lat)[pick], np.array(azimuths)[pick], along)
    heading = np.asarray(back) + 180.0
    side = rng.normal(0.0, width_m, count)
    lon2, lat2, back2 = GEOD.fwd(lon1, lat1, heading + 90.0, side)
    # Keep the lane direction at the offset point (the offset geodesic turns it by the convergence only).
    course = heading + (np.asarray(back2) + 180.0 - (heading + 90.0))
    reverse = rng.uniform(0.0, 1.0, count) < 0.5
    course = np.where(reverse, course + 180.0, course) % 360.0
    return LanePoints(lat=np.asarray(lat2, dtype=float), lon=np.asarray(lon2, dtype=float), course_deg=course)


# --- the busy hour -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BusyHour:
    start: float
    """[s] POSIX"""
    end: float
    ships: int
    aircraft: int
    ship_reports: int
    """AIS position reports written (one ``!AIVDM`` sentence each)."""
    aircraft_reports: int
    """Aircraft fixes written (one ``MSG,3`` and one ``MSG,4`` line each, plus one ``MSG,1`` per aircraft)."""
    nmea_path: Path
    sbs_path: Path
    table_path: Path
    seed: int


@dataclass(frozen=True, slots=True)
class _ShipPlan:
    mmsi: np.ndarray[Any, np.dtype[np.int64]]
    flag: list[str]
    lat: FloatArray
    lon: FloatArray
    course: FloatArray
    speed: FloatArray
    """[m/s]"""
    status: np.ndarray[Any, np.dtype[np.int64]]
    party: list[str]
    kind: list[Kind]


def _plan_ships(count: int, real: Sequence[Observation], rng: np.random.Generator) -> _ShipPlan:
    if not real:
        raise ScenarioError("no real AIS reports to take ship speeds from")
    speeds = np.array([o.sog_mps or 0.0 for o in real])
    pick = rng.permutation(np.resize(np.arange(len(real)), count)) if count else np.zeros(0, dtype=int)
    speed = speeds[pick]
    points = lane_points(count, rng)
    flags = rng.integers(0, len(SHIP_FLAGS), count)
    mmsi = np.array([int(SHIP_FLAGS[f][0]) * 1_000_000 + 100_000 + k for k, f in enumerate(flags)], dtype=np.int64)
    moving = speed > knots_to_mps(0.5)
    status = np.where(moving, 0, 1).astype(np.int64)  # under way using engine / at anchor
    military = rng.uniform(0.0, 1.0, count) < 0.03
    party = [SHIP_FLAGS[f][1] if m else CIVIL for f, m in zip(flags, military, strict=True)]
    kind = [Kind.MILITARY if m else Kind.CIVIL for m in military]
    return _ShipPlan(
        mmsi=mmsi,
        flag=[SHIP_FLAGS[f][1] for f in flags],
        lat=points.lat,
        lon=points.lon,
        course=points.course_deg,
        speed=np.where(moving, speed, 0.0),
        status=status,
        party=party,
        kind=kind,
    )


def _ship_observations(
    plan: _ShipPlan, start: float, span_s: float, report_s: float, rng: np.random.Generator
) -> list[Observation]:
    """Every ship's reports, each on its own phase, dead-reckoned on its geodesic."""
    count = len(plan.mmsi)
    phase = rng.integers(0, max(int(report_s), 1), count).astype(float)
    out: list[Observation] = []
    for k in range(math.ceil(span_s / report_s) + 1):
        elapsed = phase + k * report_s
        live = elapsed < span_s
        if not live.any():
            break
        lon, lat, back = GEOD.fwd(plan.lon[live], plan.lat[live], plan.course[live], plan.speed[live] * elapsed[live])
        course = np.where(plan.speed[live] > 0, np.asarray(back) + 180.0, plan.course[live]) % 360.0
        for j, index in enumerate(np.flatnonzero(live)):
            out.append(
                Observation(
                    t=start + float(elapsed[index]),
                    platform_id=f"mmsi:{int(plan.mmsi[index])}",
                    source="nmea",
                    lat=float(lat[j]),
                    lon=float(lon[j]),
                    sog_mps=float(plan.speed[index]),
                    cog_deg=float(course[j]),
                    domain=Domain.SEA,
                    party=plan.party[index],
                    kind=plan.kind[index],
                )
            )
    return out


def _aircraft_observations(
    tracks: Sequence[list[Observation]],
    count: int,
    start: float,
    span_s: float,
    report_s: float,
    rng: np.random.Generator,
) -> list[Observation]:
    """``count`` aircraft, each a real trajectory thinned to ``report_s``, relocated, rotated and time-shifted."""
    if not tracks:
        raise ScenarioError("no real aircraft trajectories to relocate")
    south, north, west, east = BALTIC_BOX
    addresses = rng.choice(np.arange(0x400000, 0x500000), size=count, replace=False)
    out: list[Observation] = []
    thinned_tracks = [[track[i] for i in _thin(np.array([o.t for o in track]), report_s)] for track in tracks]
    for j in range(count):
        window: list[Observation] = []
        while not window:  # a trajectory with a gap across the drawn window is drawn again
            thinned = thinned_tracks[int(rng.integers(len(thinned_tracks)))]
            first, last = thinned[0].t, thinned[-1].t
            offset = float(rng.uniform(-(last - first) / 2, span_s - (last - first) / 2))
            shift = float(np.round(start + offset - first))
            window = [o for o in thinned if start <= o.t + shift < start + span_s]
        to_lat, to_lon = float(rng.uniform(south, north)), float(rng.uniform(west, east))
        rotate = float(rng.uniform(0.0, 360.0))
        military = rng.uniform() < 0.05
        party = MILITARY_PARTIES[int(rng.integers(len(MILITARY_PARTIES)))] if military else CIVIL
        callsign = (thinned[0].callsign or "SIM")[:3] + f"{j:04d}"
        moved = relocate(
            window,
            to_lat=to_lat,
            to_lon=to_lon,
            rotate_deg=rotate,
            time_shift_s=shift,
            rename={thinned[0].platform_id: f"icao:{int(addresses[j]):06x}"},
            party=party,
            kind=Kind.MILITARY if military else Kind.CIVIL,
            source="sbs",
        )
        out.extend(replace(o, callsign=callsign) for o in moved)
    return out


def _thin(times: FloatArray, step: float) -> list[int]:
    """Indices of the first report in every ``step``-second bin."""
    keep, next_t = [], -math.inf
    for i, t in enumerate(times):
        if t >= next_t:
            keep.append(i)
            next_t = t + step
    return keep


def nmea_line(observation: Observation, mmsi: int, status: int = 0) -> str:
    """One AIS type 1 position report with an NMEA 4.10 tag block (``s:`` station, ``c:`` UNIX time)."""
    if observation.lat is None or observation.lon is None:
        raise ScenarioError(f"{observation.platform_id} at {observation.t}: an AIS position report needs a position")
    sog = mps_to_knots(observation.sog_mps or 0.0)
    course = observation.cog_deg or 0.0
    sentence = encode_dict(
        {
            "type": 1,
            "mmsi": mmsi,
            "status": status,
            "speed": round(sog, 1),
            "accuracy": 1,
            "lon": observation.lon,
            "lat": observation.lat,
            "course": round(course, 1) % 360.0,
            "heading": round(course) % 360,
            "second": int(observation.t) % 60,
        },
        talker_id="AI",
        sentence_type="VDM",
    )[0]
    tag = f"s:{STATION},c:{int(observation.t)}"
    return f"\\{tag}*{checksum(tag.encode()):02X}\\{sentence}"


def sbs_lines(observation: Observation, icao: str, *, first: bool) -> list[str]:
    """SBS-1 BaseStation lines for one fix: ``MSG,1`` (identification, on first sight), ``MSG,3`` (position),
    ``MSG,4`` (velocity); times are UTC."""
    moment = datetime.fromtimestamp(observation.t, tz=UTC)
    day = moment.strftime("%Y/%m/%d")
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    head = f"1,1,{icao.upper()},1,{day},{clock},{day},{clock}"
    lines = []
    if first:
        lines.append(f"MSG,1,{head},{observation.callsign or ''},,,,,,,,0,0,0,0")
    alt_ft = round(m_to_feet(observation.alt_m or 0.0))
    lines.append(f"MSG,3,{head},,{alt_ft},,,{observation.lat:.5f},{observation.lon:.5f},,,0,0,0,0")
    speed = round(mps_to_knots(observation.sog_mps or 0.0))
    track = round(observation.cog_deg or 0.0) % 360
    climb = round((observation.vrate_mps or 0.0) / 0.3048 * 60.0)
    lines.append(f"MSG,4,{head},,,{speed},{track},,,{climb},,0,0,0,0")
    return lines


def _table_id(observation: Observation) -> str:
    """The positions-table id of a busy-hour platform: ``ship-<mmsi>`` or ``air-<icao>``."""
    scheme, key = observation.platform_id.split(":", 1)
    return f"{'ship' if scheme == 'mmsi' else 'air'}-{key}"


def busy_baltic_hour(
    shared_data: Path,
    out_dir: Path,
    *,
    ships: int = 3000,
    aircraft: int = 600,
    seed: int = 0,
    ship_report_s: float = 90.0,
    aircraft_report_s: float = 5.0,
) -> BusyHour:
    """One hour of dense Baltic traffic from real recordings, in the real wire formats (see module docstring).

    Ships report every ``ship_report_s`` (the rate of an aggregated AIS feed), aircraft every
    ``aircraft_report_s``. Deterministic given ``seed``: the same call writes the same bytes.
    """
    rng = np.random.default_rng(seed)
    start, span = BUSY_HOUR_START, 3600.0
    real_ships = noaa_observations((shared_data / "ais" / "test_data_noaa_20230101.csv").read_text(encoding="utf-8"))
    plan = _plan_ships(ships, real_ships, rng)
    ship_obs = _ship_observations(plan, start, span, ship_report_s, rng)
    tracks = []
    if aircraft:
        records = read_traffic_records(shared_data / "traffic" / "quickstart.json.gz")
        tracks = [t for t in _by_platform(traffic_observations(records)).values() if len(t) >= 10]
    air_obs = _aircraft_observations(tracks, aircraft, start, span, aircraft_report_s, rng)
    ship_obs.sort(key=lambda o: (o.t, o.platform_id))
    air_obs.sort(key=lambda o: (o.t, o.platform_id))
    out_dir.mkdir(parents=True, exist_ok=True)
    status = {f"mmsi:{int(m)}": int(s) for m, s in zip(plan.mmsi, plan.status, strict=True)}
    nmea_path = out_dir / "busy_hour_ships.nmea"
    with nmea_path.open("w", encoding="ascii", newline="\n") as handle:
        for o in ship_obs:
            handle.write(nmea_line(o, int(o.platform_id[5:]), status[o.platform_id]) + "\n")
    sbs_path = out_dir / "busy_hour_aircraft.sbs"
    seen: set[str] = set()
    with sbs_path.open("w", encoding="ascii", newline="\n") as handle:
        for o in air_obs:
            icao = o.platform_id[5:]
            handle.write("\n".join(sbs_lines(o, icao, first=icao not in seen)) + "\n")
            seen.add(icao)
    table_path = out_dir / "busy_hour_positions.csv"
    merged = sorted((*ship_obs, *air_obs), key=lambda o: (o.t, _table_id(o)))
    with table_path.open("w", encoding="utf-8", newline="") as handle:
        write_table_rows(handle, merged, _table_id)
    return BusyHour(
        start=start,
        end=start + span,
        ships=len({o.platform_id for o in ship_obs}),
        aircraft=len(seen),
        ship_reports=len(ship_obs),
        aircraft_reports=len(air_obs),
        nmea_path=nmea_path,
        sbs_path=sbs_path,
        table_path=table_path,
        seed=seed,
    )


# --- bundled excerpts ------------------------------------------------------------------------------------------------


def select_aircraft_excerpt(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The bundled aircraft: the ``BUNDLE_AIRCRAFT_COUNT`` longest airborne trajectories of a ``traffic`` sample,
    each its first ``BUNDLE_SPAN_S`` seconds airborne thinned to one record per ``BUNDLE_THIN_S`` (records as-is)."""
    airborne: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("onground") or any(
            record.get(k) is None
            for k in ("latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate")
        ):
            continue
        airborne[str(record["icao24"])].append(record)
    ranked = sorted(airborne.items(), key=lambda item: (-len(item[1]), item[0]))[:BUNDLE_AIRCRAFT_COUNT]
    chosen: list[dict[str, Any]] = []
    for _, rows in sorted(ranked):
        rows = sorted(rows, key=lambda r: r["timestamp"])
        first = rows[0]["timestamp"] / 1000.0
        within = [r for r in rows if r["timestamp"] / 1000.0 - first < BUNDLE_SPAN_S]
        times = np.array([r["timestamp"] / 1000.0 for r in within])
        chosen.extend(dict(within[i]) for i in _thin(times, BUNDLE_THIN_S))
    return chosen


def select_ship_excerpt(text: str) -> str:
    """The bundled ships: the first ``BUNDLE_SHIP_COUNT`` NOAA rows of ships under way (SOG ≥ 2 kn), verbatim."""
    lines = text.splitlines()
    kept = [lines[0]]
    for row, line in zip(csv.DictReader(io.StringIO(text)), lines[1:], strict=False):
        try:
            moving = float(row["SOG"]) >= 2.0
        except ValueError:
            moving = False
        if moving:
            kept.append(line)
        if len(kept) > BUNDLE_SHIP_COUNT:
            break
    return "\n".join(kept) + "\n"


def write_bundle(shared_data: Path, data_dir: Path) -> tuple[Path, Path]:
    """Regenerate the bundled excerpts in ``data_dir`` from ``shared_data`` (how riskline/data was made)."""
    aircraft = select_aircraft_excerpt(read_traffic_records(shared_data / "traffic" / "quickstart.json.gz"))
    aircraft_path = data_dir / BUNDLED_AIRCRAFT
    payload = json.dumps(aircraft, separators=(",", ":"), sort_keys=True).encode()
    aircraft_path.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    ships_path = data_dir / BUNDLED_SHIPS
    noaa = (shared_data / "ais" / "test_data_noaa_20230101.csv").read_text(encoding="utf-8")
    ships_path.write_text(select_ship_excerpt(noaa), encoding="utf-8")
    return aircraft_path, ships_path


def demo_sources(shared_data: Path | None = None) -> tuple[list[Observation], list[Observation]]:
    """(aircraft, ships) observations of the demo's background: the bundled excerpts, or the same selection
    made afresh from ``shared_data``."""
    if shared_data is not None:
        records = select_aircraft_excerpt(read_traffic_records(shared_data / "traffic" / "quickstart.json.gz"))
        noaa = select_ship_excerpt((shared_data / "ais" / "test_data_noaa_20230101.csv").read_text(encoding="utf-8"))
    else:
        package = resources.files("riskline").joinpath("data")
        records = json.loads(gzip.decompress(package.joinpath(BUNDLED_AIRCRAFT).read_bytes()))
        noaa = package.joinpath(BUNDLED_SHIPS).read_text(encoding="utf-8")
    return traffic_observations(records), noaa_observations(noaa)


# --- the demo ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoScenario:
    scenario: Scenario
    table_path: Path
    fleet_path: Path
    expected: tuple[ExpectedEncounter, ...]
    incidents: tuple[str, ...]
    """One line per placed incident: what it is and where it comes from."""
    background_aircraft: int
    background_ships: int


def _incident(rows: Sequence[IncidentRow], date: str) -> IncidentRow:
    for row in rows:
        if row.date == date:
            return row
    raise ScenarioError(f"incidents.csv has no row dated {date}")


def _demo_incidents_csv(shared_data: Path | None) -> Path:
    if shared_data is not None and (shared_data.parent / "domain" / "incidents.csv").is_file():
        return shared_data.parent / "domain" / "incidents.csv"
    return Path(str(resources.files("riskline").joinpath("data", "incidents.csv")))


def demo_scenario(out_dir: Path, *, shared_data: Path | None = None) -> DemoScenario:
    """The Baltic scenario the demo replays (see the module docstring); writes ``demo_positions.csv`` and
    ``demo_fleet.toml`` into ``out_dir``."""
    start = DEMO_START
    builder = ScenarioBuilder(start=start, seed=2016, end=start + DEMO_SPAN_S)
    rows = load_incidents(_demo_incidents_csv(shared_data))
    lines: list[str] = []
    civil = _incident(rows, "2014-03-03")
    placed = add_reconstruction(builder, civil, t_cpa=start + 420.0, prefix="d1-")
    lines.append(
        f"{civil.date} {civil.area}: {civil.platform_a} and a transponder-off {civil.platform_b}, "
        f"{placed.horizontal_m:.1f} m ({civil.source})"
    )
    cook = _incident(rows, "2016-04-12")
    placed = add_reconstruction(builder, cook, t_cpa=start + 90.0, prefix="d2-", pass_spacing_s=75.0)
    lines.append(
        f"{cook.date} {cook.area}: {cook.platform_b} makes {cook.passes} passes over {cook.platform_a}, "
        f"{placed.horizontal_m:.1f} m at {placed.vertical_m:.1f} m, compressed to one every 75 s "
        f"({cook.source})"
    )
    rc135 = _incident(rows, "2016-04-29")
    placed = add_reconstruction(
        builder, rc135, lat=56.3, lon=20.0, t_cpa=start + 450.0, prefix="d3-", intercept_s=300.0
    )
    lines.append(
        f"{rc135.date} {rc135.area}: {rc135.platform_b} intercepts {rc135.platform_a} at "
        f"{placed.horizontal_m:.2f} m, moved to 56.3N 20.0E, 5 min formation ({rc135.source})"
    )
    t_ships = start + 600.0
    pair = crossing_encounter(
        builder,
        Side("d4-ru-corvette", "RU", Domain.SEA, 8.0, platform_type="Steregushchiy-class corvette"),
        Side("d4-ee-patrol", "EE", Domain.SEA, 8.0, platform_type="patrol vessel"),
        lat=59.75,
        lon=24.3,
        t_cpa=t_ships,
        horizontal_m=3000.0,
        course_deg=250.0,
        crossing_deg=150.0,
        lead_s=600.0,
        trail_s=300.0,
    )
    builder.expect(
        "ship_contact_range",
        pair.a,
        pair.b,
        "low",
        note="3,000 m at night: inside the 3 NM night range, outside the 2 NM day range",
    )
    lines.append(
        "constructed: a RU corvette and an EE patrol vessel pass 3,000 m apart at night in the Gulf of "
        "Finland (inside the 3 NM night contact range only)"
    )
    core = builder.build()
    aircraft, ships = demo_sources(shared_data)
    background = _background(core, aircraft, ships, start)
    for spec, observations in background:
        builder.add_recorded(spec, observations)
    scenario = builder.build()
    out_dir.mkdir(parents=True, exist_ok=True)
    table_path = scenario.write_table(out_dir / "demo_positions.csv")
    fleet_path = out_dir / "demo_fleet.toml"
    fleet_path.write_text(_fleet_toml(scenario), encoding="utf-8")
    return DemoScenario(
        scenario=scenario,
        table_path=table_path,
        fleet_path=fleet_path,
        expected=scenario.expected,
        incidents=tuple(lines),
        background_aircraft=sum(1 for s, _ in background if s.domain is Domain.AIR),
        background_ships=sum(1 for s, _ in background if s.domain is Domain.SEA),
    )


def _background(
    core: Scenario, aircraft: Sequence[Observation], ships: Sequence[Observation], start: float
) -> list[tuple[PlatformSpec, list[Observation]]]:
    """Real traffic relocated into the Baltic over the demo's span, keeping 20 km from every incident platform."""
    rng = np.random.default_rng(7)
    chosen: list[tuple[PlatformSpec, list[Observation]]] = []
    for k, track in enumerate(_by_platform(aircraft).values()):
        first = track[0].t
        to_lat, to_lon = float(rng.uniform(54.6, 59.8)), float(rng.uniform(14.0, 26.0))
        pid = f"bg-air-{k:02d}"
        moved = relocate(
            track,
            to_lat=to_lat,
            to_lon=to_lon,
            rotate_deg=float(rng.uniform(0.0, 360.0)),
            time_shift_s=start - first,
            rename={track[0].platform_id: f"id:{pid}"},
            party=CIVIL,
            kind=Kind.CIVIL,
            source="table",
        )
        moved = [o for o in moved if start <= o.t <= start + DEMO_SPAN_S]
        chosen.append(
            (
                PlatformSpec(
                    id=pid,
                    party=CIVIL,
                    domain=Domain.AIR,
                    kind=Kind.CIVIL,
                    callsign=track[0].callsign,
                    sample_s=BUNDLE_THIN_S,
                ),
                moved,
            )
        )
    points = lane_points(len(ships), rng)
    for k, ship in enumerate(ships):
        pid = f"bg-ship-{k:02d}"
        times = np.arange(start, start + DEMO_SPAN_S + 1.0, 30.0)
        speed = ship.sog_mps or 0.0
        lon, lat, back = GEOD.fwd(
            np.full_like(times, points.lon[k]),
            np.full_like(times, points.lat[k]),
            np.full_like(times, points.course_deg[k]),
            speed * (times - start),
        )
        course = (np.asarray(back) + 180.0) % 360.0
        observations = [
            Observation(
                t=float(t),
                platform_id=f"id:{pid}",
                source="table",
                lat=float(la),
                lon=float(lo),
                sog_mps=speed,
                cog_deg=float(c),
                domain=Domain.SEA,
                party=CIVIL,
                kind=Kind.CIVIL,
                name=ship.name,
            )
            for t, la, lo, c in zip(times, lat, lon, course, strict=True)
        ]
        chosen.append(
            (
                PlatformSpec(id=pid, party=CIVIL, domain=Domain.SEA, kind=Kind.CIVIL, name=ship.name, sample_s=30.0),
                observations,
            )
        )
    return [(spec, obs) for spec, obs in chosen if obs and _clear_of(core, obs, 20_000.0)]


def _clear_of(core: Scenario, track: Sequence[Observation], distance_m: float) -> bool:
    """True when no report of ``track`` is within ``distance_m`` of a scenario platform at the same time."""
    times = np.array([o.t for o in track])
    lat = np.array([o.lat for o in track], dtype=float)
    lon = np.array([o.lon for o in track], dtype=float)
    for _, trajectory in core.trajectories:
        where = trajectory.positions(np.clip(times, trajectory.start, trajectory.end))
        _, _, gap = GEOD.inv(lon, lat, where.lon, where.lat)
        if float(np.min(gap)) < distance_m:
            return False
    return True


def _fleet_toml(scenario: Scenario) -> str:
    """A fleet file (docs/fleet.md format) naming every built platform's party, domain, kind and type."""
    built = {name for name, _ in scenario.trajectories}
    lines = [
        "# riskline demo fleet: the platforms of the reconstructed incidents (generated by",
        "# riskline.scenarios.baltic.demo_scenario; background traffic is civil and named in the table)",
        "",
    ]
    for spec in scenario.platforms:
        if spec.id not in built:
            continue
        lines += [
            "[[platform]]",
            f'id = "{spec.id}"',
            f'party = "{spec.party}"',
            f'domain = "{spec.domain.value}"',
            f'kind = "{spec.kind.value}"',
            f"platform_type = {json.dumps(spec.platform_type or 'unknown')}",
        ]
        if spec.name:
            lines.append(f"name = {json.dumps(spec.name)}")
        lines.append("")
    return "\n".join(lines)
