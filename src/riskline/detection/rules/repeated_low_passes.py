"""``repeated_low_passes``: ``count`` low passes of one aircraft over one ship within ``window_s`` — the
simulated-attack profile (USS Donald Cook, Baltic 2016: 11 to 20 passes). Derived by the encounter tracker from
``low_pass`` breaches; the detector does not evaluate it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from riskline.detection.rules.base import (
    Citation,
    NonNegative,
    Positive,
    RuleModel,
    RuleSpec,
    Severity,
    citation_of,
    number,
)

NAME = "repeated_low_passes"


class Model(RuleModel):
    count: int = Field(ge=2)
    window_s: Positive
    pass_gap_s: NonNegative
    severity: Severity


@dataclass(frozen=True, slots=True)
class RepeatedLowPasses:
    enabled: bool
    count: int
    window_s: float  # [s]
    pass_gap_s: float  # [s]
    severity: str
    citation: Citation


def freeze(model: Model) -> RepeatedLowPasses:
    return RepeatedLowPasses(model.enabled, model.count, model.window_s, model.pass_gap_s, model.severity,
                             citation_of(model))


def _threshold(rules: Any) -> float | None:
    return number(rules, "low_pass", "horizontal_m")


SPEC = RuleSpec(
    name=NAME,
    summary="repeated low passes of one aircraft over one ship (derived from low_pass)",
    domain="air-sea",
    model=Model,
    freeze=freeze,
    horizon_s=lambda rule: 0.0,
    plot_threshold=_threshold,
    hold_s=lambda rule: rule.window_s,
    derived=True,
)
