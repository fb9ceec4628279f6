"""One detection tick: every rule of the rulebook over every candidate pair, actual and predicted.

Design (after BlueSky's state-based detector, without its all-pairs cost):
1. each track is dead-reckoned to the tick time ``t`` (``geometry.track_motion``);
2. candidate pairs come from a swept-box grid (``pairs.candidate_pairs``): only pairs that can come within a
   rule's reach within their look-ahead — never all N² pairs — and only pairs of different parties. The search
   covers only the tracks some enabled pair rule can fire on (``RuleSpec.participants``: civil ships are in no
   pair rule), each with the largest reach and horizon of those rules, and marks the largest party passive, so
   that pairs within it (civil–civil, mostly) are never formed;
3. each rule is an exact volume test on the pairs' relative motion (``geometry.cylinder_entry``): a pair inside
   the volume at some moment since the previous tick is a *breach* (so a fast pass between two ticks is not
   missed); a pair that will enter it within the rule's look-ahead is a *prediction*.
The encounter tracker (``riskline.incidents``) turns findings into encounters with hysteresis.

Scope of the naval rules. INCSEA binds the parties' armed forces: ``low_pass`` and ``ship_contact_range`` apply
between military platforms only (a military aircraft over a warship; two warships). The air rules also protect
civil traffic — civil is a party of its own — as the EASA 2015 occurrences over the Baltic demand.

Unknown altitude (an aircraft whose altitude was never reported, a radar track without height) is NaN in the
snapshot. For air–air rules it is taken as "could be at any altitude": the vertical limit is lifted for that pair,
so a silent, height-less track next to an airliner is still flagged. A low pass needs a known altitude.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from riskline.detection.findings import Finding
from riskline.detection.geometry import (
    PairGeometry,
    closest_approach,
    cylinder_entry,
    geometry_of_pairs,
    track_motion,
)
from riskline.detection.pairs import candidate_pairs, different_party
from riskline.detection.rulebook import Rulebook
from riskline.detection.rules import REGISTRY, AreaContext, PairContext, RuleSpec, Volume
from riskline.detection.territory import Territory
from riskline.tracks.snapshot import BoolArray, FloatArray, IntArray, Snapshot


class Detector:
    """Stateless between ticks: ``detect(snapshot, t, since=previous_t)`` → findings.

    The rules are the registry's (``riskline.detection.rules``): pair rules get the candidate pairs and the exact
    volume tests, area rules the platforms and whatever their ``setup`` loaded (territories, hazard notices).
    """

    def __init__(self, rulebook: Rulebook, territories: tuple[Territory, ...] | None = None) -> None:
        self.rulebook = rulebook
        enabled = [spec for spec in REGISTRY if not spec.derived and rulebook.rule(spec.name).enabled]
        self._pair_rules = [spec for spec in enabled if spec.pairs is not None]
        self._area_rules = [spec for spec in enabled if spec.area is not None]
        self._area_state: dict[str, object] = {}
        for spec in self._area_rules:
            assert spec.setup is not None
            given = territories if spec.name == "territorial_entry" else None
            self._area_state[spec.name] = given if given is not None else spec.setup(rulebook.rule(spec.name))
        self.territories = self._area_state.get("territorial_entry", ())
        self._pair_bounds = []
        for spec in self._pair_rules:
            rule = rulebook.rule(spec.name)
            assert spec.reach_m is not None, f"pair rule {spec.name} declares no reach"
            self._pair_bounds.append(_PairBound(spec, rule, spec.reach_m(rule), spec.horizon_s(rule)))

    def detect(self, snapshot: Snapshot, t: float, *, since: float) -> list[Finding]:
        """Findings at tick ``t`` [s]; breaches are looked for over (since, t]."""
        if len(snapshot) == 0:
            return []
        window = max(t - since, 0.0)  # [s]
        findings = self._pair_findings(snapshot, t, window)
        configured = [spec for spec in self._area_rules if self._area_state[spec.name]]
        if configured:
            motion = track_motion(snapshot, t)
            for spec in configured:
                assert spec.area is not None
                context = AreaContext(snapshot, t, self._area_state[spec.name], motion)
                findings += spec.area(self.rulebook.rule(spec.name), context)
        return findings

    # ------------------------------------------------------------------ pair rules

    def _pair_search(self, snapshot: Snapshot) -> _PairSearch | None:
        """The tracks some pair rule can fire on, with their reach and horizon; None when no pair can be found.

        A track's reach and horizon are the largest of the rules that can use it: a rule fires on a pair only if
        it can use both tracks, so both bounds cover it. A rule whose tracks are all of one party cannot fire.
        """
        n = len(snapshot)
        member = np.zeros(n, dtype=bool)
        reach = np.zeros(n)  # [m]
        horizon = np.zeros(n)  # [s]
        for bound in self._pair_bounds:
            usable = bound.spec.tracks(bound.rule, snapshot)
            parties = snapshot.party[usable]
            if len(parties) < 2 or (parties == parties[0]).all():
                continue
            member |= usable
            np.maximum(reach, np.where(usable, bound.reach_m, 0.0), out=reach)
            np.maximum(horizon, np.where(usable, bound.horizon_s, 0.0), out=horizon)
        rows = np.flatnonzero(member)
        if len(rows) < 2:
            return None
        party = snapshot.party[rows]
        largest = int(np.argmax(np.bincount(party)))
        return _PairSearch(rows=rows, reach_m=reach[rows], horizon_s=horizon[rows], active=party != largest)

    def _pair_findings(self, whole: Snapshot, t: float, window: float) -> list[Finding]:
        if len(whole) < 2 or not self._pair_bounds:
            return []
        search = self._pair_search(whole)
        if search is None:
            return []
        snapshot = _rows(whole, search.rows)
        found = candidate_pairs(snapshot, t, horizon_s=search.horizon_s, reach_m=search.reach_m, lookback_s=window,
                                active=search.active)
        pairs = different_party(snapshot, found)
        if len(pairs.i) == 0:
            return []
        is_air = snapshot.is_air
        unknown_alt = np.isnan(snapshot.alt)
        known = replace(snapshot, alt=np.where(unknown_alt, 0.0, snapshot.alt)) if unknown_alt.any() else snapshot
        geom = geometry_of_pairs(track_motion(known, t), pairs.i, pairs.j)
        air_i, air_j = is_air[geom.i], is_air[geom.j]
        military = snapshot.is_military

        def volume_findings(sub: PairGeometry, volume: Volume, *, night: BoolArray | None = None) -> list[Finding]:
            return self._volume_findings(snapshot, sub, volume, window, night=night)

        def sphere_findings(
            sub: PairGeometry, rule: str, radius: float, lookahead: float, severity_for: Callable[[float], str]
        ) -> list[Finding]:
            return self._sphere_findings(snapshot, sub, window, rule, radius, lookahead, severity_for)

        context = PairContext(
            snapshot=snapshot,
            geom=geom,
            t=t,
            window=window,
            height_unknown=unknown_alt[geom.i] | unknown_alt[geom.j],
            both_air=air_i & air_j,
            both_sea=~air_i & ~air_j,
            mixed=air_i ^ air_j,
            both_military=military[geom.i] & military[geom.j],
            volume_findings=volume_findings,
            sphere_findings=sphere_findings,
        )
        findings: list[Finding] = []
        for spec in self._pair_rules:
            assert spec.pairs is not None
            findings += spec.pairs(self.rulebook.rule(spec.name), context)
        return findings

    def _volume_findings(
        self,
        snapshot: Snapshot,
        geom: PairGeometry,
        volume: Volume,
        window: float,
        *,
        night: BoolArray | None = None,
    ) -> list[Finding]:
        if len(geom) == 0:
            return []
        past = cylinder_entry(geom, volume.horizontal_m, volume.vertical_m, -window, 0.0)
        breach = past.enters
        future = cylinder_entry(geom, volume.horizontal_m, volume.vertical_m, 0.0, volume.lookahead_s)
        predicted = ~breach & future.enters
        rows = np.flatnonzero(breach | predicted)
        if len(rows) == 0:
            return []
        horizontal_only = volume.rule == "ship_contact_range"
        recent = closest_approach(geom, -window, 0.0)
        ahead = closest_approach(geom, 0.0, volume.lookahead_s)
        findings = []
        for k in rows:
            is_breach = bool(breach[k])
            approach = recent if is_breach else ahead
            flat = horizontal_only or (volume.height_unknown is not None and bool(volume.height_unknown[k]))
            if flat:
                tau = float(approach.t_cpa_horizontal_s[k])
                distance = horizontal = float(approach.horizontal_min_m[k])
                vertical: float | None = None
            else:
                tau = float(approach.t_cpa_s[k])
                distance = float(approach.distance_m[k])
                horizontal = float(approach.horizontal_m[k])
                vertical = float(approach.vertical_m[k])
            if is_breach:
                t_entry = geom.t + float(past.entry_s[k])
                t_exit = geom.t + min(float(past.exit_s[k]), 0.0)
            else:
                t_entry = geom.t + float(future.entry_s[k])
                t_exit = geom.t + min(float(future.exit_s[k]), volume.lookahead_s)
            details: dict[str, object] = {"domain": "sea" if horizontal_only else "air"}
            if flat and not horizontal_only:
                details["altitude"] = "unknown"
            if night is not None:
                details["light"] = "night" if night[k] else "day"
                details["threshold_m"] = float(np.asarray(volume.horizontal_m)[k])
            findings.append(
                self._finding(snapshot, geom, int(k), volume.rule, is_breach, t_entry, t_exit, tau,
                              distance, horizontal, vertical, volume.severity, details)
            )
        return findings

    def _sphere_findings(
        self,
        snapshot: Snapshot,
        geom: PairGeometry,
        window: float,
        rule: str,
        radius: float,
        lookahead: float,
        severity_for: Callable[[float], str],
    ) -> list[Finding]:
        """Findings of a 3-D distance rule (``radius`` [m]) since the previous tick or within ``lookahead`` [s]."""
        recent = closest_approach(geom, -window, 0.0)
        ahead = closest_approach(geom, 0.0, lookahead)
        breach = recent.distance_m <= radius
        predicted = ~breach & (ahead.distance_m <= radius)
        rows = np.flatnonzero(breach | predicted)
        findings = []
        for k in rows:
            is_breach = bool(breach[k])
            approach = recent if is_breach else ahead
            distance = float(approach.distance_m[k])
            tau = float(approach.t_cpa_s[k])
            enter, leave = _sphere_interval(geom, int(k), radius)
            low, high = (-window, 0.0) if is_breach else (0.0, lookahead)
            t_entry = geom.t + min(max(enter, low), tau)
            t_exit = geom.t + max(min(leave, high), tau)
            findings.append(
                self._finding(snapshot, geom, int(k), rule, is_breach, t_entry, t_exit, tau, distance,
                              float(approach.horizontal_m[k]), float(approach.vertical_m[k]), severity_for(distance),
                              {"domain": "air"})
            )
        return findings

    def _finding(
        self,
        snapshot: Snapshot,
        geom: PairGeometry,
        k: int,
        rule: str,
        breach: bool,
        t_entry: float,
        t_exit: float,
        tau: float,
        distance: float,
        horizontal: float,
        vertical: float | None,
        severity: str,
        details: Mapping[str, object],
    ) -> Finding:
        i, j = int(geom.i[k]), int(geom.j[k])
        if snapshot.ids[j] < snapshot.ids[i]:
            i, j = j, i
        lat = float(geom.mid_lat[k] + geom.mid_lat_rate[k] * tau)
        lon = (float(geom.mid_lon[k] + geom.mid_lon_rate[k] * tau) + 180.0) % 360.0 - 180.0
        names = snapshot.party_names
        return Finding(
            rule=rule,
            a=snapshot.ids[i],
            b=snapshot.ids[j],
            party_a=names[int(snapshot.party[i])],
            party_b=names[int(snapshot.party[j])],
            breach=breach,
            t=geom.t,
            t_entry=t_entry,
            t_exit=t_exit,
            t_cpa=geom.t + tau,
            distance_m=distance,
            horizontal_m=horizontal,
            vertical_m=vertical,
            lat=lat,
            lon=lon,
            severity=severity,
            details=dict(details),
        )


@dataclass(frozen=True, slots=True)
class _PairBound:
    """An enabled pair rule with its parameters, reach [m] and horizon [s]."""

    spec: RuleSpec
    rule: Any
    reach_m: float  # [m]
    horizon_s: float  # [s]


@dataclass(frozen=True, slots=True)
class _PairSearch:
    """The tracks the candidate-pair search covers: rows of the tick's snapshot, with per-row bounds."""

    rows: IntArray
    """Snapshot rows, ascending."""
    reach_m: FloatArray  # [m] per row
    horizon_s: FloatArray  # [s] per row
    active: BoolArray
    """Per row: not of the largest party (two tracks of one party never make a finding, so need no pairing)."""


