"""``air_proximity``: two aircraft of different parties inside the air-proximity volume (EASA 2015; REGIMES.md §6).

Unknown altitude lifts the vertical limit for the pair (a height-less track next to an airliner is still flagged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

NAME = "air_proximity"


class Model(RuleModel):
    horizontal_m: Positive
    vertical_m: Positive
    lookahead_s: NonNegative
    severity: Severity


@dataclass(frozen=True, slots=True)
class AirProximity:
    enabled: bool
    horizontal_m: float  # [m]
    vertical_m: float  # [m]
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


def freeze(model: Model) -> AirProximity:
    return AirProximity(model.enabled, model.horizontal_m, model.vertical_m, model.lookahead_s, model.severity,
                        citation_of(model))


def pairs(rule: AirProximity, ctx: PairContext) -> list[Finding]:
    import numpy as np  # evaluation only: loading the rulebook stays light

    mask = ctx.both_air
    if not mask.any():
        return []
    unknown = ctx.height_unknown[mask]
    volume = Volume(NAME, rule.horizontal_m, np.where(unknown, np.inf, rule.vertical_m), rule.lookahead_s,
                    rule.severity, unknown)
    return ctx.volume_findings(ctx.geom.take(mask), volume)


def _threshold(rules: Any) -> float | None:
    return number(rules, NAME, "horizontal_m")


SPEC = RuleSpec(
    name=NAME,
    summary="two aircraft of different parties within the air-proximity volume",
    domain="air",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    reach_m=lambda rule: rule.horizontal_m,
    pairs=pairs,
    plot_threshold=_threshold,
)
