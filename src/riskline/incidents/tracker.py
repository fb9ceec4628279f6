"""Encounters from findings: open, update and close with hysteresis — one encounter per pair and rule.

A detector that raises an alarm on every tick drowns the operator (OpenCPN's users complain of exactly that).
Here a finding opens an encounter keyed by (rule, a, b); later findings update it; it closes only after
``hold`` seconds without any finding (predicted or actual), so a pair that wavers around a threshold stays one
encounter. The figure of merit is kept: ``first_alert`` is the first tick that *predicted* the breach, and
``start − first_alert`` the warning the watch gave.

``repeated_low_passes`` is derived here, not in the detector: each low-pass breach episode separated from the
previous one by at least ``pass_gap_s`` counts as a pass, and ``count`` passes of one aircraft over one ship
within ``window_s`` raise it (USS Donald Cook, 2016: 11 to 20 passes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from riskline.detection.findings import Finding
from riskline.detection.rulebook import Rulebook
from riskline.detection.rules import RULES
from riskline.incidents.model import Encounter


@dataclass(slots=True)
class _OpenEncounter:
    """Mutable state of one open encounter."""

    first: Finding
    last_seen: float  # [s]
    first_alert: float | None = None  # [s]
    breach_start: float | None = None  # [s]
    breach_end: float | None = None  # [s]
    best_breach: Finding | None = None
    latest_prediction: Finding | None = None
    best_prediction: Finding | None = None
    findings: int = 0
    details: dict[str, object] = field(default_factory=dict)

    def absorb(self, finding: Finding) -> None:
        self.findings += 1
        self.last_seen = finding.t
        self.details.update(finding.details)
        if finding.breach:
            if self.breach_start is None:
                self.breach_start = finding.t_entry
            self.breach_end = max(self.breach_end or finding.t_exit, finding.t_exit)
            if self.best_breach is None or finding.distance_m < self.best_breach.distance_m:
                self.best_breach = finding
        else:
            if self.breach_start is None and self.first_alert is None:
                self.first_alert = finding.t
            self.latest_prediction = finding
            if self.best_prediction is None or finding.distance_m < self.best_prediction.distance_m:
                self.best_prediction = finding


class EncounterTracker:
    """Turns a stream of per-tick findings into encounters. Time is the findings' data time."""

    def __init__(self, rulebook: Rulebook) -> None:
        self._rulebook = rulebook
        self._open: dict[tuple[str, str, str], _OpenEncounter] = {}
        self._passes: dict[tuple[str, str], deque[float]] = {}
        self._last_low_pass: dict[tuple[str, str], float] = {}

    @property
    def open_count(self) -> int:
        return len(self._open)

    def open_encounters(self) -> list[Encounter]:
        return [self._finish(state) for state in self._open.values()]

    def update(self, findings: Iterable[Finding], t: float) -> list[Encounter]:
        """Absorb this tick's findings (all from tick ``t``) and return the encounters that closed.

        Encounters whose hold ran out before ``t`` close first: after a gap in the data (a receiver down for a
        day) a new finding starts a new encounter instead of extending one that ended before the gap.
        """
        closed = self._close_expired(t)
        for finding in findings:
            self._absorb(finding)
            if finding.rule == "low_pass" and finding.breach:
                self._count_pass(finding)
        return closed + self._close_expired(t)

    def close_all(self) -> list[Encounter]:
        """End of input: close every open encounter."""
        closed = [self._finish(state) for state in self._open.values()]
        self._open.clear()
        return closed

    # ------------------------------------------------------------------ internals

    def _absorb(self, finding: Finding) -> None:
        state = self._open.get(finding.key)
        if state is None:
            state = self._open[finding.key] = _OpenEncounter(first=finding, last_seen=finding.t)
        state.absorb(finding)

    def _count_pass(self, finding: Finding) -> None:
        rule = self._rulebook.repeated_low_passes
        pair = (finding.a, finding.b)
        previous_end = self._last_low_pass.get(pair)
        self._last_low_pass[pair] = finding.t_exit
        passes = self._passes.setdefault(pair, deque())
        if previous_end is None or finding.t_entry - previous_end >= rule.pass_gap_s:
            passes.append(finding.t_entry)
        while passes and passes[0] < finding.t - rule.window_s:
            passes.popleft()
        low_pass_state = self._open.get(finding.key)
        if low_pass_state is not None:
            low_pass_state.details["passes"] = len(passes)
        if rule.enabled and len(passes) >= rule.count:
            repeated = replace(
                finding,
                rule="repeated_low_passes",
                t_entry=passes[0],
                severity=rule.severity,
                details={"passes": len(passes), "window_s": rule.window_s},
            )
            self._absorb(repeated)

    def _hold(self, rule: str, finding: Finding) -> float:
        """[s] the rule's own hold (the registry's ``hold_s``), else the watch's sea or air hold."""
        settings = self._rulebook.watch
        spec = RULES.get(rule)
        if spec is not None and spec.hold_s is not None:
            return float(spec.hold_s(self._rulebook.rule(rule)))
        if (spec is not None and spec.domain == "sea") or finding.details.get("domain") == "sea":
            return settings.hold_sea_s
        return settings.hold_air_s

    def _close_expired(self, t: float) -> list[Encounter]:
        expired = [
            key for key, state in self._open.items() if t - state.last_seen > self._hold(key[0], state.first)
        ]
        return [self._finish(self._open.pop(key)) for key in expired]

    def _finish(self, state: _OpenEncounter) -> Encounter:
        """The encounter as it stands; evidence is attached later by the watch, once the tracks are complete."""
        occurred = state.breach_start is not None
        best = state.best_breach if occurred else state.best_prediction
        assert best is not None
        if occurred:
            assert state.breach_start is not None
            assert state.breach_end is not None
            start, end = state.breach_start, state.breach_end
            severity = self._breach_severity(best)
        else:
            latest = state.latest_prediction
            assert latest is not None
            start, end = latest.t_entry, latest.t_exit
            severity = best.severity
        citation = self._rulebook.citation(best.rule)
        details: dict[str, object] = {
            **state.details,
            "findings": state.findings,
            "source": citation.source,
            "mark": citation.mark,
        }
        return Encounter(
            rule=best.rule,
            severity=severity,
            a=best.a,
            b=best.b,
            party_a=best.party_a,
            party_b=best.party_b,
            occurred=occurred,
            start=start,
            end=end,
            t_cpa=best.t_cpa,
            min_distance_m=best.distance_m,
            min_horizontal_m=best.horizontal_m,
            min_vertical_m=best.vertical_m,
            first_alert=state.first_alert,
            lat=best.lat,
            lon=best.lon,
            details=details,
        )

    def _breach_severity(self, best: Finding) -> str:
        """The band of the actual minimum for banded rules (the registry's ``breach_severity``); else as found."""
        spec = RULES.get(best.rule)
        if spec is not None and spec.breach_severity is not None:
            return spec.breach_severity(self._rulebook.rule(best.rule), best.distance_m) or best.severity
        return best.severity