def _rows(snapshot: Snapshot, rows: IntArray) -> Snapshot:
    """The tracks ``rows`` (ascending) of ``snapshot``, as a snapshot of their own."""
    if len(rows) == len(snapshot):
        return snapshot
    ids = snapshot.ids
    return replace(
        snapshot,
        ids=tuple([ids[k] for k in rows.tolist()]),
        party=snapshot.party[rows],
        is_air=snapshot.is_air[rows],
        is_military=snapshot.is_military[rows],
        transponder=snapshot.transponder[rows],
        lat=snapshot.lat[rows],
        lon=snapshot.lon[rows],
        alt=snapshot.alt[rows],
        v_east=snapshot.v_east[rows],
        v_north=snapshot.v_north[rows],
        v_up=snapshot.v_up[rows],
        t_fix=snapshot.t_fix[rows],
    )


def _sphere_interval(geom: PairGeometry, k: int, radius: float) -> tuple[float, float]:
    """[s] relative times when pair ``k`` is within ``radius`` [m] in 3-D; (tcpa, tcpa) if it only touches."""
    px, py, pz = float(geom.dx[k]), float(geom.dy[k]), float(geom.dz[k])
    vx, vy, vz = float(geom.dvx[k]), float(geom.dvy[k]), float(geom.dvz[k])
    speed_sq = vx * vx + vy * vy + vz * vz
    tcpa = float(geom.tcpa_s[k])
    if speed_sq < 1e-12:
        return (-np.inf, np.inf) if px * px + py * py + pz * pz <= radius * radius else (tcpa, tcpa)
    cx, cy, cz = px + vx * tcpa, py + vy * tcpa, pz + vz * tcpa
    slack = radius * radius - (cx * cx + cy * cy + cz * cz)
    half = float(np.sqrt(max(slack, 0.0) / speed_sq))
    return tcpa - half, tcpa + half
