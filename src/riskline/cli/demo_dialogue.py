"""``riskline demo``, the nodes and the last act: from the escalation to the minutes both sides signed.

``demo_cluster`` starts the demo's three national nodes (``riskline.node.cluster.LocalCluster``: real server
processes, pinned before they start, waited for by events). The channels are those of the seeds: the bilateral
RU-EE (no agreement in force, ELN 2016) and the NATO–Russia Council NRC (RU, EE, US), whose config declares its
recurring forums (REGIMES.md §7, "Meetings").

``dialogue_act`` continues after the escalation: the Council meeting the ladder proposed is accepted by every
invited party, EE drafts the minutes, every party approves their SHA-256, an action item is opened for RU and
closed by it; then the annual review of RU-EE is computed on RU's node and on EE's, and its headline figures are
printed side by side — equal, because both come from the same cosigned entries.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskline.channel.canonical import sha256_hex
from riskline.channel.meetings import Meeting, MeetingStatus
from riskline.channel.review import review_json
from riskline.node import dialogue
from riskline.node.cluster import LocalCluster, NodeSpec, ServerTiming
from riskline.node.dialogue import Proposal
from riskline.node.review import headline, review_of
from riskline.storage import channel_store as store
from riskline.timeutil import to_iso

if TYPE_CHECKING:
    from riskline.cli.demo import Story

DEMO_DEADLINES = {"incident_report": 12.0, "request_for_clarification": 12.0, "meeting_proposal": 600.0}
"""[s] shortened response deadlines, so the escalation ladder plays out within the demo."""
DEMO_TIMING = ServerTiming(delivery_interval=0.1, escalation_interval=0.5, retry_base=0.2, retry_cap=2.0)


def bilateral_table() -> dict[str, Any]:
    return {
        "id": "RU-EE", "kind": "bilateral", "members": ["RU", "EE"], "agreements": [], "rulebook": "default",
        "levels": ["duty_officer", "military_commander", "charge_d_affaires", "ambassador"],
        "languages": ["en", "ru", "et"], "council": "NRC", "deadlines": dict(DEMO_DEADLINES),
        "escalation_min_step_s": 1.0,
    }  # fmt: skip


def council_table() -> dict[str, Any]:
    return {
        "id": "NRC", "kind": "collective", "members": ["RU", "EE", "US"],
        "agreements": ["NATO–Russia Founding Act 1997"],
        "levels": ["expert", "duty_officer", "military_commander", "military_representative", "chief_of_defence",
                   "ambassador", "foreign_minister"],
        "languages": ["en", "ru"], "deadlines": dict(DEMO_DEADLINES), "escalation_min_step_s": 1.0,
        "forums": [
            {"id": "nrc-ambassadors", "name": "NRC ambassadors", "level": "ambassador", "cadence_days": 120,
             "lead_days": 30, "place": "NATO HQ, Brussels", "timezone": "Europe/Brussels"},
            {"id": "nrc-military-experts", "name": "NRC military experts", "level": "expert", "cadence_days": 180,
             "lead_days": 30, "place": "NATO HQ, Brussels", "timezone": "Europe/Brussels"},
        ],
    }  # fmt: skip


def demo_cluster(base: Path, *, tls: bool) -> LocalCluster:
    specs = [
        NodeSpec("RU", "ru-nmdc", "Russian National Defence Management Centre", (bilateral_table(), council_table())),
        NodeSpec("EE", "ee-mod", "Estonian Defence Forces ops", (bilateral_table(), council_table())),
        NodeSpec("US", "us-eucom", "US EUCOM operations centre", (council_table(),)),
    ]
    return LocalCluster(base, specs, tls=tls, timing=DEMO_TIMING)


def _meeting_at(story: Story, party: str, meeting_id: str) -> Meeting | None:
    with story.node(party) as node:
        return next((m for m in dialogue.meetings(node, "NRC") if m.id == meeting_id), None)


def _reach(story: Story, meeting_id: str, status: MeetingStatus, parties: tuple[str, ...] = ("RU", "EE", "US")) -> None:
    assert story.harness is not None
    for party in parties:

        def reached(party: str = party) -> bool:
            found = _meeting_at(story, party, meeting_id)
            return found is not None and found.status is status

        story.harness.wait_for(party, reached, what=f"meeting {meeting_id[:8]} {status}")


def _council_meeting(story: Story) -> str:
    """The meeting the escalation proposed on the Council channel, or a new one EE proposes."""
    with story.node("EE") as node:
        proposed = [m for m in dialogue.meetings(node, "NRC") if m.status is MeetingStatus.PROPOSED]
    if proposed:
        meeting = proposed[0]
        story.say("EE", f"the Council meeting proposed by the ladder ({meeting.id[:8]}): {meeting.terms.level}, "
                        f"{meeting.terms.start_text}, agenda: {meeting.agenda[0].get('title')}")  # fmt: skip
        return meeting.id
    start = time.time() + 2 * 86_400.0
    with story.node("EE") as node:
        sent = dialogue.propose(node, Proposal(
            channel="NRC", forum="nrc-ambassadors", level="ambassador", start=to_iso(start),
            end=to_iso(start + 7_200.0), place="NATO HQ, Brussels", timezone="Europe/Brussels",
            agenda=[{"title": "Air safety over the Baltic"}],
        ))  # fmt: skip
    story.say("EE", f"proposes an NRC ambassadors' meeting ({sent.envelope.id[:8]})")
    return sent.envelope.id


def dialogue_act(story: Story) -> None:
    """Council meeting → acceptances → minutes → approvals → action item → the review from two nodes."""
    assert story.harness is not None
    story.console.rule("[bold]the Council meets")
    meeting_id = _council_meeting(story)
    _reach(story, meeting_id, MeetingStatus.PROPOSED)
    for party in ("RU", "US"):
        with story.node(party) as node:
            sent = dialogue.accept(node, meeting_id, note="We will attend.")
        story.say(party, f"accepts the meeting ({sent.envelope.id[:8]})")
    _reach(story, meeting_id, MeetingStatus.CONFIRMED)
    story.say("check", "every invited party accepted: [bold]confirmed[/bold] on all three nodes (derived from the log)")
    with story.node("EE") as node:
        minutes = dialogue.draft_minutes(node, meeting_id, text=(
            "The Council reviewed the Il-20 flight with its transponder off near the Estonian FIR and the "
            "unanswered incident report. Russia explained the flight as routine reconnaissance."
        ), decisions=["Russia answers the EE report within a week.", "Transponders on in the Baltic, as proposed "
                      "on 1 July 2016, to be discussed by military experts."])  # fmt: skip
    story.say("EE", f"drafts the minutes ({minutes.envelope.id[:8]})")
    _reach(story, meeting_id, MeetingStatus.HELD)
    for party in ("RU", "EE", "US"):
        with story.node(party) as node:
            approval = dialogue.approve_minutes(node, meeting_id)
        story.say(party, f"approves the minutes: signs sha256 {approval.envelope.envelope.body['sha256'][:16]}…")
    _reach(story, meeting_id, MeetingStatus.MINUTES_APPROVED)
    story.say("check", "minutes approved by RU, EE and US — an edit now would void the approvals")
    with story.node("EE") as node:
        item = dialogue.raise_action(node, channel=None, meeting=meeting_id, owner="RU",
                                     title="Answer the non-cooperative aircraft report", due=to_iso(time.time() + 7 * 86_400.0))  # fmt: skip  # noqa: E501
    story.say("EE", f"action item for RU, due in 7 days ({item.envelope.id[:8]})")
    story.harness.wait_for("RU", lambda: _has(story, "RU", item.envelope.id), what="the action item at RU")
    with story.node("RU") as node:
        done = dialogue.action_done(node, item.envelope.id, note="Answered by note verbale.")
    story.say("RU", f"action item done ({done.envelope.id[:8]})")
    _next_forum(story)
    review_side_by_side(story)


def _next_forum(story: Story) -> None:
    """The US proposes the Council's military experts' forum, its agenda citing the US intercept report by id."""
    report = story.reports.get("air_intercept")
    references = [] if report is None else [{"kind": "incident", "id": report.envelope.id}]
    start = time.time() + 30 * 86_400.0
    with story.node("US") as node:
        sent = dialogue.propose(node, Proposal(
            channel="NRC", forum="nrc-military-experts", level="expert", start=to_iso(start),
            end=to_iso(start + 3 * 3_600.0), place="NATO HQ, Brussels", timezone="Europe/Brussels",
            participants={"RU": [{"name": "Col. I. Petrov", "role": "air force expert"}],
                          "EE": [{"name": "Lt Col M. Kask", "role": "air surveillance"}],
                          "US": [{"name": "Lt Col R. Hayes", "role": "head of delegation"}]},
            agenda=[{"title": "Intercepts over the Baltic; transponders on", "references": references}],
        ))  # fmt: skip
    story.say("US", f"proposes the NRC military experts' forum in 30 days, agenda citing its intercept report "
                    f"({sent.envelope.id[:8]})")  # fmt: skip


def _has(story: Story, party: str, envelope_id: str) -> bool:
    with story.node(party) as node, node.database.read() as connection:
        return store.message(connection, envelope_id) is not None


def _quiet(story: Story, party: str, channel: str) -> bool:
    with story.node(party) as node, node.database.read() as connection:
        return all(row.state == "delivered" for row in store.outbox_rows(connection) if row.channel == channel)


def _reviews(story: Story, channel: str, parties: tuple[str, ...], year: int) -> dict[str, dict[str, Any]]:
    """The review of ``channel`` on each party's node, once every delivery on it is receipted (a few tries while
    the servers' escalation passes may still add an entry)."""
    assert story.harness is not None
    reviews: dict[str, dict[str, Any]] = {}
    for _attempt in range(5):
        for party in parties:
            story.harness.wait_for(party, lambda p=party: _quiet(story, p, channel), what="every delivery")  # type: ignore[misc]
        for party in parties:
            with story.node(party) as node:
                reviews[party] = review_of(node, year, channel)
        if len({review_json(review) for review in reviews.values()}) == 1:
            break
    return reviews


