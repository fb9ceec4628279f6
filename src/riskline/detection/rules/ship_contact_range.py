"""``ship_contact_range``: warships of different parties closer than the range at which radio contact must be
established, 2 NM by day and 3 NM at night (Russia–Greece INCSEA, amended 2021; REGIMES.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from riskline.detection.findings import Finding
from riskline.detection.rules.base import (
    Citation,
    NonNegative,
    PairContext,
    Positive,
    RuleModel,
    RuleSpec,
    Severity,
    Volume,
    citation_of,
    number,
)

if TYPE_CHECKING:
    from riskline.tracks.snapshot import BoolArray, Snapshot

NAME = "ship_contact_range"


class Model(RuleModel):
    day_m: Positive
    night_m: Positive
    night_sun_elevation_deg: float = Field(ge=-18, le=10)
    lookahead_s: NonNegative
    severity: Severity


@dataclass(frozen=True, slots=True)
class ShipContactRange:
    enabled: bool
    day_m: float  # [m]
    night_m: float  # [m]
    night_sun_elevation_deg: float  # [deg]
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


def freeze(model: Model) -> ShipContactRange:
    return ShipContactRange(model.enabled, model.day_m, model.night_m, model.night_sun_elevation_deg,
                            model.lookahead_s, model.severity, citation_of(model))


def pairs(rule: ShipContactRange, ctx: PairContext) -> list[Finding]:
    import numpy as np  # evaluation only: loading the rulebook stays light

    from riskline.detection.daynight import is_night

    mask = ctx.both_sea & ctx.both_military
    if not mask.any():
        return []
    sea = ctx.geom.take(mask)
    night = is_night(sea.mid_lat, sea.mid_lon, ctx.t, rule.night_sun_elevation_deg)
    radius = np.where(night, rule.night_m, rule.day_m)
    volume = Volume(NAME, radius, np.inf, rule.lookahead_s, rule.severity)
    return ctx.volume_findings(sea, volume, night=night)


def participants(rule: ShipContactRange, snapshot: Snapshot) -> BoolArray:
    """Warships: INCSEA binds armed forces."""
    return snapshot.is_military & ~snapshot.is_air


def _threshold(rules: Any) -> float | None:
    return number(rules, NAME, "night_m")


SPEC = RuleSpec(
    name=NAME,
    summary="warships of different parties inside the radio-contact range (2 NM day, 3 NM night)",
    domain="sea",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    reach_m=lambda rule: max(rule.day_m, rule.night_m),
    participants=participants,
    pairs=pairs,
    plot_threshold=_threshold,
)
