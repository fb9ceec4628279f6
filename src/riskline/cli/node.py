"""The node's commands: ``node``, ``peer``, ``channel``, ``log`` and ``send``/``inbox``/``outbox``/``reply``/``thread``/
``escalate``. Each builds objects and calls one library function in ``riskline.node``; library errors become
one-line messages (exit 2), a failed check exits 1. Every command that acts on a node takes ``--node DIR``
(default ``$RISKLINE_NODE``, the current directory when it holds a node, else ``./riskline-node``).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from riskline.channel.envelope import Author
from riskline.channel.errors import ChannelError
from riskline.channel.messages import MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import VerifyKey
from riskline.node import audit, views
from riskline.node.config import agreements_text, parse_listen
from riskline.node.delivery import flush
from riskline.node.errors import NodeError
from riskline.node.escalate import escalate_due
from riskline.node.layout import default_node_dir
from riskline.node.local import LocalNode, init_node
from riskline.node.messaging import Outgoing, attachments_from_files, send
from riskline.node.peers import add_channel, add_peer, remove_peer
from riskline.storage import channel_store as store
from riskline.storage.errors import StorageError
from riskline.timeutil import to_iso

node_app = typer.Typer(help="This party's node: create it, run it, show it.", no_args_is_help=True)
peer_app = typer.Typer(help="Peer nodes pinned by key, as SSH pins hosts.", no_args_is_help=True)
channel_app = typer.Typer(help="Channels this node talks on (bilateral or collective).", no_args_is_help=True)
log_app = typer.Typer(help="The node's append-only Merkle log: verify, export, check bundles.", no_args_is_help=True)

NODE_DIR = typer.Option(
    None, "--node", help="Node directory (default: $RISKLINE_NODE, the current directory if it holds a node, "
    "else ./riskline-node)."
)
JSON_OUT = typer.Option(False, "--json", help="Machine-readable output on standard output.")


def register(app: typer.Typer) -> None:
    """Add the node's command groups and top-level commands to the ``riskline`` app."""
    app.add_typer(node_app, name="node")
    app.add_typer(peer_app, name="peer")
    app.add_typer(channel_app, name="channel")
    app.add_typer(log_app, name="log")
    app.command("send")(send_command)
    app.command("reply")(reply_command)
    app.command("inbox")(inbox_command)
    app.command("outbox")(outbox_command)
    app.command("thread")(thread_command)
    app.command("escalate")(escalate_command)


def _fail(message: str, code: int = 2) -> typer.Exit:
    print(f"riskline: error: {' '.join(message.split())}", file=sys.stderr)
    return typer.Exit(code)


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    try:
        yield
    except (NodeError, ChannelError, StorageError) as error:
        raise _fail(str(error)) from None


@contextlib.contextmanager
def _opened(node_dir: Path | None) -> Iterator[LocalNode]:
    with _guard():
        node = LocalNode.open(node_dir or default_node_dir())
        try:
            yield node
        finally:
            node.close()


def _console() -> Console:
    """Rich output; piped or captured output gets a wide fixed width instead of rich's 80 columns."""
    probe = Console()
    return Console(highlight=False, soft_wrap=False, width=probe.width if probe.is_terminal else 160)


# --- node ----------------------------------------------------------------------------------------------------


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
) -> None:
    """Create a node: config, Ed25519 identity, TLS CA and certificate, empty database.

    Refuses to overwrite an existing node. Prints the key to give peers (out of band) and its fingerprint.

    Example: riskline node init --party EE --name "Estonian Defence Forces ops" --dir ee-node
    """
    with _guard():
        address = parse_listen(listen)
        result = init_node(
            node_dir or default_node_dir(),
            party=party,
            name=name,
            node_id=node_id,
            listen=address,
            tls_enabled=not plain_http,
            url=url,
        )
    typer.echo(f"created node {result.config.id} ({result.config.party}) in {result.paths.root}")
    typer.echo(f"key: {result.key.to_text()}")
    typer.echo(f"ED25519 key fingerprint is {result.key.fingerprint}.")
    typer.echo("Give the key to each peer out of band; they pin it with `riskline peer add NAME URL --key …`.")


@node_app.command("serve")
def node_serve(
    node_dir: Path | None = NODE_DIR,
    port: int | None = typer.Option(None, "--port", help="Override the port in node.toml (0: any free port)."),
) -> None:
    """Run the node's HTTPS API (mutual TLS; plain HTTP only on loopback), delivery and escalation.

    Example: riskline node serve --node ee-node
    """
    from riskline.node.server import serve

    with _guard():
        serve(node_dir or default_node_dir(), port=port)


