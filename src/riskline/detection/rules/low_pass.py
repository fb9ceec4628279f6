"""``low_pass``: a military aircraft of one party low over a warship of another (USS Donald Cook 2014 and 2016;
INCSEA binds armed forces, so military platforms only). Needs a known altitude."""

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

NAME = "low_pass"


class Model(RuleModel):
    horizontal_m: Positive
    altitude_m: Positive
    lookahead_s: NonNegative
    severity: Severity


@dataclass(frozen=True, slots=True)
class LowPass:
    enabled: bool
    horizontal_m: float  # [m]
    altitude_m: float  # [m] above the sea
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


def freeze(model: Model) -> LowPass:
    return LowPass(model.enabled, model.horizontal_m, model.altitude_m, model.lookahead_s, model.severity,
                   citation_of(model))


def pairs(rule: LowPass, ctx: PairContext) -> list[Finding]:
    mask = ctx.mixed & ~ctx.height_unknown & ctx.both_military
    if not mask.any():
        return []
    volume = Volume(NAME, rule.horizontal_m, rule.altitude_m, rule.lookahead_s, rule.severity)
    return ctx.volume_findings(ctx.geom.take(mask), volume)


def participants(rule: LowPass, snapshot: Snapshot) -> BoolArray:
    """Military platforms with a known altitude (a ship's is 0)."""
    import numpy as np  # evaluation only: loading the rulebook stays light

    return snapshot.is_military & ~np.isnan(snapshot.alt)


def _threshold(rules: Any) -> float | None:
    return number(rules, NAME, "horizontal_m")


SPEC = RuleSpec(
    name=NAME,
    summary="a military aircraft low over another party's warship",
    domain="air-sea",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    reach_m=lambda rule: rule.horizontal_m,
    participants=participants,
    pairs=pairs,
    plot_threshold=_threshold,
)
