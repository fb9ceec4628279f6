"""What every rule plugin shares: the parameter base, the citation, and the ``RuleSpec`` that the registry lists.

A rule is one module under ``riskline.detection.rules`` holding its parameters (a pydantic model for the rulebook
file and a frozen dataclass for the detector), its domain, reach, horizon and participants (which candidate pairs
the detector must consider, among which tracks), the distance an incident plot draws, and its evaluation: ``pairs``
for rules over pairs of platforms, ``area`` for rules over platforms and areas (territory, announced hazard areas).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskline.detection.findings import Finding

if TYPE_CHECKING:  # only for annotations: `rules show` and the rulebook load without NumPy (tests/cli/test_startup)
    from riskline.detection.geometry import PairGeometry, TrackMotion
    from riskline.tracks.snapshot import BoolArray, FloatArray, Snapshot

Mark = Literal["V", "S", "U"]
Severity = Literal["critical", "high", "medium", "low"]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Domain = Literal["air", "sea", "air-sea"]
"""Which platforms a rule concerns: aircraft, ships, or aircraft over ships (or any platform, for area rules)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleModel(Strict):
    """The rulebook section every rule has: whether it is on, what it is, and its source with its mark."""

    enabled: bool = True
    description: str = ""
    source: str = Field(min_length=1)
    mark: Mark


@dataclass(frozen=True, slots=True)
class Citation:
    source: str
    mark: str
    description: str = ""


def citation_of(model: RuleModel) -> Citation:
    return Citation(source=model.source, mark=model.mark, description=model.description)


@dataclass(frozen=True, slots=True)
class Volume:
    """One rule's volume test over a subset of pairs."""

    rule: str
    horizontal_m: FloatArray | float  # [m] scalar or one per pair
    vertical_m: FloatArray | float  # [m] scalar or one per pair; +inf lifts the vertical limit
    lookahead_s: float  # [s]
    severity: str
    height_unknown: BoolArray | None = None
    """Per pair: an altitude is unknown, so separations are reported horizontally only."""


@dataclass(frozen=True, slots=True)
class PairContext:
    """One tick's candidate pairs of different parties, their geometry, and the detector's exact volume tests."""

    snapshot: Snapshot
    """The tick's tracks that some pair rule can fire on (a subset of its snapshot); ``geom.i``/``geom.j`` are rows
    of this one."""
    geom: PairGeometry
    t: float  # [s]
    window: float  # [s] since the previous tick
    height_unknown: BoolArray
    both_air: BoolArray
    both_sea: BoolArray
    mixed: BoolArray
    """One aircraft and one ship."""
    both_military: BoolArray
    volume_findings: Callable[..., list[Finding]]
    """``(geom, volume, *, night=None)`` → findings: breach since the previous tick, or entry predicted."""
    sphere_findings: Callable[[PairGeometry, str, float, float, Callable[[float], str]], list[Finding]]
    """``(geom, rule, radius_m, lookahead_s, severity_for)`` → findings of a 3-D distance rule."""


@dataclass(frozen=True, slots=True)
class AreaContext:
    """One tick's platforms for rules over areas; ``state`` is what the rule's ``setup`` loaded."""

    snapshot: Snapshot
    t: float  # [s]
    state: Any
    motion: TrackMotion
    """Every track of ``snapshot`` dead-reckoned to ``t`` (``geometry.track_motion``), once for all area rules."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule plugin, as the registry lists it."""

    name: str
    summary: str
    domain: Domain
    model: type[RuleModel]
    """The rulebook section, validated."""
    freeze: Callable[[Any], Any]
    """Validated section → the frozen parameters the detector and the tracker use."""
    horizon_s: Callable[[Any], float]
    """[s] how far ahead the rule predicts."""
    reach_m: Callable[[Any], float] | None = None
    """[m] largest horizontal distance at which the rule can fire (pair rules; None for area rules)."""
    participants: Callable[[Any, Snapshot], BoolArray] | None = None
    """Pair rules: which tracks of a snapshot the rule can fire on, one flag per row; it fires on a pair only if
    both tracks are flagged (None: every track of the rule's ``domain``). The detector looks for candidate pairs
    among the tracks some rule flags, so flagging too few tracks loses findings; too many only costs time."""
    pairs: Callable[[Any, PairContext], list[Finding]] | None = None
    area: Callable[[Any, AreaContext], list[Finding]] | None = None
    setup: Callable[[Any], Any] | None = None
    """Area rules: load what the rule needs (territories, notices) from its parameters, once per detector."""
    plot_threshold: Callable[[Mapping[str, Any]], float | None] = lambda rules: None
    """The distance [m] an incident plot draws, from the run's stored rulebook (``rules`` section)."""
    hold_s: Callable[[Any], float] | None = None
    """[s] how long an encounter stays open without findings (None: the watch's air/sea hold)."""
    breach_severity: Callable[[Any, float], str | None] | None = None
    """The severity of an actual breach from its minimum distance [m] (banded rules)."""
    derived: bool = False
    """Raised by the encounter tracker from other findings, not by the detector."""
    default: bool = False
    """The rulebook may omit the section (the model's defaults apply): rules added after rulebooks were written."""


    def tracks(self, rule: Any, snapshot: Snapshot) -> BoolArray:
        """The rows of ``snapshot`` this (pair) rule can fire on: ``participants``, or its domain's tracks."""
        if self.participants is not None:
            return self.participants(rule, snapshot)
        return domain_tracks(self.domain, snapshot)


def domain_tracks(domain: Domain, snapshot: Snapshot) -> BoolArray:
    """The rows of ``snapshot`` in ``domain``: its aircraft, its ships, or every track (``air-sea``)."""
    if domain == "air":
        return snapshot.is_air
    if domain == "sea":
        return ~snapshot.is_air
    return snapshot.is_air | ~snapshot.is_air


def number(rules: Mapping[str, Any], rule: str, parameter: str) -> float | None:
    value = rules.get(rule, {}).get(parameter)
    return float(value) if isinstance(value, int | float) else None
