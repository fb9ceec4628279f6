"""History cut into pieces a cluster can run at once, and the encounters sewn back together across the cuts.

The design follows Global Fishing Watch's ``pipe-encounters`` (positions grouped by time bucket and grid cell
with its neighbours, a warm-up, then a merge pass), with riskline's own ``Watch`` as the kernel:

* A **partition** is one time window ``[w0, w1)`` × one spatial cell. It holds every observation from
  ``w0 - warmup`` to ``w1 + tail`` that lies in the cell or within ``halo`` of it. ``detect_partition`` feeds
  them, in time order, to a fresh ``Watch`` — the very object ``riskline watch`` runs live — and finishes it.
* **Ownership**: the partition owns an encounter whose ``start`` lies in ``[w0, w1)`` and whose position (the
  closest approach) lies in its cell. Each encounter has exactly one owner, so none is reported twice, and the
  warm-up (longer than anything the watch remembers: track history, hold times, the repeated-pass window) makes
  the owner see it as the single machine saw it.
* **Stitching**: an owned encounter still open when its partition's data ends (longer than ``tail``) is cut;
  the next windows' partitions see its continuation, which started in their warm-up. ``stitch`` joins the
  chain into one encounter: the first's start and first alert, the last's end, the closest approach of all.

Time windows are aligned to multiples of ``window_s`` since the epoch, cells to multiples of ``cell_deg``; the
detector's ticks are aligned to ``tick_s`` the same way, so every partition ticks at the same instants as one
watch over everything would. A cell size of 0 means no spatial cut (one cell, the whole world).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from riskline.detection.rulebook import SEVERITY_ORDER, Rulebook
from riskline.incidents.model import Encounter
from riskline.ingest.observation import Observation
from riskline.tracks.attribution import Attributor
from riskline.watch import Watch

METRES_PER_DEGREE = 111_320.0  # [m] of latitude (and of longitude at the equator)
WORLD = (0, 0)
"""The one cell when there is no spatial cut."""


class HistoryError(ValueError):
    """A history plan that cannot give the single watch's answer (a warm-up too short, …)."""


@dataclass(frozen=True, slots=True)
class HistoryPlan:
    """How history is cut: time windows with warm-up and tail, and optionally spatial cells with a halo."""

    window_s: float = 86_400.0  # [s] one day
    warmup_s: float = 7_200.0  # [s] data before the window a partition also reads
    tail_s: float = 7_200.0  # [s] data after the window, so owned encounters end inside the partition
    cell_deg: float = 0.0  # [deg] 0: no spatial cut
    halo_m: float = 150_000.0  # [m] data around the cell a partition also reads

    @staticmethod
    def minimum_warmup_s(rulebook: Rulebook) -> float:
        """[s] the longest the watch remembers anything: track history, hold times, the repeated-pass window."""
        settings = rulebook.watch
        return float(max(
            2 * settings.evidence_sea_s + settings.hold_sea_s,
            2 * settings.evidence_air_s + settings.hold_air_s,
            rulebook.repeated_low_passes.window_s + settings.hold_air_s,
        ))

    def check(self, rulebook: Rulebook) -> None:
        need = self.minimum_warmup_s(rulebook)
        if not self.window_s > 0:
            raise HistoryError(f"window must be positive, not {self.window_s:g} s")
        if self.warmup_s < need:
            raise HistoryError(f"warm-up {self.warmup_s:g} s is shorter than the watch's memory ({need:g} s)")
        if not 0 <= self.tail_s <= self.window_s or not 0 <= self.warmup_s <= self.window_s:
            raise HistoryError("warm-up and tail must each lie between 0 and the window length")
        if self.cell_deg < 0 or (self.cell_deg > 0 and self.halo_m <= 0):
            raise HistoryError("cells need a positive size and a positive halo")


@dataclass(frozen=True, slots=True, order=True)
class PartitionKey:
    window: int
    """Index of the window: it covers ``[window × window_s, (window + 1) × window_s)``."""
    cell: tuple[int, int]
    """(row, column) of the cell: latitude and longitude divided by ``cell_deg``, floored."""


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """What one partition found: encounters it owns, and continuations of encounters begun before it."""

    key: PartitionKey
    encounter: Encounter
    owned: bool
    cut: bool
    """Still open when the partition's data ended (the next windows hold the rest)."""


def partition_keys(observation: Observation, plan: HistoryPlan) -> list[PartitionKey]:
    """Every partition that needs ``observation``: its own window and cell, and the neighbours whose warm-up,
    tail or halo it falls in."""
    t = observation.t
    if not math.isfinite(t):
        return []
    window = math.floor(t / plan.window_s)
    windows = [window]
    if t >= (window + 1) * plan.window_s - plan.warmup_s:
        windows.append(window + 1)
    if t < window * plan.window_s + plan.tail_s:
        windows.append(window - 1)
    cells = _cells(observation, plan)
    return [PartitionKey(w, cell) for w in sorted(windows) for cell in cells]


