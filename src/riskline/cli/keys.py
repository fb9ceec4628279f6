"""``riskline key``: rotate this node's identity key, revoke a compromised one, list key histories
(docs/audit.md, "Keys over time")."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from riskline.cli.node_common import JSON_OUT, NODE_DIR, delivery_hint, fail, guard, opened
from riskline.cli.node_common import console as wide_console

key_app = typer.Typer(
    help="This node's identity keys over time: rotate, revoke, list.\n\n"
    "A peer's keys, as it announced them to this node: riskline key list --peer NAME.\n\n"
    "Example: riskline key list --node ee-node --peer ru",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(key_app, name="key")


@key_app.command("rotate")
def key_rotate(node_dir: Path | None = NODE_DIR) -> None:
    """Make a new identity key, announce the rotation on every channel (signed by the old key, countersigned by
    the new), then sign with the new key. The TLS CA and row seals stay on the node's first key.

    Example: riskline key rotate --node ru-node
    """
    from riskline.channel.key_history import KeyRotation
    from riskline.node.key_rotation import rotate_key

    with opened(node_dir) as node, guard():
        announced = rotate_key(node)
        hint = delivery_hint(node, sorted({peer for sent in announced.messages for peer in sent.recipients}))
    statement = announced.statement
    if isinstance(statement, KeyRotation):
        typer.echo(f"rotated {statement.node}: {statement.old_key.fingerprint} → {statement.new_key.fingerprint}")
    channels = ", ".join(sent.message.channel for sent in announced.messages)
    typer.echo(f"announced on {len(announced.messages)} channel(s): {channels}")
    if hint:
        typer.echo(hint)


@key_app.command("revoke")
def key_revoke(
    key: str = typer.Option(..., "--key", help="The key to revoke: its fingerprint (SHA256:…) or ed25519:<base64>."),
    at: str = typer.Option(
        ..., "--at", help="Compromised since: ISO 8601 UTC or POSIX seconds (the last safe moment)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why, in one line, for the other parties."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Revoke a key of this node as compromised since --at, signed by the current (later) key and announced on
    every channel: peers then refuse what the key signed from then on.

    Example: riskline key revoke --key SHA256:… --at 2026-12-01T22:00:00Z --reason "key file copied" --node ru-node
    """
    from riskline.node.key_rotation import revoke_key
    from riskline.timeutil import parse_time

    try:
        since = parse_time(at)
    except ValueError as error:
        raise fail(f"--at: {error}") from None
    with opened(node_dir) as node, guard():
        announced = revoke_key(node, key, since, reason)
        hint = delivery_hint(node, sorted({peer for sent in announced.messages for peer in sent.recipients}))
    typer.echo(f"revoked {key} since {at}; announced on {len(announced.messages)} channel(s)")
    if hint:
        typer.echo(hint)


@key_app.command("list")
def key_list(
    peer: str | None = typer.Option(None, "--peer", help="A pinned peer's name or node id (default: this node)."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """The key history: each key's fingerprint, when it was the node's key, and whether it is revoked.

    Example: riskline key list --node ee-node --peer ru
    """
    from riskline.node.key_rotation import own_history, peer_histories
    from riskline.storage import channel_store as store
    from riskline.timeutil import to_iso

    with opened(node_dir) as node, guard(), node.reading() as connection:
        if peer is None:
            history = own_history(node, connection)
        else:
            rows = [row for row in store.list_peers(connection) if peer in (row.name, row.node)]
            if not rows:
                raise fail(f"--peer: no pinned peer {peer!r}")
            history = peer_histories(connection, rows)[rows[0].node]
    current = history.current

    def when(moment: float | None, missing: str) -> str:
        return missing if moment is None else to_iso(moment)

    if as_json:
        for period in history.periods:
            typer.echo(
                json.dumps(
                    {
                        "node": history.node,
                        "key": period.key.to_text(),
                        "fingerprint": period.key.fingerprint,
                        "from": None if period.start is None else to_iso(period.start),
                        "until": None if period.end is None else to_iso(period.end),
                        "revoked_since": None if period.revoked_since is None else to_iso(period.revoked_since),
                        "current": period.key == current,
                    }
                )
            )
        return
    table = Table(title=f"keys of {history.node}", title_justify="left")
    for column in ("fingerprint", "from (UTC)", "until (UTC)", "state"):
        table.add_column(column)
    for period in history.periods:
        if period.revoked_since is not None:
            state = f"[red]REVOKED since {to_iso(period.revoked_since)}[/red]"
        else:
            state = "current" if period.key == current else "rotated out"
        table.add_row(period.key.fingerprint, when(period.start, "first key"), when(period.end, "—"), state)
    wide_console().print(table)
