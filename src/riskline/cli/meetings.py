"""``riskline meeting|action|calendar|forum``: meetings with a whole life, action items, the calendar, forums.

Thin commands over ``riskline.node.dialogue``: each builds the request, calls one library function and prints
what the node logged. Times are ISO 8601; a time without a zone is read in the meeting's ``--timezone``.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from riskline.cli.node_common import JSON_OUT, NODE_DIR, fail, guard, opened
from riskline.cli.node_common import console as wide_console
from riskline.timeutil import to_iso

meeting_app = typer.Typer(
    help="Meetings with a whole life, as signed messages: propose, answer, minute, approve.\n\n"
    "Example: riskline meeting list --channel NRC",
    no_args_is_help=True,
)
action_app = typer.Typer(
    help="Action items decided at meetings: who owes what by when.\n\nExample: riskline action list --open",
    no_args_is_help=True,
)
forum_app = typer.Typer(
    help="Recurring forums of the channels (node.toml [[channel.forums]]) and when each is next due.\n\n"
    "Example: riskline forum list",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(meeting_app, name="meeting")
    app.add_typer(action_app, name="action")
    app.add_typer(forum_app, name="forum")
    app.command("calendar")(calendar_command)


def _sent(sent: Any, what: str) -> None:
    message = sent.message
    typer.echo(f"{what}: {message.type} {message.envelope_id} seq {message.seq} on {message.channel}")
    typer.echo(f"queued for {', '.join(sent.recipients)}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"--timezone: not an IANA time zone like 'Europe/Brussels': {name!r}") from None


def _moment(text: str, zone: ZoneInfo, option: str) -> str:
    """ISO 8601 with its offset; a time without one is read in ``zone``."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(
            f"{option}: not an ISO 8601 time like 2027-03-10T10:00 or 2027-03-10T10:00+01:00: {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat(timespec="seconds")


def _participants(values: list[str], members: tuple[str, ...]) -> dict[str, list[dict[str, str]]]:
    if not values:
        return {party: [] for party in members}
    result: dict[str, list[dict[str, str]]] = {}
    for value in values:
        party, _, person = value.partition("=")
        people = result.setdefault(party.strip(), [])
        if person:
            name, _, role = person.partition(":")
            if not name.strip() or not role.strip():
                raise fail(f"--participant: give PARTY or PARTY=NAME:ROLE, got {value!r}")
            people.append({"name": name.strip(), "role": role.strip()})
    return result


def _agenda(node: Any, values: list[str]) -> list[dict[str, Any]]:
    from riskline.node.errors import MessageNotFound
    from riskline.node.messaging import resolve_message

    items = []
    for value in values:
        title, _, cited = value.partition("=")
        references = []
        for reference in filter(None, (part.strip() for part in cited.split(","))):
            kind, _, ident = reference.partition(":")
            if kind not in ("incident", "notification", "message") or not ident:
                raise fail(f"--agenda: a reference is incident:ID, notification:ID or message:ID, got {reference!r}")
            with node.reading() as connection, contextlib.suppress(MessageNotFound):
                # an unknown id is left as given: the channel check refuses it, naming the field
                ident = resolve_message(connection, ident).envelope_id
            references.append({"kind": kind, "id": ident})
        items.append({"title": title.strip(), "references": references})
    return items


