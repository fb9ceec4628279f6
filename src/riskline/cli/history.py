"""``riskline history``: the watch over months of recordings as an Apache Beam job (see docs/history.md)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from riskline.cli.options import JSON, RULES, SETS
from riskline.timeutil import parse_time

if TYPE_CHECKING:
    from riskline.history.pipeline import JobResult, JobSettings

RUNNER_CHOICES = ("direct", "flink", "spark", "dataflow")


def register(app: typer.Typer) -> None:
    app.command(
        "history", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(history)


def history(
    ctx: typer.Context,
    inputs: list[Path] = typer.Argument(..., help="Recorded traffic files (any format `riskline watch` reads).",
                                        exists=True, dir_okay=False),
    runner: str = typer.Option(..., "--runner", help="Beam runner: direct (in this machine), flink, spark or "
                               "dataflow. Runner options follow `--`."),
    workers: int = typer.Option(1, "--workers", min=1, help="With --runner direct: local worker processes."),
    out: str | None = typer.Option(None, "--out", metavar="FILE|URL", help="Store the encounters in this "
                                   "database (SQLite file or PostgreSQL URL), as `riskline watch --db` does."),
    as_json: bool = JSON,
    rules: Path | None = RULES,
    sets: list[str] = SETS,
    fleet: Path | None = typer.Option(None, "--fleet", help="Fleet file mapping identifiers to parties.",
                                      dir_okay=False, exists=True),
    window_h: float = typer.Option(24.0, "--window-hours", help="Length of one time window [h]."),
    warmup_h: float = typer.Option(2.0, "--warmup-hours", help="Data before each window it also reads [h]."),
    tail_h: float = typer.Option(2.0, "--tail-hours", help="Data after each window it also reads [h]."),
    cell_deg: float = typer.Option(0.0, "--cell-deg", help="Spatial cell size [deg]; 0: no spatial cut."),
    halo_km: float = typer.Option(150.0, "--halo-km", help="Data around each cell it also reads [km]."),
    start_time: str | None = typer.Option(None, "--start-time", help="Base time (ISO 8601 UTC) for input without "
                                          "absolute times."),
) -> None:
    """Run the watch's detection over recorded history as an Apache Beam pipeline.

    The input is cut into time windows (and optionally spatial cells with a halo); each piece runs through the
    same Watch as `riskline watch`, and encounters are stitched across the cuts, so the result is the one a
    single watch over all of it gives. --json prints one encounter per line, as `riskline watch --json`.

    Example: riskline history month.csv --fleet fleet.toml --runner direct --workers 2 --json
    """
    from riskline.history.partition import HistoryError, HistoryPlan
    from riskline.history.pipeline import BeamMissing, JobSettings, run_history
    from riskline.incidents.report import encounter_json

    if runner not in RUNNER_CHOICES:
        raise typer.BadParameter(f"must be one of {', '.join(RUNNER_CHOICES)}, not {runner!r}", param_hint="--runner")
    plan = HistoryPlan(
        window_s=window_h * 3600.0,
        warmup_s=warmup_h * 3600.0,
        tail_s=tail_h * 3600.0,
        cell_deg=cell_deg,
        halo_m=halo_km * 1000.0,
    )
    settings = JobSettings(
        rules=str(rules) if rules else None,
        sets=tuple(sets),
        fleet=str(fleet) if fleet else None,
        plan=plan,
        start_time=parse_time(start_time) if start_time else None,
    )
    err = Console(stderr=True)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="riskline-history-") as work:
            result = run_history(
                inputs, settings, runner=runner, workers=workers, work_dir=Path(work), extra_options=ctx.args
            )
    except (HistoryError, BeamMissing) as error:
        raise typer.BadParameter(str(error)) from None
    elapsed = time.monotonic() - started
    if as_json:
        for encounter in result.encounters:
            sys.stdout.write(json.dumps(encounter_json(encounter)) + "\n")
        sys.stdout.flush()
    if out is not None:
        _store(out, inputs, settings, result)
    console = err if as_json else Console()
    stats = result.stats
    console.print(
        f"riskline history: {stats.read:,} messages read, {stats.observations:,} observations, "
        f"{result.partitions:,} partitions on {runner} ({workers} worker{'s' if workers > 1 else ''}), "
        f"{len(result.encounters):,} encounters in {elapsed:.1f} s"
        + (f"; stored in {out}" if out else ""),
        soft_wrap=True,
    )


def _store(out: str, inputs: list[Path], settings: JobSettings, result: JobResult) -> None:
    from riskline.storage.engine import open_database
    from riskline.storage.watch_store import WatchStore

    with open_database(out) as database:
        store = WatchStore(database)
        options = {"rulebook": settings.rulebook().as_dict(), "history": {"plan": repr(settings.plan)}}
        run_id = store.begin_run([str(p) for p in inputs], options, time.time())
        store.save_encounters(run_id, result.encounters)
        store.finish_run(run_id, result.stats, time.time())
