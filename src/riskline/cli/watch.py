"""``riskline watch``: read traffic, detect and predict encounters between parties, store and print them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskline.cli.node_common import fail, guard
from riskline.cli.options import JSON, RULES, SETS, rulebook_from, table_console
from riskline.detection.rulebook import Rulebook
from riskline.incidents.model import Encounter
from riskline.incidents.report import encounter_json
from riskline.ingest.live import listen
from riskline.ingest.observation import Observation
from riskline.ingest.sources import ReaderOptions, read_path, read_path_batches
from riskline.ingest.stats import IngestStats
from riskline.node.layout import NodePaths
from riskline.storage.engine import Database
from riskline.storage.watch_run import RecordedRun, WatchOutcome
from riskline.storage.watch_store import END_OF_INPUT
from riskline.timeutil import parse_time, to_iso
from riskline.tracks.attribution import Attributor, tracks_by_party
from riskline.tracks.fleet import Fleet
from riskline.watch import Watch, in_time_order

PROGRESS_EVERY = 5_000
"""Observations between two refreshes of the progress line."""


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)


class _Interrupted(Exception):
    """The run was told to stop: a signal, or the reader of standard output went away."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    db: str | None = typer.Option(
        None, "--db", metavar="FILE|URL",
        help="SQLite database file (default riskline.db), or a SQLAlchemy URL such as postgresql://user@host/db.",
    ),
    node: Path | None = typer.Option(
        None, "--node", help="Store the incidents in this node's database (to report them with `incident report`).",
        file_okay=False,
    ),
    as_json: bool = JSON,
    listen_urls: list[str] = typer.Option(
        [],
        "--listen",
        help="Live feed to bind: tcp://HOST:PORT (recommended: loses nothing) or udp://HOST:PORT (datagrams the "
        "kernel drops when the watch lags are counted and reported).",
    ),
    start_time: str | None = typer.Option(None, "--start-time", help="Base time (ISO 8601 UTC) for input without "
                                          "absolute times (plain NMEA, Beast captures)."),
    reference: str | None = typer.Option(None, "--reference", help="Receiver position LAT,LON for Mode S decoding."),
    from_url: str | None = typer.Option(None, "--from", metavar="nats://HOST:PORT", help="Consume observations "
                                        "from NATS JetStream (published by `riskline ingest --to`)."),
    durable: str = typer.Option("riskline-watch", "--durable", help="With --from: the durable consumer's name."),
    drain: bool = typer.Option(False, "--drain", help="With --from: stop once the stream is consumed."),
    checkpoint_s: float = typer.Option(5.0, "--checkpoint-s", min=0.0, help="With --from: seconds between "
                                       "checkpoints of the watch (a restart resumes from the last)."),
) -> None:
    """Watch traffic for encounters between parties, under the rulebook in force.

    Example: riskline watch ../shared/data/ais/test_data_20211101.nm4 --fleet fleet.toml --json
    """
    if not inputs and not listen_urls and not from_url:
        raise typer.BadParameter("give at least one INPUT file, --listen URL or --from URL", param_hint="INPUTS")
    if from_url and (inputs or listen_urls):
        raise typer.BadParameter("--from reads the stream only: give no INPUT file or --listen", param_hint="--from")
    target = _database_path(db, node)
    rulebook = rulebook_from(rules, sets)
    attributor = Attributor(Fleet.load(fleet) if fleet else None)
    options = ReaderOptions(
        start_time=_start_time(start_time) if start_time else None,
        reference=_parse_reference(reference) if reference else None,
        clock=time.time if listen_urls else None,
    )
    engine = Watch(rulebook, attributor=attributor)
    if from_url:
        with _node_database(node) as node_database:
            _watch_stream(node_database or target, engine, from_url, settings=_settings(rulebook, fleet),
                          durable=durable, drain=drain, as_json=as_json, checkpoint_s=checkpoint_s)
        return
    with _node_database(node) as node_database:
        _watch_into(node_database or target, target, engine, inputs, listen_urls, options, as_json)


def _settings(rulebook: Rulebook, fleet: Path | None) -> str:
    from riskline.stream.checkpoint import settings_fingerprint

    return settings_fingerprint(rulebook, fleet)


def _watch_stream(
    database: Database | Path | str, engine: Watch, url: str, *, settings: str, durable: str, drain: bool,
    as_json: bool, checkpoint_s: float,
) -> None:
    from riskline.cli.watch_stream import watch_from_stream

    done = watch_from_stream(url, database, engine, settings=settings, durable=durable, drain=drain,
                             as_json=as_json, checkpoint_s=checkpoint_s)
    print_summary(table_console(stderr=as_json), done.outcome, done.engine, done.where)


