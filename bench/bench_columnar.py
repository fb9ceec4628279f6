"""The columnar path, measured side by side in one run against the peers issue 9 names.

    .venv/bin/python bench/bench_columnar.py [--quick] [--runs N] [--parts version,ais,sbs,baltic,table]

1. AIS NMEA ingest: ``read_path_batches`` (columns: ``ObservationBatch`` out, every check and count) and
   ``read_path`` (lines in batches, position reports decoded in bulk, ``Observation`` objects out) against a plain
   ``pyais.decode(s).asdict()`` loop over the same sentences.
2. The busy Baltic hour (``riskline.scenarios.baltic``) through the whole watch: the row path (``feed`` per
   observation, as in bench_watch.py) and the columnar path (``read_path_batches``, merged and sorted in bulk,
   ``feed_batch``), as multiples of real time.
3. ``riskline watch`` (a real process) on a positions table of N aircraft at 1 Hz for S seconds, against
   S ticks of all-pairs CPA (BlueSky's state-based detection, bench_detection.py) on the same states.
4. ``riskline --version`` as a real process.
5. SBS-1 ingest: the busy hour's aircraft read row by row (``read_path``) and column-wise (``read_path_batches``).

The machine is shared and noisy: every figure is the median of several runs, A and B alternated, and both wall
and CPU seconds are given (CPU seconds suffer less from other processes).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyais

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_detection import AIR_HALF_HEIGHT, AIR_HORIZON, AIR_REACH, Population, all_pairs_state_based
from common import machine_line, shared_dir, write_section
from riskline.detection.rulebook import load_rulebook
from riskline.ingest.batch import ObservationBatch
from riskline.ingest.sources import read_path, read_path_batches
from riskline.ingest.stats import IngestStats
from riskline.scenarios.baltic import busy_baltic_hour
from riskline.tracks.snapshot import Snapshot
from riskline.units import KNOT
from riskline.watch import Watch, in_time_order

RISKLINE = Path(sys.executable).with_name("riskline")


class Timing:
    """Wall and CPU seconds of repeated runs."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def _timed(fn: Callable[[], object], timing: Timing) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    timing.wall.append(time.perf_counter() - wall)
    timing.cpu.append(time.process_time() - cpu)


def _process(args: list[str], timing: Timing) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    timing.wall.append(time.perf_counter() - wall)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timing.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def alternate(a: Callable[[Timing], None], b: Callable[[Timing], None], runs: int) -> tuple[Timing, Timing]:
    ta, tb = Timing(), Timing()
    for _ in range(runs):
        a(ta)
        b(tb)
    return ta, tb


# --- 1. AIS ingest --------------------------------------------------------------------------------------------


def _ais_table(path: Path, runs: int) -> str:
    """``read_path_batches`` (columns), a plain pyais loop and ``read_path`` (rows) on one NMEA file, A B C A B C."""
    sentences = [line.split(b"\\")[-1] for line in path.read_bytes().splitlines() if line.strip()]

    def plain() -> None:
        for sentence in sentences:
            with contextlib.suppress(Exception):  # the peer loop skips what pyais cannot decode
                pyais.decode(sentence).asdict()

    def columns() -> None:
        sum(len(batch) for batch in read_path_batches(path, IngestStats()))

    def rows() -> None:
        sum(1 for _ in read_path(path, IngestStats()))

    peer, mine, row = Timing(), Timing(), Timing()
    for _ in range(runs):
        _timed(plain, peer)
        _timed(columns, mine)
        _timed(rows, row)
    n = len(sentences)

    def line(name: str, timing: Timing) -> str:
        return (
            f"| {name} | {n:,} | {timing.median_wall():.3f} | {timing.median_cpu():.3f} | "
            f"{n / timing.median_cpu():,.0f} | {peer.median_wall() / timing.median_wall():.2f}× / "
            f"{peer.median_cpu() / timing.median_cpu():.2f}× |"
        )

    return (
        "| reader | sentences | wall [s] | CPU [s] | sentences/s (CPU) | vs plain pyais (wall / CPU) |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        + line("plain `pyais.decode(s).asdict()` loop", peer) + "\n"
        + line("riskline `read_path_batches` (columns)", mine) + "\n"
        + line("riskline `read_path` (rows, bulk decoding)", row)
    )


_TAG_BLOCK = re.compile(rb"\\([^\\*]*)\*([0-9A-Fa-f]{2})\\")
_TAG_TIME = re.compile(rb"(?<![^,])([ct]):(\d+)(?![^,])")


