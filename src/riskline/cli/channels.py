"""``riskline channel``: the channels this node talks on, bilateral or collective."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from riskline.channel.policy import ChannelPolicy
from riskline.cli.node_common import JSON_OUT, NODE_DIR, fail, guard, opened
from riskline.cli.node_common import console as wide_console
from riskline.node.config import agreements_text
from riskline.node.peers import add_channel

channel_app = typer.Typer(
    help="Channels this node talks on (bilateral or collective).\n\n"
    "Example: riskline channel list --node ee-node",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(channel_app, name="channel")


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


@channel_app.command("add")
def channel_add(
    channel_id: str = typer.Argument(..., metavar="ID", help="Channel id, e.g. RU-EE."),
    kind: str = typer.Option("bilateral", "--kind", help="bilateral or collective."),
    members: str = typer.Option(..., "--members", help="Comma-separated parties, e.g. RU,EE."),
    agreement: list[str] = typer.Option([], "--agreement", help="An agreement in force (repeatable)."),
    no_agreement: bool = typer.Option(False, "--no-agreement", help="Say explicitly that no agreement is in force."),
    levels: str | None = typer.Option(None, "--levels", help="Comma-separated levels of contact."),
    languages: str | None = typer.Option(None, "--languages", help="Comma-separated languages, e.g. en,ru,et."),
    council: str | None = typer.Option(None, "--council", help="Collective channel for the last escalation step."),
    rulebook: str = typer.Option("default", "--rulebook", help="The watch's rulebook name, or none."),
    deadline: list[str] = typer.Option([], "--deadline", metavar="TYPE=SECONDS", help="Override a reply deadline."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Add a channel to node.toml; either --agreement or --no-agreement must be given.

    Example: riskline channel add RU-EE --kind bilateral --members RU,EE --no-agreement --council NRC
    """
    if bool(agreement) == no_agreement:
        raise fail("say which agreement is in force (--agreement NAME) or that none is (--no-agreement)")
    table: dict[str, Any] = {
        "id": channel_id,
        "kind": kind,
        "members": _split(members),
        "agreements": list(agreement),
        "rulebook": rulebook,
    }
    if levels is not None:
        table["levels"] = _split(levels)
    if languages is not None:
        table["languages"] = _split(languages)
    if council is not None:
        table["council"] = council
    deadlines: dict[str, float] = {}
    for item in deadline:
        name, _, seconds = item.partition("=")
        try:
            deadlines[name.strip()] = float(seconds)
        except ValueError:
            raise fail(f"--deadline takes TYPE=SECONDS, got {item!r}") from None
    if deadlines:
        table["deadlines"] = deadlines
    with opened(node_dir) as node, guard():
        policy = add_channel(node, ChannelPolicy.from_config(table))
    typer.echo(policy.describe())


@channel_app.command("list")
def channel_list(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """List channels with members, agreements ("no agreement in force" when none), levels and languages.

    Example: riskline channel list --node ee-node
    """
    with opened(node_dir) as node:
        channels = node.config.channels
    if as_json:
        for policy in channels:
            typer.echo(
                json.dumps(
                    {
                        "id": policy.id,
                        "kind": str(policy.kind),
                        "members": list(policy.members),
                        "agreements": list(policy.agreements),
                        "agreements_text": agreements_text(policy),
                        "levels": [str(level) for level in policy.levels],
                        "languages": list(policy.languages),
                        "council": policy.council,
                    }
                )
            )
        return
    table = Table(title="channels", title_justify="left")
    for column in ("id", "kind", "members", "agreements", "levels", "languages", "council"):
        table.add_column(column)
    for policy in channels:
        table.add_row(
            policy.id,
            str(policy.kind),
            ", ".join(policy.members),
            agreements_text(policy),
            ", ".join(policy.levels),
            ", ".join(policy.languages),
            policy.council or "",
        )
    wide_console().print(table)
