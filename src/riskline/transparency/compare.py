"""Declared against observed: the watch's military activity held against the activity notifications.

For a window [start, end) and the notifications in force (amendments replace their original; cancellations
withdraw it):

1. *Accounted for*: a sample (one military platform in one time bin) of the notifying party inside a declared
   area — the phase's area when phases are given — during the declared window.
2. ``exceeds_declaration``: inside a declaration, more aircraft sorties or naval vessels observed than declared.
   Tracks give lower bounds, so any excess is real. A sortie is a run of an aircraft's samples with no gap
   longer than ``sortie_gap_s``.
3. ``undeclared_activity``: the samples not accounted for, grouped per party and bin like DBSCAN (a platform with
   at least ``floor_platforms − 1`` others of its party within ``radius_m`` is a core; cores within reach are one
   group, with their neighbours), groups linked across consecutive bins into episodes, and an episode reported
   when it lasts at least ``floor_duration_s`` with more platforms at once than the party's baseline. The
   baseline is the ``baseline_quantile`` of the party's largest group per bin over the ``baseline_days`` before
   the window, when the history covers them; else the floor (4 platforms within 100 km for an hour).

Neighbour search is a k-d tree over unit-sphere coordinates with the bin and the party as extra axes spaced
beyond reach, so one query covers every bin and party and no pair of samples is ever enumerated blindly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from riskline.timeutil import to_iso
from riskline.transparency.activity import ActivityNotification
from riskline.transparency.observed import CANNOT_SHOW, BoolArray, FloatArray, IntArray, ObservedActivity

EARTH_RADIUS_M = 6_371_008.8  # [m] mean radius


@dataclass(frozen=True, slots=True)
class CompareSettings:
    floor_platforms: int = 4
    radius_m: float = 100_000.0  # [m]
    floor_duration_s: float = 3600.0  # [s]
    baseline_days: float = 28.0  # [d] history needed for a baseline
    baseline_quantile: float = 0.95
    sortie_gap_s: float = 3600.0  # [s]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    """``undeclared_activity`` or ``exceeds_declaration``."""
    party: str
    start: float  # [s]
    end: float  # [s]
    lat: float  # [deg] centroid of the samples
    lon: float  # [deg]
    platforms: int
    platform_hours: float  # [h]
    declared: str | None
    """The designation it was held against, or None."""
    air_platforms: int
    sea_platforms: int
    most_at_once: int
    sorties: int
    basis: str
    """Why it is a finding, in words (the floor or baseline, or what exceeded the declaration)."""
    series_t: tuple[float, ...]  # [s] bin starts
    series_n: tuple[int, ...]
    """Platforms at once per bin: the counts over time."""
    platform_ids: tuple[str, ...]
    exceeded: dict[str, dict[str, int]] = field(default_factory=dict)
    """``{"aircraft_sorties": {"declared": 70, "observed": 83}}`` for ``exceeds_declaration``."""
    cannot_show: str = CANNOT_SHOW

    def to_json(self) -> dict[str, Any]:
        """The contract of ``transparency compare --json``: exactly these keys."""
        return {
            "kind": self.kind,
            "party": self.party,
            "start": to_iso(self.start),
            "end": to_iso(self.end),
            "lat": round(self.lat, 5),
            "lon": round(self.lon, 5),
            "platforms": self.platforms,
            "platform_hours": round(self.platform_hours, 2),
            "declared": self.declared,
        }

    def evidence(self) -> dict[str, Any]:
        """Everything known about the finding, for an attachment."""
        return {
            **self.to_json(),
            "air_platforms": self.air_platforms,
            "sea_platforms": self.sea_platforms,
            "most_at_once": self.most_at_once,
            "sorties": self.sorties,
            "basis": self.basis,
            "exceeded": self.exceeded,
            "counts_over_time": [[to_iso(t), n] for t, n in zip(self.series_t, self.series_n, strict=True)],
            "platform_ids": list(self.platform_ids),
            "cannot_show": self.cannot_show,
        }


@dataclass(frozen=True, slots=True)
class Accounted:
    """A declaration and what the watch saw inside it (a non-finding when nothing exceeded)."""

    designation: str
    party: str
    platforms: int
    air_platforms: int
    sea_platforms: int
    sorties: int
    platform_hours: float  # [h]
    declared_sorties: int
    declared_vessels: int


@dataclass(frozen=True, slots=True)
class Comparison:
    start: float  # [s]
    end: float  # [s]
    findings: tuple[Finding, ...]
    accounted: tuple[Accounted, ...]
    samples: int
    covered_samples: int
    baselines: dict[str, int]
    """Per party: platforms at once above which activity is a finding (the floor, or the history's quantile)."""


def effective(notifications: Iterable[ActivityNotification]) -> list[ActivityNotification]:
    """The notifications in force: the latest of each designation (an amendment names its original in
    ``amends``), without the cancelled ones."""
    latest: dict[tuple[str, str], ActivityNotification] = {}
    for notification in sorted(notifications, key=lambda n: n.notified):
        key = (notification.party, notification.amends or notification.designation)
        if notification.amends and (notification.party, notification.designation) in latest:
            latest.pop((notification.party, notification.designation))
        for old_key in [k for k, v in latest.items() if v.designation == key[1] and k[0] == key[0]]:
            latest.pop(old_key)
        latest[(notification.party, notification.designation)] = notification
    return [n for n in latest.values() if not n.cancelled]


def compare(
    observed: ObservedActivity,
    notifications: Sequence[ActivityNotification],
    *,
    start: float,
    end: float,
    settings: CompareSettings | None = None,
) -> Comparison:
    """Findings over [start, end) [s]; ``observed`` may hold earlier samples too (the baseline's history)."""
    settings = settings or CompareSettings()
    in_force = effective(notifications)
    history = observed.window(start - settings.baseline_days * 86_400.0, start)
    activity = observed.window(start, end)
    covered = np.zeros(len(activity), dtype=np.bool_)
    findings: list[Finding] = []
    accounted: list[Accounted] = []
    for notification in in_force:
        inside = _inside(activity, notification)
        covered |= inside
        if notification.end < start or notification.start >= end:
            continue
        account, excess = _against_declaration(activity, inside, notification, settings)
        accounted.append(account)
        if excess is not None:
            findings.append(excess)
    baselines = _baselines(history, observed.parties, settings, start)
    findings += _undeclared(activity.take(~covered), baselines, settings)
    findings.sort(key=lambda f: (f.start, f.party, f.kind))
    return Comparison(
        start=start,
        end=end,
        findings=tuple(findings),
        accounted=tuple(accounted),
        samples=len(activity),
        covered_samples=int(covered.sum()),
        baselines=baselines,
    )


def _inside(activity: ObservedActivity, notification: ActivityNotification) -> BoolArray:
    """Samples of the notifying party inside the declared area (or the phase's) during the declared window."""
    inside = np.zeros(len(activity), dtype=np.bool_)
    code = activity.party_code(notification.party)
    if code < 0:
        return inside
    periods = [(p.start, p.end, p.area) for p in notification.phases] or [
        (notification.start, notification.end, notification.area)
    ]
    mine = activity.party == code
    for period_start, period_end, area in periods:
        rows = np.flatnonzero(mine & (activity.t + activity.bin_s > period_start) & (activity.t <= period_end))
        if len(rows):
            inside[rows] |= shapely.intersects_xy(area, activity.lon[rows], activity.lat[rows])
    return inside


def _sorties(t: FloatArray, platform: IntArray, gap_s: float, bin_s: float) -> int:
    if len(t) == 0:
        return 0
    order = np.lexsort((t, platform))
    t_sorted, p_sorted = t[order], platform[order]
    new = np.ones(len(t_sorted), dtype=np.bool_)
    new[1:] = (p_sorted[1:] != p_sorted[:-1]) | (t_sorted[1:] - t_sorted[:-1] > gap_s + bin_s - 1e-9)
    return int(new.sum())


def _against_declaration(
    activity: ObservedActivity, inside: BoolArray, notification: ActivityNotification, settings: CompareSettings
) -> tuple[Accounted, Finding | None]:
    rows = activity.take(inside)
    air_rows = rows.take(rows.air)
    sorties = _sorties(air_rows.t, air_rows.platform, settings.sortie_gap_s, activity.bin_s)
    vessels = len(np.unique(rows.platform[~rows.air]))
    aircraft = len(np.unique(air_rows.platform))
    declared_sorties, declared_vessels = notification.count("aircraft_sorties"), notification.count("naval_vessels")
    account = Accounted(
        designation=notification.designation,
        party=notification.party,
        platforms=len(np.unique(rows.platform)),
        air_platforms=aircraft,
        sea_platforms=vessels,
        sorties=sorties,
        platform_hours=len(rows) * activity.bin_s / 3600.0,
        declared_sorties=declared_sorties,
        declared_vessels=declared_vessels,
    )
    exceeded: dict[str, dict[str, int]] = {}
    if sorties > declared_sorties:
        exceeded["aircraft_sorties"] = {"declared": declared_sorties, "observed": sorties}
    if vessels > declared_vessels:
        exceeded["naval_vessels"] = {"declared": declared_vessels, "observed": vessels}
    if not exceeded:
        return account, None
    basis = "; ".join(f"{name} observed {v['observed']} > declared {v['declared']}" for name, v in exceeded.items())
    return account, _finding(
        "exceeds_declaration", rows, notification.party, notification.designation, basis, sorties, exceeded
    )


def _finding(
    kind: str,
    rows: ObservedActivity,
    party: str,
    declared: str | None,
    basis: str,
    sorties: int,
    exceeded: dict[str, dict[str, int]] | None = None,
) -> Finding:
    bins, per_bin = np.unique(rows.t, return_counts=True)
    xyz = _unit(rows.lat, rows.lon).mean(axis=0)
    lat = math.degrees(math.atan2(xyz[2], math.hypot(xyz[0], xyz[1])))
    lon = math.degrees(math.atan2(xyz[1], xyz[0]))
    platforms = np.unique(rows.platform)
    return Finding(
        kind=kind,
        party=party,
        start=float(bins[0]),
        end=float(bins[-1] + rows.bin_s),
        lat=lat,
        lon=lon,
        platforms=len(platforms),
        platform_hours=len(rows) * rows.bin_s / 3600.0,
        declared=declared,
        air_platforms=len(np.unique(rows.platform[rows.air])),
        sea_platforms=len(np.unique(rows.platform[~rows.air])),
        most_at_once=int(per_bin.max()),
        sorties=sorties,
        basis=basis,
        series_t=tuple(float(t) for t in bins),
        series_n=tuple(int(n) for n in per_bin),
        platform_ids=tuple(rows.platform_ids[p] for p in platforms),
        exceeded=exceeded or {},
    )


def _unit(lat: FloatArray, lon: FloatArray) -> FloatArray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def _groups(activity: ObservedActivity, min_platforms: int, radius_m: float) -> IntArray:
    """Group label per sample (-1: in no group): DBSCAN per party and bin, ``min_platforms`` within ``radius_m``."""
    n = len(activity)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    chord = 2.0 * EARTH_RADIUS_M * math.sin(radius_m / (2.0 * EARTH_RADIUS_M))  # [m]
    # Each (bin, party) gets its own copy of the globe, side by side along x, far enough apart that no two copies
    # are within reach: a 3-D tree (faster than one with bin and party as extra axes) answers for all at once.
    span = 2.0 * EARTH_RADIUS_M + 10.0 * chord  # [m]
    bins = np.round(activity.t / activity.bin_s)
    slot = (bins - bins.min()) * (int(activity.party.max()) + 1) + activity.party
    points = _unit(activity.lat, activity.lon) * EARTH_RADIUS_M
    points[:, 0] += slot * span
    tree = cKDTree(points)
    pairs = tree.query_pairs(chord, output_type="ndarray")
    degree = np.bincount(pairs.ravel(), minlength=n) + 1 if len(pairs) else np.ones(n, dtype=np.int64)
    core = degree >= min_platforms
    if not core.any():
        return labels
    first, second = pairs[:, 0], pairs[:, 1]
    keep = core[first] | core[second]
    graph = coo_matrix((np.ones(int(keep.sum())), (first[keep], second[keep])), shape=(n, n))
    _, components = connected_components(graph, directed=False)
    member = core.copy()
    member[first[keep]] = True
    member[second[keep]] = True
    labels[member] = components[member]
    return labels


def _baselines(
    history: ObservedActivity, parties: tuple[str, ...], settings: CompareSettings, start: float
) -> dict[str, int]:
    floor = settings.floor_platforms
    baselines = dict.fromkeys(parties, floor)
    if len(history) == 0 or start - float(history.t.min()) < settings.baseline_days * 86_400.0 - history.bin_s:
        return baselines
    labels = _groups(history, 2, settings.radius_m)
    total_bins = round(settings.baseline_days * 86_400.0 / history.bin_s)
    for code, party in enumerate(history.parties):
        mine = np.flatnonzero(history.party == code)
        if len(mine) == 0:
            continue
        bins, bin_of = np.unique(history.t[mine], return_inverse=True)
        largest = np.ones(len(bins), dtype=np.int64)
        grouped = labels[mine] >= 0
        if grouped.any():
            _, group_of, sizes = np.unique(labels[mine][grouped], return_inverse=True, return_counts=True)
            np.maximum.at(largest, bin_of[grouped], sizes[group_of])
        values = np.zeros(max(total_bins, len(bins)))
        values[: len(bins)] = largest
        quantile = float(np.quantile(values, settings.baseline_quantile))
        baselines[party] = max(floor, math.floor(quantile) + 1)
    return baselines


def _undeclared(activity: ObservedActivity, baselines: dict[str, int], settings: CompareSettings) -> list[Finding]:
    if len(activity) == 0:
        return []
    labels = _groups(activity, settings.floor_platforms, settings.radius_m)
    grouped = np.flatnonzero(labels >= 0)
    if len(grouped) == 0:
        return []
    group_ids, group_index, sizes = np.unique(labels[grouped], return_inverse=True, return_counts=True)
    count = len(group_ids)
    xyz = np.zeros((count, 3))
    np.add.at(xyz, group_index, _unit(activity.lat[grouped], activity.lon[grouped]))
    xyz /= np.linalg.norm(xyz, axis=1)[:, None]
    group_t = np.zeros(count)
    group_t[group_index] = activity.t[grouped]
    group_party = np.zeros(count, dtype=np.int64)
    group_party[group_index] = activity.party[grouped]
    threshold = np.array([baselines.get(p, settings.floor_platforms) for p in activity.parties])[group_party]
    big = sizes >= threshold
    chord = 2.0 * EARTH_RADIUS_M * math.sin(settings.radius_m / (2.0 * EARTH_RADIUS_M))
    bins = np.round(group_t / activity.bin_s)
    points = np.column_stack((xyz * EARTH_RADIUS_M, (bins - bins.min()) * chord, group_party * 10.0 * chord))[big]
    big_index = np.flatnonzero(big)
    if len(big_index) == 0:
        return []
    pairs = cKDTree(points).query_pairs(chord * math.sqrt(2.0), output_type="ndarray")
    graph = coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1]) if len(pairs) else ([], [])),
        shape=(len(big_index), len(big_index)),
    )
    _, episodes = connected_components(graph, directed=False)
    episode_of_group = np.full(count, -1, dtype=np.int64)
    episode_of_group[big_index] = episodes
    sample_episode = episode_of_group[group_index]  # per grouped sample; -1: its group is under the threshold
    count_episodes = int(episodes.max()) + 1 if len(episodes) else 0
    first = np.full(count_episodes, np.inf)
    last = np.full(count_episodes, -np.inf)
    counted = sample_episode >= 0
    np.minimum.at(first, sample_episode[counted], activity.t[grouped][counted])
    np.maximum.at(last, sample_episode[counted], activity.t[grouped][counted])
    lasting = np.flatnonzero(last - first >= settings.floor_duration_s)
    order = np.argsort(sample_episode, kind="stable")
    sorted_episodes = sample_episode[order]
    findings = []
    for episode in lasting:
        low, high = np.searchsorted(sorted_episodes, [episode, episode + 1])
        rows = activity.take(np.sort(grouped[order[low:high]]))
        span = float(rows.t.max() - rows.t.min())
        party = rows.parties[int(rows.party[0])]
        threshold_n = baselines.get(party, settings.floor_platforms)
        if threshold_n == settings.floor_platforms:
            basis = (
                f"{settings.floor_platforms} or more military platforms within {settings.radius_m / 1000:g} km "
                f"for {span / 3600:.1f} h, no declaration covers it (history too short for a baseline)"
            )
        else:
            basis = (
                f"{threshold_n} or more military platforms within {settings.radius_m / 1000:g} km for "
                f"{span / 3600:.1f} h, above the {settings.baseline_days:g}-day baseline; no declaration covers it"
            )
        air_rows = rows.take(rows.air)
        sorties = _sorties(air_rows.t, air_rows.platform, settings.sortie_gap_s, rows.bin_s)
        findings.append(_finding("undeclared_activity", rows, party, None, basis, sorties))
    return findings


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    """Observed military activity of one party in one period: what the watch saw, before any comparison."""

    party: str
    start: float  # [s]
    end: float  # [s]
    air_platforms: int
    sea_platforms: int
    platform_hours: float  # [h]
    sorties: int
    most_at_once: int
    lat: float  # [deg] centroid of the samples
    lon: float  # [deg]
    south: float  # [deg] bounding box of the samples
    north: float  # [deg]
    west: float  # [deg]
    east: float  # [deg]

    def to_json(self) -> dict[str, Any]:
        return {
            "party": self.party, "start": to_iso(self.start), "end": to_iso(self.end),
            "air_platforms": self.air_platforms, "sea_platforms": self.sea_platforms,
            "platform_hours": round(self.platform_hours, 2), "sorties": self.sorties,
            "most_at_once": self.most_at_once, "lat": round(self.lat, 5), "lon": round(self.lon, 5),
            "bbox": [round(self.west, 5), round(self.south, 5), round(self.east, 5), round(self.north, 5)],
        }


