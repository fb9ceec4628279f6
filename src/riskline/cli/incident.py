"""``riskline incident list|show|plot``: look at what the watch stored."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from riskline.cli.options import DB, JSON
from riskline.incidents.model import Encounter
from riskline.incidents.plot import render_incident_png
from riskline.incidents.report import encounter_json
from riskline.storage.engine import open_database
from riskline.storage.watch_store import WatchStore
from riskline.timeutil import to_iso

incident_app = typer.Typer(help="Incidents stored by the watch.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")


@incident_app.command("list")
def list_incidents(
    db: str = DB,
    rule: str | None = typer.Option(None, "--rule", help="Only this rule."),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = JSON,
) -> None:
    """List stored incidents, newest first.

    Example: riskline incident list --rule air_intercept
    """
    database = open_database(db, create=False)
    where = database.where
    try:
        stored = WatchStore(database).list_incidents(rule=rule, limit=limit)
    finally:
        database.close()
    if as_json:
        for item in stored:
            typer.echo(json.dumps({"id": item.id, **encounter_json(item.encounter)}))
        return
    table = Table(title=f"incidents in {where}", title_justify="left")
    columns = ("id", "rule", "severity", "a", "b", "parties", "occurred", "start (UTC)", "min dist [m]", "lead [s]")
    for column in columns:
        table.add_column(column, overflow="fold")
    for item in stored:
        e = item.encounter
        lead = "" if e.lead_time_s is None else f"{e.lead_time_s:.0f}"
        start = to_iso(e.start)[:19].replace("T", " ")
        occurred = "yes" if e.occurred else "predicted"
        table.add_row(str(item.id), e.rule, e.severity, e.a, e.b, f"{e.party_a}–{e.party_b}", occurred, start,
                      f"{e.min_distance_m:.1f}", lead)
    Console().print(table)


@incident_app.command("show")
def show(incident_id: int = typer.Argument(..., metavar="ID"), db: str = DB) -> None:
    """Print one incident as JSON, with its rule's source and the size of its evidence.

    Example: riskline incident show 3
    """
    database = open_database(db, create=False)
    try:
        item = WatchStore(database).get_incident(incident_id)
    finally:
        database.close()
    e = item.encounter
    evidence = e.evidence
    document = {
        "id": item.id,
        **encounter_json(e),
        "lead_time_s": e.lead_time_s,
        "details": e.details,
        "evidence": None if evidence is None else {
            "fixes_a": len(evidence.segment_a),
            "fixes_b": 0 if evidence.segment_b is None else len(evidence.segment_b),
            "separation_samples": len(evidence.separation_t),
        },
    }
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@incident_app.command("plot")
def plot(
    incident_id: int = typer.Argument(..., metavar="ID"),
    output: Path = typer.Option(..., "-o", "--output", help="PNG file to write.", dir_okay=False),
    db: str = DB,
) -> None:
    """Draw both tracks around the closest approach, and the separation over time.

    Example: riskline incident plot 3 -o incident-3.png
    """
    database = open_database(db, create=False)
    try:
        store = WatchStore(database)
        item = store.get_incident(incident_id)
        run = next((r for r in store.runs() if r.id == item.run_id), None)
    finally:
        database.close()
    threshold = _threshold(item.encounter, run.options if run else {})
    output.write_bytes(render_incident_png(item.encounter, threshold_m=threshold))
    typer.echo(f"wrote {output}")


_THRESHOLD_PARAMETER = {
    "air_proximity": ("air_proximity", "horizontal_m"),
    "low_pass": ("low_pass", "horizontal_m"),
    "repeated_low_passes": ("low_pass", "horizontal_m"),
    "ship_contact_range": ("ship_contact_range", "night_m"),
    "non_cooperative_aircraft": ("non_cooperative_aircraft", "horizontal_m"),
}
"""Which parameter of the run's rulebook is the distance to draw for each rule."""


def _threshold(encounter: Encounter, run_options: dict[str, object]) -> float | None:
    """The rule's distance [m] from the rulebook the run actually used (day/night as judged, for ships)."""
    judged = encounter.details.get("threshold_m")
    if isinstance(judged, int | float):
        return float(judged)
    rulebook = run_options.get("rulebook")
    rules = rulebook.get("rules") if isinstance(rulebook, dict) else None
    if not isinstance(rules, dict):
        return None
    if encounter.rule == "air_intercept":
        bands = rules.get("air_intercept", {}).get("bands") or []
        return float(bands[-1]["max_m"]) if bands else None
    rule, parameter = _THRESHOLD_PARAMETER.get(encounter.rule, ("", ""))
    value = rules.get(rule, {}).get(parameter)
    return float(value) if isinstance(value, int | float) else None