def _xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def shifted_copies(source: bytes, copies: int) -> bytes:
    """``copies`` copies of an NMEA file recorded with tag blocks, one after the other in time: copy ``k`` has every
    tag-block time (``c:``, and the receiver's ``t:``) shifted by ``k`` times the file's span (its latest ``c:``
    second minus its earliest, plus one), each tag block's checksum (IEC 61162-1: XOR of the bytes between the
    backslash and the ``*``) changed by exactly the bytes that changed, so that a wrong one stays wrong. Everything
    else (MMSIs, payloads, stations) is left as recorded: each ship carries on from where the previous copy left it
    at the time the copy starts, as a real receiver's next minute would show, but for the jump back to its first
    position."""
    seconds = [int(v) for v in re.findall(rb"(?<![^,\\])c:(\d{9,10})(?=[,*])", source)]
    span = max(seconds) - min(seconds) + 1 if seconds else 0  # [s]
    parts = [source]
    for k in range(1, copies):
        offset = k * span  # [s]

        def shift_time(found: re.Match[bytes], offset: int = offset) -> bytes:
            value = int(found.group(2))
            shifted = value + (offset * 1000 if value > 1e11 else offset)
            return found.group(1) + b":" + str(shifted).encode()

        def shift_block(found: re.Match[bytes]) -> bytes:
            fields = found.group(1)
            shifted = _TAG_TIME.sub(shift_time, fields)
            given = int(found.group(2), 16) ^ _xor(fields) ^ _xor(shifted)
            return b"\\" + shifted + b"*%02X\\" % given

        parts.append(_TAG_BLOCK.sub(shift_block, source))
    return b"".join(parts)


def bench_ais(tmp: Path, copies: int, runs: int) -> str:
    source = (shared_dir() / "data" / "ais" / "test_data_20211101.nm4").read_bytes()
    path = tmp / "ais.nm4"
    path.write_bytes(shifted_copies(source, copies))
    ships = 3000 if copies >= 50 else 300
    hour = busy_baltic_hour(shared_dir() / "data", tmp / "busy_ais", ships=ships, aircraft=10)
    return (
        f"`test_data_20211101.nm4` × {copies} (real receiver data: statics, multi-sentence messages, other types; "
        "each copy's tag-block times shifted by the file's span and the tag-block checksums recomputed "
        "(`shifted_copies`), so the copies follow one another in time as a longer recording would; MMSIs and "
        f"payloads as recorded), median of {runs} runs, A B C alternated:\n\n{_ais_table(path, runs)}\n\n"
        f"The busy Baltic hour's AIS file ({hour.ship_reports:,} type 1 reports of {ships:,} ships, tag blocks):"
        f"\n\n{_ais_table(hour.nmea_path, runs)}"
    )


# --- 1b. SBS ingest ------------------------------------------------------------------------------------------


def bench_sbs(tmp: Path, aircraft: int, runs: int) -> str:
    """The busy hour's SBS-1 file read row by row (``read_path``) and column-wise (``read_path_batches``)."""
    hour = busy_baltic_hour(shared_dir() / "data", tmp / "busy_sbs", ships=10, aircraft=aircraft)
    lines = sum(1 for _ in hour.sbs_path.open("rb"))

    def rows(timing: Timing) -> None:
        _timed(lambda: sum(1 for _ in read_path(hour.sbs_path, IngestStats())), timing)

    def columns(timing: Timing) -> None:
        _timed(lambda: sum(len(b) for b in read_path_batches(hour.sbs_path, IngestStats())), timing)

    row, col = alternate(rows, columns, runs)
    return (
        "| reader | lines | wall [s] | CPU [s] | lines/s (CPU) | vs rows (wall / CPU) |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        f"| rows: `read_path` (`SbsDecoder.feed` per line) | {lines:,} | {row.median_wall():.2f} | "
        f"{row.median_cpu():.2f} | {lines / row.median_cpu():,.0f} | 1.00× |\n"
        f"| columns: `read_path_batches` (`SbsColumnDecoder.feed_columns`) | {lines:,} | {col.median_wall():.2f} | "
        f"{col.median_cpu():.2f} | {lines / col.median_cpu():,.0f} | {row.median_wall() / col.median_wall():.1f}× / "
        f"{row.median_cpu() / col.median_cpu():.1f}× |"
    )


# --- 2. busy Baltic hour --------------------------------------------------------------------------------------