@node_app.command("show")
def node_show(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """Show who this node is: id, party, key, fingerprint, address, channels and peers.

    Example: riskline node show --node ee-node
    """
    with _opened(node_dir) as node, node.reading() as connection:
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


# --- peers ---------------------------------------------------------------------------------------------------


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
    with _opened(node_dir) as node, _guard():
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
    with _opened(node_dir) as node, node.database.read() as connection:
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
    _console().print(table)


@peer_app.command("remove")
def peer_remove(
    name: str = typer.Argument(..., help="The peer's local name."), node_dir: Path | None = NODE_DIR
) -> None:
    """Forget a pinned peer (after checking its new key out of band); its logged history stays.

    Example: riskline peer remove ru --node ee-node
    """
    with _opened(node_dir) as node, _guard():
        removed = remove_peer(node, name)
    typer.echo(f"removed {removed.name} ({removed.fingerprint})")


# --- channels ------------------------------------------------------------------------------------------------


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
        raise _fail("say which agreement is in force (--agreement NAME) or that none is (--no-agreement)")
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
            raise _fail(f"--deadline takes TYPE=SECONDS, got {item!r}") from None
    if deadlines:
        table["deadlines"] = deadlines
    with _opened(node_dir) as node, _guard():
        policy = add_channel(node, ChannelPolicy.from_config(table))
    typer.echo(policy.describe())


@channel_app.command("list")
def channel_list(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """List channels with members, agreements ("no agreement in force" when none), levels and languages.

    Example: riskline channel list --node ee-node
    """
    with _opened(node_dir) as node:
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
    _console().print(table)


# --- messages ------------------------------------------------------------------------------------------------


def _body(msg_type: MessageType, body_json: str | None, text: str | None, subject: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if body_json is not None:
        try:
            raw = sys.stdin.read() if body_json == "-" else Path(body_json).read_text(encoding="utf-8")
            loaded = json.loads(raw)
        except (OSError, ValueError) as error:
            raise _fail(f"cannot read the body JSON {body_json}: {error}") from None
        if not isinstance(loaded, dict):
            raise _fail("the body JSON must be an object")
        body = loaded
    if text is not None:
        if msg_type is MessageType.FREE_TEXT:
            body["text"] = text
        elif msg_type is MessageType.REQUEST_FOR_CLARIFICATION:
            body.setdefault("subject", subject or text[:60])
            body.setdefault("questions", []).append(text)
        elif msg_type is MessageType.CLARIFICATION:
            body.setdefault("answers", []).append(text)
        elif msg_type is MessageType.ACKNOWLEDGEMENT:
            body["note"] = text
        elif msg_type is MessageType.LINK_TEST:
            body["nonce"] = text
        elif msg_type is MessageType.INCIDENT_REPORT:
            body["narrative"] = text
        else:
            raise _fail(f"--text does not fit {msg_type}; give the body with --body-json")
    if msg_type is MessageType.LINK_TEST:
        body.setdefault("nonce", secrets.token_hex(8))
    if msg_type is MessageType.ACKNOWLEDGEMENT:
        body.setdefault("note", None)
    return body


def _message_type(name: str) -> MessageType:
    try:
        return MessageType(name)
    except ValueError:
        raise _fail(f"unknown message type {name!r}; types: {', '.join(t.value for t in MessageType)}") from None


def _send(
    node_dir: Path | None,
    msg_type: MessageType,
    channel: str | None,
    body: dict[str, Any],
    *,
    level: str | None,
    language: str | None,
    reply_to: str | None,
    attach: list[Path],
    author: str | None,
    role: str | None,
) -> None:
    with _opened(node_dir) as node, _guard():
        configured = node.config.author
        who = None
        if author is not None or role is not None:
            who = Author(author or configured.name, role or configured.role)
        sent = send(
            node,
            Outgoing(
                type=msg_type,
                channel=channel,
                body=body,
                level=level,
                language=language,
                author=who,
                in_reply_to=reply_to,
                attachments=attachments_from_files(node, attach),
            ),
        )
    message = sent.message
    deadline = "" if message.deadline is None else f", reply due {to_iso(message.deadline)} (our clock)"
    typer.echo(f"{message.type} {message.envelope_id} seq {message.seq} on {message.channel}{deadline}")
    typer.echo(
        f"queued for {', '.join(sent.recipients)}: the running server delivers it (or `riskline outbox --flush`)"
    )


def send_command(
    msg_type: str = typer.Argument(..., metavar="TYPE", help="free_text, request_for_clarification, link_test, …"),
    channel: str | None = typer.Option(None, "--channel", help="Channel id, e.g. RU-EE."),
    body_json: str | None = typer.Option(None, "--body-json", help="File with the body as JSON, or - for stdin."),
    text: str | None = typer.Option(None, "--text", help="The text (free_text), question, answer or note."),
    subject: str | None = typer.Option(None, "--subject", help="Subject of a request_for_clarification."),
    level: str | None = typer.Option(None, "--level", help="Level of contact (default: the channel's lowest)."),
    language: str | None = typer.Option(None, "--language", help="Language (default: the channel's first)."),
    reply_to: str | None = typer.Option(None, "--reply-to", help="Id (or prefix) of the message answered."),
    attach: list[Path] = typer.Option([], "--attach", help="Attach a file by hash (repeatable)."),
    author: str | None = typer.Option(None, "--author", help="Author's name (default from node.toml)."),
    role: str | None = typer.Option(None, "--role", help="Author's role (default from node.toml)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Sign, log and queue a message; committed before anything is sent.

    Example: riskline send request_for_clarification --channel RU-EE --subject "Su-27 pass" --text "Purpose?"
    """
    kind = _message_type(msg_type)
    _send(
        node_dir,
        kind,
        channel,
        _body(kind, body_json, text, subject),
        level=level,
        language=language,
        reply_to=reply_to,
        attach=attach,
        author=author,
        role=role,
    )


def reply_command(
    message_id: str = typer.Argument(..., metavar="ID", help="The message answered (id or unique prefix)."),
    msg_type: str = typer.Option("clarification", "--type", help="Type of the reply."),
    text: str | None = typer.Option(None, "--text", help="The answer, text or note."),
    body_json: str | None = typer.Option(None, "--body-json", help="File with the body as JSON, or - for stdin."),
    level: str | None = typer.Option(None, "--level", help="Level of contact (default: the original's)."),
    language: str | None = typer.Option(None, "--language", help="Language (default: the original's)."),
    attach: list[Path] = typer.Option([], "--attach", help="Attach a file by hash (repeatable)."),
    author: str | None = typer.Option(None, "--author", help="Author's name (default from node.toml)."),
    role: str | None = typer.Option(None, "--role", help="Author's role (default from node.toml)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Reply to a message in its thread and channel (a clarification answers a request for clarification).

    Example: riskline reply 3f2a9c --type clarification --text "Routine training flight."
    """
    kind = _message_type(msg_type)
    _send(
        node_dir,
        kind,
        None,
        _body(kind, body_json, text, None),
        level=level,
        language=language,
        reply_to=message_id,
        attach=attach,
        author=author,
        role=role,
    )


def _when(deadline: float | None, now: float, overdue: bool) -> str:
    if deadline is None:
        return ""
    delta = deadline - now
    span = _span(abs(delta))
    text = f"{to_iso(deadline)} ({'overdue by ' + span if delta < 0 else 'in ' + span})"
    return f"[bold red]{text}[/]" if overdue else text


def _span(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _print_listing(listing: views.Listing, title: str, outgoing: bool) -> None:
    console = _console()
    table = Table(title=title, title_justify="left")
    columns = [
        "id",
        "channel",
        "seq",
        "type",
        "from" if not outgoing else "to",
        "level",
        "summary",
        "reply due (our clock)",
    ]
    columns.append("delivery" if outgoing else "status")
    for column in columns:
        table.add_column(column, overflow="fold")
    for message in listing.messages:
        status = message.status if message.status != "open" else "awaiting reply"
        if outgoing:
            who = ", ".join(d.peer for d in message.deliveries)
            delivery = ", ".join(
                f"[red]{d.peer}: FAILED ({d.last_error})[/]"
                if d.state == "failed-permanent"
                else f"{d.peer}: {d.state}"
                for d in message.deliveries
            )
            last = f"{delivery}; {status}" if message.deadline is not None else delivery
        else:
            who = f"{message.sender} ({message.party})"
            last = status
        table.add_row(
            message.id[:12],
            message.channel,
            str(message.seq),
            message.type,
            who,
            message.level,
            message.summary,
            _when(message.deadline, listing.now, message.overdue) if message.status == "open" else "",
            last,
        )
    console.print(table)
    console.print(
        f"{listing.awaiting} awaiting reply, [bold red]{listing.overdue} overdue[/]"
        if listing.overdue
        else f"{listing.awaiting} awaiting reply, 0 overdue"
    )
    if outgoing:
        line = f"deliveries: {listing.pending_deliveries} pending, {listing.failed_deliveries} failed permanently"
        console.print(f"[bold red]{line}[/]" if listing.failed_deliveries else line)
    for event in listing.events:
        console.print(f"[yellow]{to_iso(event.at)} {event.kind}: {event.message}[/]")


def inbox_command(
    node_dir: Path | None = NODE_DIR,
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    limit: int = typer.Option(50, "--limit", min=1, help="Most recent N messages."),
    as_json: bool = JSON_OUT,
) -> None:
    """Messages received: threads, the replies we owe, deadlines on our clock (overdue in red), escalations.

    Example: riskline inbox --node ee-node --channel RU-EE
    """
    with _opened(node_dir) as node, _guard():
        listing = views.inbox(node, channel=channel, limit=limit)
    if as_json:
        typer.echo(json.dumps(listing.to_json()))
        return
    _print_listing(listing, "inbox", outgoing=False)


def outbox_command(
    node_dir: Path | None = NODE_DIR,
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    limit: int = typer.Option(50, "--limit", min=1, help="Most recent N messages."),
    do_flush: bool = typer.Option(False, "--flush", help="Deliver now (when no server is running)."),
    retry: bool = typer.Option(False, "--retry", help="Queue permanently failed deliveries again."),
    as_json: bool = JSON_OUT,
) -> None:
    """Messages sent: delivery state per recipient node, the replies we wait for, failures in red.

    Example: riskline outbox --node ee-node --flush
    """
    with _opened(node_dir) as node, _guard():
        if retry:
            with node.writing() as connection:
                count = store.retry_failed(connection, node.clock())
            typer.echo(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again", err=True)
        if do_flush:
            report = flush(node)
            typer.echo(
                f"delivered {report.delivered} ({report.duplicates} already there), "
                f"{report.retry_later} to retry, {report.failed_permanent} failed permanently",
                err=True,
            )
        listing = views.outbox(node, channel=channel, limit=limit)
    if as_json:
        typer.echo(json.dumps(listing.to_json()))
        return
    _print_listing(listing, "outbox", outgoing=True)


def thread_command(
    message_id: str = typer.Argument(..., metavar="ID", help="A message id (or unique prefix) of the thread."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Show a whole thread: every message, its body, both clocks and its delivery.

    Example: riskline thread 3f2a9c --node ee-node
    """
    with _opened(node_dir) as node, _guard():
        entries = views.thread(node, message_id)
    if as_json:
        for entry in entries:
            typer.echo(
                json.dumps({**entry.message.to_json(), "body": entry.body, "attachments": list(entry.attachments)})
            )
        return
    console = _console()
    for entry in entries:
        m = entry.message
        arrow = "→" if m.direction == "out" else "←"
        console.print(f"[bold]{arrow} {m.type}[/] {m.id} seq {m.seq} on {m.channel} from {m.sender} ({m.party})")
        console.print(f"  author {m.author}, level {m.level}, language {m.language}")
        console.print(f"  created {to_iso(m.created)} (sender's clock), logged {to_iso(m.logged)} (ours)")
        if m.in_reply_to:
            console.print(f"  in reply to {m.in_reply_to}")
        if m.deadline is not None:
            console.print(f"  reply due {_when(m.deadline, node.clock(), m.overdue)}; {m.status}")
        console.print("  " + json.dumps(entry.body, ensure_ascii=False))
        for attachment in entry.attachments:
            console.print(f"  attachment {attachment['name']} sha256 {attachment['sha256']}")
        for delivery in m.deliveries:
            console.print(f"  delivery to {delivery.peer}: {delivery.state}")


def escalate_command(
    now: bool = typer.Option(False, "--now", help="Take the escalation steps that are due now."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Escalate unanswered messages whose deadline passed, one ladder step each (the server does it by itself).

    Example: riskline escalate --now --node ee-node
    """
    if not now:
        raise _fail("say --now to take the escalation steps due now")
    with _opened(node_dir) as node, _guard():
        taken = escalate_due(node)
    for row in taken:
        typer.echo(f"escalated {row.original} step {row.step}: {row.from_level} → {row.to_level}: {row.note}")
    if not taken:
        typer.echo("nothing to escalate")


# --- log -----------------------------------------------------------------------------------------------------


@log_app.command("verify")
def log_verify(node_dir: Path | None = NODE_DIR, as_json: bool = JSON_OUT) -> None:
    """Re-check every log entry, signature, checkpoint, receipt and cosignature; exit 1 naming the first failure.

    Example: riskline log verify --node ee-node
    """
    with _opened(node_dir) as node, _guard():
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
    with _opened(node_dir) as node, _guard():
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
    with _guard():
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
    with _opened(node_dir) as node, node.database.read() as connection:
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
    _console().print(table)
