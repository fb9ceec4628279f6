"""What one detection tick finds: a rule broken, or predicted to be broken, by one pair (or one platform).

Findings are few (tens per tick), so they are plain frozen objects; the vectorised work happens before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    a: str
    """Platform id; for pair rules the lexicographically lower id of the pair."""
    b: str
    """Platform id, or ``territory:<PARTY>`` for ``territorial_entry``."""
    party_a: str
    party_b: str
    breach: bool
    """True if the rule was broken at some moment since the previous tick; False for a prediction."""
    t: float
    """[s] the tick that produced it."""
    t_entry: float
    """[s] when the breach began within this tick's window, or when it is predicted to begin."""
    t_exit: float
    """[s] when it ends within the window considered (may equal ``t`` while still inside)."""
    t_cpa: float
    """[s] time of closest approach within the window considered."""
    distance_m: float
    """[m] 3-D separation at ``t_cpa`` (horizontal between ships)."""
    horizontal_m: float
    """[m] horizontal separation at ``t_cpa``."""
    vertical_m: float | None
    """[m] vertical separation at ``t_cpa``; None between ships."""
    lat: float
    """[deg] midpoint at ``t_cpa``."""
    lon: float
    """[deg]"""
    severity: str
    details: Mapping[str, object] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.a, self.b)
