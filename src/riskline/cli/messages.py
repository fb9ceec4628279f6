"""``riskline send|reply|inbox|outbox|thread|escalate``: the signed messages of this node's channels."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from riskline.channel.envelope import Author
from riskline.channel.messages import MessageType
from riskline.cli.node_common import JSON_OUT, NODE_DIR, delivery_hint, fail, guard, opened
from riskline.cli.node_common import console as wide_console
from riskline.node import views
from riskline.node.delivery import flush
from riskline.node.escalate import escalate_due
from riskline.node.messaging import Outgoing, attachments_from_files, send
from riskline.storage import channel_store as store
from riskline.timeutil import to_iso


def register(app: typer.Typer) -> None:
    app.command("send")(send_command)
    app.command("reply")(reply_command)
    app.command("inbox")(inbox_command)
    app.command("outbox")(outbox_command)
    app.command("thread")(thread_command)
    app.command("escalate")(escalate_command)


def _body(msg_type: MessageType, body_json: str | None, text: str | None, subject: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if body_json is not None:
        try:
            raw = sys.stdin.read() if body_json == "-" else Path(body_json).read_text(encoding="utf-8")
            loaded = json.loads(raw)
        except (OSError, ValueError) as error:
            raise fail(f"cannot read the body JSON {body_json}: {error}") from None
        if not isinstance(loaded, dict):
            raise fail("the body JSON must be an object")
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
            raise fail(f"--text does not fit {msg_type}; give the body with --body-json")
    if msg_type is MessageType.LINK_TEST:
        body.setdefault("nonce", secrets.token_hex(8))
    if msg_type is MessageType.ACKNOWLEDGEMENT:
        body.setdefault("note", None)
    return body


def _message_type(name: str) -> MessageType:
    try:
        return MessageType(name)
    except ValueError:
        raise fail(f"unknown message type {name!r}; types: {', '.join(t.value for t in MessageType)}") from None


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
    with opened(node_dir) as node, guard():
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
        hint = delivery_hint(node, sent.recipients)
    message = sent.message
    deadline = "" if message.deadline is None else f", reply due {to_iso(message.deadline)} (our clock)"
    typer.echo(f"{message.type} {message.envelope_id} seq {message.seq} on {message.channel}{deadline}")
    typer.echo(hint)


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
    console = wide_console()
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
    with opened(node_dir) as node, guard():
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
    with opened(node_dir) as node, guard():
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
    with opened(node_dir) as node, guard():
        entries = views.thread(node, message_id)
    if as_json:
        for entry in entries:
            typer.echo(
                json.dumps({**entry.message.to_json(), "body": entry.body, "attachments": list(entry.attachments)})
            )
        return
    console = wide_console()
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
        console.print("  " + json.dumps(_readable_body(entry.body), ensure_ascii=False), markup=False)
        for attachment in entry.attachments:
            state = attachment.get("state")
            shown = "" if state is None else f" — {str(state).upper().replace('_', ' ')}"
            if attachment.get("error"):
                shown += f" ({attachment['error']})"
            console.print(f"  attachment {attachment['name']} sha256 {attachment['sha256']}{shown}", markup=False)
        for delivery in m.deliveries:
            console.print(f"  delivery to {delivery.peer}: {delivery.state}")


def _readable_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body for reading: an incident report's evidence arrays summarised (``--json`` keeps them whole)."""
    evidence = body.get("evidence")
    if not isinstance(evidence, dict):
        return body
    segment_b = evidence.get("segment_b")
    fixes_b = len(segment_b.get("t", [])) if isinstance(segment_b, dict) else 0
    fixes_a = len((evidence.get("segment_a") or {}).get("t", []))
    samples = len(evidence.get("separation_t", []))
    return {**body, "evidence": f"{fixes_a} + {fixes_b} fixes, {samples} separation samples (--json for all)"}


def escalate_command(
    now: bool = typer.Option(False, "--now", help="Take the escalation steps that are due now."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Escalate unanswered messages whose deadline passed, one ladder step each (the server does it by itself).

    Example: riskline escalate --now --node ee-node
    """
    if not now:
        raise fail("say --now to take the escalation steps due now")
    with opened(node_dir) as node, guard():
        taken = escalate_due(node)
    for row in taken:
        typer.echo(f"escalated {row.original} step {row.step}: {row.from_level} → {row.to_level}: {row.note}")
    if not taken:
        typer.echo("nothing to escalate")
