"""``territorial_entry``: a military platform inside, or predicted to enter, another party's 12 NM territorial sea
or airspace (DMA 1989 art. 1; UNCLOS art. 3). Territories come from a GeoJSON file (``detection.territory``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from riskline.detection.findings import Finding
from riskline.detection.rules.base import (
    AreaContext,
    Citation,
    NonNegative,
    RuleModel,
    RuleSpec,
    Severity,
    citation_of,
)

if TYPE_CHECKING:
    from riskline.detection.territory import Territory

NAME = "territorial_entry"
STEP_S = 30.0  # [s] sampling of dead-reckoned paths when predicting an entry


class Model(RuleModel):
    territories: str = ""
    lookahead_s: NonNegative
    severity: Severity


@dataclass(frozen=True, slots=True)
class TerritorialEntry:
    enabled: bool
    territories: str
    """Path of a GeoJSON FeatureCollection whose features carry a ``party`` property; empty = rule idle."""
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


def freeze(model: Model) -> TerritorialEntry:
    return TerritorialEntry(model.enabled, model.territories, model.lookahead_s, model.severity, citation_of(model))


def setup(rule: TerritorialEntry) -> tuple[Territory, ...]:
    from riskline.detection.territory import load_territories  # evaluation only: the rulebook loads light

    return load_territories(Path(rule.territories)) if rule.territories and rule.enabled else ()


def area(rule: TerritorialEntry, ctx: AreaContext) -> list[Finding]:
    import numpy as np  # evaluation only: loading the rulebook stays light

    from riskline.detection.geometry import paths_meet_box, within_box

    territories: tuple[Territory, ...] = ctx.state
    snapshot, t = ctx.snapshot, ctx.t
    motion = ctx.motion
    names = snapshot.party_names
    steps = np.arange(0.0, rule.lookahead_s + 1e-9, STEP_S)  # [s]
    findings: list[Finding] = []
    for territory in territories:
        foreign = np.asarray([name != territory.party for name in names], dtype=bool)[snapshot.party]
        candidates = np.flatnonzero(snapshot.is_military & foreign)
        bounds = territory.area.bounds  # only paths meeting the box are sampled, only samples in it are tested
        candidates = candidates[paths_meet_box(motion, candidates, float(steps[0]), float(steps[-1]), bounds)]
        if len(candidates) == 0:
            continue
        sample = steps[:, None]  # [s] one row per sample, one column per candidate
        lat = motion.lat[candidates] + motion.lat_rate[candidates] * sample
        lon = motion.lon[candidates] + motion.lon_rate[candidates] * sample
        inside = within_box(lat, lon, bounds)
        inside[inside] = territory.contains(lat[inside], lon[inside])
        first_inside = np.where(inside.any(axis=0), steps[np.argmax(inside, axis=0)], np.nan)  # [s] earliest sample
        for row in np.flatnonzero(~np.isnan(first_inside)):
            k = int(candidates[row])
            tau = float(first_inside[row])
            lat_k = float(motion.lat[k] + motion.lat_rate[k] * tau)
            lon_k = float(motion.lon[k] + motion.lon_rate[k] * tau)
            speed = float(np.hypot(snapshot.v_east[k], snapshot.v_north[k]))
            is_air = bool(snapshot.is_air[k])
            findings.append(
                Finding(
                    rule=NAME,
                    a=snapshot.ids[k],
                    b=f"territory:{territory.party}",
                    party_a=names[int(snapshot.party[k])],
                    party_b=territory.party,
                    breach=tau == 0.0,
                    t=t,
                    t_entry=t + tau,
                    t_exit=t + tau,
                    t_cpa=t + tau,
                    distance_m=speed * tau,
                    horizontal_m=speed * tau,
                    vertical_m=float(motion.alt[k]) if is_air else None,
                    lat=lat_k,
                    lon=lon_k,
                    severity=rule.severity,
                    details={"domain": "air" if is_air else "sea", "territory": territory.name},
                )
            )
    return findings


SPEC = RuleSpec(
    name=NAME,
    summary="a military platform inside, or about to enter, another party's 12 NM territory",
    domain="air-sea",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    area=area,
    setup=setup,
)
