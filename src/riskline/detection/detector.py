"""One detection tick: every rule of the rulebook over every candidate pair, actual and predicted.

Design (after BlueSky's state-based detector, without its all-pairs cost):
1. each track is dead-reckoned to the tick time ``t`` (``geometry.track_motion``);
2. candidate pairs come from a swept-box grid (``pairs.candidate_pairs``): only pairs that can come within a
   rule's reach within their look-ahead — never all N² pairs — and only pairs of different parties;
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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from riskline.detection.daynight import is_night
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
from riskline.detection.territory import Territory, load_territories
from riskline.tracks.identity import CIVIL
from riskline.tracks.snapshot import BoolArray, FloatArray, Snapshot

TERRITORY_STEP_S = 30.0  # [s] sampling of dead-reckoned paths when predicting a territorial entry


@dataclass(frozen=True, slots=True)
class _Volume:
    """One rule's volume test over a subset of pairs."""

    rule: str
    horizontal_m: FloatArray | float  # [m] scalar or one per pair
    vertical_m: FloatArray | float  # [m] scalar or one per pair; +inf lifts the vertical limit
    lookahead_s: float  # [s]
    severity: str
    height_unknown: BoolArray | None = None
    """Per pair: an altitude is unknown, so separations are reported horizontally only."""


