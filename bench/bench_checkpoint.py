"""The stream watch's checkpoint, measured: its size and the CPU time to write and read it, half-way through a
busy Baltic hour built from real recordings (the watch's memory is then full: an hour of track history).

    .venv/bin/python bench/bench_checkpoint.py [--quick]

Run on demand (not a test). docs/scaling.md quotes the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_line, shared_dir, write_section
from riskline.detection.rulebook import load_rulebook
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.scenarios.baltic import busy_baltic_hour
from riskline.stream.checkpoint import WatchCheckpoint, dump_checkpoint, load_checkpoint
from riskline.watch import Watch, in_time_order


def measure(watch: Watch, label: str) -> str:
    checkpoint = WatchCheckpoint(1, 0, "bench", watch)
    started = time.process_time()
    data = dump_checkpoint(checkpoint)
    dumped = time.process_time() - started
    started = time.process_time()
    load_checkpoint(data, settings="bench", name="bench")
    loaded = time.process_time() - started
    status = watch.status()
    return (
        f"| {label} | {status.observations:,} | {status.tracks:,} | {status.open_encounters:,} | "
        f"{len(data) / 1e6:,.1f} MB | {dumped * 1e3:,.0f} ms | {loaded * 1e3:,.0f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the traffic, for a smoke run")
    args = parser.parse_args()
    ships, aircraft = (300, 60) if args.quick else (3000, 600)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hour = busy_baltic_hour(shared_dir() / "data", Path(tmp), ships=ships, aircraft=aircraft)
        watch = Watch(load_rulebook())
        stats = IngestStats()
        marks = {hour.start + 900.0: "after 15 min", hour.start + 1800.0: "after 30 min"}
        for observation in in_time_order([read_path(hour.nmea_path, stats), read_path(hour.sbs_path, stats)]):
            watch.feed(observation)
            due = [t for t in marks if observation.t >= t]
            for t in due:
                rows.append(measure(watch, marks.pop(t)))
            if not marks:
                break
    text = f"""## The stream watch's checkpoint

{machine_line()}
- Load average at the end: {" ".join(f"{x:.2f}" for x in os.getloadavg())}
- Input: a busy Baltic hour built from real recordings, {ships:,} ships and {aircraft:,} aircraft.

| when | observations taken | live tracks | open encounters | checkpoint | write (CPU) | read (CPU) |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}
"""
    write_section("checkpoint", text)


if __name__ == "__main__":
    main()
