"""The watch, measured: ingest against plain pyais, replay of a busy Baltic hour, and detection quality.

    .venv/bin/python bench/bench_watch.py [--quick]

1. Ingest: AIS NMEA sentences per second through riskline's reader (checksums, tag blocks, multipart assembly,
   plausibility gate, Observation objects) against a plain ``pyais.decode`` loop over the same sentences, and
   against pyais's own stream reader (which handles the tag blocks as riskline does).
2. Replay: a busy Baltic hour built from real recordings (``riskline scenario busy-hour``: ships as AIS NMEA,
   aircraft as SBS-1) through the whole watch — ingest, attribution, tracks, detection every 2 s of data
   time, encounters — in messages per second, and as a multiple of real time.
3. Full detection tick (rules, findings and all, not only the numeric core of bench_detection.py) on the busy
   hour's live picture at 10k and 100k tracks with a realistic party mix.
4. Quality on the labelled synthetic set (encounters known by construction, riskline.scenarios.synthetic):
   precision, recall and median lead time per rule.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyais
from pyais.stream import FileReaderStream

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_detection import population
from common import best_of, machine_line, shared_dir, write_section
from riskline.detection.detector import Detector
from riskline.detection.rulebook import load_rulebook
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.scenarios.baltic import busy_baltic_hour
from riskline.scenarios.synthetic import labelled_set
from riskline.tracks.snapshot import Snapshot
from riskline.watch import Watch, in_time_order


def bench_ingest(nmea: Path) -> str:
    lines = nmea.read_bytes().splitlines()
    sentences = [line.split(b"\\")[-1] for line in lines if line]

    def plain_pyais() -> int:
        decoded = 0
        for sentence in sentences:
            pyais.decode(sentence).asdict()
            decoded += 1
        return decoded

    def pyais_stream() -> int:
        decoded = 0
        with FileReaderStream(str(nmea)) as stream:
            for message in stream:
                message.decode().asdict()
                decoded += 1
        return decoded

    def riskline_reader() -> int:
        return sum(1 for _ in read_path(nmea, IngestStats()))

    rows = []
    for name, fn in (
        ("plain `pyais.decode(s).asdict()` loop", plain_pyais),
        ("pyais `FileReaderStream` + decode", pyais_stream),
        ("riskline `read_path` → Observation", riskline_reader),
    ):
        seconds, count = best_of(fn, repeat=3)
        rows.append((name, count, seconds))
    base = rows[0][2]
    table = ["| reader | messages | seconds | messages/s | vs plain pyais |", "|---|---:|---:|---:|---:|"]
    for name, count, seconds in rows:
        rate = len(sentences) / seconds
        table.append(f"| {name} | {count:,} | {seconds:.2f} | {rate:,.0f} | {base / seconds:.2f}× |")
    return "\n".join(table)


def bench_replay(nmea: Path, sbs: Path) -> str:
    stats = IngestStats()
    watch = Watch(load_rulebook())
    started = time.perf_counter()
    encounters = 0
    for observation in in_time_order([read_path(nmea, stats), read_path(sbs, stats)]):
        encounters += len(watch.feed(observation))
    encounters += len(watch.finish())
    seconds = time.perf_counter() - started
    status = watch.status()
    data_span = (status.t or 0) - _first_time(nmea)
    text = (
        "| messages | observations | platforms | ticks | encounters | seconds | messages/s | × real time |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {stats.read:,} | {stats.observations:,} | {status.platforms:,} | {status.ticks:,} | {encounters:,} | "
        f"{seconds:.1f} | {stats.read / seconds:,.0f} | {data_span / seconds:,.0f}× |"
    )
    return text


def _first_time(nmea: Path) -> float:
    first = nmea.open("rb").readline()
    return float(first.split(b"c:")[1].split(b"*")[0].split(b",")[0])


def with_parties(snapshot: Snapshot, rng: np.random.Generator) -> Snapshot:
    """Give 5 % of the platforms to five military parties, the rest stays civil (a realistic mix)."""
    names = ("civil", "RU", "EE", "US", "FI", "SE")
    party = np.where(rng.random(len(snapshot)) < 0.05, rng.integers(1, len(names), len(snapshot)), 0)
    return Snapshot(
        t=snapshot.t,
        ids=snapshot.ids,
        party=party.astype(np.int64),
        party_names=names,
        is_air=snapshot.is_air,
        is_military=party > 0,
        transponder=snapshot.transponder,
        lat=snapshot.lat,
        lon=snapshot.lon,
        alt=snapshot.alt,
        v_east=snapshot.v_east,
        v_north=snapshot.v_north,
        v_up=snapshot.v_up,
        t_fix=snapshot.t_fix,
    )


def bench_tick() -> str:
    rng = np.random.default_rng(7)
    detector = Detector(load_rulebook())
    rows = [
        "| live tracks | of which aircraft | military (5 parties) | findings | tick [ms] (median of 5) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in (1_000, 10_000, 100_000):
        snapshot = with_parties(population(n).snapshot, rng)
        seconds, findings = best_of(lambda s=snapshot: detector.detect(s, s.t, since=s.t - 2.0), repeat=5)
        aircraft = int(snapshot.is_air.sum())
        military = int(snapshot.is_military.sum())
        rows.append(f"| {n:,} | {aircraft:,} | {military:,} | {len(findings):,} | {seconds * 1000:.1f} |")
    return "\n".join(rows)


def bench_quality(n: int) -> str:
    labelled = labelled_set(n, seed=11)
    watch = Watch(load_rulebook())
    encounters = [e for o in labelled.scenario.observations for e in watch.feed(o)] + watch.finish()
    detected: dict[tuple[str, frozenset[str]], list] = defaultdict(list)  # type: ignore[type-arg]
    for encounter in encounters:
        if encounter.occurred:
            detected[(encounter.rule, frozenset((encounter.a, encounter.b)))].append(encounter)
    truth: dict[tuple[str, frozenset[str]], bool] = {}
    for case in labelled.encounters:
        for label in case.labels:
            truth[(label.rule, frozenset((case.a, case.b)))] = label.breaches
    rules = sorted({rule for rule, _ in truth})
    rows = [
        "| rule | breaches (truth) | detected | true positives | false positives | precision | recall | "
        "median lead time [s] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rule in rules:
        positives = {key for key, value in truth.items() if key[0] == rule and value}
        found = {key for key in detected if key[0] == rule}
        tp = positives & found
        fp = found - positives
        leads = [e.lead_time_s for key in tp for e in detected[key] if e.lead_time_s is not None]
        precision = len(tp) / len(found) if found else float("nan")
        recall = len(tp) / len(positives) if positives else float("nan")
        lead = f"{statistics.median(leads):.0f}" if leads else "–"
        rows.append(
            f"| {rule} | {len(positives)} | {len(found)} | {len(tp)} | {len(fp)} | {precision:.3f} | "
            f"{recall:.3f} | {lead} |"
        )
    return f"{len(labelled.encounters)} labelled encounters, seed 11.\n\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    ships, aircraft, labelled_n = (300, 60, 20) if args.quick else (3000, 600, 120)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        hour = busy_baltic_hour(shared_dir() / "data", Path(tmp), ships=ships, aircraft=aircraft)
        build_s = time.perf_counter() - started
        ingest = bench_ingest(hour.nmea_path)
        replay = bench_replay(hour.nmea_path, hour.sbs_path)
    tick = bench_tick()
    quality = bench_quality(labelled_n)
    text = f"""## The watch: ingest, replay, full detection tick, quality

{machine_line()}
- Input: a busy Baltic hour built from real recordings (`riskline scenario busy-hour`): {hour.ships:,} ships
  ({hour.ship_reports:,} AIS type 1 sentences with NMEA 4.10 tag blocks) and {hour.aircraft:,} aircraft
  ({hour.aircraft_reports:,} fixes as SBS-1 lines); built in {build_s:.1f} s.

### Ingest: AIS NMEA, riskline against plain pyais (same file, same run)

{ingest}

### Replay of the busy Baltic hour through the whole watch

{replay}

### One full detection tick (every rule, findings included)

The population of bench_detection.py (2 tracks per 100 km² at every size, 20 % aircraft), with 5 % of the
platforms given to five military parties and the rest civil (rules apply only between different parties):
candidate search, geometry, every rule's volume test, day/night, findings.

{tick}

### Detection quality on the labelled synthetic set

{quality}
"""
    write_section("watch", text)


if __name__ == "__main__":
    main()