class Detector:
    """Stateless between ticks: ``detect(snapshot, t, since=previous_t)`` → findings."""

    def __init__(self, rulebook: Rulebook, territories: tuple[Territory, ...] | None = None) -> None:
        self.rulebook = rulebook
        if territories is None:
            path = rulebook.territorial_entry.territories
            territories = load_territories(Path(path)) if path and rulebook.territorial_entry.enabled else ()
        self.territories = territories
        rb = rulebook
        self._air_horizon = max(
            rb.air_proximity.lookahead_s, rb.air_intercept.lookahead_s, rb.low_pass.lookahead_s,
            rb.non_cooperative_aircraft.lookahead_s,
        )  # [s]
        self._sea_horizon = max(rb.ship_contact_range.lookahead_s, rb.low_pass.lookahead_s)  # [s]
        self._air_reach = max(
            rb.air_proximity.horizontal_m, rb.air_intercept.max_m, rb.low_pass.horizontal_m,
            rb.non_cooperative_aircraft.horizontal_m,
        )  # [m]
        self._sea_reach = max(rb.ship_contact_range.day_m, rb.ship_contact_range.night_m, rb.low_pass.horizontal_m)

    def detect(self, snapshot: Snapshot, t: float, *, since: float) -> list[Finding]:
        """Findings at tick ``t`` [s]; breaches are looked for over (since, t]."""
        if len(snapshot) == 0:
            return []
        window = max(t - since, 0.0)  # [s]
        findings = self._pair_findings(snapshot, t, window)
        if self.territories and self.rulebook.territorial_entry.enabled:
            findings += self._territorial_findings(snapshot, t)
        return findings

    # ------------------------------------------------------------------ pair rules

    def _pair_findings(self, snapshot: Snapshot, t: float, window: float) -> list[Finding]:
        if len(snapshot) < 2:
            return []
        rb = self.rulebook
        is_air = snapshot.is_air
        horizon = np.where(is_air, self._air_horizon, self._sea_horizon)
        reach = np.where(is_air, self._air_reach, self._sea_reach)
        pairs = different_party(
            snapshot, candidate_pairs(snapshot, t, horizon_s=horizon, reach_m=reach, lookback_s=window)
        )
        if len(pairs.i) == 0:
            return []
        unknown_alt = np.isnan(snapshot.alt)
        known = replace(snapshot, alt=np.where(unknown_alt, 0.0, snapshot.alt)) if unknown_alt.any() else snapshot
        geom = geometry_of_pairs(track_motion(known, t), pairs.i, pairs.j)
        height_unknown = unknown_alt[geom.i] | unknown_alt[geom.j]
        air_i, air_j = is_air[geom.i], is_air[geom.j]
        both_air = air_i & air_j
        both_sea = ~air_i & ~air_j
        findings: list[Finding] = []

        if rb.air_proximity.enabled and both_air.any():
            proximity = rb.air_proximity
            vertical = np.where(height_unknown[both_air], np.inf, proximity.vertical_m)
            volume = _Volume(
                "air_proximity", proximity.horizontal_m, vertical, proximity.lookahead_s, proximity.severity,
                height_unknown[both_air],
            )
            findings += self._volume_findings(snapshot, geom.take(both_air), volume, window)

        if rb.air_intercept.enabled and both_air.any():
            findings += self._intercept_findings(snapshot, geom.take(both_air), window)

        if rb.non_cooperative_aircraft.enabled and both_air.any():
            civil = np.asarray([name == CIVIL for name in snapshot.party_names], dtype=bool)[snapshot.party]
            silent = ~snapshot.transponder
            mask = both_air & ((civil[geom.i] & silent[geom.j]) | (civil[geom.j] & silent[geom.i]))
            if mask.any():
                silent_rule = rb.non_cooperative_aircraft
                volume = _Volume(
                    "non_cooperative_aircraft",
                    silent_rule.horizontal_m,
                    np.where(height_unknown[mask], np.inf, silent_rule.vertical_m),
                    silent_rule.lookahead_s,
                    silent_rule.severity,
                    height_unknown[mask],
                )
                findings += self._volume_findings(snapshot, geom.take(mask), volume, window)

        military = snapshot.is_military
        both_military = military[geom.i] & military[geom.j]
        mixed = (air_i ^ air_j) & ~height_unknown & both_military
        if rb.low_pass.enabled and mixed.any():
            low = rb.low_pass
            volume = _Volume("low_pass", low.horizontal_m, low.altitude_m, low.lookahead_s, low.severity)
            findings += self._volume_findings(snapshot, geom.take(mixed), volume, window)

        warships = both_sea & both_military
        if rb.ship_contact_range.enabled and warships.any():
            rule_s = rb.ship_contact_range
            sea = geom.take(warships)
            night = is_night(sea.mid_lat, sea.mid_lon, t, rule_s.night_sun_elevation_deg)
            radius = np.where(night, rule_s.night_m, rule_s.day_m)
            volume = _Volume("ship_contact_range", radius, np.inf, rule_s.lookahead_s, rule_s.severity)
            findings += self._volume_findings(snapshot, sea, volume, window, night=night)
        return findings

    def _volume_findings(
        self,
        snapshot: Snapshot,
        geom: PairGeometry,
        volume: _Volume,
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

    def _intercept_findings(self, snapshot: Snapshot, geom: PairGeometry, window: float) -> list[Finding]:
        rule = self.rulebook.air_intercept
        radius = rule.max_m  # [m]
        recent = closest_approach(geom, -window, 0.0)
        ahead = closest_approach(geom, 0.0, rule.lookahead_s)
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
            low, high = (-window, 0.0) if is_breach else (0.0, rule.lookahead_s)
            t_entry = geom.t + min(max(enter, low), tau)
            t_exit = geom.t + max(min(leave, high), tau)
            severity = rule.severity_for(distance) or rule.bands[-1].severity
            findings.append(
                self._finding(snapshot, geom, int(k), "air_intercept", is_breach, t_entry, t_exit, tau, distance,
                              float(approach.horizontal_m[k]), float(approach.vertical_m[k]), severity,
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

    # ------------------------------------------------------------------ territorial entry

    def _territorial_findings(self, snapshot: Snapshot, t: float) -> list[Finding]:
        rule = self.rulebook.territorial_entry
        motion = track_motion(snapshot, t)
        names = snapshot.party_names
        steps = np.arange(0.0, rule.lookahead_s + 1e-9, TERRITORY_STEP_S)  # [s]
        findings: list[Finding] = []
        for territory in self.territories:
            foreign = snapshot.is_military & np.asarray([names[p] != territory.party for p in snapshot.party])
            candidates = np.flatnonzero(foreign)
            if len(candidates) == 0:
                continue
            first_inside = np.full(len(candidates), np.nan)
            for step in steps[::-1]:
                lat = motion.lat[candidates] + motion.lat_rate[candidates] * step
                lon = motion.lon[candidates] + motion.lon_rate[candidates] * step
                inside = territory.contains(lat, lon)
                first_inside[inside] = step
            for row in np.flatnonzero(~np.isnan(first_inside)):
                k = int(candidates[row])
                tau = float(first_inside[row])
                lat_k = float(motion.lat[k] + motion.lat_rate[k] * tau)
                lon_k = float(motion.lon[k] + motion.lon_rate[k] * tau)
                speed = float(np.hypot(snapshot.v_east[k], snapshot.v_north[k]))
                is_air = bool(snapshot.is_air[k])
                findings.append(
                    Finding(
                        rule="territorial_entry",
                        a=snapshot.ids[k],
                        b=f"territory:{territory.party}",
                        party_a=names[int(snapshot.party[k])],
                        party_b=territory.party,
                        breach=tau == 0.0,
                        t=t,
                        t_entry=t + tau,
                        t_exit=t + tau,
                        t_cpa=t + tau,
                        distance_m=speed * tau,
                        horizontal_m=speed * tau,
                        vertical_m=float(motion.alt[k]) if is_air else None,
                        lat=lat_k,
                        lon=lon_k,
                        severity=rule.severity,
                        details={"domain": "air" if is_air else "sea", "territory": territory.name},
                    )
                )
        return findings


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
