"""``riskline log``: the node's append-only Merkle log: verify, export, check bundles, list events."""

from __future__ import annotations

import json
import os
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
def log_verify(
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
    workers: int = typer.Option(
        0, "--workers", min=0, help="Processes checking signatures (0: one per core; 1: this process only)."
    ),
    full: bool = typer.Option(
        False, "--full", help="Re-check everything, not only what was added since the last sound check."
    ),
) -> None:
    """Re-check every log entry, signature, checkpoint, receipt and cosignature, and every row of every table
    (row seals, and what the log implies); exit 1 naming each table, row and what differs.

    After a sound check the node remembers the head it reached; the next check goes on from there (the new
    entries in full, a consistency check of the Merkle frontier, the rows added since and every table's count).
    --full redoes everything; do so regularly, and before handing a log to an auditor.

    Example: riskline log verify --node ee-node --workers 2
    """
    with opened(node_dir) as node, guard():
        result = audit.verify_node(node, workers=workers or (os.cpu_count() or 1), full=full)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "first_failing_entry": result.first_failing_entry,
                    "problems": [str(p) for p in result.problems],
                    "failures": [p.to_dict() for p in result.problems],
                    "equivocations": list(result.equivocations),
                    "checked_from": result.checked_from,
                    "verified_before": result.verified_before,
                }
            )
        )
    elif result.ok:
        typer.echo(
            f"ok: {result.entries:,} entries, {result.checkpoints:,} checkpoints, {result.receipts:,} receipts, "
            f"{result.cosignatures:,} cosignatures, {result.peer_heads:,} peer heads verified"
            + (
                ""
                if result.verified_before is None
                else f" (entries {result.checked_from:,}.. since the check of {to_iso(result.verified_before)};"
                " --full re-checks all)"
            )
        )
    else:
        first = result.first_failing_entry
        if first is not None:
            typer.echo(f"FAILED at entry {first:,}", err=True)
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
    typer.echo(f"wrote {count:,} entries to {output}")


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
            f"ok: log {report.origin}: {report.entries_checked:,} entries, {report.checkpoints_checked:,} checkpoints, "
            f"{report.cosignatures_checked:,} cosignatures, {report.receipts_checked:,} receipts verified"
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


@log_app.command("audit")
def log_audit(
    peer: list[str] | None = typer.Option(None, "--peer", help="Audit only this peer (name or node id; repeatable)."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Ask each peer what it witnessed: the latest head of our log it cosigned, its own head, the heads it holds
    of others; report truncation, rewriting, rollback, a fork, or a peer that will not answer. Exit 1 on any.

    Example: riskline log audit --node ee-node --peer ru-nmdc
    """
    from riskline.node.audit_peers import audit_peers

    with opened(node_dir) as node, guard():
        audits = audit_peers(node, peers=peer or None)
    if as_json:
        for audit_ in audits:
            for observation in audit_.observations:
                typer.echo(
                    json.dumps(
                        {
                            "peer": audit_.peer,
                            "finding": str(observation.finding),
                            "log": observation.log,
                            "message": observation.message,
                            "evidence": None if observation.evidence is None else observation.evidence.to_dict(),
                        }
                    )
                )
    else:
        for audit_ in audits:
            for observation in audit_.observations:
                line = f"{audit_.peer}: {str(observation.finding).upper()}: {observation.message}"
                typer.echo(line, err=observation.finding != "sound")
                if observation.evidence is not None:
                    forked = observation.log
                    typer.echo(f"  evidence: riskline log fork-evidence --log {forked} -o fork-{forked}.json", err=True)
    if not audits:
        typer.echo("no pinned peers to audit", err=True)
    if any(not audit_.sound for audit_ in audits):
        raise typer.Exit(1)


@log_app.command("fork-evidence")
def log_fork_evidence(
    log_id: str = typer.Option(..., "--log", help="Whose log forked: a node id (ours or a peer's)."),
    output: Path = typer.Option(..., "-o", "--output", help="Evidence file to write (JSON)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Write portable evidence of a fork: two heads of one log, one size, two roots, both signed by its key.

    Anyone can check it offline with `riskline log verify-evidence FILE --key <the log's key>`.

    Example: riskline log fork-evidence --log ru-nmdc -o fork-ru-nmdc.json --node ee-node
    """
    from riskline.node.audit_peers import fork_evidence

    with opened(node_dir) as node, guard():
        proof = fork_evidence(node, log_id)
    if proof is None:
        typer.echo(f"riskline: error: this node holds no two heads of {log_id}'s log of one size", err=True)
        raise typer.Exit(1)
    document = {"kind": "riskline-fork-evidence", "v": 1, "equivocation": proof.to_dict()}
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
    temporary.replace(output)
    typer.echo(f"wrote evidence that {proof.origin} signed two roots for size {proof.size} to {output}")


@log_app.command("verify-evidence")
def log_verify_evidence(
    evidence: Path = typer.Argument(..., help="File written by `riskline log fork-evidence`."),
    key: str | None = typer.Option(None, "--key", help="The forking log's key, ed25519:<base64>, as you know it."),
) -> None:
    """Check fork evidence offline: both heads signed by the key, same log, same size, different roots.

    Example: riskline log verify-evidence fork-ru-nmdc.json --key ed25519:AAAA…
    """
    from riskline.channel.checkpoint import EquivocationProof
    from riskline.channel.errors import KeyChanged, MalformedEnvelope

    with guard():
        try:
            document = json.loads(evidence.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise MalformedEnvelope(f"cannot read evidence {evidence}: {error}") from None
        if not isinstance(document, dict) or document.get("kind") != "riskline-fork-evidence":
            raise MalformedEnvelope(f"{evidence} is not riskline fork evidence")
        proof = EquivocationProof.from_dict(document.get("equivocation"))
        proof.verify()
        if key is not None and proof.signer != VerifyKey.from_text(key):
            raise KeyChanged(f"the evidence is signed by {proof.signer.fingerprint}, not the key given")
    typer.echo(
        f"ok: {proof.origin} (key {proof.signer.fingerprint}) signed two different roots for size {proof.size}"
        " of its log"
    )
