"""An activity notification (Vienna Document 2011 ch. V, para. 38): the documented JSON contract and its checks.

The JSON form (docs/transparency.md) has the top-level keys ``party``, ``designation``, ``purpose``, ``states``,
``level_of_command``, ``notified``, ``start``, ``end`` (ISO 8601 UTC), ``area`` (GeoJSON Polygon or
MultiPolygon, RFC 7946), the counts ``troops``, ``tanks``, ``acv``, ``artillery``, ``mlrs``, ``helicopters``,
``aircraft_sorties``, ``naval_vessels``, ``amphibious_troops``, ``airborne_troops`` (absent = 0), and the optional
``phases`` (each with ``name``, ``start``, ``end`` and ``area``), ``calendar_year_listed`` (bool), ``amends``
(the reference of the original: its designation or message id), ``cancelled`` (an amendment that calls the
activity off) and ``calendar_changes`` (changes against the annual calendar, in words). TOML mirrors it key for
key (native TOML datetimes are accepted).

Bad input gets one ``InvalidNotification`` naming the field: malformed coordinates, an area that is not a valid
polygon, an end before a start, a negative count, a phase outside the activity.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import shapely
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry.base import BaseGeometry

from riskline.timeutil import parse_time, to_iso
from riskline.transparency.errors import InvalidNotification
from riskline.transparency.regime import COUNTS


def _iso_utc(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} needs a zone (e.g. Z for UTC)")
    return value


IsoUtc = Annotated[str, AfterValidator(_iso_utc)]
NonNegativeCount = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


Ring = Annotated[list[list[float]], Field(min_length=4)]


class PolygonArea(_Strict):
    """A GeoJSON Polygon (RFC 7946 §3.1.6): closed rings of [lon, lat] positions, the first the outer one."""

    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1)]


class MultiPolygonArea(_Strict):
    """A GeoJSON MultiPolygon (RFC 7946 §3.1.7)."""

    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1)]], Field(min_length=1)]


Area = Annotated[PolygonArea | MultiPolygonArea, Field(discriminator="type")]


class PhaseModel(_Strict):
    name: str = ""
    start: IsoUtc
    end: IsoUtc
    area: Area


class NotificationModel(_Strict):
    """The body of an ``activity_notification`` and the notification file, key for key."""

    party: str = Field(min_length=1)
    designation: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    states: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    level_of_command: str = Field(min_length=1)
    notified: IsoUtc
    start: IsoUtc
    end: IsoUtc
    area: Area
    troops: NonNegativeCount = 0
    tanks: NonNegativeCount = 0
    acv: NonNegativeCount = 0
    artillery: NonNegativeCount = 0
    mlrs: NonNegativeCount = 0
    helicopters: NonNegativeCount = 0
    aircraft_sorties: NonNegativeCount = 0
    naval_vessels: NonNegativeCount = 0
    amphibious_troops: NonNegativeCount = 0
    airborne_troops: NonNegativeCount = 0
    phases: list[PhaseModel] = []
    calendar_year_listed: bool | None = None
    amends: str | None = None
    cancelled: bool = False
    calendar_changes: str | None = None


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    start: float  # [s] POSIX
    end: float  # [s] POSIX
    area: BaseGeometry
    """Polygon or MultiPolygon in (lon, lat) degrees."""


@dataclass(frozen=True, slots=True)
class ActivityNotification:
    """A validated notification: times in POSIX seconds, areas as shapely geometries, counts by name."""

    party: str
    designation: str
    purpose: str
    states: tuple[str, ...]
    level_of_command: str
    notified: float  # [s]
    start: float  # [s]
    end: float  # [s]
    area: BaseGeometry
    counts: Mapping[str, int]
    phases: tuple[Phase, ...]
    calendar_year_listed: bool | None
    amends: str | None
    cancelled: bool
    calendar_changes: str | None
    document: Mapping[str, Any]
    """The normal JSON form (defaults filled in), exactly what is signed and sent."""

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))

    def areas_at(self, t: float) -> list[BaseGeometry]:
        """The declared areas active at ``t`` [s]: the phases covering it, else the whole area inside the window."""
        if not self.start <= t <= self.end:
            return []
        covering = [phase.area for phase in self.phases if phase.start <= t <= phase.end]
        return covering or [self.area]

    @property
    def year(self) -> int:
        return datetime.fromisoformat(to_iso(self.start).replace("Z", "+00:00")).year


def parse_notification(data: Mapping[str, Any]) -> ActivityNotification:
    """Validate a notification given as a JSON-like mapping; ``InvalidNotification`` names the bad field."""
    if not isinstance(data, Mapping):
        raise InvalidNotification("notification", f"must be a JSON object, got {type(data).__name__}")
    try:
        model = NotificationModel.model_validate(_plain(dict(data)))
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"] if not str(part).endswith("Area")) or "notification"
        where = where.replace(".Polygon", "").replace(".MultiPolygon", "")
        raise InvalidNotification(where, " ".join(first["msg"].split())) from None
    area = _geometry(model.area, "area")
    start, end, notified = parse_time(model.start), parse_time(model.end), parse_time(model.notified)
    if end <= start:
        raise InvalidNotification("end", f"{model.end} is not after the start {model.start}")
    phases = []
    for index, phase in enumerate(model.phases):
        where = f"phases.{index}"
        phase_start, phase_end = parse_time(phase.start), parse_time(phase.end)
        if phase_end <= phase_start:
            raise InvalidNotification(f"{where}.end", f"{phase.end} is not after the phase's start {phase.start}")
        if phase_start < start or phase_end > end:
            raise InvalidNotification(where, f"runs {phase.start}..{phase.end}, outside the activity's window")
        phases.append(Phase(phase.name, phase_start, phase_end, _geometry(phase.area, f"{where}.area")))
    document = model.model_dump(mode="json")
    return ActivityNotification(
        party=model.party,
        designation=model.designation,
        purpose=model.purpose,
        states=tuple(model.states),
        level_of_command=model.level_of_command,
        notified=notified,
        start=start,
        end=end,
        area=area,
        counts={name: int(getattr(model, name)) for name in COUNTS},
        phases=tuple(phases),
        calendar_year_listed=model.calendar_year_listed,
        amends=model.amends,
        cancelled=model.cancelled,
        calendar_changes=model.calendar_changes,
        document=document,
    )


def read_notification(path: Path) -> ActivityNotification:
    """A notification file: ``.toml`` is read as TOML, anything else as JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidNotification(str(path), f"cannot read: {error.strerror or error}") from None
    try:
        data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidNotification(str(path), f"not valid TOML: {error}") from None
    except json.JSONDecodeError as error:
        raise InvalidNotification(
            str(path), f"not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    return parse_notification(data)


def _plain(value: Any) -> Any:
    """TOML datetimes become ISO 8601 text (a TOML date without time is refused: the contract wants UTC times)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return to_iso(value.timestamp())
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _geometry(area: PolygonArea | MultiPolygonArea, where: str) -> BaseGeometry:
    polygons = [area.coordinates] if isinstance(area, PolygonArea) else area.coordinates
    shapes = []
    for p, rings in enumerate(polygons):
        base = where if isinstance(area, PolygonArea) else f"{where}.coordinates.{p}"
        for r, ring in enumerate(rings):
            ring_where = f"{base}.coordinates.{r}" if isinstance(area, PolygonArea) else f"{base}.{r}"
            for position in ring:
                if len(position) not in (2, 3):
                    raise InvalidNotification(ring_where, f"a position is [lon, lat], got {len(position)} numbers")
                lon, lat = position[0], position[1]
                if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                    raise InvalidNotification(
                        ring_where, f"position [{lon}, {lat}] is outside lon -180..180, lat -90..90"
                    )
            if ring[0][:2] != ring[-1][:2]:
                raise InvalidNotification(ring_where, "a linear ring must end where it starts")
        flat = [[(pos[0], pos[1]) for pos in ring] for ring in rings]
        shapes.append(shapely.Polygon(flat[0], flat[1:]))
    geometry: BaseGeometry = shapes[0] if isinstance(area, PolygonArea) else shapely.MultiPolygon(shapes)
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        raise InvalidNotification(where, f"not a valid polygon: {reason}")
    if geometry.area <= 0:
        raise InvalidNotification(where, "the polygon has no area")
    return geometry


def geojson_of(geometry: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON mapping of a shapely geometry (RFC 7946 order: lon, lat)."""
    mapping: dict[str, Any] = json.loads(shapely.to_geojson(geometry))
    return mapping
