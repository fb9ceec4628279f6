"""The ``riskline`` command: the entry point that assembles every command group.

Library errors become one-line messages and exit code 2 (bad input) or 1 (a check that failed); nothing
prints a traceback at an operator.
"""

from __future__ import annotations

import os
import sys

import typer

from riskline import __version__
from riskline.cli.errors import run_guarded
from riskline.cli.lazy import CommandEntry, lazy_group

COMMANDS = (
    CommandEntry(
        "demo",
        "riskline.cli.demo",
        "Run the whole system: three national nodes, the watch on real-data-based traffic, reports, escalation.",
    ),
    CommandEntry(
        "watch", "riskline.cli.watch", "Watch traffic for encounters between parties, under the rulebook in force."
    ),
    CommandEntry(
        "ingest",
        "riskline.cli.ingest",
        "Decode traffic and publish each observation to the RISKLINE_OBSERVATIONS stream on NATS JetStream.",
    ),
    CommandEntry(
        "history", "riskline.cli.history", "Run the watch's detection over recorded history as an Apache Beam pipeline."
    ),
    CommandEntry("send", "riskline.cli.messages", "Sign, log and queue a message; committed before anything is sent."),
    CommandEntry(
        "reply",
        "riskline.cli.messages",
        "Reply to a message in its thread and channel (a clarification answers a request for clarification).",
    ),
    CommandEntry(
        "inbox",
        "riskline.cli.messages",
        "Messages received: threads, the replies we owe, deadlines on our clock (overdue in red), escalations.",
    ),
    CommandEntry(
        "outbox",
        "riskline.cli.messages",
        "Messages sent: delivery state per recipient node, the replies we wait for, failures in red.",
    ),
    CommandEntry(
        "thread", "riskline.cli.messages", "Show a whole thread: every message, its body, both clocks and its delivery."
    ),
    CommandEntry(
        "escalate",
        "riskline.cli.messages",
        "Escalate unanswered messages whose deadline passed, one ladder step each (the server does it by itself).",
    ),
    CommandEntry("rules", "riskline.cli.rules", "Inspect the rulebook."),
    CommandEntry(
        "incident",
        "riskline.cli.incident",
        "Incidents stored by the watch: list, show, plot, and report them to the other party.",
    ),
    CommandEntry("scenario", "riskline.cli.scenario", "Write real-data-based scenarios to files."),
    CommandEntry("node", "riskline.cli.node", "This party's node: create it, run it, show it."),
    CommandEntry("peer", "riskline.cli.peers", "Peer nodes pinned by key, as SSH pins hosts."),
    CommandEntry("channel", "riskline.cli.channels", "Channels this node talks on (bilateral or collective)."),
    CommandEntry("log", "riskline.cli.log", "The node's append-only Merkle log: verify, export, check bundles."),
    CommandEntry("key", "riskline.cli.keys", "This node's identity keys over time: rotate, revoke, list."),
    CommandEntry(
        "meeting",
        "riskline.cli.meetings",
        "Meetings with a whole life, as signed messages: propose, answer, minute, approve.",
    ),
    CommandEntry("action", "riskline.cli.meetings", "Action items decided at meetings: who owes what by when."),
    CommandEntry(
        "forum",
        "riskline.cli.meetings",
        "Recurring forums of the channels (node.toml [[channel.forums]]) and when each is next due.",
    ),
    CommandEntry(
        "calendar",
        "riskline.cli.meetings",
        "Write every meeting (VEVENT) and action item (VTODO) as one iCalendar file (RFC 5545).",
    ),
    CommandEntry(
        "review",
        "riskline.cli.review",
        "The year's incidents, response times, escalations, link tests, notices, meetings and action items.",
    ),
    CommandEntry(
        "dashboard",
        "riskline.cli.dashboard",
        "Serve the dashboard of a watch database: read-only, on loopback, no login. Ctrl-C stops it.",
    ),
    CommandEntry(
        "operator", "riskline.cli.dashboard", "Dashboard accounts of this node: viewer, duty officer or commander."
    ),
    CommandEntry(
        "notify",
        "riskline.cli.notify",
        "Activity notifications (Vienna Document 2011 ch. V) and hazard notices (INCSEA art. VI).",
    ),
    CommandEntry(
        "transparency",
        "riskline.cli.transparency",
        "Declared against observed: notifications held against the watch's tracks.",
    ),
)
"""Every top-level command: its module is imported only when the command is used (``cli/lazy.py``). A new
command group adds one line here (and its module a ``register(app)``)."""

app = typer.Typer(
    name="riskline",
    cls=lazy_group(COMMANDS),
    help="Watch traffic for dangerous military encounters, and talk about them between national nodes.",
    epilog="Example: riskline watch ../shared/data/ais/test_data_20211101.nm4 --json",
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


PIPED_WIDTH = 120
"""Columns of help text when standard output is not a terminal: piped help is complete, never cut to 80."""


def main() -> None:
    if not sys.stdout.isatty():
        # typer reads it when it first renders help or an error; importing typer.rich_utils here to set its
        # width would cost every piped command 0.1 s of start-up
        os.environ.setdefault("TERMINAL_WIDTH", str(PIPED_WIDTH))
    sys.exit(run_guarded(app))
