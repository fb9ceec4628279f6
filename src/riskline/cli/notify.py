"""``riskline notify check|send|list|hazard``: activity notifications against the regime, and hazard notices
made from NAVAREA warnings and NOTAMs (docs/transparency.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from riskline.cli.node_common import JSON_OUT, NODE_DIR, fail, guard, opened
from riskline.cli.options import table_console
from riskline.timeutil import to_iso

notify_app = typer.Typer(
    help="Activity notifications (Vienna Document 2011 ch. V) and hazard notices (INCSEA art. VI).\n\n"
    "Example: riskline notify check exercise.json",
    no_args_is_help=True,
)
REGIME = typer.Option(None, "--regime", help="Regime TOML file (default: the bundled Vienna Document 2011).",
                      dir_okay=False)
MARGIN = typer.Option(None, "--margin", help="Threshold-hugging margin as a fraction (default 0.10: within 10 %).")


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")


@notify_app.command("check")
def check_command(
    file: Path = typer.Argument(..., help="The notification, JSON or TOML (docs/transparency.md).", dir_okay=False),
    regime_file: Path | None = REGIME,
    margin: float | None = MARGIN,
    calendar: Path | None = typer.Option(None, "--calendar", help="The party's annual calendar (JSON "
                                         "annual_calendar body) to check the entry against."),
    against: list[Path] = typer.Option([], "--against", help="The party's other notifications, for the "
                                       "constraints (repeatable)."),
    as_json: bool = JSON_OUT,
) -> None:
    """Which obligations the declared activity triggers, which it breaks, and threshold-hugging warnings.

    Any date is judged: analysts check past notifications too. Exit 1 when a breach is found.

    Example: riskline notify check exercise.json --json
    """
    from riskline.transparency.activity import read_notification
    from riskline.transparency.check import check_notification
    from riskline.transparency.regime import load_regime

    with guard():
        regime = load_regime(regime_file, hugging_margin=margin)
        notification = read_notification(file)
        others = [read_notification(path) for path in against]
        designations = _calendar(calendar) if calendar is not None else None
        result = check_notification(notification, regime, calendar=designations, others=others)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        out = table_console()
        out.print(f"[bold]{notification.designation}[/bold] ({notification.party}, {to_iso(notification.start)} – "
                  f"{to_iso(notification.end)}), regime {regime.name} v{regime.version}")
        for title, items in (("obligations", result.obligations), ("breaches", result.breaches),
                             ("warnings", result.warnings)):
            out.print(f"{title}: " + ("none" if not items else ""))
            for item in items:
                mark = f" [{item.mark}]" if item.mark else ""
                out.print(f"  {item.kind}{mark}: {item.detail}")
    if result.breaches:
        raise typer.Exit(1)


def _calendar(path: Path) -> list[str]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise fail(f"--calendar {path}: cannot read the calendar JSON: {error}") from None
    activities = data.get("activities") if isinstance(data, dict) else None
    if not isinstance(activities, list):
        raise fail(f"--calendar {path}: activities: expected a list of calendar entries")
    return [str(entry.get("designation", "")) for entry in activities if isinstance(entry, dict)]


@notify_app.command("send")
def send_command(
    file: Path = typer.Argument(..., help="The notification, JSON or TOML.", dir_okay=False),
    channel: str = typer.Option(..., "--channel", help="Channel id, e.g. RU-EE."),
    regime_file: Path | None = REGIME,
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Sign, log and send an activity notification (refused when the activity is already over).

    Example: riskline notify send exercise.json --channel RU-EE
    """
    from riskline.node.transparency import send_notification
    from riskline.transparency.activity import read_notification
    from riskline.transparency.check import check_notification
    from riskline.transparency.regime import load_regime

    with guard():
        regime = load_regime(regime_file)
        notification = read_notification(file)
    with opened(node_dir) as node, guard():
        sent = send_notification(node, notification, channel)
    result = check_notification(notification, regime)
    typer.echo(f"activity_notification {sent.envelope.id} seq {sent.message.seq} on {channel}: "
               f"{notification.designation}, {to_iso(notification.start)} – {to_iso(notification.end)}")
    breaches = ", ".join(result.kinds("breaches")) or "none"
    warnings = ", ".join(result.kinds("warnings")) or "none"
    typer.echo(f"obligations: {', '.join(result.kinds('obligations')) or 'none'}; breaches: {breaches}; "
               f"warnings: {warnings}")
    typer.echo(
        f"queued for {', '.join(sent.recipients)}: the running server delivers it (or `riskline outbox --flush`)"
    )