def summarize(
    observed: ObservedActivity, *, start: float, end: float, period_s: float = 86_400.0, sortie_gap_s: float = 3600.0
) -> list[ActivitySummary]:
    """Per party and period of ``period_s`` [s] (a day by default) from ``start``: platforms by domain,
    platform-hours, sorties, most at once, where (centroid and bounding box)."""
    window = observed.window(start, end)
    if len(window) == 0:
        return []
    period = np.floor((window.t - start) / period_s).astype(np.int64)
    key = period * (len(window.parties) + 1) + window.party
    order = np.argsort(key, kind="stable")
    boundaries = np.flatnonzero(np.diff(key[order])) + 1
    summaries = []
    for rows_index in np.split(order, boundaries):
        rows = window.take(np.sort(rows_index))
        first = start + float(period[rows_index[0]]) * period_s
        air = rows.take(rows.air)
        _, per_bin = np.unique(rows.t, return_counts=True)
        xyz = _unit(rows.lat, rows.lon).mean(axis=0)
        summaries.append(
            ActivitySummary(
                party=rows.parties[int(rows.party[0])],
                start=first,
                end=min(first + period_s, end),
                air_platforms=len(np.unique(air.platform)),
                sea_platforms=len(np.unique(rows.platform[~rows.air])),
                platform_hours=len(rows) * rows.bin_s / 3600.0,
                sorties=_sorties(air.t, air.platform, sortie_gap_s, rows.bin_s),
                most_at_once=int(per_bin.max()),
                lat=math.degrees(math.atan2(xyz[2], math.hypot(xyz[0], xyz[1]))),
                lon=math.degrees(math.atan2(xyz[1], xyz[0])),
                south=float(rows.lat.min()),
                north=float(rows.lat.max()),
                west=float(rows.lon.min()),
                east=float(rows.lon.max()),
            )
        )
    return summaries