def _watch_into(
    database: Database | Path | str,
    target: Path | str,
    engine: Watch,
    inputs: list[Path] | None,
    listen_urls: list[str],
    options: ReaderOptions,
    as_json: bool,
) -> None:
    err = Console(stderr=True)
    out_console = table_console(stderr=as_json)
    run = RecordedRun(database, [str(p) for p in inputs or []] + list(listen_urls), engine)
    outcome = run.outcome
    printing = as_json

    def emit(closed: list[Encounter]) -> None:
        nonlocal printing
        if run.record(closed) and printing:
            try:
                for encounter in closed:
                    sys.stdout.write(json.dumps(encounter_json(encounter)) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                printing = False
                raise _Interrupted("closed pipe") from None

    stop = threading.Event()
    one_file = bool(inputs) and len(inputs or []) == 1 and not listen_urls  # columnar batches end to end
    streams = [] if one_file else _streams(inputs or [], listen_urls, outcome.stats, options, stop)
    total = sum(p.stat().st_size for p in inputs or [] if p.is_file())
    ended_by = END_OF_INPUT
    terminated = threading.Event()

    def on_sigterm(signum: int, frame: object) -> None:  # stop between two observations, never inside a write
        terminated.set()
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm) if _main_thread() else None
    try:
        try:
            with _progress(err, total) as progress:
                task = progress.add_task("watch", total=total or None, rate="", tracks=0, encounters=0)
                started = time.monotonic()
                count = 0
                for batch in read_path_batches((inputs or [])[0], outcome.stats, options=options) if one_file else ():
                    if terminated.is_set():
                        raise _Interrupted("SIGTERM")
                    emit(engine.feed_batch(batch))
                    count += len(batch)
                    _refresh(progress, task, outcome, engine, count, started)
                for count, observation in enumerate(in_time_order(streams), start=1):
                    if terminated.is_set():
                        raise _Interrupted("SIGTERM")
                    emit(engine.feed(observation))
                    if count % PROGRESS_EVERY == 0:
                        _refresh(progress, task, outcome, engine, count, started)
                if terminated.is_set():  # a live feed ended because SIGTERM stopped it
                    raise _Interrupted("SIGTERM")
                emit(engine.finish())
                _refresh(progress, task, outcome, engine, engine.status().observations, started)
        except KeyboardInterrupt:
            ended_by = "SIGINT"
        except _Interrupted as interruption:
            ended_by = interruption.reason
        if ended_by != END_OF_INPUT:
            stop.set()
            _drain_listeners(streams[len(inputs or []) :], engine, emit)
            _finish_quietly(engine, emit)
    finally:
        run.close(ended_by=ended_by)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if ended_by == "closed pipe":
        _silence_stdout()
    try:
        print_summary(out_console, outcome, engine, run.where)
    except BrokenPipeError:
        _silence_stdout()
    if ended_by != END_OF_INPUT:
        print(f"riskline: watch interrupted ({ended_by}): run {outcome.run_id} stored with "
              f"{len(outcome.encounters)} encounters, marked interrupted", file=sys.stderr)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _drain_listeners(
    listeners: list[Iterator[Observation]], engine: Watch, emit: Callable[[list[Encounter]], None]
) -> None:
    """Stopped listeners give what they had received, and take the kernel's count of UDP datagrams it dropped."""
    with contextlib.suppress(_Interrupted):
        for listener in listeners:
            for observation in listener:
                emit(engine.feed(observation))


def _finish_quietly(engine: Watch, emit: Callable[[list[Encounter]], None]) -> None:
    """Close the open encounters with the data seen so far and store them (printing them if still possible)."""
    with contextlib.suppress(_Interrupted):
        emit(engine.finish())


def _silence_stdout() -> None:
    """The reader of standard output went away: send what is left to /dev/null, so exit does not fail on it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


@contextlib.contextmanager
def _node_database(node: Path | None) -> Iterator[Database | None]:
    """The node's open database (its connections seal what the watch writes), or None without ``--node``."""
    if node is None:
        yield None
        return
    from riskline.node.local import LocalNode

    with guard():
        local = LocalNode.open(node)
    try:
        yield local.database
    finally:
        local.close()


def _database_path(db: str | None, node: Path | None) -> Path | str:
    if db is not None and node is not None:
        raise fail("give --db or --node, not both")
    if node is None:
        return db or Path("riskline.db")  # a path or a URL: ``open_database`` tells them apart
    paths = NodePaths(node)
    if not paths.exists():
        raise fail(f"--node: no node at {node} (run `riskline node init --party XX --name ...` first)")
    return paths.database


def _start_time(text: str) -> float:
    try:
        return parse_time(text)
    except ValueError:
        raise fail(f"--start-time: not a time: {text!r}; give ISO 8601 UTC (2021-11-01T00:00:00Z) or POSIX "
                   "seconds") from None


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


def print_summary(console: Console, outcome: WatchOutcome, engine: Watch, db: Path | str) -> None:
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
    if stats.dropped_by_kernel:
        lost = "lost: UDP datagrams dropped by the kernel (feed over TCP to lose none)"
        table.add_row(lost, f"{stats.dropped_by_kernel:,}")
    untimed = stats.rejected.get("no_timestamp", 0)
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
    if untimed:
        console.print(
            f"{untimed:,} messages carry no time of their own: give --start-time 2021-11-01T00:00:00Z (the time the "
            "recording began; plain AIS NMEA then takes each report's UTC second within the minute)"
        )
