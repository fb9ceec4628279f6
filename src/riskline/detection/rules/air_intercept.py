"""``air_intercept``: an aircraft within intercept distance of another party's aircraft, banded by 3-D distance
(reported intercepts 2016–2018: 50 ft, 25 ft, 5 ft; REGIMES.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from riskline.detection.findings import Finding
from riskline.detection.rules.base import (
    Citation,
    NonNegative,
    PairContext,
    RuleModel,
    RuleSpec,
    Severity,
    Strict,
    citation_of,
)

NAME = "air_intercept"


class Band(Strict):
    severity: Severity
    max_m: NonNegative


class Model(RuleModel):
    lookahead_s: NonNegative
    bands: list[Band] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _increasing(cls, bands: list[Band]) -> list[Band]:
        limits = [band.max_m for band in bands]
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise ValueError("bands must have strictly increasing max_m")
        return bands


@dataclass(frozen=True, slots=True)
class SeverityBand:
    severity: str
    max_m: float  # [m] inclusive upper bound of the band


@dataclass(frozen=True, slots=True)
class AirIntercept:
    enabled: bool
    lookahead_s: float  # [s]
    bands: tuple[SeverityBand, ...]
    citation: Citation

    @property
    def max_m(self) -> float:  # [m]
        return self.bands[-1].max_m

    def severity_for(self, distance_m: float) -> str | None:
        for band in self.bands:
            if distance_m <= band.max_m:
                return band.severity
        return None


def freeze(model: Model) -> AirIntercept:
    return AirIntercept(model.enabled, model.lookahead_s, tuple(SeverityBand(b.severity, b.max_m) for b in model.bands),
                        citation_of(model))


def pairs(rule: AirIntercept, ctx: PairContext) -> list[Finding]:
    if not ctx.both_air.any():
        return []
    return ctx.sphere_findings(
        ctx.geom.take(ctx.both_air), NAME, rule.max_m, rule.lookahead_s,
        lambda distance: rule.severity_for(distance) or rule.bands[-1].severity,
    )


def _threshold(rules: Any) -> float | None:
    bands = rules.get(NAME, {}).get("bands") or []
    return float(bands[-1]["max_m"]) if bands else None


SPEC = RuleSpec(
    name=NAME,
    summary="an aircraft within intercept distance of another party's aircraft, banded by 3-D distance",
    domain="air",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: rule.lookahead_s,
    reach_m=lambda rule: rule.max_m,
    pairs=pairs,
    plot_threshold=_threshold,
    breach_severity=lambda rule, distance: rule.severity_for(distance),
)
