"""Options shared by several commands, so that each is spelled and documented once."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from riskline.detection.rulebook import Rulebook, load_rulebook

RULES = typer.Option(None, "--rules", help="Rulebook TOML file (default: the built-in rulebook).", dir_okay=False)
SETS = typer.Option(
    [], "--set", metavar="RULE.PARAM=VALUE", help="Override one rule parameter, e.g. air_proximity.horizontal_m=18520."
)
DB = typer.Option(
    "riskline.db",
    "--db",
    metavar="FILE|URL",
    help="SQLite database file, or a SQLAlchemy URL such as postgresql+psycopg://user@host/riskline.",
)
JSON = typer.Option(False, "--json", help="Machine-readable output on standard output.")


def rulebook_from(rules: Path | None, sets: list[str]) -> Rulebook:
    return load_rulebook(rules, sets)


def table_console(*, stderr: bool = False) -> Console:
    """Rich output for tables: at a terminal its width; piped, wide enough that no row is wrapped or cut."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=100_000, highlight=False, soft_wrap=True)
