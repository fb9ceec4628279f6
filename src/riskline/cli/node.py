"""``riskline node``: create this party's node, serve it, show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from riskline.cli.node_common import JSON_OUT, NODE_DIR, guard, opened
from riskline.node.config import parse_listen
from riskline.node.layout import default_node_dir
from riskline.node.local import init_node
from riskline.storage import channel_store as store

node_app = typer.Typer(
    help="This party's node: create it, run it, show it.\n\n"
    "Example: riskline node init --party EE --name \"Estonian Defence Forces ops\" --dir ee-node",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(node_app, name="node")


@node_app.command("init")
def node_init(
    party: str = typer.Option(..., "--party", help="This node's party code, e.g. EE."),
    name: str = typer.Option(..., "--name", help='Display name, e.g. "Estonian Defence Forces ops".'),
    node_dir: Path | None = typer.Option(
        None, "--dir", "--node", help="Directory to create (default ./riskline-node)."
    ),
    listen: str = typer.Option("127.0.0.1:8700", "--listen", help="HOST:PORT the server binds."),
    node_id: str | None = typer.Option(None, "--id", help="Node id on the wire (default: from party and name)."),
    url: str | None = typer.Option(None, "--url", help="URL peers use to reach this node, if not the listen address."),
    plain_http: bool = typer.Option(False, "--plain-http", help="Serve plain HTTP (loopback addresses only)."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help="Keep the node's database on a server "
                                  "(postgresql://user@host/db) instead of node.db in the node directory."),
) -> None:
    """Create a node: config, Ed25519 identity, TLS CA and certificate, empty database.

    Refuses to overwrite an existing node. Prints the key to give peers (out of band) and its fingerprint.

    Example: riskline node init --party EE --name "Estonian Defence Forces ops" --dir ee-node
    """
    with guard():
        address = parse_listen(listen)
        result = init_node(
            node_dir or default_node_dir(),
            party=party,
            name=name,
            node_id=node_id,
            listen=address,
            tls_enabled=not plain_http,
            url=url,
            database=db,
        )
    typer.echo(f"created node {result.config.id} ({result.config.party}) in {result.paths.root}")
    typer.echo(f"key: {result.key.to_text()}")
    typer.echo(f"ED25519 key fingerprint is {result.key.fingerprint}.")
    typer.echo("Give the key to each peer out of band; they pin it with `riskline peer add NAME URL --key …`.")


@node_app.command("serve")
def node_serve(
    node_dir: Path | None = NODE_DIR,
    port: int | None = typer.Option(None, "--port", help="Override the port in node.toml (0: any free port)."),
    dashboard: str = typer.Option(
        "127.0.0.1:8780", "--dashboard", help="HOST:PORT of the operators' dashboard (loopback); 'off' for none."
    ),
) -> None:
    """Run the node's HTTPS API (mutual TLS; plain HTTP only on loopback), delivery, escalation and dashboard.

    Example: riskline node serve --node ee-node --dashboard 127.0.0.1:8780
    """
    from riskline.node.server import serve
    from riskline.web.server import node_dashboard

    with guard():
        companion = None if dashboard == "off" else node_dashboard(parse_listen(dashboard))
        serve(node_dir or default_node_dir(), port=port, companion=companion)


@node_app.command("show")
def node_show(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """Show who this node is: id, party, key, fingerprint, address, channels and peers.

    Example: riskline node show --node ee-node
    """
    with opened(node_dir) as node, node.reading() as connection:
        config = node.config
        peers = store.list_peers(connection)
        info: dict[str, Any] = {
            "id": config.id,
            "name": config.name,
            "party": config.party,
            "key": node.key.to_text(),
            "fingerprint": node.key.fingerprint,
            "listen": str(config.listen),
            "tls": config.tls,
            "url": config.public_url,
            "log_size": node.tree.size,
            "channels": [channel.id for channel in config.channels],
            "peers": [peer.name for peer in peers],
        }
    if as_json:
        typer.echo(json.dumps(info))
        return
    for key, value in info.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        typer.echo(f"{key:12} {shown}")
