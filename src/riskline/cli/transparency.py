"""``riskline transparency compare|ask``: what was declared held against what the watch saw, and the Chapter III
question a finding allows (docs/transparency.md)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from riskline.cli.node_common import JSON_OUT, NODE_DIR, fail, guard, opened
from riskline.cli.options import table_console
from riskline.timeutil import parse_time, to_iso

transparency_app = typer.Typer(
    help="Declared against observed: notifications held against the watch's tracks.\n\n"
    "Example: riskline transparency compare --db riskline.db --notifications exercise.json",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(transparency_app, name="transparency")


def _window(year: int | None, start: str | None, end: str | None, default: tuple[float, float]) -> tuple[float, float]:
    if year is not None and (start is not None or end is not None):
        raise fail("give --year or --from/--to, not both")
    if year is not None:
        return datetime(year, 1, 1, tzinfo=UTC).timestamp(), datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()
    try:
        first = parse_time(start) if start is not None else default[0]
        last = parse_time(end) if end is not None else default[1]
    except ValueError as error:
        raise fail(f"--from/--to: {error}") from None
    if last <= first:
        raise fail(f"--to: {to_iso(last)} is not after --from {to_iso(first)}")
    return first, last


@transparency_app.command("compare")
def compare_command(
    node_dir: Path | None = NODE_DIR,
    db: Path | None = typer.Option(None, "--db", help="A watch database (else the node's)."),
    year: int | None = typer.Option(None, "--year", help="Compare this calendar year."),
    start: str | None = typer.Option(None, "--from", help="Start of the window (ISO 8601 UTC)."),
    end: str | None = typer.Option(None, "--to", help="End of the window (ISO 8601 UTC)."),
    notifications: list[Path] = typer.Option([], "--notifications", help="Notification files (JSON or TOML) to "
                                              "hold the activity against, besides the node's (repeatable)."),
    floor: int = typer.Option(4, "--floor", min=2, help="Platforms of one party that make activity without a "
                              "baseline."),
    radius_km: float = typer.Option(100.0, "--radius-km", min=1.0, help="…within this distance of each other."),
    hours: float = typer.Option(1.0, "--hours", min=0.0, help="…for at least this long."),
    baseline_days: float = typer.Option(28.0, "--baseline-days", min=1.0, help="History needed for a baseline."),
    evidence: Path | None = typer.Option(None, "--evidence", help="Write each finding's PNG and JSON here.",
                                         file_okay=False),
    as_json: bool = JSON_OUT,
) -> None:
    """Hold the watch's observed military activity against the notifications: findings and what is accounted for.

    Findings are stored (with their evidence) in the database, numbered for `riskline transparency ask`.

    Example: riskline transparency compare --db riskline.db --from 2026-03-10T00:00Z --to 2026-03-11T00:00Z \
