"""Benchmark of one detection tick's numeric core, against an all-pairs state-based CPA in BlueSky's style.

Run on demand (it is not a test): ``.venv/bin/python bench/bench_detection.py [--quick]``.
Prints a table and writes it as a markdown section to ``bench/out/detection.md``.

Ours, per tick: ``candidate_pairs`` (grid of swept boxes, then exact filters) + ``pair_geometry`` +
``cylinder_entry`` for every candidate pair (air–air pairs against the air-proximity cylinder, 926 m × ±91 m,
over 120 s; any pair with a ship against its larger reach, horizontally, over the shorter horizon).

Baseline: BlueSky's ``StateBased.detect`` (``bluesky/traffic/asas/statebased.py``) re-implemented faithfully with
NumPy: N×N matrices of bearing and distance (``kwikqdrdist_matrix``: flat earth on a 6,371 km sphere), relative
velocity, tcpa, dcpa², horizontal entry/exit, vertical crossing times, and the conflict test, including its
``1e9·I`` diagonal and its 1e-6 floors. Two deliberate differences, so both answer the same question: the
protected zone of a pair is the larger reach (BlueSky takes ``max(rpz_i, rpz_j)`` too; this version of BlueSky
doubles ``rpz`` first, which we do not) and the look-ahead of a pair is the shorter horizon (BlueSky uses the
ownship's). States are dead-reckoned to the tick first (BlueSky assumes current states).

Population (documented in bench/README.md): tracks spread uniformly over a square region centred on the Baltic
(58° N, 20° E) whose area grows with N so that the density stays at DENSITY tracks per 100 km²; 80 % ships at
0–12 m/s, 20 % aircraft at 100–260 m/s between 0 and 12,000 m; fixes 0–10 s old.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from riskline.detection import detector as detector_module
from riskline.detection.detector import Detector
from riskline.detection.geometry import closest_approach, cylinder_entry, pair_geometry, track_motion
from riskline.detection.pairs import PairIndex, candidate_pairs
from riskline.detection.rulebook import load_rulebook
from riskline.tracks.snapshot import FloatArray, Snapshot
from riskline.units import NAUTICAL_MILE

DENSITY = 2.0  # tracks per 100 km²
CENTRE_LAT, CENTRE_LON = 58.0, 20.0  # [deg]
AIR_SHARE = 0.2
AIR_HORIZON, SEA_HORIZON = 120.0, 1800.0  # [s]
AIR_REACH, SEA_REACH = 926.0, 5556.0  # [m] air proximity 0.5 NM; ship contact by night 3 NM
AIR_HALF_HEIGHT = 91.0  # [m] 300 ft
T = 1_700_000_000.0  # [s]
OUT = Path(__file__).resolve().parent / "out" / "detection.md"


@dataclass(frozen=True, slots=True)
class Population:
    snapshot: Snapshot
    horizon: FloatArray  # [s] per track
    reach: FloatArray  # [m] per track
    half_height: FloatArray  # [m] per track: 91 for aircraft, +inf for ships
    area_km2: float


def population(n: int, seed: int = 2024) -> Population:
    rng = np.random.default_rng(seed)
    area_km2 = n / DENSITY * 100.0
    side_km = math.sqrt(area_km2)
    lat_span = side_km / 111.2
    lon_span = side_km / (111.3 * math.cos(math.radians(CENTRE_LAT)))
    air = rng.random(n) < AIR_SHARE
    speed = np.where(air, rng.uniform(100.0, 260.0, n), rng.uniform(0.0, 12.0, n))  # [m/s]
    heading = rng.uniform(0.0, 2.0 * math.pi, n)
    snapshot = Snapshot(
        t=T,
        ids=tuple(f"track-{k}" for k in range(n)),
        party=rng.integers(0, 4, n).astype(np.int64),
        party_names=("civil", "blue", "red", "green"),
        is_air=air,
        is_military=rng.random(n) < 0.1,
        transponder=np.ones(n, dtype=bool),
        lat=CENTRE_LAT + rng.uniform(-lat_span / 2, lat_span / 2, n),
        lon=CENTRE_LON + rng.uniform(-lon_span / 2, lon_span / 2, n),
        alt=np.where(air, rng.uniform(0.0, 12_000.0, n), 0.0),
        v_east=speed * np.sin(heading),
        v_north=speed * np.cos(heading),
        v_up=np.where(air, rng.normal(0.0, 5.0, n), 0.0),
        t_fix=T - rng.uniform(0.0, 10.0, n),
    )
    return Population(
        snapshot=snapshot,
        horizon=np.where(air, AIR_HORIZON, SEA_HORIZON),
        reach=np.where(air, AIR_REACH, SEA_REACH),
        half_height=np.where(air, AIR_HALF_HEIGHT, np.inf),
        area_km2=area_km2,
    )


# --- ours --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OurTick:
    pairs: PairIndex
    conflicts: set[tuple[int, int]]  # pairs predicted to enter their cylinder within their window
    candidates_s: float
    geometry_s: float
    cylinder_s: float


def our_tick(pop: Population) -> OurTick:
    snap = pop.snapshot
    started = time.perf_counter()
    pairs = candidate_pairs(snap, T, horizon_s=pop.horizon, reach_m=pop.reach)
    searched = time.perf_counter()
    geom = pair_geometry(snap, pairs.i, pairs.j, T)
    measured = time.perf_counter()
    entry = cylinder_entry(
        geom,
        np.maximum(pop.reach[pairs.i], pop.reach[pairs.j]),
        np.maximum(pop.half_height[pairs.i], pop.half_height[pairs.j]),
        0.0,
        np.minimum(pop.horizon[pairs.i], pop.horizon[pairs.j]),
    )
    done = time.perf_counter()
    hit = entry.enters
    return OurTick(
        pairs=pairs,
        conflicts=set(zip(pairs.i[hit].tolist(), pairs.j[hit].tolist(), strict=True)),
        candidates_s=searched - started,
        geometry_s=measured - searched,
        cylinder_s=done - measured,
    )


# --- baseline: BlueSky's state-based detection, all pairs -------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllPairsResult:
    conflicts: set[tuple[int, int]]  # (i, j) with i < j
    conflict_pairs: list[tuple[str, str]]  # BlueSky's confpairs: one record per ownship
    loss_pairs: list[tuple[str, str]]  # BlueSky's lospairs


def kwikqdrdist_matrix(
    lata: FloatArray, lona: FloatArray, latb: FloatArray, lonb: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """BlueSky's quick bearing [deg] and distance [NM] matrices, [i, j] from i to j (rows are a, columns b)."""
    re = 6371000.0  # [m] radius earth
    dlat = np.radians(latb - lata.T)
    dlon = np.radians(((lonb - lona.T) + 180) % 360 - 180)
    cavelat = np.cos(np.radians(latb + lata.T) * 0.5)
    dangle = np.sqrt(dlat * dlat + dlon * dlon * cavelat * cavelat)
    dist = re * dangle / NAUTICAL_MILE
    qdr = np.degrees(np.arctan2(dlon * cavelat, dlat)) % 360.0
    return qdr, dist


