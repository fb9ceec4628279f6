"""``riskline incident list|show|plot|report``: look at what the watch stored, and report it to the other party.

The incidents live in a database: ``--db FILE`` (the watch's own, ``riskline.db`` by default) or a node's
(``--node DIR``: ``riskline watch --node DIR`` stores them there, and ``incident report`` sends them from there).
``incident plot --message ID`` draws, on the receiving node, the incident a report carried.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from riskline.cli.node_common import delivery_hint, fail, guard, opened
from riskline.cli.options import JSON, table_console
from riskline.incidents.model import Encounter
from riskline.incidents.plot import render_incident_png, rule_threshold_m
from riskline.incidents.report import encounter_json
from riskline.node.config import load_config
from riskline.node.errors import NodeNotFound
from riskline.node.layout import NodePaths
from riskline.storage import report_store
from riskline.storage.engine import Database, hide_password, open_database
from riskline.storage.watch_store import WatchStore
from riskline.timeutil import to_iso

incident_app = typer.Typer(
    help="Incidents stored by the watch: list, show, plot, and report them to the other party.\n\n"
    "Example: riskline incident list --node ./ee-node",
    no_args_is_help=True,
)

DB_FILE = typer.Option(
    None,
    "--db",
    metavar="FILE|URL",
    help="The watch's database: SQLite file (default riskline.db) or a SQLAlchemy URL (postgresql://…).",
)
NODE = typer.Option(None, "--node", help="Node directory: its database instead of --db.", file_okay=False)


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")


@contextmanager
def incident_database(db: str | None, node: Path | None) -> Iterator[Database]:
    """The database of ``--node`` or of ``--db`` (one of them; riskline.db when neither), closed afterwards."""
    if db is not None and node is not None:
        raise fail("give --db or --node, not both")
    with guard():
        if node is not None:
            paths = NodePaths(node)
            if not paths.exists():
                raise NodeNotFound(f"no node at {node} (run `riskline node init --party XX --name ...` first)")
            database = open_database(load_config(paths.config).database or paths.database, create=False)
        else:
            database = open_database(db or "riskline.db", create=False)
        try:
            yield database
        finally:
            database.close()


@incident_app.command("list")
def list_incidents(
    db: str | None = DB_FILE,
    node: Path | None = NODE,
    rule: str | None = typer.Option(None, "--rule", help="Only this rule."),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = JSON,
) -> None:
    """List stored incidents, newest first; --json prints one object per line (the watch --json contract and id).

    Example: riskline incident list --rule air_intercept --node ./ee-node
    """
    with incident_database(db, node) as database, guard():
        stored = WatchStore(database).list_incidents(rule=rule, limit=limit)
        reported = _reported_on(database, [item.id for item in stored])
    if as_json:
        for item in stored:
            sys.stdout.write(json.dumps({"id": item.id, **encounter_json(item.encounter)}) + "\n")
        sys.stdout.flush()
        return
    where = f"node {node}" if node is not None else hide_password(db or "riskline.db")
    table = Table(title=f"incidents in {where}", title_justify="left")
    columns = ("id", "rule", "severity", "a", "b", "parties", "occurred", "start (UTC)", "min dist [m]", "lead [s]",
               "reported on")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for item in stored:
        e = item.encounter
        lead = "" if e.lead_time_s is None else f"{e.lead_time_s:.0f}"
        start = to_iso(e.start)[:19].replace("T", " ")
        occurred = "yes" if e.occurred else "predicted"
        table.add_row(str(item.id), e.rule, e.severity, e.a, e.b, f"{e.party_a}–{e.party_b}", occurred, start,
                      f"{e.min_distance_m:.1f}", lead, ", ".join(reported.get(item.id, [])))
    table_console().print(table)


def _reported_on(database: Database, ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    with database.read() as connection:
        for incident_id in ids:
            channels = sorted({r.channel for r in report_store.reports_of_incident(connection, incident_id)})
            if channels:
                result[incident_id] = channels
    return result


@incident_app.command("show")
def show(incident_id: int = typer.Argument(..., metavar="ID"), db: str | None = DB_FILE,
         node: Path | None = NODE) -> None:
    """Print one incident as JSON, with its rule's source, the size of its evidence and where it was reported.

    Example: riskline incident show 3 --node ./ee-node
    """
    with incident_database(db, node) as database, guard():
        item = WatchStore(database).get_incident(incident_id)
        with database.read() as connection:
            reports = report_store.reports_of_incident(connection, incident_id)
    e = item.encounter
    evidence = e.evidence
    document = {
        "id": item.id,
        **encounter_json(e),
        "lead_time_s": e.lead_time_s,
        "details": e.details,
        "evidence": None if evidence is None else {
            "fixes_a": len(evidence.segment_a),
            "fixes_b": 0 if evidence.segment_b is None else len(evidence.segment_b),
            "separation_samples": len(evidence.separation_t),
        },
        "reports": [{"message": r.envelope_id, "channel": r.channel, "reported": to_iso(r.reported)} for r in reports],
    }
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@incident_app.command("plot")
def plot(
    incident_id: int | None = typer.Argument(None, metavar="[ID]", help="A stored incident (or give --message)."),
    output: Path = typer.Option(..., "-o", "--output", help="PNG file to write.", dir_okay=False),
    message: str | None = typer.Option(
        None, "--message", help="An incident_report received on --node: draw it from the evidence it carried."
    ),
    db: str | None = DB_FILE,
    node: Path | None = NODE,
) -> None:
    """Draw both tracks around the closest approach, and the separation over time.

    Example: riskline incident plot --message 3f2a9c --node ./ru-node -o reported.png
    """
    if (incident_id is None) == (message is None):
        raise fail("give an incident ID or --message MESSAGE_ID (not both)")
    if message is not None:
        png = _plot_received(message, node)
    else:
        assert incident_id is not None
        with incident_database(db, node) as database, guard():
            store = WatchStore(database)
            item = store.get_incident(incident_id)
            run = next((r for r in store.runs() if r.id == item.run_id), None)
        threshold = rule_threshold_m(item.encounter, run.options if run else {})
        png = render_incident_png(item.encounter, threshold_m=threshold)
    _write(output, png)
    typer.echo(f"wrote {output}")


def _write(output: Path, data: bytes) -> None:
    try:
        output.write_bytes(data)
    except OSError as error:
        raise fail(f"cannot write {output}: {error.strerror or error}") from None


def _plot_received(reference: str, node_dir: Path | None) -> bytes:
    from riskline.channel.envelope import SignedEnvelope
    from riskline.channel.messages import MessageType
    from riskline.node.attachments import attachment_path, attachment_states, fetch_now
    from riskline.node.messaging import resolve_message
    from riskline.node.reporting import encounter_from_report
    from riskline.storage import channel_store

    with opened(node_dir) as local:
        with local.reading() as connection:
            row = resolve_message(connection, reference)
            entry = channel_store.log_entry_by_envelope(connection, row.envelope_id)
        if row.type != MessageType.INCIDENT_REPORT:
            raise fail(f"message {row.envelope_id} is a {row.type}, not an incident_report")
        assert entry is not None
        envelope = SignedEnvelope.from_leaf(entry.data).envelope
        states = attachment_states(local, row.envelope_id)
        if any(state.state == "pending" for state in states):
            with guard():
                fetch_now(local)
            states = attachment_states(local, row.envelope_id)
        encounter = encounter_from_report(envelope.body)
        for state in states:
            if state.state == "fetched":
                typer.echo(f"attachment {state.name}: fetched from {state.peer}, SHA-256 checked — "
                           f"{attachment_path(local, state.sha256)}")
            else:
                reason = f" ({state.last_error})" if state.last_error else ""
                print(f"riskline: warning: attachment {state.name} (SHA-256 {state.sha256[:16]}…) is "
                      f"{state.state.upper().replace('_', ' ')}{reason}", file=sys.stderr)
        _warn_if_empty(encounter, row.envelope_id)
    threshold = encounter.details.get("threshold_m")
    return render_incident_png(encounter, threshold_m=float(threshold) if isinstance(threshold, int | float) else None)


def _warn_if_empty(encounter: Encounter, envelope_id: str) -> None:
    evidence = encounter.evidence
    if evidence is None or len(evidence.segment_a) == 0:
        print(f"riskline: warning: report {envelope_id} carries no track evidence; the plot shows none",
              file=sys.stderr)


@incident_app.command("report")
def report(
    incident_id: int = typer.Argument(..., metavar="ID", help="A stored incident of the node (incident list)."),
    channel: str = typer.Option(..., "--channel", help="Channel to report on, e.g. RU-EE."),
    narrative: str | None = typer.Option(None, "--narrative", help="What the operator says (default: the facts)."),
    level: str | None = typer.Option(None, "--level", help="Level of contact (default: the channel's lowest)."),
    without_evidence: bool = typer.Option(
        False, "--without-evidence", help="Send it even though no track evidence was recorded (the report says so)."
    ),
    again: bool = typer.Option(False, "--again", help="Send a second report of an incident already reported there."),
    node: Path | None = typer.Option(None, "--node", help="Node directory (default: $RISKLINE_NODE, ./riskline-node)."),
    as_json: bool = JSON,
) -> None:
    """Report a stored incident to the channel's other parties: signed, logged, queued, with its plot attached.

    Example: riskline incident report 8 --channel RU-EE --narrative "Su-27 passed 6 m from the RC-135." --node ./ee
    """
    from riskline.node.reporting import report_incident

    with opened(node) as local:
        with guard():
            done = report_incident(local, incident_id, channel=channel, narrative=narrative, level=level,
                                   without_evidence=without_evidence, again=again)
        hint = delivery_hint(local, done.sent.recipients)
    envelope = done.sent.envelope.envelope
    if as_json:
        typer.echo(json.dumps({
            "incident": incident_id, "message": envelope.id, "channel": envelope.channel, "level": str(envelope.level),
            "recipients": list(done.sent.recipients),
            "plot": None if done.plot is None else done.plot.to_wire(),
            "evidence": {"fixes_a": done.fixes_a, "fixes_b": done.fixes_b,
                         "separation_samples": done.separation_samples},
        }))
        return
    incident = envelope.body["incident"]
    typer.echo(f"incident {incident_id} ({incident['rule']}, {incident['severity']}) reported on {envelope.channel} "
               f"as incident_report {envelope.id} at level {envelope.level}")
    if done.plot is None:
        typer.echo("sent WITHOUT track evidence: the report says so; no plot attached")
    else:
        typer.echo(f"evidence: {done.fixes_a} + {done.fixes_b} fixes, {done.separation_samples} separation samples; "
                   f"plot {done.plot.name} ({done.plot.size:,} bytes, SHA-256 {done.plot.sha256[:16]}…) attached")
    typer.echo(hint)

