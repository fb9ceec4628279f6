"""``riskline watch``: read traffic, detect and predict encounters between parties, store and print them."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskline.cli.options import DB, JSON, RULES, SETS, rulebook_from
from riskline.incidents.model import Encounter
from riskline.incidents.report import encounter_json
from riskline.ingest.live import listen
from riskline.ingest.observation import Observation
from riskline.ingest.sources import ReaderOptions, read_path
from riskline.ingest.stats import IngestStats
from riskline.storage.watch_run import RecordedRun, WatchOutcome
from riskline.timeutil import parse_time, to_iso
from riskline.tracks.attribution import Attributor, tracks_by_party
from riskline.tracks.fleet import Fleet
from riskline.watch import Watch, in_time_order

PROGRESS_EVERY = 5_000
"""Observations between two refreshes of the progress line."""


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)


def watch(
    inputs: list[Path] = typer.Argument(
        None,
        help="Recorded traffic files (AIS NMEA, NOAA CSV, Mode S, Beast, SBS, traffic JSON, positions table); "
        "the format is told from the content.",
    ),
    rules: Path | None = RULES,
    fleet: Path | None = typer.Option(
        None, "--fleet", help="Fleet file mapping identifiers to parties.", dir_okay=False
    ),
    sets: list[str] = SETS,
    db: str = DB,
    as_json: bool = JSON,
    listen_urls: list[str] = typer.Option([], "--listen", help="Live feed to bind: tcp://HOST:PORT or udp://HOST:PORT."),
    start_time: str | None = typer.Option(None, "--start-time", help="Base time (ISO 8601 UTC) for input without "
                                          "absolute times (plain NMEA, Beast captures)."),
    reference: str | None = typer.Option(None, "--reference", help="Receiver position LAT,LON for Mode S decoding."),
    from_url: str | None = typer.Option(None, "--from", metavar="nats://HOST:PORT", help="Consume observations "
                                        "from NATS JetStream (published by `riskline ingest --to`)."),
    durable: str = typer.Option("riskline-watch", "--durable", help="With --from: the durable consumer's name."),
    drain: bool = typer.Option(False, "--drain", help="With --from: stop once the stream is consumed."),
) -> None:
    """Watch traffic for encounters between parties, under the rulebook in force.

    Example: riskline watch ../shared/data/ais/test_data_20211101.nm4 --fleet fleet.toml --json
    """
    if not inputs and not listen_urls and not from_url:
        raise typer.BadParameter("give at least one INPUT file, --listen URL or --from URL", param_hint="INPUTS")
    if from_url and (inputs or listen_urls):
        raise typer.BadParameter("--from reads the stream only: give no INPUT file or --listen", param_hint="--from")
    rulebook = rulebook_from(rules, sets)
    attributor = Attributor(Fleet.load(fleet) if fleet else None)
    options = ReaderOptions(
        start_time=parse_time(start_time) if start_time else None,
        reference=_parse_reference(reference) if reference else None,
        clock=time.time if listen_urls else None,
    )
    err = Console(stderr=True)
    out_console = Console(stderr=as_json)
    engine = Watch(rulebook, attributor=attributor)
    run = RecordedRun(db, [str(p) for p in inputs or []] + list(listen_urls) + ([from_url] if from_url else []), engine)
    outcome = run.outcome
    if from_url:
        from riskline.cli.watch_stream import watch_from_stream

        try:
            watch_from_stream(from_url, engine, run, durable=durable, drain=drain, as_json=as_json)
        finally:
            run.close()
        print_summary(out_console, outcome, engine, run.where)
        return

    def emit(closed: list[Encounter]) -> None:
        if run.record(closed) and as_json:
            for encounter in closed:
                sys.stdout.write(json.dumps(encounter_json(encounter)) + "\n")
            sys.stdout.flush()

    stop = threading.Event()
    streams = _streams(inputs or [], listen_urls, outcome.stats, options, stop)
    total = sum(p.stat().st_size for p in inputs or [] if p.is_file())
    try:
        with _progress(err, total) as progress:
            task = progress.add_task("watch", total=total or None, rate="", tracks=0, encounters=0)
            started = time.monotonic()
            for count, observation in enumerate(in_time_order(streams), start=1):
                emit(engine.feed(observation))
                if count % PROGRESS_EVERY == 0:
                    _refresh(progress, task, outcome, engine, count, started)
            emit(engine.finish())
            _refresh(progress, task, outcome, engine, engine.status().observations, started)
    except KeyboardInterrupt:
        stop.set()
        emit(engine.finish())
    finally:
        run.close()
    print_summary(out_console, outcome, engine, run.where)


def _streams(
    inputs: list[Path], urls: list[str], stats: IngestStats, options: ReaderOptions, stop: threading.Event
) -> list[Iterator[Observation]]:
    streams: list[Iterator[Observation]] = [read_path(path, stats, options=options) for path in inputs]
    streams += [listen(url, stats, options=options, stop=stop) for url in urls]
    return streams


def _parse_reference(text: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = text.split(",")
        return float(lat_text), float(lon_text)
    except ValueError:
        raise typer.BadParameter(f"expected LAT,LON, got {text!r}", param_hint="--reference") from None


def _progress(console: Console, total: int) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]watch[/bold]"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} B" if total else "{task.completed:,.0f} B"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("tracks {task.fields[tracks]:,}"),
        TextColumn("encounters {task.fields[encounters]:,}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def _refresh(
    progress: Progress, task: TaskID, outcome: WatchOutcome, engine: Watch, count: int, started: float
) -> None:
    elapsed = max(time.monotonic() - started, 1e-9)
    status = engine.status()
    progress.update(
        task,
        completed=outcome.stats.bytes_read,
        rate=f"{count / elapsed:,.0f} msg/s",
        tracks=status.tracks,
        encounters=status.closed_encounters + status.open_encounters,
    )


def print_summary(console: Console, outcome: WatchOutcome, engine: Watch, db: str) -> None:
    stats = outcome.stats
    status = engine.status()
    table = Table(title="riskline watch — summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("messages read", f"{stats.read:,}")
    table.add_row("accepted", f"{stats.accepted:,}")
    table.add_row("observations", f"{stats.observations:,}")
    for reason, count in sorted(stats.rejected.items()):
        table.add_row(f"rejected: {reason}", f"{count:,}")
    table.add_row("platforms seen", f"{status.platforms:,}")
    for party in tracks_by_party(engine.identities()):
        table.add_row(f"  party {party.party} (air {party.air}, sea {party.sea})", f"{party.tracks:,}")
    table.add_row("detection ticks", f"{status.ticks:,}")
    if status.t is not None:
        table.add_row("data time of last tick", to_iso(status.t))
    console.print(table)
    by_rule: Counter[tuple[str, str, str]] = Counter(
        (e.rule, e.severity, "occurred" if e.occurred else "predicted only") for e in outcome.encounters
    )
    encounters = Table(title=f"encounters ({len(outcome.encounters)}) — stored in {db}", title_justify="left")
    encounters.add_column("rule")
    encounters.add_column("severity")
    encounters.add_column("status")
    encounters.add_column("count", justify="right")
    for (rule, severity, state), count in sorted(by_rule.items()):
        encounters.add_row(rule, severity, state, str(count))
    console.print(encounters)
    if outcome.incident_ids:
        console.print(f"incident ids {outcome.incident_ids[0]}–{outcome.incident_ids[-1]} (riskline incident show ID)")
