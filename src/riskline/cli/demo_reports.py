"""The demo's incident reports, sent the way an operator sends them: ``riskline.node.reporting.report_incident``.

Each report is made from an incident stored in the sending node's database, so the demo exercises the same
path as ``riskline watch --node`` followed by ``riskline incident report``: the body built from the stored
incident, its plot attached by hash and fetched by every receiver, and no report sent without evidence.
EE's watch stored its incidents in EE's node; the US, watching the same sky with its own sensors, stores the
ones it reports in its own node first.
"""

from __future__ import annotations

import time
from pathlib import Path

from riskline.channel.envelope import Author
from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Encounter
from riskline.incidents.plot import render_incident_png, rule_threshold_m
from riskline.node.attachments import attachment_states, read_attachment
from riskline.node.local import LocalNode
from riskline.node.reporting import IncidentReport, report_incident
from riskline.storage.watch_store import WatchStore


def stored_id(node: LocalNode, encounter: Encounter, table: Path) -> int:
    """The id of ``encounter`` in ``node``'s database, storing it (as a run of the node's own watch) if absent."""
    store = WatchStore(node.database)
    for stored in store.list_incidents(rule=encounter.rule, limit=1000):
        found = stored.encounter
        if (found.a, found.b, found.start, found.t_cpa) == (encounter.a, encounter.b, encounter.start, encounter.t_cpa):
            return stored.id
    run_id = store.begin_run([str(table)], {"source": "the demo: this party's own sensors"}, time.time())
    [incident_id] = store.save_encounters(run_id, [encounter])
    return incident_id


def draw(encounter: Encounter) -> bytes:
    """The plot, drawn before the reports go out (drawing takes seconds; the demo's deadlines are 12 s)."""
    return render_incident_png(encounter, threshold_m=_threshold(encounter))


def _threshold(encounter: Encounter) -> float | None:
    return rule_threshold_m(encounter, {"rulebook": load_rulebook().as_dict()})


def report_encounter(
    node: LocalNode, encounter: Encounter, *, channel: str, narrative: str, author: Author, table: Path, plots: Path,
    plot_png: bytes | None = None,
) -> IncidentReport:
    """Report ``encounter`` from ``node`` on ``channel``; a copy of the attached plot goes into ``plots``."""
    report = report_incident(
        node, stored_id(node, encounter, table), channel=channel, narrative=narrative, author=author,
        plot_png=plot_png,
    )
    if report.plot is not None:
        data = read_attachment(node, report.plot.sha256)
        if data is not None:
            (plots / f"{encounter.rule}.png").write_bytes(data)
    return report


def plots_fetched(node: LocalNode, envelope_ids: list[str]) -> bool:
    """True when ``node`` fetched and checked every attachment of these received messages."""
    for envelope_id in envelope_ids:
        states = attachment_states(node, envelope_id)
        if not states or any(state.state != "fetched" for state in states):
            return False
    return True