def _cells(observation: Observation, plan: HistoryPlan) -> list[tuple[int, int]]:
    if plan.cell_deg == 0:
        return [WORLD]
    if observation.lat is None or observation.lon is None:
        return []  # an identity-only report: the watch keeps identities from positioned reports too
    lat, lon, size = observation.lat, observation.lon, plan.cell_deg
    dlat = plan.halo_m / METRES_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 1e-3)
    rows = range(math.floor((lat - dlat) / size), math.floor((lat + dlat) / size) + 1)
    columns = range(math.floor((lon - dlon) / size), math.floor((lon + dlon) / size) + 1)
    return [(row, column) for row in rows for column in columns]


def owner_cell(encounter: Encounter, plan: HistoryPlan) -> tuple[int, int]:
    if plan.cell_deg == 0:
        return WORLD
    return math.floor(encounter.lat / plan.cell_deg), math.floor(encounter.lon / plan.cell_deg)


def detect_partition(
    key: PartitionKey,
    observations: Iterable[Observation],
    rulebook: Rulebook,
    attributor: Attributor,
    plan: HistoryPlan,
) -> list[PartitionResult]:
    """The kernel: one partition's observations through a fresh ``Watch`` (the live watch's own code), and
    what it owns or continues. Pure: same input, same output, on any machine."""
    ordered = sorted(observations, key=lambda o: (o.t, o.platform_id, o.source))
    watch = Watch(rulebook, attributor=attributor)
    closed: list[Encounter] = []
    for observation in ordered:
        closed += watch.feed(observation)
    still_open = {(e.rule, e.a, e.b) for e in watch.tracker.open_encounters()}
    closed += watch.finish()
    start, end = key.window * plan.window_s, (key.window + 1) * plan.window_s
    results = []
    for encounter in closed:
        in_cell = owner_cell(encounter, plan) == key.cell
        owned = in_cell and start <= encounter.start < end
        cut = (encounter.rule, encounter.a, encounter.b) in still_open
        if owned or encounter.start < start:  # a continuation, wherever its closest approach now lies
            results.append(PartitionResult(key, encounter, owned, cut))
    return results


def stitch(results: Sequence[PartitionResult], plan: HistoryPlan) -> list[Encounter]:
    """The encounters of one (rule, a, b): owned ones as found, cut ones joined with their continuations."""
    continuations = sorted((r for r in results if not r.owned), key=lambda r: (r.key.window, r.encounter.start))
    stitched = []
    for result in sorted((r for r in results if r.owned), key=lambda r: r.encounter.start):
        encounter, window, cut = result.encounter, result.key.window, result.cut
        while cut:
            following = [
                r for r in continuations
                if r.key.window == window + 1
                and r.encounter.start <= encounter.end and r.encounter.end >= encounter.end
            ]
            if not following:
                break
            nxt = following[0]
            encounter = join(encounter, nxt.encounter)
            window, cut = nxt.key.window, nxt.cut
        stitched.append(encounter)
    return stitched


def join(first: Encounter, then: Encounter) -> Encounter:
    """One encounter from two pieces of it: the first's start, the later end, the closer approach."""
    closest = then if then.min_distance_m < first.min_distance_m else first
    severity = max(first.severity, then.severity, key=lambda s: SEVERITY_ORDER.get(s, -1))
    return replace(
        closest,
        start=first.start,
        end=max(first.end, then.end),
        first_alert=first.first_alert if first.first_alert is not None else then.first_alert,
        occurred=first.occurred or then.occurred,
        severity=severity,
    )


def stitch_key(encounter: Encounter) -> str:
    """What the merge pass groups by: the rule and the pair."""
    return f"{encounter.rule}|{encounter.a}|{encounter.b}"


def in_canonical_order(encounters: Iterable[Encounter]) -> list[Encounter]:
    """A stable order for output: by start, then rule and pair."""
    return sorted(encounters, key=lambda e: (e.start, e.rule, e.a, e.b, e.end))


def run_in_process(
    observations: Iterable[Observation], rulebook: Rulebook, attributor: Attributor, plan: HistoryPlan
) -> list[Encounter]:
    """The whole history job in this process, without Beam: the same partitioning, kernel and stitching the
    Beam pipeline runs (a reference for it, and for small jobs)."""
    plan.check(rulebook)
    partitions: dict[PartitionKey, list[Observation]] = {}
    for observation in observations:
        for key in partition_keys(observation, plan):
            partitions.setdefault(key, []).append(observation)
    by_pair: dict[str, list[PartitionResult]] = {}
    for key in sorted(partitions):
        for result in detect_partition(key, partitions[key], rulebook, attributor, plan):
            by_pair.setdefault(stitch_key(result.encounter), []).append(result)
    return in_canonical_order(e for results in by_pair.values() for e in stitch(results, plan))
