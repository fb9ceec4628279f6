"""``riskline log``: the node's append-only Merkle log: verify, export, check bundles, list events."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from riskline.channel.signing import VerifyKey
from riskline.cli.node_common import JSON_OUT, NODE_DIR, guard, opened
from riskline.cli.node_common import console as wide_console
from riskline.node import audit
from riskline.storage import channel_store as store
from riskline.timeutil import to_iso

log_app = typer.Typer(
    help="The node's append-only Merkle log: verify, export, check bundles.\n\n"
    "Example: riskline log verify --node ee-node",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")


@log_app.command("verify")
def log_verify(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """Re-check every log entry, signature, checkpoint, receipt and cosignature; exit 1 naming the first failure.

    Example: riskline log verify --node ee-node
    """
    with opened(node_dir) as node, guard():
        result = audit.verify_node(node)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "first_failing_entry": result.first_failing_entry,
                    "problems": [str(p) for p in result.problems],
                    "equivocations": list(result.equivocations),
                }
            )
        )
    elif result.ok:
        typer.echo(
            f"ok: {result.entries} entries, {result.checkpoints} checkpoints, {result.receipts} receipts, "
            f"{result.cosignatures} cosignatures, {result.peer_heads} peer heads verified"
        )
    else:
        first = result.first_failing_entry
        if first is not None:
            typer.echo(f"FAILED at entry {first}", err=True)
        for problem in result.problems:
            typer.echo(f"FAILED: {problem}", err=True)
        for proof in result.equivocations:
            typer.echo(f"equivocation proof: {json.dumps(proof)}", err=True)
    if not result.ok:
        raise typer.Exit(1)


@log_app.command("export")
def log_export(
    output: Path = typer.Option(..., "-o", "--output", help="Bundle file to write (JSON)."),
    start: int = typer.Option(0, "--from", min=0, help="Include receipts from this entry index on."),
    end: int | None = typer.Option(None, "--to", min=0, help="Export the first N entries (default: all)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Write a self-contained proof bundle: entries, signed heads, cosignatures, receipts, public keys.

    Entries before --from stay in (the Merkle tree needs them); only receipts are limited.

    Example: riskline log export -o bundle.json --node ee-node
    """
    with opened(node_dir) as node, guard():
        count = audit.export_bundle(node, output, upto=end, receipts_from=start)
    typer.echo(f"wrote {count} entries to {output}")


@log_app.command("verify-bundle")
def log_verify_bundle(
    bundle: Path = typer.Argument(..., help="Bundle file written by `riskline log export`."),
    key: str | None = typer.Option(None, "--key", help="Expected key of the log's node, ed25519:<base64>."),
) -> None:
    """Check a proof bundle offline with only the public keys inside it (and --key, if given); exit 1 on failure.

    Example: riskline log verify-bundle bundle.json --key ed25519:AAAA…
    """
    with guard():
        expected = None if key is None else VerifyKey.from_text(key)
        report = audit.verify_bundle_file(bundle, expected_key=expected)
    if report.ok:
        typer.echo(
            f"ok: log {report.origin}: {report.entries_checked} entries, {report.checkpoints_checked} checkpoints, "
            f"{report.cosignatures_checked} cosignatures, {report.receipts_checked} receipts verified"
        )
        return
    typer.echo(f"FAILED: {report.failure}", err=True)
    raise typer.Exit(1)


@log_app.command("events")
def log_events(
    node_dir: Path | None = NODE_DIR,
    limit: int = typer.Option(50, "--limit", min=1, help="Most recent N events."),
    as_json: bool = JSON_OUT,
) -> None:
    """Show the security log: every rejected request and failed check, with the peer and the reason.

    Example: riskline log events --node ee-node --limit 20
    """
    with opened(node_dir) as node, node.database.read() as connection:
        events = store.list_security_events(connection, limit=limit)
    if as_json:
        for event in events:
            typer.echo(json.dumps({name: getattr(event, name) for name in event.__dataclass_fields__}))
        return
    table = Table(title="security events", title_justify="left")
    for column in ("at (UTC)", "type", "status", "peer", "remote", "channel", "message"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            to_iso(event.at),
            event.kind,
            str(event.status),
            event.peer or "",
            event.remote or "",
            event.channel or "",
            event.message,
        )
    wide_console().print(table)
