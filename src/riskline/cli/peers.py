"""``riskline peer``: peer nodes pinned by key, as SSH pins hosts."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from riskline.cli.node_common import JSON_OUT, NODE_DIR, guard, opened
from riskline.cli.node_common import console as wide_console
from riskline.node.peers import add_peer, remove_peer
from riskline.storage import channel_store as store
from riskline.timeutil import to_iso

peer_app = typer.Typer(
    help="Peer nodes pinned by key, as SSH pins hosts.\n\n"
    "Example: riskline peer list --node ee-node",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(peer_app, name="peer")


@peer_app.command("add")
def peer_add(
    name: str = typer.Argument(..., help="Local name for the peer, e.g. ru."),
    url: str = typer.Argument(..., help="https://HOST:PORT (http:// only on loopback)."),
    key: str = typer.Option(..., "--key", help="The peer's key, ed25519:<base64>, received out of band."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Pin a peer: fetch its /v1/node, check the key it serves, trust only its CA.

    Refuses a served key that differs from --key, and a new key for a name already pinned.

    Example: riskline peer add ru https://ru.example:8700 --key ed25519:AAAA…
    """
    with opened(node_dir) as node, guard():
        added = add_peer(node, name, url, key)
    peer = added.peer
    typer.echo(f"ED25519 key fingerprint of {peer.name} ({peer.node}, party {peer.party}) is {peer.fingerprint}.")
    verb = "still pinned" if added.already_pinned else "pinned"
    typer.echo(f"{verb}: {peer.name} at {peer.url}")


@peer_app.command("list")
def peer_list(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """List pinned peers with their fingerprints.

    Example: riskline peer list --node ee-node
    """
    with opened(node_dir) as node, node.database.read() as connection:
        peers = store.list_peers(connection)
    if as_json:
        for peer in peers:
            typer.echo(
                json.dumps({k: getattr(peer, k) for k in ("name", "node", "party", "url", "key", "fingerprint")})
            )
        return
    table = Table(title="pinned peers", title_justify="left")
    for column in ("name", "node", "party", "url", "fingerprint", "added (UTC)"):
        table.add_column(column)
    for peer in peers:
        table.add_row(peer.name, peer.node, peer.party, peer.url, peer.fingerprint, to_iso(peer.added))
    wide_console().print(table)


@peer_app.command("remove")
def peer_remove(
    name: str = typer.Argument(..., help="The peer's local name."), node_dir: Path | None = NODE_DIR
) -> None:
    """Forget a pinned peer (after checking its new key out of band); its logged history stays.

    Example: riskline peer remove ru --node ee-node
    """
    with opened(node_dir) as node, guard():
        removed = remove_peer(node, name)
    typer.echo(f"removed {removed.name} ({removed.fingerprint})")