@meeting_app.command("propose")
def propose_command(
    channel: str = typer.Option(..., "--channel", help="Channel id, e.g. NRC or RU-EE."),
    start: str = typer.Option(..., "--start", help="Start, ISO 8601 (without a zone: in --timezone)."),
    end: str | None = typer.Option(None, "--end", help="End (default: two hours after the start)."),
    forum: str = typer.Option("meeting", "--forum", help="A forum id of the channel (sets level, place, zone)."),
    level: str | None = typer.Option(None, "--level", help="Level of contact (default: the forum's)."),
    place: str | None = typer.Option(None, "--place", help="Where (default: the forum's)."),
    timezone: str | None = typer.Option(None, "--timezone", help="IANA zone of the place (default: the forum's)."),
    participant: list[str] = typer.Option(
        [], "--participant", help="PARTY or PARTY=NAME:ROLE (repeatable; default: every member)."
    ),
    agenda: list[str] = typer.Option(
        ..., "--agenda", help="TITLE[=incident:ID,notification:ID,message:ID] (repeatable)."
    ),
    basis: list[str] = typer.Option(
        [], "--basis", help="Agreement the meeting is held under (default: the channel's)."
    ),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Propose a meeting: forum, basis, level, time and zone, place, delegations, agenda citing incidents.

    Example: riskline meeting propose --channel NRC --forum nrc-ambassadors --start 2027-03-10T10:00 --timezone Europe/Brussels --place "NATO HQ" --agenda "Baltic air safety=incident:3f2a9c"
    """  # noqa: E501
    from riskline.node.dialogue import Proposal, propose

    with opened(node_dir) as node, guard():
        policy = node.reload_config().channel(channel)
        known = {f.id: f for f in policy.forums}
        chosen = known.get(forum)
        zone_name = timezone or (chosen.timezone if chosen else "UTC")
        zone = _zone(zone_name)
        start_text = _moment(start, zone, "--start")
        end_text = _moment(end, zone, "--end") if end else None
        if end_text is None:
            begin = datetime.fromisoformat(start_text)
            end_text = datetime.fromtimestamp(begin.timestamp() + 7_200.0, tz=begin.tzinfo).isoformat(
                timespec="seconds"
            )
        where = place or (chosen.place if chosen and chosen.place else None)
        if where is None:
            raise fail("--place: say where the meeting is held")
        what_level = level or (str(chosen.level) if chosen else None)
        if what_level is None:
            raise fail("--level: say the level of contact (or give a --forum of the channel)")
        sent = propose(
            node,
            Proposal(
                channel=policy.id,
                forum=forum,
                level=what_level,
                start=start_text,
                end=end_text,
                place=where,
                timezone=zone_name,
                participants=_participants(participant, policy.members),
                agenda=_agenda(node, agenda),
                basis=basis or None,
            ),
        )
    _sent(sent, "meeting proposed")


def _answers(meeting: Any) -> str:
    marks = {"ACCEPTED": "accepted", "DECLINED": "declined", "NEEDS-ACTION": "awaited"}
    return ", ".join(f"{party} {marks[str(answer)]}" for party, answer in meeting.answers.items())


def _local(meeting: Any) -> str:
    zone = ZoneInfo(meeting.terms.timezone)
    begin = datetime.fromtimestamp(meeting.terms.start, tz=zone)
    finish = datetime.fromtimestamp(meeting.terms.end, tz=zone)
    return f"{begin:%Y-%m-%d %H:%M}–{finish:%H:%M} {meeting.terms.timezone}"


@meeting_app.command("list")
def list_command(
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Every meeting on this node's channels with its state and each party's answer, soonest first.

    Example: riskline meeting list --channel NRC --json
    """
    from riskline.node.dialogue import meeting_json, meetings

    with opened(node_dir) as node, guard():
        found = meetings(node, channel)
    if as_json:
        for meeting in found:
            typer.echo(json.dumps(meeting_json(meeting), ensure_ascii=False))
        return
    table = Table(title=f"meetings ({len(found)})", title_justify="left")
    table.add_column("id", no_wrap=True, min_width=32)
    for column in ("channel", "forum", "level", "when", "place", "state", "answers"):
        table.add_column(column)
    for meeting in found:
        table.add_row(
            meeting.id, meeting.channel, meeting.forum, str(meeting.terms.level), _local(meeting),
            meeting.terms.place or "", str(meeting.status), _answers(meeting),
        )  # fmt: skip
    wide_console().print(table)


@meeting_app.command("show")
def show_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (its proposal's id or a prefix)."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """One meeting: terms, delegations, agenda, answers, minutes with their hash and approvals, action items.

    Example: riskline meeting show 3f2a9c
    """
    from riskline.node.dialogue import actions, find_meeting, meeting_json

    with opened(node_dir) as node, guard():
        meeting = find_meeting(node, meeting_id)
        items = [item for item in actions(node, meeting.channel) if item.meeting == meeting.id]
    if as_json:
        typer.echo(json.dumps(meeting_json(meeting), ensure_ascii=False, indent=2))
        return
    echo = typer.echo
    echo(f"meeting {meeting.id} on {meeting.channel} — {meeting.status}")
    echo(f"  forum:   {meeting.forum or '(none)'}; basis: {'; '.join(meeting.basis) or 'no agreement in force'}")
    echo(f"  level:   {meeting.terms.level}")
    echo(f"  when:    {_local(meeting)} ({meeting.terms.start_text} to {meeting.terms.end_text})")
    echo(f"  place:   {meeting.terms.place or ''}")
    if meeting.terms.id != meeting.id:
        echo(f"  terms:   countered by {meeting.terms.id}")
    echo(f"  proposer {meeting.proposer}; answers: {_answers(meeting)}")
    for party, people in meeting.participants.items():
        names = "; ".join(f"{name} ({role})" for name, role in people) or "(delegation not named)"
        echo(f"  {party}: {names}")
    echo("  agenda:")
    for number, item in enumerate(meeting.agenda, 1):
        cited = ", ".join(f"{r['kind']} {r['id']}" for r in item.get("references", []))
        echo(f"    {number}. {item.get('title')}" + (f" [{cited}]" if cited else ""))
    if meeting.reason:
        echo(f"  reason:  {meeting.reason}")
    if meeting.minutes is not None:
        minutes = meeting.minutes
        echo(f"  minutes {minutes.id} drafted by {minutes.drafted_by}, sha256 {minutes.sha256}")
        echo(f"    approved by: {', '.join(meeting.approvals) or 'nobody yet'} (of {', '.join(meeting.invited)})")
        for line in minutes.text.splitlines():
            echo(f"    | {line}")
        for decision in minutes.decisions:
            echo(f"    decision: {decision}")
    for action in items:
        state = "done" if action.is_done else f"open, due {action.due_text}"
        echo(f"  action {action.id} for {action.owner}: {action.title} ({state})")


@meeting_app.command("accept")
def accept_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    note: str | None = typer.Option(None, "--note", help="A note with the acceptance."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Accept the meeting's current terms (the proposal's, or the latest counter-proposal's).

    Example: riskline meeting accept 3f2a9c
    """
    from riskline.node.dialogue import accept

    with opened(node_dir) as node, guard():
        sent = accept(node, meeting_id, note=note)
    _sent(sent, "accepted")


@meeting_app.command("decline")
def decline_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    reason: str = typer.Option(..., "--reason", help="Why."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Decline the meeting's current terms, with a reason.

    Example: riskline meeting decline 3f2a9c --reason "No agreement in force on this channel."
    """
    from riskline.node.dialogue import decline

    with opened(node_dir) as node, guard():
        sent = decline(node, meeting_id, reason=reason)
    _sent(sent, "declined")


@meeting_app.command("counter")
def counter_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    reason: str = typer.Option(..., "--reason", help="Why another time, place or level."),
    start: str | None = typer.Option(None, "--start", help="Another start (ISO 8601; without a zone: the meeting's)."),
    end: str | None = typer.Option(None, "--end", help="Another end (default: same length)."),
    place: str | None = typer.Option(None, "--place", help="Another place."),
    level: str | None = typer.Option(None, "--level", help="Another level of contact."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Counter-propose another time, place or level; the other parties answer the new terms.

    Example: riskline meeting counter 3f2a9c --start 2027-03-11T10:00 --reason "Ambassador away on the 10th."
    """
    from riskline.node.dialogue import counter, find_meeting

    with opened(node_dir) as node, guard():
        zone = _zone(find_meeting(node, meeting_id).terms.timezone)
        sent = counter(
            node,
            meeting_id,
            reason=reason,
            start=_moment(start, zone, "--start") if start else None,
            end=_moment(end, zone, "--end") if end else None,
            place=place,
            level=level,
        )
    _sent(sent, "counter-proposed")


@meeting_app.command("cancel")
def cancel_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    reason: str = typer.Option(..., "--reason", help="Why."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Cancel a meeting this party proposed.

    Example: riskline meeting cancel 3f2a9c --reason "Postponed to the next quarter."
    """
    from riskline.node.dialogue import cancel

    with opened(node_dir) as node, guard():
        sent = cancel(node, meeting_id, reason=reason)
    _sent(sent, "cancelled")


@meeting_app.command("minutes")
def minutes_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    text: str | None = typer.Option(None, "--text", help="The minutes' text."),
    text_file: Path | None = typer.Option(None, "--file", help="Read the text from this file."),
    decision: list[str] = typer.Option([], "--decision", help="A decision taken (repeatable)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Draft the minutes of a confirmed meeting (drafting again supersedes them: earlier approvals lapse).

    Example: riskline meeting minutes 3f2a9c --text "Reviewed the 2016 incidents." --decision "Keep transponders on."
    """
    from riskline.node.dialogue import draft_minutes

    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except OSError as error:
            raise fail(f"--file: cannot read {text_file}: {error.strerror}") from None
    if not text:
        raise fail("--text: give the minutes' text (or --file)")
    with opened(node_dir) as node, guard():
        sent = draft_minutes(node, meeting_id, text=text, decisions=decision)
    _sent(sent, "minutes drafted")


@meeting_app.command("approve")
def approve_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    sha256: str | None = typer.Option(
        None, "--sha256", help="The hash of the minutes you read (meeting show); refused if the minutes changed."
    ),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Approve the current minutes: this party signs their SHA-256.

    Example: riskline meeting approve 3f2a9c --sha256 5be1c0…
    """
    from riskline.node.dialogue import approve_minutes

    with opened(node_dir) as node, guard():
        sent = approve_minutes(node, meeting_id, sha256=sha256)
    _sent(sent, "minutes approved")


@meeting_app.command("ics")
def ics_command(
    meeting_id: str = typer.Argument(..., metavar="ID", help="The meeting (id or prefix)."),
    output: Path = typer.Option(..., "-o", "--output", help="The .ics file to write."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Write one meeting (and its action items) as an iCalendar file (RFC 5545).

    Example: riskline meeting ics 3f2a9c -o council.ics
    """
    from riskline.node.dialogue import actions, find_meeting
    from riskline.node.ics import calendar

    with opened(node_dir) as node, guard():
        meeting = find_meeting(node, meeting_id)
        items = [item for item in actions(node, meeting.channel) if item.meeting == meeting.id]
    _write(output, calendar([meeting], items))
    typer.echo(f"wrote {output}: 1 meeting ({meeting.status}), {len(items)} action items")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise fail(f"-o: cannot write {path}: {error.strerror}") from None


def calendar_command(
    output: Path = typer.Option(..., "-o", "--output", help="The .ics file to write."),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Write every meeting (VEVENT) and action item (VTODO) as one iCalendar file (RFC 5545).

    Example: riskline calendar -o riskline.ics
    """
    from riskline.node.dialogue import actions, meetings
    from riskline.node.ics import calendar

    with opened(node_dir) as node, guard():
        found, items = meetings(node, channel), actions(node, channel)
    _write(output, calendar(found, items))
    typer.echo(f"wrote {output}: {len(found)} meetings, {len(items)} action items")


@action_app.command("add")
def action_add_command(
    title: str = typer.Argument(..., help="What is to be done."),
    owner: str = typer.Option(..., "--owner", help="The party that owes it, e.g. RU."),
    due: str = typer.Option(..., "--due", help="Due date, ISO 8601 (without a zone: UTC)."),
    meeting: str | None = typer.Option(None, "--meeting", help="The meeting that decided it (id or prefix)."),
    channel: str | None = typer.Option(None, "--channel", help="The channel (when not from a meeting)."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Open an action item for a party, due on a date; overdue, it escalates like an unanswered message.

    Example: riskline action add "Exchange duty officers' numbers" --owner RU --due 2027-04-01 --meeting 3f2a9c
    """
    from riskline.node.dialogue import raise_action

    due_text = _moment(due, ZoneInfo("UTC"), "--due")
    with opened(node_dir) as node, guard():
        sent = raise_action(node, channel=channel, title=title, owner=owner, due=due_text, meeting=meeting)
    _sent(sent, "action item opened")


@action_app.command("list")
def action_list_command(
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    only_open: bool = typer.Option(False, "--open", help="Only the open ones."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Action items with owner, due date and state; overdue ones stand out.

    Example: riskline action list --open
    """
    from riskline.node.dialogue import action_json, actions

    now = time.time()
    with opened(node_dir) as node, guard():
        items = [item for item in actions(node, channel) if not (only_open and item.is_done)]
    if as_json:
        for item in items:
            typer.echo(json.dumps(action_json(item), ensure_ascii=False))
        return
    table = Table(title=f"action items ({len(items)})", title_justify="left")
    for column in ("id", "channel", "owner", "due", "state", "title"):
        table.add_column(column)
    for item in items:
        if item.is_done:
            state = "done"
        elif item.is_overdue(now):
            state = "[bold red]overdue[/]"
        else:
            state = "open"
        table.add_row(item.id, item.channel, item.owner, item.due_text, state, item.title)
    wide_console().print(table)


@action_app.command("done")
def action_done_command(
    action_id: str = typer.Argument(..., metavar="ID", help="The action item (id or prefix)."),
    note: str = typer.Option(..., "--note", help="What was done."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """Record an action item this party owns as done.

    Example: riskline action done 7c01aa --note "Numbers exchanged by diplomatic note."
    """
    from riskline.node.dialogue import action_done

    with opened(node_dir) as node, guard():
        sent = action_done(node, action_id, note=note)
    _sent(sent, "action item done")


@forum_app.command("list")
def forum_list_command(
    channel: str | None = typer.Option(None, "--channel", help="Only this channel."),
    node_dir: Path | None = NODE_DIR,
    as_json: bool = JSON_OUT,
) -> None:
    """Each forum with its cadence, last meeting and when it is next due; warns when one is due unproposed.

    Example: riskline forum list --channel NRC
    """
    from riskline.node.dialogue import forum_status

    now = time.time()
    with opened(node_dir) as node, guard():
        rows = forum_status(node, now=now, channel=channel)
    if as_json:
        for channel_id, due in rows:
            typer.echo(json.dumps({
                "channel": channel_id, "forum": due.forum.id, "name": due.forum.name, "level": str(due.forum.level),
                "cadence_days": due.forum.cadence_days, "last": None if due.last is None else due.last.id,
                "next_due": to_iso(due.next_due), "upcoming": None if due.upcoming is None else due.upcoming.id,
                "warning": due.warning,
            }, ensure_ascii=False))  # fmt: skip
        return
    if not rows:
        typer.echo("no forums declared (add [[channel.forums]] tables to node.toml)")
        return
    table = Table(title=f"forums ({len(rows)})", title_justify="left")
    for column in ("channel", "forum", "level", "every", "last met", "next due", "next meeting"):
        table.add_column(column)
    for channel_id, due in rows:
        upcoming = due.upcoming
        table.add_row(
            channel_id, f"{due.forum.name} ({due.forum.id})", str(due.forum.level), f"{due.forum.cadence_days:g} d",
            "never" if due.last is None else due.last.terms.start_text[:10],
            "now" if due.next_due <= now else to_iso(due.next_due)[:10],
            "none proposed" if upcoming is None else f"{upcoming.terms.start_text[:16]} ({upcoming.status})",
        )  # fmt: skip
    wide_console().print(table)
    for _, due in rows:
        if due.warning:
            typer.echo(f"warning: {due.warning}", err=True)
