"""Incident → report: the ``incident_report`` of a stored incident, built, signed and queued in one call.

``report_incident`` is the one place that turns an incident the watch stored in the node's database into the
message the other party receives (issue 6, part 1); ``riskline incident report``, the demo and the dashboard
all call it. The body carries every field of the ``riskline watch --json`` contract
(``riskline.incidents.report.encounter_json``), the rule's source and its mark ([V] verified, [S] sourced,
[U] unverified: REGIMES.md), the sender's incident id, both evidence segments and the separation series in SI
units; the plot (``incidents.plot``) goes along as an attachment, by hash, that each receiver fetches
(``node.attachments``).

A report without evidence is never sent silently: an incident stored with no fixes for one of its platforms
is refused (``EmptyEvidence``) unless the caller says to send it anyway, and then the narrative says so and no
plot is attached. A second report of the same incident on the same channel is refused (``AlreadyReported``)
unless asked for. The message and the record of which incident it reports are committed in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskline.channel.envelope import Attachment, Author
from riskline.channel.messages import ContactLevel, MessageType
from riskline.incidents.model import Encounter
from riskline.incidents.plot import render_incident_png, rule_threshold_m
from riskline.incidents.report import encounter_json
from riskline.node.attachments import keep_attachment
from riskline.node.errors import NodeError
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, Sent, send_in
from riskline.storage import report_store
from riskline.storage.watch_store import StoredIncident, WatchStore, evidence_from_json, evidence_to_json
from riskline.timeutil import parse_time, to_iso

MARKS = ("V", "S", "U")


class EmptyEvidence(NodeError):
    """The incident has no track evidence to send; nothing was sent (the caller may send it without)."""

    exit_code = 2
    http_status = 422


class AlreadyReported(NodeError):
    """The incident was already reported on that channel; nothing was sent (the caller may send it again)."""

    exit_code = 2
    http_status = 409


@dataclass(frozen=True, slots=True)
class IncidentReport:
    """An incident report signed, logged and queued for the channel's other parties."""

    incident_id: int
    sent: Sent
    plot: Attachment | None
    """None when sent without evidence."""
    fixes_a: int
    fixes_b: int
    separation_samples: int


@dataclass(frozen=True, slots=True)
class EvidenceSize:
    """How much evidence an encounter holds."""

    fixes_a: int
    fixes_b: int | None
    """None for single-platform rules (no second track)."""
    separation_samples: int

    @property
    def empty(self) -> bool:
        """True when a track has no fix, or two tracks were never seen at the same time."""
        if self.fixes_a == 0:
            return True
        return self.fixes_b is not None and (self.fixes_b == 0 or self.separation_samples == 0)


def evidence_size(encounter: Encounter) -> EvidenceSize:
    evidence = encounter.evidence
    if evidence is None:
        two = not encounter.b.startswith("territory:")
        return EvidenceSize(0, 0 if two else None, 0)
    return EvidenceSize(
        len(evidence.segment_a),
        None if evidence.segment_b is None else len(evidence.segment_b),
        len(evidence.separation_t),
    )


def default_narrative(encounter: Encounter) -> str:
    """One factual sentence an operator can send as it is (and usually adds to)."""
    state = "occurred" if encounter.occurred else "was predicted but did not occur"
    vertical = "" if encounter.min_vertical_m is None else f", {encounter.min_vertical_m:.0f} m vertically"
    return (
        f"{encounter.rule.replace('_', ' ')} ({encounter.severity}) between {encounter.a} ({encounter.party_a}) and "
        f"{encounter.b} ({encounter.party_b}) {state}: closest {encounter.min_horizontal_m:,.1f} m horizontally"
        f"{vertical} at {to_iso(encounter.t_cpa)}, near {encounter.lat:.4f}, {encounter.lon:.4f}."
    )


def incident_report_body(stored: StoredIncident, *, narrative: str | None = None, with_evidence: bool = True,
                         threshold_m: float | None = None) -> dict[str, Any]:
    """The ``incident_report`` body of a stored incident (before the channel checks it)."""
    encounter = stored.encounter
    source = encounter.details.get("source")
    mark = encounter.details.get("mark")
    text = narrative if narrative is not None and narrative.strip() else default_narrative(encounter)
    evidence = encounter.evidence if with_evidence else None
    if not with_evidence:
        text += " No track evidence was recorded for this incident; no plot is attached."
    return {
        "incident": encounter_json(encounter),
        "evidence": None if evidence is None else evidence_to_json(evidence, f"incident {stored.id}"),
        "rule_source": None if source is None else str(source),
        "rule_mark": mark if mark in MARKS else None,
        "incident_id": stored.id,
        "threshold_m": threshold_m,
        "narrative": text,
    }