def review_side_by_side(story: Story) -> None:
    """The review's headline figures computed on RU's node and on EE's, side by side; the Council's on all three."""
    year = time.gmtime().tm_year
    reviews = _reviews(story, "RU-EE", ("RU", "EE"), year)
    story.console.rule(f"[bold]annual review {year} of RU-EE, computed on each node")
    ru, ee = headline(reviews["RU"]), headline(reviews["EE"])
    width = max(len(name) for name in ru)
    story.console.print(f"  {'':{width}}  {'RU node':>18}  {'EE node':>18}")
    for name in ru:
        mark = "[green]=[/green]" if ru[name] == ee.get(name) else "[red]≠[/red]"
        story.console.print(f"  {name:{width}}  {ru[name]!s:>18}  {ee[name]!s:>18}  {mark}")
    _verdict(story, "RU-EE", reviews)
    council = _reviews(story, "NRC", ("RU", "EE", "US"), year)
    figures = headline(council["US"])
    story.say("check", f"NRC review: {figures['incidents']} incidents, {figures['meetings']} meeting, action items "
                       f"closed {figures['action items closed']}, {figures['escalations']} escalations")  # fmt: skip
    _verdict(story, "NRC", council)


def _verdict(story: Story, channel: str, reviews: dict[str, dict[str, Any]]) -> None:
    documents = {party: review_json(review) for party, review in reviews.items()}
    same = len(set(documents.values())) == 1
    digest = sha256_hex(next(iter(documents.values())))[:16]
    verdict = "[green]byte for byte the same[/green]" if same else "[red]DIFFERENT[/red]"
    story.say("check", f"{channel} review JSON {verdict} on {', '.join(documents)} (sha256 {digest}…)")


def inspect_commands(cluster: LocalCluster) -> list[str]:
    """The dialogue commands worth trying on the nodes the demo leaves behind."""
    ee, us = cluster["EE"].root, cluster["US"].root
    year = time.gmtime().tm_year
    return [
        f"riskline meeting list --node {us}",
        f"riskline forum list --node {ee}",
        f"riskline calendar -o council.ics --node {us}",
        f"riskline review --year {year} --channel RU-EE -o review-{year}.html --node {ee}",
    ]
