"""``hazard_area_entry``: a platform of another party predicted to enter an announced, active hazard area (INCSEA
1972 art. VI: notice of actions dangerous to navigation or aircraft, 3–5 days ahead; REGIMES.md §1, §7).

The areas are hazard notices as the channel carries them (``hazard_notice`` bodies: a GeoJSON polygon, the
window, the vertical limits) with the issuing party and when the notice was issued, read from a JSON file::

    [{"party": "RU", "issued": 1773122400.0, "notice": {"area": {...}, "start": …, "end": …, "nature": "…",
      "navwarn": "NAVAREA I 58/26", "lower_m": null, "upper_m": null}}]

(``riskline notify hazard TEXT --party RU --save FILE`` writes it from a NAVAREA warning or NOTAM). Each dead-
reckoned path is sampled every 30 s over the look-ahead; the first sample inside an area that is active at that
moment and between its vertical limits (ships are at the surface) is the predicted entry, and the lead time is
the warning the watch gives. Each finding also says whether the notice itself came 3–5 days ahead.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskline.detection.errors import RulebookError
from riskline.detection.findings import Finding
from riskline.detection.rules.base import (
    AreaContext,
    Citation,
    Mark,
    NonNegative,
    RuleModel,
    RuleSpec,
    Severity,
    citation_of,
)

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

NAME = "hazard_area_entry"
STEP_S = 30.0  # [s]
DAY_S = 86_400.0  # [s]


class Model(RuleModel):
    source: str = "INCSEA 1972 art. VI (Russian text, base.garant.ru 2541165): notice 3–5 days ahead"
    mark: Mark = "V"
    description: str = "A platform of another party predicted to enter an announced, active hazard area"
    notices: str = ""
    lookahead_s: NonNegative = 1800.0
    severity: Severity = "medium"
    min_lead_days: NonNegative = 3.0
    max_lead_days: NonNegative = 5.0


@dataclass(frozen=True, slots=True)
class HazardAreaEntry:
    enabled: bool
    notices: str
    """Path of the JSON file of hazard notices; empty = rule idle."""
    lookahead_s: float  # [s]
    severity: str
    min_lead_s: float  # [s]
    max_lead_s: float  # [s]
    citation: Citation


@dataclass(frozen=True, slots=True)
class HazardArea:
    reference: str
    party: str
    nature: str
    start: float  # [s]
    end: float  # [s]
    lower_m: float  # [m]
    upper_m: float  # [m] +inf: unlimited
    area: BaseGeometry
    notice_lead_s: float | None  # [s] start − issued, when the issue time is known


def freeze(model: Model) -> HazardAreaEntry:
    return HazardAreaEntry(model.enabled, model.notices, model.lookahead_s, model.severity,
                           model.min_lead_days * DAY_S, model.max_lead_days * DAY_S, citation_of(model))


def load_hazards(path: Path) -> tuple[HazardArea, ...]:
    """Read the hazard notices file; a one-line ``RulebookError`` naming the file and the item on error."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulebookError(f"{path}: cannot read hazard notices: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise RulebookError(f"{path}: hazard notices are not valid JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(document, list):
        raise RulebookError(f"{path}: hazard notices must be a JSON list")
    areas = []
    for index, item in enumerate(document):
        try:
            areas.append(hazard_area(item, f"notice-{index + 1}"))
        except (KeyError, TypeError, ValueError) as error:
            raise RulebookError(f"{path}: item {index}: {error}") from None
    return tuple(areas)


def hazard_area(item: dict[str, Any], fallback: str) -> HazardArea:
    import shapely  # evaluation only: loading the rulebook stays light

    notice = item["notice"]
    if notice.get("cancels"):
        raise ValueError("a cancellation has no area to enter; leave it out")
    rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in notice["area"]["coordinates"]]
    polygon = shapely.Polygon(rings[0], rings[1:])
    if not polygon.is_valid:
        raise ValueError(f"notice.area: not a valid polygon: {shapely.is_valid_reason(polygon)}")
    shapely.prepare(polygon)
    start, end = float(notice["start"]), float(notice["end"])
    if not (math.isfinite(start) and math.isfinite(end) and end > start):
        raise ValueError("notice.end: not after notice.start")
    issued = item.get("issued")
    lower, upper = notice.get("lower_m"), notice.get("upper_m")
    return HazardArea(
        reference=str(notice.get("navwarn") or notice.get("notam") or item.get("id") or fallback),
        party=str(item["party"]),
        nature=str(notice.get("nature", "")),
        start=start,
        end=end,
        lower_m=0.0 if lower is None else float(lower),
        upper_m=math.inf if upper is None else float(upper),
        area=polygon,
        notice_lead_s=None if issued is None else start - float(issued),
    )


