"""The ``riskline`` command: the entry point that assembles every command group.

Library errors become one-line messages and exit code 2 (bad input) or 1 (a check that failed); nothing
prints a traceback at an operator.
"""

from __future__ import annotations

import sys

import typer

from riskline import __version__
from riskline.cli import channels as channel_commands
from riskline.cli import demo as demo_commands
from riskline.cli import incident as incident_commands
from riskline.cli import log as log_commands
from riskline.cli import meetings as meeting_commands
from riskline.cli import messages as message_commands
from riskline.cli import node as node_commands
from riskline.cli import peers as peer_commands
from riskline.cli import review as review_commands
from riskline.cli import rules as rules_commands
from riskline.cli import scenario as scenario_commands
from riskline.cli import watch as watch_commands
from riskline.cli.errors import run_guarded

app = typer.Typer(
    name="riskline",
    help="Watch traffic for dangerous military encounters, and talk about them between national nodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"riskline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """riskline: the watch, the channel, transparency and dialogue."""


demo_commands.register(app)
watch_commands.register(app)
rules_commands.register(app)
incident_commands.register(app)
scenario_commands.register(app)
node_commands.register(app)
peer_commands.register(app)
channel_commands.register(app)
message_commands.register(app)
log_commands.register(app)
meeting_commands.register(app)
review_commands.register(app)


def main() -> None:
    sys.exit(run_guarded(app))