def bench_baltic(tmp: Path, ships: int, aircraft: int, runs: int) -> str:
    hour = busy_baltic_hour(shared_dir() / "data", tmp / "busy", ships=ships, aircraft=aircraft)
    span = hour.end - hour.start
    rulebook = load_rulebook()

    def rows(timing: Timing) -> None:
        def run() -> None:
            stats = IngestStats()
            watch = Watch(rulebook)
            for observation in in_time_order([read_path(hour.nmea_path, stats), read_path(hour.sbs_path, stats)]):
                watch.feed(observation)
            watch.finish()

        _timed(run, timing)

    def columns(timing: Timing) -> None:
        def run() -> None:
            stats = IngestStats()
            watch = Watch(rulebook)
            batches = [*read_path_batches(hour.nmea_path, stats), *read_path_batches(hour.sbs_path, stats)]
            merged = ObservationBatch.concat(batches).in_time_order()
            for start in range(0, len(merged), 50_000):
                watch.feed_batch(merged.take(start, start + 50_000))
            watch.finish()

        _timed(run, timing)

    row, col = alternate(rows, columns, runs)
    messages = hour.ship_reports + hour.aircraft_reports
    return (
        f"{hour.ships:,} ships ({hour.ship_reports:,} AIS sentences) and {hour.aircraft:,} aircraft "
        f"({hour.aircraft_reports:,} SBS fixes), one hour of data.\n\n"
        "| path | wall [s] | CPU [s] | × real time (wall) | × real time (CPU) |\n|---|---:|---:|---:|---:|\n"
        f"| rows: `feed` per observation | {row.median_wall():.1f} | {row.median_cpu():.1f} | "
        f"{span / row.median_wall():,.0f}× | {span / row.median_cpu():,.0f}× |\n"
        f"| columns: `read_path_batches` + `feed_batch` | {col.median_wall():.1f} | {col.median_cpu():.1f} | "
        f"{span / col.median_wall():,.0f}× | {span / col.median_cpu():,.0f}× |\n\n"
        f"({messages:,} messages)"
    )


# --- 3. riskline watch on a positions table against all-pairs CPA --------------------------------------------