def setup(rule: HazardAreaEntry) -> tuple[HazardArea, ...]:
    return load_hazards(Path(rule.notices)) if rule.notices and rule.enabled else ()


def notice_lead(rule: HazardAreaEntry, hazard: HazardArea) -> str:
    """``in_time`` (3–5 days ahead), ``short``, ``early`` or ``unknown``."""
    if hazard.notice_lead_s is None:
        return "unknown"
    if hazard.notice_lead_s < rule.min_lead_s:
        return "short"
    return "early" if hazard.notice_lead_s > rule.max_lead_s else "in_time"


def area(rule: HazardAreaEntry, ctx: AreaContext) -> list[Finding]:
    import numpy as np  # evaluation only: loading the rulebook stays light
    import shapely

    from riskline.detection.geometry import paths_meet_box, within_box

    hazards: tuple[HazardArea, ...] = ctx.state
    snapshot, t = ctx.snapshot, ctx.t
    horizon = t + rule.lookahead_s
    live = [h for h in hazards if h.start <= horizon and h.end >= t]
    if not live or len(snapshot) == 0:
        return []
    motion = ctx.motion
    names = snapshot.party_names
    steps = np.arange(0.0, rule.lookahead_s + 1e-9, STEP_S)  # [s]
    findings: list[Finding] = []
    for hazard in live:
        moments = t + steps
        active = steps[(hazard.start <= moments) & (moments <= hazard.end)]  # [s] the samples the area is there at
        if len(active) == 0:
            continue
        issuer = names.index(hazard.party) if hazard.party in names else -1
        candidates = np.flatnonzero(snapshot.party != issuer)
        bounds = hazard.area.bounds  # only paths meeting the box are sampled, only samples in it are tested
        candidates = candidates[paths_meet_box(motion, candidates, float(active[0]), float(active[-1]), bounds)]
        if len(candidates) == 0:
            continue
        sample = active[:, None]  # [s] one row per sample, one column per candidate
        lat = motion.lat[candidates] + motion.lat_rate[candidates] * sample
        lon = motion.lon[candidates] + motion.lon_rate[candidates] * sample
        alt = np.where(snapshot.is_air[candidates], motion.alt[candidates] + motion.v_up[candidates] * sample, 0.0)
        alt = np.where(np.isnan(alt), hazard.lower_m, alt)
        inside = within_box(lat, lon, bounds) & (alt >= hazard.lower_m) & (alt <= hazard.upper_m)
        inside[inside] = shapely.intersects_xy(hazard.area, lon[inside], lat[inside])
        first = np.where(inside.any(axis=0), active[np.argmax(inside, axis=0)], np.nan)  # [s] the earliest sample
        for row in np.flatnonzero(~np.isnan(first)):
            k = int(candidates[row])
            tau = float(first[row])
            is_air = bool(snapshot.is_air[k])
            speed = float(np.hypot(snapshot.v_east[k], snapshot.v_north[k]))
            findings.append(
                Finding(
                    rule=NAME,
                    a=snapshot.ids[k],
                    b=f"hazard:{hazard.reference}",
                    party_a=names[int(snapshot.party[k])],
                    party_b=hazard.party,
                    breach=tau == 0.0,
                    t=t,
                    t_entry=t + tau,
                    t_exit=t + tau,
                    t_cpa=t + tau,
                    distance_m=speed * tau,
                    horizontal_m=speed * tau,
                    vertical_m=float(motion.alt[k] + motion.v_up[k] * tau) if is_air else None,
                    lat=float(motion.lat[k] + motion.lat_rate[k] * tau),
                    lon=float(motion.lon[k] + motion.lon_rate[k] * tau),
                    severity=rule.severity,
                    details={
                        "domain": "air" if is_air else "sea",
                        "hazard": hazard.reference,
                        "nature": hazard.nature,
                        "lead_s": tau,
                        "notice_lead_days": None if hazard.notice_lead_s is None
                        else round(hazard.notice_lead_s / DAY_S, 2),
                        "notice_lead": notice_lead(rule, hazard),
                    },
                )
            )
    return findings


SPEC = RuleSpec(
    name=NAME,
    summary="a platform of another party predicted to enter an announced, active hazard area",
    domain="air-sea",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    area=area,
    setup=setup,
    default=True,
)
