"""``non_cooperative_aircraft``: an aircraft with its transponder off inside the air-proximity volume of a civil
aircraft (EASA 2015, the Baltic occurrences; REGIMES.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

NAME = "non_cooperative_aircraft"


class Model(RuleModel):
    horizontal_m: Positive
    vertical_m: Positive
    lookahead_s: NonNegative
    severity: Severity


@dataclass(frozen=True, slots=True)
class NonCooperativeAircraft:
    enabled: bool
    horizontal_m: float  # [m]
    vertical_m: float  # [m]
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


def freeze(model: Model) -> NonCooperativeAircraft:
    return NonCooperativeAircraft(model.enabled, model.horizontal_m, model.vertical_m, model.lookahead_s,
                                  model.severity, citation_of(model))


def pairs(rule: NonCooperativeAircraft, ctx: PairContext) -> list[Finding]:
    import numpy as np  # evaluation only: loading the rulebook stays light

    if not ctx.both_air.any():
        return []
    snapshot, geom = ctx.snapshot, ctx.geom
    civil = _civil(snapshot)
    silent = ~snapshot.transponder
    mask = ctx.both_air & ((civil[geom.i] & silent[geom.j]) | (civil[geom.j] & silent[geom.i]))
    if not mask.any():
        return []
    unknown = ctx.height_unknown[mask]
    volume = Volume(NAME, rule.horizontal_m, np.where(unknown, np.inf, rule.vertical_m), rule.lookahead_s,
                    rule.severity, unknown)
    return ctx.volume_findings(geom.take(mask), volume)


def participants(rule: NonCooperativeAircraft, snapshot: Snapshot) -> BoolArray:
    """Civil aircraft and silent ones: the rule pairs one of each."""
    return snapshot.is_air & (_civil(snapshot) | ~snapshot.transponder)


def _civil(snapshot: Snapshot) -> BoolArray:
    import numpy as np  # evaluation only: loading the rulebook stays light

    from riskline.tracks.identity import CIVIL

    return np.asarray([name == CIVIL for name in snapshot.party_names], dtype=bool)[snapshot.party]


def _threshold(rules: Any) -> float | None:
    return number(rules, NAME, "horizontal_m")


SPEC = RuleSpec(
    name=NAME,
    summary="an aircraft with its transponder off near a civil aircraft",
    domain="air",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    reach_m=lambda rule: rule.horizontal_m,
    participants=participants,
    pairs=pairs,
    plot_threshold=_threshold,
)
