"""The rule registry: every rule of the watch, one module each, in the order the operator sees them.

The detector, the encounter tracker, ``riskline rules show`` and ``riskline incident plot`` consult ``REGISTRY``
instead of tables of rule names; a new rule is a new module here and one line below (``hazard_area_entry`` was
added so). See ``base.RuleSpec`` for what a rule declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from riskline.detection.rules import (
    air_intercept,
    air_proximity,
    hazard_area_entry,
    low_pass,
    non_cooperative_aircraft,
    repeated_low_passes,
    ship_contact_range,
    territorial_entry,
)
from riskline.detection.rules.base import AreaContext, Citation, PairContext, RuleSpec, Volume

REGISTRY: tuple[RuleSpec, ...] = (
    air_proximity.SPEC,
    air_intercept.SPEC,
    low_pass.SPEC,
    repeated_low_passes.SPEC,
    ship_contact_range.SPEC,
    non_cooperative_aircraft.SPEC,
    territorial_entry.SPEC,
    hazard_area_entry.SPEC,
)
RULES: Mapping[str, RuleSpec] = MappingProxyType({spec.name: spec for spec in REGISTRY})

__all__ = ["REGISTRY", "RULES", "AreaContext", "Citation", "PairContext", "RuleSpec", "Volume"]
