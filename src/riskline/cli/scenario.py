"""``riskline scenario``: write the bundled, real-data-based scenarios as files the watch can read."""

from __future__ import annotations

from pathlib import Path

import typer

from riskline.scenarios.baltic import busy_baltic_hour, demo_scenario

scenario_app = typer.Typer(
    help="Write real-data-based scenarios to files.\n\n"
    "Example: riskline scenario baltic -o demo",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(scenario_app, name="scenario")


@scenario_app.command("baltic")
def baltic(output: Path = typer.Option(Path("baltic-scenario"), "-o", "--output", help="Directory to write.")) -> None:
    """Reconstructed real incidents placed in the Baltic among real relocated traffic (15 min of data).

    Writes a positions table and a fleet file. Uses only data bundled with riskline.

    Example: riskline scenario baltic -o demo && riskline watch demo/demo_positions.csv --fleet demo/demo_fleet.toml
    """
    scenario = demo_scenario(output)
    typer.echo(f"wrote {scenario.table_path} and {scenario.fleet_path}")
    for line in scenario.incidents:
        typer.echo(f"  {line}")
    background = f"{scenario.background_aircraft} aircraft, {scenario.background_ships} ships"
    typer.echo(f"  background: {background} (real tracks, relocated)")


@scenario_app.command("busy-hour")
def busy_hour(
    shared_data: Path = typer.Argument(..., help="The shared/data directory with the real recordings."),
    output: Path = typer.Option(Path("busy-hour"), "-o", "--output", help="Directory to write."),
    ships: int = typer.Option(3000, min=1),
    aircraft: int = typer.Option(600, min=1),
) -> None:
    """One dense hour of Baltic traffic from real recordings, as AIS NMEA and SBS-1 files.

    Example: riskline scenario busy-hour ../shared/data -o busy
    """
    hour = busy_baltic_hour(shared_data, output, ships=ships, aircraft=aircraft)
    typer.echo(f"wrote {hour.nmea_path} ({hour.ship_reports:,} AIS reports of {hour.ships:,} ships)")
    typer.echo(f"wrote {hour.sbs_path} ({hour.aircraft_reports:,} fixes of {hour.aircraft:,} aircraft)")
    typer.echo(f"wrote {hour.table_path} (the same traffic as a positions table)")


@scenario_app.command("exercise")
def exercise(
    output: Path = typer.Option(Path("exercise-scenario"), "-o", "--output", help="Directory to write."),
) -> None:
    """A declared RU exercise with activity inside and a group outside its area, and a NAVAREA gunnery warning
    with an EE vessel heading into it: three hours of real-track-based traffic (10 March 2026).

    Example: riskline scenario exercise -o ex && riskline watch ex/exercise_positions.csv --db ex/watch.db
    """
    import json

    from riskline.scenarios.exercise import exercise_scenario
    from riskline.transparency.hazard import notice_from_navarea
    from riskline.transparency.navarea import parse_navarea

    made = exercise_scenario(output)
    text = made.navarea_path.read_text(encoding="utf-8")
    notice = notice_from_navarea(parse_navarea(text), text)
    made.hazards_path.write_text(
        json.dumps([{"party": "RU", "issued": made.navarea_issued, "notice": notice}], indent=2) + "\n",
        encoding="utf-8",
    )
    typer.echo(f"wrote {made.table_path} ({len(made.scenario.observations):,} reports)")
    typer.echo(f"wrote {made.notification_path} (RU's notification of the exercise)")
    typer.echo(f"wrote {made.navarea_path} and {made.hazards_path} (RU's gunnery warning)")
    typer.echo(f"  inside the declared area: {', '.join(made.inside)}")
    typer.echo(f"  outside it: {', '.join(made.outside)}")
    typer.echo(f"  heading into the gunnery circle: {made.intruder}")
