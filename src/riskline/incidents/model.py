"""An encounter between two platforms of different parties under one rule: the watch's unit of output.

One encounter per (rule, pair): it opens on the first finding (predicted or actual), is updated while findings
continue, and closes with hysteresis. ``occurred`` tells an actual breach from a prediction that never came true.
Single-platform rules (``territorial_entry``) name the territory's owner as ``b`` (``territory:EE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from riskline.tracks.segment import TrackSegment


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an incident keeps: both tracks around the closest approach, and the separation over time."""

    segment_a: TrackSegment
    segment_b: TrackSegment | None
    """None for single-platform rules."""
    separation_t: tuple[float, ...] = ()
    """[s] times of the separation series."""
    separation_m: tuple[float, ...] = ()
    """[m] 3-D (air) or horizontal (sea) separation at those times."""


@dataclass(frozen=True, slots=True)
class Encounter:
    """A closed or still-open encounter, as stored and as printed by ``riskline watch --json``."""

    rule: str
    severity: str
    a: str
    """Platform id of the first platform (the lower id of the pair)."""
    b: str
    party_a: str
    party_b: str
    occurred: bool
    start: float
    """[s] when the rule was first broken (or, if it never was, the predicted start)."""
    end: float
    """[s] when it stopped being broken (or the predicted end)."""
    t_cpa: float
    """[s] time of closest approach."""
    min_distance_m: float
    """[m] smallest 3-D distance (horizontal between ships)."""
    min_horizontal_m: float
    """[m]"""
    min_vertical_m: float | None
    """[m] None between ships."""
    first_alert: float | None
    """[s] when the watch first predicted the breach; None if it was never predicted."""
    lat: float
    """[deg] midpoint of the pair at closest approach."""
    lon: float
    """[deg]"""
    details: dict[str, object] = field(default_factory=dict)
    """Rule-specific facts: pass count, day/night, territory, the rule's source and mark."""
    evidence: Evidence | None = None

    @property
    def lead_time_s(self) -> float | None:
        """[s] warning the watch gave before the breach; None when not predicted or never occurred."""
        if self.first_alert is None or not self.occurred:
            return None
        return self.start - self.first_alert