@notify_app.command("list")
def list_command(
    year: int | None = typer.Option(None, "--year", help="Only activities starting in this year."),
    regime_file: Path | None = REGIME,
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Notifications sent and received, with their compliance against the regime.

    Example: riskline notify list --year 2026
    """
    from riskline.node.transparency import list_notifications
    from riskline.transparency.regime import load_regime

    with guard():
        regime = load_regime(regime_file)
    with opened(node_dir) as node, guard():
        listed = list_notifications(node, regime, year=year)
    if as_json:
        typer.echo(json.dumps([
            {"id": item.envelope_id, "direction": item.direction, "channel": item.channel,
             "party": item.notification.party, "designation": item.notification.designation,
             "start": to_iso(item.notification.start), "end": to_iso(item.notification.end),
             "cancelled": item.notification.cancelled, "amends": item.notification.amends,
             **item.check.to_json()}
            for item in listed
        ], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"activity notifications{'' if year is None else f' {year}'}", title_justify="left")
    for column in ("id", "dir", "party", "designation", "start – end (UTC)", "troops", "obligations", "breaches",
                   "warnings"):
        table.add_column(column)
    for item in listed:
        n = item.notification
        table.add_row(
            item.envelope_id[:8], "sent" if item.direction == "out" else "received", n.party,
            n.designation + (" (cancelled)" if n.cancelled else ""),
            f"{to_iso(n.start)[:16]} – {to_iso(n.end)[:16]}", f"{n.count('troops'):,}",
            ", ".join(item.check.kinds("obligations")) or "—",
            ", ".join(item.check.kinds("breaches")) or "—", ", ".join(item.check.kinds("warnings")) or "—",
        )
    table_console().print(table)


@notify_app.command("hazard")
def hazard_command(
    file: Path = typer.Argument(..., help="A NAVAREA/coastal warning or a NOTAM, as text.", dir_okay=False),
    channel: str | None = typer.Option(None, "--channel", help="Send it on this channel (else only print it)."),
    text_format: str = typer.Option("auto", "--format", help="navarea, notam or auto."),
    reason: str | None = typer.Option(None, "--short-notice-reason", help="Why under 3 days' notice (INCSEA)."),
    party: str | None = typer.Option(None, "--party", help="The issuing party, for --save."),
    issued: str | None = typer.Option(None, "--issued", help="When it was issued (ISO 8601 UTC), for --save."),
    save: Path | None = typer.Option(None, "--save", help="Add the notice to this hazard file (the watch's "
                                     "hazard_area_entry.notices).", dir_okay=False),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Make a hazard notice from a NAVAREA warning or NOTAM: print, save for the watch, or send it.

    Without --channel it prints the text re-written in the canonical layout and the lead time if sent now.

    Example: riskline notify hazard navarea.txt --channel RU-EE
    """
    from riskline.channel.messages import MessageType, validate_body
    from riskline.transparency.errors import NoticeTextError
    from riskline.transparency.hazard import lead_time, notice_from_navarea, notice_from_notam
    from riskline.transparency.navarea import parse_navarea, write_navarea
    from riskline.transparency.notam import parse_notam, write_notam
    from riskline.transparency.regime import load_regime

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise fail(f"{file}: cannot read: {error.strerror}") from None
    kind = text_format if text_format != "auto" else ("notam" if "Q)" in text else "navarea")
    if kind not in ("navarea", "notam"):
        raise fail(f"--format: {text_format!r} is not navarea, notam or auto")
    try:
        if kind == "navarea":
            warning = parse_navarea(text)
            body, canonical = notice_from_navarea(warning, text), write_navarea(warning)
        else:
            notam = parse_notam(text)
            body, canonical = notice_from_notam(notam, text), write_notam(notam)
    except NoticeTextError as error:
        raise fail(f"{file}: {error}") from None
    if body["start"] is None or body["end"] is None:
        raise fail(f"{file}: the text gives no time window (FROM … TO … or CANCEL THIS MSG); a notice needs one")
    if reason:
        body["short_notice_reason"] = reason
    regime = load_regime()
    if save is not None:
        _save_hazard(save, body, party, issued)
        if channel is None and not as_json:
            typer.echo(f"added {body.get('navwarn') or body.get('notam')} ({party}) to {save}")
            return
    if channel is None:
        import time

        now = time.time()
        with guard():  # validated as if sent 4 days ahead: the lead time is judged below, not refused
            normal = validate_body(MessageType.HAZARD_NOTICE, body, created=float(body["start"]) - 4 * 86_400)
        if as_json:
            typer.echo(json.dumps(normal, indent=2, ensure_ascii=False))
            return
        typer.echo(canonical, nl=False)
        upper = "" if body.get("upper_m") is None else f", up to {body['upper_m']:.0f} m"
        typer.echo(f"-- {kind}: {body['nature']}, {to_iso(body['start'])} – {to_iso(body['end'])}{upper}")
        verdict = lead_time(now, float(body["start"]), regime)
        typer.echo(f"-- lead time if sent now: {verdict.days} days ({verdict.verdict}; INCSEA art. VI: 3–5 days)")
        return
    from riskline.node.messaging import Outgoing, send

    with opened(node_dir) as node, guard():
        sent = send(node, Outgoing(MessageType.HAZARD_NOTICE, channel, body))
        verdict = lead_time(node.clock(), float(body["start"]), regime)
    typer.echo(f"hazard_notice {sent.envelope.id} seq {sent.message.seq} on {channel}: {body['nature']} "
               f"({body.get('navwarn') or body.get('notam')}), lead time {verdict.days} days ({verdict.verdict})")


def _save_hazard(path: Path, body: dict[str, Any], party: str | None, issued: str | None) -> None:
    """Append the notice to the watch's hazard file (``[{"party", "issued", "notice"}]``), validated first."""
    from riskline.channel.messages import MessageType, validate_body
    from riskline.timeutil import parse_time

    if not party:
        raise fail("--save needs --party: the issuing party (the rule watches the other parties' platforms)")
    try:
        issued_at = parse_time(issued) if issued else None
    except ValueError as error:
        raise fail(f"--issued: {error}") from None
    with guard():
        notice = validate_body(MessageType.HAZARD_NOTICE, body, created=float(body["start"]) - 4 * 86_400)
    try:
        existing: Any = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    except (OSError, ValueError) as error:
        raise fail(f"--save {path}: cannot read the hazard file: {error}") from None
    if not isinstance(existing, list):
        raise fail(f"--save {path}: a hazard file is a JSON list")
    existing.append({"party": party, "issued": issued_at, "notice": notice})
    path.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
