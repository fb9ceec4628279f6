"""``riskline rules show``: the rulebook in force, with every source and its mark."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from riskline.cli.options import JSON, RULES, SETS, rulebook_from, table_console
from riskline.detection.rulebook import Rulebook
from riskline.detection.rules import REGISTRY

MARKS = {"V": "V confirmed (primary text)", "S": "S secondary source", "U": "U unconfirmed"}

rules_app = typer.Typer(
    help="Inspect the rulebook.\n\n"
    "Example: riskline rules show --set air_proximity.horizontal_m=18520",
    no_args_is_help=True,
)


@rules_app.command("show")
def show(rules: Path | None = RULES, sets: list[str] = SETS, as_json: bool = JSON) -> None:
    """Print the rulebook in force: each rule's parameters, source and mark.

    Example: riskline rules show --set air_proximity.horizontal_m=18520
    """
    rulebook = rulebook_from(rules, sets)
    if as_json:
        typer.echo(json.dumps(rulebook.as_dict(), indent=2, ensure_ascii=False))
        return
    print_rulebook(rulebook, table_console())


def print_rulebook(rulebook: Rulebook, console: Console) -> None:
    raw = dict(rulebook.raw or {})
    console.print(f"[bold]Rulebook[/bold] {rulebook.name} — {rulebook.title}  [dim]({rulebook.origin})[/dim]")
    if rulebook.overrides:
        console.print("Overrides: " + ", ".join(rulebook.overrides))
    table = Table(show_lines=True)
    table.add_column("rule", style="bold")
    table.add_column("domain")
    table.add_column("parameters")
    table.add_column("reach / horizon")
    table.add_column("mark")
    table.add_column("source")
    rules = raw.get("rules", {})
    for spec in REGISTRY:
        rule = dict(rules.get(spec.name, {}))
        citation = rulebook.citation(spec.name)
        params = {k: v for k, v in rule.items() if k not in {"source", "mark", "description"}}
        shown = "\n".join(f"{k} = {_value(v)}" for k, v in params.items())
        frozen = rulebook.rule(spec.name)
        if spec.derived:
            reach, horizon = "derived from other rules", "—"
        else:
            reach = "area rule" if spec.reach_m is None else f"{spec.reach_m(frozen):g} m"
            horizon = f"{spec.horizon_s(frozen):g} s"
        table.add_row(spec.name, spec.domain, shown, f"{reach} / {horizon}", MARKS.get(citation.mark, citation.mark),
                      citation.source)
    console.print(table)
    console.print("Marks: V confirmed in a primary text · S press or secondary source · U widely cited, unconfirmed")


def _value(value: object) -> str:
    if isinstance(value, list):
        return "\n  " + "\n  ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if value == "":
        return '""'
    return str(value)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
