"""Beyond one machine: the figures docs/sizing.md is built from.

Run on demand (not a test): ``.venv/bin/python bench/bench_history.py [--days N] [--quick]``, with Beam's
environment in ``$RISKLINE_BEAM_PYTHON`` (``.venv-beam/bin/python``; ``./run test`` builds it), PostgreSQL 15
and nats-server installed (each part is skipped, and says so, where its engine is missing).
Writes the tables to ``bench/out/history.md``.

1. Real feeds: messages per second and bytes per message of the shared recordings (AIS NMEA 4.10 with
   receiver timestamps, NOAA AIS CSV, ADS-B ``traffic`` samples), from their own time stamps.
2. History: a regional feed of ``--days`` days, one 15-minute Baltic scenario burst per day (8,630
   observations, 17 encounters each; ``riskline.scenarios.history_feed``), through one ``riskline watch``
   process (the peer: the single machine) and ``riskline history --runner direct`` with 1 and 2 workers
   (one-day windows). Same encounters checked.
3. NATS JetStream: ``riskline ingest --to`` publish rate and ``riskline watch --from --drain`` consume rate
   of one burst, on a local ``nats-server -js``.
4. PostgreSQL/PostGIS against SQLite: ``PositionStore.save_positions`` of the real ADS-B fixes (rows/s) and
   ``tracks_through_area`` over them (ms).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("RISKLINE_SHARED", REPO.parent / "shared")).resolve()
OUT = REPO / "bench" / "out"
RISKLINE = [sys.executable, "-c", "from riskline.cli.main import main; main()"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env(), check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])}…: exit {result.returncode}\n{result.stderr[-2000:]}")
    return elapsed, result


def real_feeds() -> list[str]:
    from riskline.ingest.sources import read_path
    from riskline.ingest.stats import IngestStats

    rows = [
        "| recording | messages | observations | span [s] | messages/s | bytes/message |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for relative in ("ais/test_data_20211101.nm4", "ais/test_data_noaa_20230101.csv", "traffic/quickstart.json.gz"):
        path = SHARED / "data" / relative
        stats = IngestStats()
        times = [o.t for o in read_path(path, stats)]
        span = max(times) - min(times) if times else 0.0
        if path.suffix == ".gz":
            with gzip.open(path) as file:
                size = len(file.read())
        else:
            size = path.stat().st_size
        rate = stats.read / span if span else float("nan")
        per_message = size / max(stats.read, 1)
        rows.append(row(relative, f"{stats.read:,}", f"{stats.observations:,}", f"{span:,.0f}", f"{rate:,.2f}",
                        f"{per_message:,.0f}"))
    return rows


def history(days: int, work: Path) -> list[str]:
    from riskline.scenarios.history_feed import repeat_positions

    scenario = work / "baltic"
    timed([*RISKLINE, "scenario", "baltic", "-o", str(scenario)])
    feed = work / "feed.csv"
    rows_written = repeat_positions(scenario / "demo_positions.csv", feed, copies=days, every_s=86_400.0)
    fleet = scenario / "demo_fleet.toml"
    lines = [
        f"Feed: {days} days, one Baltic burst a day, {rows_written:,} observations, {feed.stat().st_size:,} bytes.",
        "",
        "| run | seconds | observations/s | encounters | same as the watch |",
        "|---|---:|---:|---:|---|",
    ]
    seconds, result = timed(
        [*RISKLINE, "watch", str(feed), "--fleet", str(fleet), "--db", str(work / "w.db"), "--json"]
    )
    expected = sorted(result.stdout.splitlines())
    lines.append(row("riskline watch (one process, the peer)", f"{seconds:.1f}", f"{rows_written / seconds:,.0f}",
                     str(len(expected)), "—"))
    beam = os.environ.get("RISKLINE_BEAM_PYTHON")
    if not beam:
        lines.append("| riskline history | skipped: set RISKLINE_BEAM_PYTHON | | | |")
        return lines
    for workers in (1, 2):
        command = [beam, *RISKLINE[1:], "history", str(feed), "--fleet", str(fleet), "--runner", "direct",
                   "--workers", str(workers), "--json"]
        seconds, result = timed(command)
        got = sorted(result.stdout.splitlines())
        lines.append(
            f"| riskline history --runner direct --workers {workers} | {seconds:.1f} | {rows_written / seconds:,.0f} "
            f"| {len(got)} | {'yes' if got == expected else 'NO'} |"
        )
    return lines


def jetstream(work: Path) -> list[str]:
    from riskline.testing.nats import NatsServer, missing_reason

    if missing_reason():
        return [f"skipped: {missing_reason()}"]
    feed = work / "baltic" / "demo_positions.csv"
    lines = ["| step | observations | seconds | observations/s |", "|---|---:|---:|---:|"]
    with NatsServer() as server:
        seconds, _ = timed([*RISKLINE, "ingest", str(feed), "--to", server.url])
        lines.append(row("riskline ingest --to (publish, acknowledged)", "8,630", f"{seconds:.1f}",
                         f"{8630 / seconds:,.0f}"))
        seconds, _ = timed([*RISKLINE, "ingest", str(feed), "--to", server.url])
        lines.append(f"| the same again (all duplicates) | 8,630 | {seconds:.1f} | {8630 / seconds:,.0f} |")
        seconds, _ = timed([*RISKLINE, "watch", "--from", server.url, "--drain", "--db", str(work / "n.db"),
                            "--fleet", str(work / "baltic" / "demo_fleet.toml")])
        lines.append(row("riskline watch --from --drain (consume, detect, publish)", "8,630", f"{seconds:.1f}",
                         f"{8630 / seconds:,.0f}"))
        seconds, _ = timed([*RISKLINE, "watch", str(feed), "--db", str(work / "f.db"),
                            "--fleet", str(work / "baltic" / "demo_fleet.toml")])
        lines.append(f"| peer: riskline watch on the file | 8,630 | {seconds:.1f} | {8630 / seconds:,.0f} |")
    return lines


def databases() -> list[str]:
    from shapely.geometry import box

    from riskline.ingest.sources import read_path
    from riskline.ingest.stats import IngestStats
    from riskline.storage import open_database
    from riskline.storage.positions import PositionStore
    from riskline.testing.postgres import PostgresCluster, missing_reason

    fixes = []
    for name in ("aircraft_carrier.json.gz", "inflight_refuelling.json.gz", "quickstart.json.gz"):
        fixes += [o for o in read_path(SHARED / "data" / "traffic" / name, IngestStats()) if o.has_position]
    lines = [f"{len(fixes):,} real ADS-B fixes.", "",
             "| back-end | insert rows/s | tracks through a 1°×1° area [ms] (median of 5) |", "|---|---:|---:|"]
    lons = sorted(o.lon for o in fixes if o.lon is not None)
    lats = sorted(o.lat for o in fixes if o.lat is not None)
    lon, lat = lons[len(lons) // 2], lats[len(lats) // 2]
    area = box(lon - 0.5, lat - 0.5, lon + 0.5, lat + 0.5)
    t0, t1 = min(o.t for o in fixes), max(o.t for o in fixes)

    def measure(label: str, target: str) -> None:
        with open_database(target) as database:
            store = PositionStore(database)
            started = time.perf_counter()
            store.save_positions(fixes)
            insert = time.perf_counter() - started
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                store.tracks_through_area(area, t0, t1)
                runs.append(time.perf_counter() - started)
        lines.append(f"| {label} | {len(fixes) / insert:,.0f} | {sorted(runs)[2] * 1000:.1f} |")

    with tempfile.TemporaryDirectory() as work:
        measure("SQLite (WAL, synchronous=NORMAL)", str(Path(work) / "p.db"))
    if missing_reason():
        lines.append(f"| PostgreSQL | skipped: {missing_reason()} | |")
    else:
        with PostgresCluster.start() as cluster:
            measure("PostgreSQL 15 + PostGIS 3 (fsync off, unix socket)", cluster.create_database())
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=8, help="days in the history feed (a month is 30)")
    parser.add_argument("--quick", action="store_true", help="2 days, for a smoke run")
    arguments = parser.parse_args()
    days = 2 if arguments.quick else arguments.days
    sections = [
        "## Beyond one machine: feeds, history on Beam, JetStream, PostgreSQL",
        "",
        f"- {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
        f"Python {platform.python_version()}; load average at start {os.getloadavg()[0]:.1f}",
        "",
        "### Real feeds (shared recordings)", "", *real_feeds(), "",
    ]
    with tempfile.TemporaryDirectory(prefix="riskline-bench-history-") as work:
        sections += ["### History: one watch against Beam's direct runner", "", *history(days, Path(work)), ""]
        sections += ["### NATS JetStream", "", *jetstream(Path(work)), ""]
    sections += ["### Stored fixes: PostgreSQL/PostGIS and SQLite", "", *databases(), ""]
    text = "\n".join(sections)
    OUT.mkdir(exist_ok=True)
    (OUT / "history.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