def all_pairs_state_based(pop: Population) -> AllPairsResult:
    """BlueSky ``StateBased.detect`` with ownship = intruder = every track, thresholds per pair as ours."""
    snap = pop.snapshot
    n = len(snap)
    motion = track_motion(snap, T)  # O(N): states at the tick
    lat = motion.lat.reshape((1, n))
    lon = motion.lon.reshape((1, n))
    gs = np.hypot(snap.v_east, snap.v_north)  # [m/s]
    trk = np.degrees(np.arctan2(snap.v_east, snap.v_north))  # [deg]
    I = np.eye(n)  # noqa: N806, E741 - BlueSky's name for the identity that masks ownship-ownship pairs

    # Horizontal conflict
    qdr, dist = kwikqdrdist_matrix(lat, lon, lat, lon)  # [i, j] from i to j, as BlueSky calls it
    dist = dist * NAUTICAL_MILE + 1e9 * I  # [m]
    qdrrad = np.radians(qdr)
    dx = dist * np.sin(qdrrad)  # is pos j rel to i
    dy = dist * np.cos(qdrrad)  # is pos j rel to i
    owntrkrad = np.radians(trk)
    ownu = (gs * np.sin(owntrkrad)).reshape((1, n))  # [m/s]
    ownv = (gs * np.cos(owntrkrad)).reshape((1, n))  # [m/s]
    intu, intv = ownu, ownv
    du = ownu - intu.T  # [m/s] du[i, j] is perceived eastern speed of i to j
    dv = ownv - intv.T  # [m/s] dv[i, j] is perceived northern speed of i to j
    dv2 = du * du + dv * dv
    dv2 = np.where(np.abs(dv2) < 1e-6, 1e-6, dv2)  # limit lower absolute value
    vrel = np.sqrt(dv2)
    tcpa = -(du * dx + dv * dy) / dv2 + 1e9 * I
    dcpa2 = np.abs(dist * dist - tcpa * tcpa * dv2)
    rpz = np.maximum(pop.reach.reshape((1, n)), pop.reach.reshape((1, n)).T)
    r2 = rpz * rpz
    swhorconf = dcpa2 < r2
    dxinhor = np.sqrt(np.maximum(0.0, r2 - dcpa2))  # half the distance travelled inside the zone
    dtinhor = dxinhor / vrel
    tinhor = np.where(swhorconf, tcpa - dtinhor, 1e8)
    touthor = np.where(swhorconf, tcpa + dtinhor, -1e8)

    # Vertical conflict
    alt = motion.alt.reshape((1, n))
    vs = snap.v_up.reshape((1, n))
    dalt = alt - alt.T + 1e9 * I
    dvs = vs - vs.T
    dvs = np.where(np.abs(dvs) < 1e-6, 1e-6, dvs)  # prevent division by zero
    hpz = np.maximum(pop.half_height.reshape((1, n)), pop.half_height.reshape((1, n)).T)
    tcrosshi = (dalt + hpz) / -dvs
    tcrosslo = (dalt - hpz) / -dvs
    tinver = np.minimum(tcrosshi, tcrosslo)
    toutver = np.maximum(tcrosshi, tcrosslo)

    # Combine
    tinconf = np.maximum(tinver, tinhor)
    toutconf = np.minimum(toutver, touthor)
    lookahead = np.minimum(pop.horizon.reshape((1, n)), pop.horizon.reshape((1, n)).T)
    swconfl = swhorconf & (tinconf <= toutconf) & (toutconf > 0.0) & (tinconf < lookahead) & (I == 0)
    rows, cols = np.nonzero(swconfl)
    conflict_pairs = [(snap.ids[r], snap.ids[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    swlos = (dist < rpz) & (np.abs(dalt) < hpz)
    los_rows, los_cols = np.nonzero(swlos)
    loss_pairs = [(snap.ids[r], snap.ids[c]) for r, c in zip(los_rows.tolist(), los_cols.tolist(), strict=True)]
    low, high = np.minimum(rows, cols), np.maximum(rows, cols)
    return AllPairsResult(
        conflicts=set(zip(low.tolist(), high.tolist(), strict=True)),
        conflict_pairs=conflict_pairs,
        loss_pairs=loss_pairs,
    )


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many all-pairs conflicts are among our candidate pairs, and how far off the others are."""

    covered: int
    missing_ratios: FloatArray  # our horizontal minimum over the window / the pair's reach, per missing pair
    covered_with_margin: int  # covered when candidate_pairs is given every reach 2 % larger

    def describe_missing(self) -> str:
        if len(self.missing_ratios) == 0:
            return "none missing"
        worst = 100 * (float(self.missing_ratios.max()) - 1)
        best = 100 * (float(self.missing_ratios.min()) - 1)
        return f"{len(self.missing_ratios)} missing, all {best:.2f}–{worst:.2f} % beyond reach"


def coverage(pop: Population, conflicts: set[tuple[int, int]], pairs: PairIndex) -> Coverage:
    candidates = set(zip(pairs.i.tolist(), pairs.j.tolist(), strict=True))
    missing = sorted(conflicts - candidates)
    i = np.array([a for a, _ in missing], dtype=np.int64)
    j = np.array([b for _, b in missing], dtype=np.int64)
    geom = pair_geometry(pop.snapshot, i, j, T)
    approach = closest_approach(geom, 0.0, np.minimum(pop.horizon[i], pop.horizon[j]))
    ratios = approach.horizontal_min_m / np.maximum(pop.reach[i], pop.reach[j])
    wider = candidate_pairs(pop.snapshot, T, horizon_s=pop.horizon, reach_m=pop.reach * 1.02)
    wider_set = set(zip(wider.i.tolist(), wider.j.tolist(), strict=True))
    return Coverage(
        covered=len(conflicts & candidates),
        missing_ratios=ratios,
        covered_with_margin=len(conflicts & wider_set),
    )


# --- the whole tick on a busy civil picture ------------------------------------------------------------------


def busy_civil_picture(ships: int = 3_000, aircraft: int = 600, military: int = 6, seed: int = 2024) -> Snapshot:
    """The busy Baltic hour's mix at the bench's density: civil ships and airliners, ``military`` aircraft of as
    many parties."""
    pop = population(ships + aircraft, seed)
    n = ships + aircraft
    air = np.arange(n) >= ships
    rng = np.random.default_rng(seed + 1)
    speed = np.where(air, rng.uniform(100.0, 260.0, n), rng.uniform(0.0, 12.0, n))  # [m/s]
    heading = rng.uniform(0.0, 2.0 * math.pi, n)
    party = np.zeros(n, dtype=np.int64)
    party[ships : ships + military] = np.arange(1, military + 1)
    return Snapshot(
        t=T,
        ids=pop.snapshot.ids,
        party=party,
        party_names=("civil", *(f"navy-{k}" for k in range(1, military + 1))),
        is_air=air,
        is_military=party > 0,
        transponder=np.ones(n, dtype=bool),
        lat=pop.snapshot.lat,
        lon=pop.snapshot.lon,
        alt=np.where(air, rng.uniform(0.0, 12_000.0, n), 0.0),
        v_east=speed * np.sin(heading),
        v_north=speed * np.cos(heading),
        v_up=np.where(air, rng.normal(0.0, 5.0, n), 0.0),
        t_fix=T - rng.uniform(0.0, 10.0, n),
    )


def every_track_search(detector: Detector) -> Callable[[Snapshot], detector_module._PairSearch | None]:
    """The search before rules declared their tracks: every track, its domain's largest reach and horizon, all
    active (for comparison only)."""
    bounds = detector._pair_bounds

    def search(snapshot: Snapshot) -> detector_module._PairSearch:
        def bound(air: bool, measure: str) -> float:
            wanted = "air" if air else "sea"
            return max((getattr(b, measure) for b in bounds if wanted in b.spec.domain.split("-")), default=0.0)

        is_air = snapshot.is_air
        return detector_module._PairSearch(
            rows=np.arange(len(snapshot)),
            reach_m=np.where(is_air, bound(True, "reach_m"), bound(False, "reach_m")),
            horizon_s=np.where(is_air, bound(True, "horizon_s"), bound(False, "horizon_s")),
            active=np.ones(len(snapshot), dtype=bool),
        )

    return search


def busy_tick_lines(runs: int) -> list[str]:
    picture = busy_civil_picture()
    ours = Detector(load_rulebook())
    before = Detector(load_rulebook())
    before._pair_search = every_track_search(before)  # type: ignore[method-assign]
    tick = partial(ours.detect, picture, T, since=T - 2.0)
    old_tick = partial(before.detect, picture, T, since=T - 2.0)
    assert tick() == old_tick()
    ours_s = min(median_seconds(tick, runs) for _ in range(3))
    before_s = min(median_seconds(old_tick, runs) for _ in range(3))
    return [
        "",
        f"Whole tick (`Detector.detect`, default rulebook) on a busy civil picture at the same density: "
        f"{int((~picture.is_air).sum()):,} civil ships, {int(picture.is_air.sum()):,} aircraft of which "
        f"{int(picture.is_military.sum())} military (one party each): **{1e3 * ours_s:.2f} ms** searching only the "
        f"tracks a pair rule can use with civil passive, against {1e3 * before_s:.2f} ms searching every track "
        f"({before_s / ours_s:.0f}×; same findings).",
        "",
    ]


# --- running -----------------------------------------------------------------------------------------------


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_bytes(work: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def machine() -> list[str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    threads = {name: os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    set_vars = ", ".join(f"{k}={v}" for k, v in threads.items() if v is not None) or "none set"
    return [
        f"- CPU: {cpu} ({os.cpu_count()} logical cores visible; every step here runs on one)",
        f"- Python {platform.python_version()}, NumPy {np.__version__}",
        f"- BLAS/OpenMP thread variables: {set_vars} (no step calls BLAS)",
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke check")
    args = parser.parse_args(argv)
    runs = {1_000: 9, 10_000: 7, 100_000: 5} if not args.quick else {1_000: 3, 10_000: 3, 100_000: 1}
    baseline_runs = {1_000: 5, 4_000: 3} if not args.quick else {1_000: 1, 4_000: 1}

    lines: list[str] = ["## Detection tick: candidate pairs + geometry vs all-pairs state-based CPA", ""]
    lines += machine()
    lines += [
        f"- Population: {DENSITY:g} tracks per 100 km² at every size (area grows with N), centred on 58° N 20° E; "
        f"{100 * (1 - AIR_SHARE):.0f} % ships 0–12 m/s (horizon {SEA_HORIZON:.0f} s, reach {SEA_REACH:.0f} m), "
        f"{100 * AIR_SHARE:.0f} % aircraft 100–260 m/s at 0–12,000 m (horizon {AIR_HORIZON:.0f} s, "
        f"reach {AIR_REACH:.0f} m); fixes 0–10 s old. Times are medians of several runs.",
        "",
        "| tracks | area [km²] | candidate pairs | predicted conflicts | candidates [ms] | geometry [ms] "
        "| cylinder [ms] | **tick [ms]** |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines))
    our_medians: dict[int, float] = {}
    for n, count in runs.items():
        pop = population(n)
        our_tick(pop)  # warm-up
        ticks = []
        for _ in range(count):
            gc.collect()
            ticks.append(our_tick(pop))
        tick = statistics.median(t.candidates_s + t.geometry_s + t.cylinder_s for t in ticks)
        our_medians[n] = tick
        last = ticks[-1]
        row = (
            f"| {n:,} | {pop.area_km2:,.0f} | {len(last.pairs):,} | {len(last.conflicts):,} "
            f"| {1e3 * statistics.median(t.candidates_s for t in ticks):.1f} "
            f"| {1e3 * statistics.median(t.geometry_s for t in ticks):.1f} "
            f"| {1e3 * statistics.median(t.cylinder_s for t in ticks):.1f} | **{1e3 * tick:.1f}** |"
        )
        lines.append(row)
        print(row)

    lines += [
        "",
        "All-pairs baseline (BlueSky `StateBased.detect`, N×N matrices), same thresholds, same states. "
        "Check: are the all-pairs conflicts among our candidate pairs?",
        "",
        "| tracks | all-pairs [ms] | peak memory [MB] | ours [ms] | speed-up | all-pairs conflicts "
        "| among our candidates | the others, by our geometry | among candidates with reach +2 % "
        "| our conflicts: shared / only ours / only all-pairs |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    print("\n".join(lines[-5:]))
    baseline_at: dict[int, float] = {}
    peaks: dict[int, int] = {}
    for n, count in baseline_runs.items():
        pop = population(n)
        reference = all_pairs_state_based(pop)
        baseline_at[n] = median_seconds(partial(all_pairs_state_based, pop), count)
        peaks[n] = peak_bytes(partial(all_pairs_state_based, pop))
        ours = our_tick(pop)
        ours_s = our_medians.get(n) or median_seconds(partial(our_tick, pop), 5)
        check = coverage(pop, reference.conflicts, ours.pairs)
        row = (
            f"| {n:,} | {1e3 * baseline_at[n]:,.0f} | {peaks[n] / 1e6:,.0f} | {1e3 * ours_s:.1f} "
            f"| {baseline_at[n] / ours_s:,.0f}× | {len(reference.conflicts):,} | {check.covered:,} "
            f"| {check.describe_missing()} | {check.covered_with_margin:,} "
            f"| {len(ours.conflicts & reference.conflicts):,} / {len(ours.conflicts - reference.conflicts):,} "
            f"/ {len(reference.conflicts - ours.conflicts):,} |"
        )
        lines.append(row)
        print(row)
        total = len(reference.conflicts)
        verdict = "holds" if check.covered == total else f"holds for {check.covered:,} of {total:,}"
        print(
            f"  check at {n:,} tracks: candidates ⊇ all-pairs conflicts {verdict}; with reach +2 %: "
            f"{'holds' if check.covered_with_margin == total else 'FAILS'} ({check.covered_with_margin:,} of {total:,})"
        )

    largest = max(baseline_at)
    per_pair = baseline_at[largest] / (largest * largest)
    lines += [
        "",
        f"All-pairs at 10,000 and 100,000 tracks is **extrapolated, not measured** (O(N²) from {largest:,} tracks: "
        f"{1e3 * per_pair * 1e6:.1f} ms per million matrix cells; its peak memory grows the same way, "
        f"~{peaks[largest] * (10_000 / largest) ** 2 / 1e9:,.0f} GB at 10,000): "
        f"~{per_pair * 1e8:,.1f} s at 10,000 and ~{per_pair * 1e10 / 60:,.0f} min at 100,000, "
        f"against {1e3 * our_medians[10_000]:.0f} ms and {1e3 * our_medians[100_000]:.0f} ms measured for ours.",
        "",
    ]
    print("\n".join(lines[-3:]))
    lines += busy_tick_lines(21 if not args.quick else 3)
    print("\n".join(lines[-3:]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