--notifications exercise_notification.json
    """
    from riskline.storage.engine import Database, open_database
    from riskline.storage.transparency_store import load_activity, save_findings
    from riskline.transparency.activity import read_notification
    from riskline.transparency.compare import CompareSettings, Comparison, compare
    from riskline.transparency.plot import render_finding_png

    if db is not None and node_dir is not None:
        raise fail("give --node or --db, not both")
    with guard():
        declared = [read_notification(path) for path in notifications]
    settings = CompareSettings(floor_platforms=floor, radius_m=radius_km * 1000.0, floor_duration_s=hours * 3600.0,
                               baseline_days=baseline_days)

    def run(database: Database) -> tuple[Comparison, list[bytes], list[int]]:
        observed = load_activity(database)
        if len(observed) == 0 and not as_json:
            table_console().print("no observed military activity in this database (has the watch run with --db?)")
        default = (float(observed.t.min()), float(observed.t.max()) + observed.bin_s) if len(observed) else (0.0, 1.0)
        first, last = _window(year, start, end, default)
        result = compare(observed, declared, start=first, end=last, settings=settings)
        pngs = [render_finding_png(f, observed, declared) for f in result.findings]
        return result, pngs, save_findings(database, result.findings, pngs, time.time())

    if db is None:
        from riskline.node.transparency import stored_notifications

        with opened(node_dir) as node, guard():  # the node's own connections: they seal what is written
            declared += [n for _, _, _, n in stored_notifications(node)]
            result, pngs, ids = run(node.database)
    else:
        if not db.exists():
            raise fail(f"--db {db}: no such database (run `riskline watch … --db {db}` first)")
        with guard(), open_database(db) as database:
            result, pngs, ids = run(database)
    if evidence is not None:
        evidence.mkdir(parents=True, exist_ok=True)
        for finding_id, finding, png in zip(ids, result.findings, pngs, strict=True):
            (evidence / f"finding-{finding_id}.png").write_bytes(png)
            (evidence / f"finding-{finding_id}.json").write_text(
                json.dumps(finding.evidence(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
    if as_json:
        for finding in result.findings:  # one object per line, as `riskline watch --json`
            typer.echo(json.dumps(finding.to_json(), ensure_ascii=False))
        return
    out = table_console()
    out.print(f"window {to_iso(result.start)} – {to_iso(result.end)}: {result.samples:,} samples of military "
              f"platforms, {result.covered_samples:,} inside a declared area and window")
    table = Table(title="findings", title_justify="left")
    for column in ("id", "kind", "party", "start – end (UTC)", "lat", "lon", "platforms", "platform-h",
                   "declared", "why"):
        table.add_column(column)
    for finding_id, f in zip(ids, result.findings, strict=True):
        table.add_row(str(finding_id), f.kind, f.party, f"{to_iso(f.start)[:16]} – {to_iso(f.end)[11:16]}",
                      f"{f.lat:.3f}", f"{f.lon:.3f}", str(f.platforms), f"{f.platform_hours:.1f}",
                      f.declared or "—", f.basis)
    out.print(table if result.findings else "findings: none")
    if result.accounted:
        accounted = Table(title="accounted for (declared, observed inside)", title_justify="left")
        for column in ("designation", "party", "platforms", "ships / declared", "sorties / declared",
                       "platform-h"):
            accounted.add_column(column)
        for a in result.accounted:
            accounted.add_row(a.designation, a.party, str(a.platforms), f"{a.sea_platforms} / {a.declared_vessels}",
                              f"{a.sorties} / {a.declared_sorties}", f"{a.platform_hours:.1f}")
        out.print(accounted)
    out.print("Tracks cannot show troops, tanks or artillery, nor platforms with transponders off: counts are lower "
              "bounds.")


@transparency_app.command("activity")
def activity_command(
    node_dir: Path | None = NODE_DIR,
    db: Path | None = typer.Option(None, "--db", help="A watch database (else the node's)."),
    year: int | None = typer.Option(None, "--year", help="This calendar year."),
    start: str | None = typer.Option(None, "--from", help="Start of the window (ISO 8601 UTC)."),
    end: str | None = typer.Option(None, "--to", help="End of the window (ISO 8601 UTC)."),
    hours: float = typer.Option(24.0, "--period-hours", min=0.25, help="Length of each period."),
    as_json: bool = JSON_OUT,
) -> None:
    """Observed military activity per party and period: platforms by domain, platform-hours, sorties, most at once.

    Example: riskline transparency activity --db watch.db --period-hours 1
    """
    from riskline.storage.engine import open_database
    from riskline.storage.transparency_store import load_activity
    from riskline.transparency.compare import summarize

    if db is not None and node_dir is not None:
        raise fail("give --node or --db, not both")
    if db is None:
        with opened(node_dir) as node, guard():
            observed = load_activity(node.database)
    else:
        if not db.exists():
            raise fail(f"--db {db}: no such database (run `riskline watch … --db {db}` first)")
        with guard(), open_database(db) as database:
            observed = load_activity(database)
    default = (float(observed.t.min()), float(observed.t.max()) + observed.bin_s) if len(observed) else (0.0, 1.0)
    first, last = _window(year, start, end, default)
    summaries = summarize(observed, start=first, end=last, period_s=hours * 3600.0)
    if as_json:
        for summary in summaries:
            typer.echo(json.dumps(summary.to_json(), ensure_ascii=False))
        return
    table = Table(title=f"observed military activity {to_iso(first)} – {to_iso(last)}", title_justify="left")
    for column in ("party", "period (UTC)", "aircraft", "ships", "platform-h", "sorties", "most at once",
                   "centre", "extent (W S E N)"):
        table.add_column(column)
    for s in summaries:
        table.add_row(s.party, f"{to_iso(s.start)[:16]} – {to_iso(s.end)[:16]}", str(s.air_platforms),
                      str(s.sea_platforms), f"{s.platform_hours:.1f}", str(s.sorties), str(s.most_at_once),
                      f"{s.lat:.2f}, {s.lon:.2f}", f"{s.west:.1f} {s.south:.1f} {s.east:.1f} {s.north:.1f}")
    table_console().print(table if summaries else "no observed military activity in this window")


@transparency_app.command("ask")
def ask_command(
    finding: int = typer.Argument(..., help="The finding's number, from `riskline transparency compare`."),
    channel: str = typer.Option(..., "--channel", help="Channel id, e.g. RU-EE."),
    db: Path | None = typer.Option(None, "--db", help="The database the finding is in (default: the node's)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Send the Vienna Document ch. III request for clarification of a finding, its evidence attached (48 h).

    Example: riskline transparency ask 3 --channel RU-EE
    """
    from riskline.node.transparency import ask
    from riskline.storage.engine import open_database

    with opened(node_dir) as node, guard():
        if db is None:
            sent = ask(node, node.database, finding, channel)
        else:
            with open_database(db) as database:
                sent = ask(node, database, finding, channel)
    message = sent.message
    due = "" if message.deadline is None else f", reply due {to_iso(message.deadline)} (our clock)"
    typer.echo(f"request_for_clarification {sent.envelope.id} seq {message.seq} on {message.channel}{due}")
    typer.echo(f"attached: {', '.join(a.name for a in sent.envelope.envelope.attachments)}")