class Fleet:
    """N aircraft flying straight at 100-260 m/s over a square at 2 per 100 km² (bench_detection's density)."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        side_km = math.sqrt(n / 2.0 * 100.0)
        self.n = n
        self.lat0 = 58.0 + rng.uniform(-side_km / 2, side_km / 2, n) / 111.2
        self.lon0 = 20.0 + rng.uniform(-side_km / 2, side_km / 2, n) / (111.3 * math.cos(math.radians(58.0)))
        self.speed = rng.uniform(100.0, 260.0, n)  # [m/s]
        self.course = np.round(rng.uniform(0.0, 360.0, n), 1)  # [deg]
        self.alt = np.round(rng.uniform(0.0, 12_000.0, n))  # [m]
        self.party = np.array(["SE", "RU", "FI", "civil"])[rng.integers(0, 4, n)]
        rad = np.radians(self.course)
        self.v_east, self.v_north = self.speed * np.sin(rad), self.speed * np.cos(rad)
        self.lat_rate = self.v_north / 111_200.0  # [deg/s]
        self.lon_rate = self.v_east / (111_300.0 * np.cos(np.radians(self.lat0)))

    def at(self, s: float) -> tuple[np.ndarray, np.ndarray]:
        return np.round(self.lat0 + self.lat_rate * s, 6), np.round(self.lon0 + self.lon_rate * s, 6)

    def write(self, path: Path, seconds: int, t0: float) -> int:
        knots = np.round(self.speed / KNOT, 1)
        kind = np.where(self.party == "civil", "civil", "military")
        ids = [f"ac{k:05d}" for k in range(self.n)]
        with path.open("w", encoding="utf-8") as handle:
            handle.write("t,id,lat,lon,party,domain,alt_m,sog_kn,cog_deg,kind\n")
            for s in range(seconds):
                lat, lon = self.at(float(s))
                t = int(t0) + s
                handle.writelines(
                    f"{t},{i},{la:.6f},{lo:.6f},{p},air,{a:.0f},{kn:.1f},{c:.1f},{k}\n"
                    for i, la, lo, p, a, kn, c, k in zip(
                        ids, lat.tolist(), lon.tolist(), self.party.tolist(), self.alt.tolist(), knots.tolist(),
                        self.course.tolist(), kind.tolist(), strict=True,
                    )
                )
        return seconds * self.n

    def population(self, s: float, t0: float) -> Population:
        lat, lon = self.at(s)
        n = self.n
        snapshot = Snapshot(
            t=t0 + s, ids=tuple(f"ac{k:05d}" for k in range(n)), party=np.zeros(n, dtype=np.int64),
            party_names=("x",), is_air=np.ones(n, dtype=bool), is_military=np.ones(n, dtype=bool),
            transponder=np.ones(n, dtype=bool), lat=lat, lon=lon, alt=self.alt, v_east=self.v_east,
            v_north=self.v_north, v_up=np.zeros(n), t_fix=np.full(n, t0 + s),
        )
        return Population(snapshot, np.full(n, AIR_HORIZON), np.full(n, AIR_REACH), np.full(n, AIR_HALF_HEIGHT),
                          0.0)


def bench_table(tmp: Path, n: int, seconds: int, runs: int, all_pairs_ticks: int) -> str:
    t0 = 1_700_000_000.0
    fleet = Fleet(n)
    table = tmp / "aircraft.csv"
    rows = fleet.write(table, seconds, t0)
    db = tmp / "watch.db"

    def ours(timing: Timing) -> None:
        db.unlink(missing_ok=True)
        _process([str(RISKLINE), "watch", str(table), "--db", str(db)], timing)

    def all_pairs(timing: Timing) -> None:
        def run() -> None:
            for s in np.linspace(0, seconds - 1, all_pairs_ticks):
                all_pairs_state_based(fleet.population(float(s), t0))

        _timed(run, timing)

    mine, peer = alternate(ours, all_pairs, runs)
    scale = seconds / all_pairs_ticks
    peer_wall, peer_cpu = peer.median_wall() * scale, peer.median_cpu() * scale
    return (
        f"{n:,} aircraft at 1 Hz for {seconds} s: {rows:,} rows, {table.stat().st_size / 1e6:.0f} MB of CSV.\n\n"
        "| what | wall [s] | CPU [s] |\n|---|---:|---:|\n"
        f"| `riskline watch` on the table (process: start, read, attribute, track, detect every 2 s, store) | "
        f"{mine.median_wall():.1f} | {mine.median_cpu():.1f} |\n"
        f"| all-pairs CPA, {seconds} ticks (measured {all_pairs_ticks} ticks × {scale:.0f}) | {peer_wall:.1f} | "
        f"{peer_cpu:.1f} |\n"
        f"| **ratio** | **{peer_wall / mine.median_wall():.1f}×** | **{peer_cpu / mine.median_cpu():.1f}×** |"
    )


# --- 4. start-up ----------------------------------------------------------------------------------------------


def bench_version(runs: int) -> str:
    timing = Timing()
    for _ in range(runs):
        _process([str(RISKLINE), "--version"], timing)
    help_timing = Timing()
    for _ in range(runs):
        _process([str(RISKLINE), "--help"], help_timing)
    return (
        "| command | median wall [s] | median CPU [s] | runs |\n|---|---:|---:|---:|\n"
        f"| `riskline --version` | {timing.median_wall():.3f} | {timing.median_cpu():.3f} | {runs} |\n"
        f"| `riskline --help` | {help_timing.median_wall():.3f} | {help_timing.median_cpu():.3f} | {runs} |"
    )


PARTS = ("version", "ais", "sbs", "baltic", "table")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side of the big comparisons")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated parts to run, of: {', '.join(PARTS)}"
    )
    args = parser.parse_args()
    quick, runs = args.quick, args.runs
    start_load = os.getloadavg()[0]
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(parts - set(PARTS)))}")
    skipped = "(not run)"
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        version = bench_version(5 if quick else 9) if "version" in parts else skipped
        ais = bench_ais(tmp, 10 if quick else 50, 3) if "ais" in parts else skipped
        sbs = bench_sbs(tmp, 60 if quick else 600, 3 if quick else 5) if "sbs" in parts else skipped
        baltic = (
            bench_baltic(tmp, 300 if quick else 3000, 60 if quick else 600, 1 if quick else runs)
            if "baltic" in parts
            else skipped
        )
        table = (
            bench_table(tmp, 2000, 30 if quick else 300, 1 if quick else runs, 10 if quick else 20)
            if "table" in parts
            else skipped
        )
    text = f"""## The columnar path (issue 9), side by side in one run

{machine_line()}
- Load average at the start: {start_load:.1f}, at the end: {os.getloadavg()[0]:.1f} (the machine is shared).

### Start-up (goal: `riskline --version` under 0.3 s)

{version}

### AIS NMEA ingest (goal: ≥ 5× a plain `pyais.decode` loop on the same file)

{ais}

### SBS-1 ingest, rows against columns (the busy hour's aircraft)

{sbs}

### The busy Baltic hour through the whole watch (goal: ≥ 1,000× real time)

{baltic}

### `riskline watch` on a positions table against all-pairs CPA (goal: ≥ 20× faster)

{table}
"""
    write_section("columnar", text)


if __name__ == "__main__":
    main()
