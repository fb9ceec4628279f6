"""What history tests compare."""

from __future__ import annotations

from riskline.incidents.model import Encounter


def identity(encounter: Encounter) -> tuple[object, ...]:
    """What must not depend on where the cuts fell: pair, rule, span, outcome, severity, closest approach."""
    return (
        encounter.rule, encounter.a, encounter.b, encounter.start, encounter.end, encounter.occurred,
        encounter.severity, encounter.t_cpa, encounter.min_distance_m, encounter.lat, encounter.lon,
    )
