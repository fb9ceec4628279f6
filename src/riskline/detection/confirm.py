"""Honest claims: a breach found on dead-reckoned states is ``occurred`` only once the fixes show it.

The detector reports a breach when the dead-reckoned pair entered a rule's volume since the previous tick.
``BreachJudge`` checks each such breach against what was observed (``observed.py``): if both tracks were
observed inside the volume in the window, the finding stays a breach with the *observed* geometry (closest
approach, its time and place, entry and exit); if not, it is reported as a prediction, and the judge keeps
looking at that window on the next ticks, as late fixes arrive, until both tracks' gaps have run out — a breach
the fixes confirm then comes out as a breach at that later tick, with the times it really happened.

Rules judged: ``air_proximity``, ``non_cooperative_aircraft``, ``low_pass`` and ``ship_contact_range``
(cylinders), ``air_intercept`` (a sphere of its widest band). Findings of other rules pass unchanged.
Mutable (the windows awaiting fixes); no clock: time is the tick's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from riskline.detection.findings import Finding
from riskline.detection.observed import MAX_GAP_AIR_S, MAX_GAP_SEA_S, Volume, observed_approach
from riskline.detection.rulebook import Rulebook
from riskline.tracks.segment import TrackSegment

SegmentLookup = Callable[[str, float, float], TrackSegment]
"""(platform id, t0, t1) → that platform's fixes in [t0, t1]."""
AirLookup = Callable[[str], bool]
"""platform id → True for an aircraft."""


@dataclass(frozen=True, slots=True)
class _Pending:
    finding: Finding
    since: float
    """[s] start of the window the breach was found in."""
    until: float
    """[s] last tick at which fixes may still arrive that show it."""


class BreachJudge:
    """Turns the detector's dead-reckoned breaches into observed ones (see the module's docstring)."""

    def __init__(self, rulebook: Rulebook) -> None:
        self._rulebook = rulebook
        self._pending: dict[tuple[str, str, str], _Pending] = {}

    @property
    def pending(self) -> int:
        """Windows still awaiting the fixes that would confirm a breach."""
        return len(self._pending)

    def judge(
        self, findings: Iterable[Finding], *, since: float, t: float, segment: SegmentLookup, is_air: AirLookup
    ) -> list[Finding]:
        """This tick's findings with every judged breach confirmed or turned into a prediction, preceded by the
        breaches of earlier windows that the fixes received since then confirm."""
        out = self._recheck(t, segment, is_air)
        for finding in findings:
            volume = self._volume(finding)
            if not finding.breach or volume is None:
                out.append(finding)
                continue
            confirmed = self._observed(finding, since, t, volume, segment, is_air)
            if confirmed is not None:
                self._pending.pop(finding.key, None)
                out.append(confirmed)
                continue
            gap = max(self._gap(finding.a, is_air), self._gap(finding.b, is_air))
            earlier = self._pending.get(finding.key)
            self._pending[finding.key] = _Pending(finding, earlier.since if earlier else since, t + gap)
            out.append(replace(finding, breach=False, details={**finding.details, "observed": "not yet"}))
        return out

    def _recheck(self, t: float, segment: SegmentLookup, is_air: AirLookup) -> list[Finding]:
        confirmed: list[Finding] = []
        for key, pending in list(self._pending.items()):
            volume = self._volume(pending.finding)
            assert volume is not None
            found = self._observed(pending.finding, pending.since, pending.finding.t, volume, segment, is_air)
            if found is not None:
                confirmed.append(replace(found, t=t))
                del self._pending[key]
            elif t >= pending.until:
                del self._pending[key]
        return confirmed

    def _gap(self, platform_id: str, is_air: AirLookup) -> float:
        return MAX_GAP_AIR_S if is_air(platform_id) else MAX_GAP_SEA_S

    def _observed(
        self, finding: Finding, since: float, t: float, volume: Volume, segment: SegmentLookup, is_air: AirLookup
    ) -> Finding | None:
        gap_a, gap_b = self._gap(finding.a, is_air), self._gap(finding.b, is_air)
        reach = max(gap_a, gap_b)
        seg_a = segment(finding.a, since - 2 * reach, t + reach)
        seg_b = segment(finding.b, since - 2 * reach, t + reach)
        three_d = finding.vertical_m is not None
        # The window reaches back one gap before ``since``: what the previous tick could not see yet (after a
        # track's last fix then) is observed now, and belongs to no other window.
        approach = observed_approach(
            seg_a, seg_b, since - reach, t, volume, three_d=three_d, max_gap_a_s=gap_a, max_gap_b_s=gap_b
        )
        if approach is None or not approach.inside:
            return None
        return replace(
            finding,
            t_entry=approach.t_entry,
            t_exit=approach.t_exit,
            t_cpa=approach.t_cpa,
            distance_m=approach.distance_m,
            horizontal_m=approach.horizontal_m,
            vertical_m=approach.vertical_m if three_d else None,
            lat=approach.lat,
            lon=approach.lon,
            severity=self._severity(finding, approach.distance_m),
            details={**finding.details, "observed": "between fixes"},
        )

    def _severity(self, finding: Finding, distance_m: float) -> str:
        if finding.rule == "air_intercept":
            rule = self._rulebook.air_intercept
            severity: str = rule.severity_for(distance_m) or rule.bands[-1].severity
            return severity
        return finding.severity

    def _volume(self, finding: Finding) -> Volume | None:
        rb = self._rulebook
        flat = finding.vertical_m is None
        if finding.rule == "air_proximity":
            return Volume(rb.air_proximity.horizontal_m, math.inf if flat else rb.air_proximity.vertical_m)
        if finding.rule == "non_cooperative_aircraft":
            rule = rb.non_cooperative_aircraft
            return Volume(rule.horizontal_m, math.inf if flat else rule.vertical_m)
        if finding.rule == "low_pass":
            return Volume(rb.low_pass.horizontal_m, rb.low_pass.altitude_m)
        if finding.rule == "ship_contact_range":
            threshold = finding.details.get("threshold_m")
            return Volume(float(threshold)) if isinstance(threshold, int | float) else None
        if finding.rule == "air_intercept":
            return Volume(rb.air_intercept.max_m, sphere=True)
        return None


__all__ = ["AirLookup", "BreachJudge", "SegmentLookup"]