def encounter_from_report(body: Mapping[str, Any]) -> Encounter:
    """The encounter an ``incident_report`` body describes, with the evidence it carries (the receiver's view).

    The body is one the channel has checked (``validate_body``), so its fields are present and well typed.
    """
    incident = body["incident"]

    def seconds(key: str) -> float:
        return parse_time(str(incident[key]))

    evidence = body.get("evidence")
    details: dict[str, object] = {}
    for key, name in (("rule_source", "source"), ("rule_mark", "mark"), ("threshold_m", "threshold_m")):
        if body.get(key) is not None:
            details[name] = body[key]
    return Encounter(
        rule=str(incident["rule"]),
        severity=str(incident["severity"]),
        a=str(incident["a"]),
        b=str(incident["b"]),
        party_a=str(incident["party_a"]),
        party_b=str(incident["party_b"]),
        occurred=bool(incident["occurred"]),
        start=seconds("start"),
        end=seconds("end"),
        t_cpa=seconds("t_cpa"),
        min_distance_m=float(incident["min_distance_m"]),
        min_horizontal_m=float(incident["min_horizontal_m"]),
        min_vertical_m=None if incident["min_vertical_m"] is None else float(incident["min_vertical_m"]),
        first_alert=None if incident["first_alert"] is None else seconds("first_alert"),
        lat=float(incident["lat"]),
        lon=float(incident["lon"]),
        details=details,
        evidence=None if evidence is None else evidence_from_json(evidence),
    )


def report_incident(
    node: LocalNode,
    incident_id: int,
    *,
    channel: str,
    narrative: str | None = None,
    level: ContactLevel | str | None = None,
    author: Author | None = None,
    without_evidence: bool = False,
    again: bool = False,
    plot_png: bytes | None = None,
) -> IncidentReport:
    """Report the stored incident ``incident_id`` of ``node``'s database on ``channel``: sign, log and queue it.

    Raises ``IncidentNotFound`` (no such incident), ``EmptyEvidence`` (no fixes; ``without_evidence`` sends it
    anyway, saying so), ``AlreadyReported`` (``again`` sends a second report), and the channel's own errors
    (``UnknownChannel``, ``InvalidField`` for a level the channel does not allow, …) — all before anything is
    signed or stored. ``plot_png``: the plot already drawn (``render_incident_png``), e.g. drawn ahead of a burst
    of reports so that they go out together; None draws it here.
    """
    watch_store = WatchStore(node.database)
    stored = watch_store.get_incident(incident_id)
    encounter = stored.encounter
    size = evidence_size(encounter)
    if size.empty and not without_evidence:
        second = "" if size.fixes_b is None else f", {encounter.b}: {size.fixes_b} fixes"
        raise EmptyEvidence(
            f"incident {incident_id} has no track evidence ({encounter.a}: {size.fixes_a} fixes{second}); "
            "nothing sent — report it with --without-evidence to send it anyway"
        )
    node.reload_config().channel(channel)  # UnknownChannel before the plot is drawn
    with node.reading() as connection:
        earlier = [r for r in report_store.reports_of_incident(connection, incident_id) if r.channel == channel]
    if earlier and not again:
        raise AlreadyReported(
            f"incident {incident_id} was already reported on {channel} (message {earlier[-1].envelope_id[:12]}); "
            "add --again to send another report"
        )
    send_evidence = not size.empty
    run = next((r for r in watch_store.runs() if r.id == stored.run_id), None)
    threshold = rule_threshold_m(encounter, run.options if run else {})
    body = incident_report_body(stored, narrative=narrative, with_evidence=send_evidence, threshold_m=threshold)
    plot: Attachment | None = None
    if send_evidence:
        png = plot_png if plot_png is not None else render_incident_png(encounter, threshold_m=threshold)
        plot = keep_attachment(node, f"incident-{incident_id}.png", png, "image/png")
    outgoing = Outgoing(
        MessageType.INCIDENT_REPORT,
        channel,
        body,
        level=level,
        author=author,
        attachments=() if plot is None else (plot,),
    )
    with node.writing() as connection:
        sent = send_in(node, connection, outgoing)
        report_store.record_incident_report(
            connection, report_store.IncidentReportRow(incident_id, sent.envelope.id, channel, node.clock())
        )
    return IncidentReport(
        incident_id=incident_id,
        sent=sent,
        plot=plot,
        fixes_a=size.fixes_a,
        fixes_b=size.fixes_b or 0,
        separation_samples=size.separation_samples,
    )
