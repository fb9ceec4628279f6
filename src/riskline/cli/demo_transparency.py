"""The demo's transparency act: RU notifies an exercise; EE's watch sees activity outside the declared area and
RU's gunnery warning ahead of its own patrol vessel; EE asks the Chapter III question with the evidence; RU
clarifies in time (docs/transparency.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from riskline.channel.envelope import Author
from riskline.channel.messages import MessageType
from riskline.detection.rulebook import load_rulebook
from riskline.ingest.sources import read_path
from riskline.node.messaging import Outgoing
from riskline.node.transparency import ask, send_notification, stored_notifications
from riskline.scenarios.exercise import exercise_scenario
from riskline.storage import channel_store as store
from riskline.storage import transparency_store
from riskline.storage.watch_run import RecordedRun
from riskline.timeutil import to_iso
from riskline.transparency.activity import parse_notification
from riskline.transparency.check import check_notification
from riskline.transparency.compare import compare
from riskline.transparency.hazard import notice_from_navarea
from riskline.transparency.navarea import parse_navarea
from riskline.transparency.plot import render_finding_png
from riskline.transparency.regime import load_regime
from riskline.watch import Watch

if TYPE_CHECKING:
    from riskline.cli.demo import Story

DAY_S = 86_400.0
ASK_DEADLINE_S = 300.0
"""[s] the Chapter III request's deadline in the demo (48 h in the regime): long enough for RU to answer on a
busy machine, so the act shows an answer in time rather than a race with the escalation."""


def exercise_act(story: Story, officers: Mapping[str, Author]) -> None:
    """Play the act on the running nodes of ``story``."""
    assert story.harness is not None
    now = time.time()
    start = now - now % DAY_S + 50 * DAY_S + 6 * 3600.0  # [s] 06:00 UTC, 50 days ahead
    made = exercise_scenario(story.base / "exercise", start=start)
    data = json.loads(made.notification_path.read_text(encoding="utf-8"))
    data["notified"] = to_iso(now)
    notification = parse_notification(data)
    with story.node("RU") as ru:
        sent = send_notification(ru, notification, "RU-EE", author=officers["RU"])
    verdict = check_notification(notification, load_regime())
    warnings = "; ".join(w.detail for w in verdict.warnings) or "none"
    story.say("RU", f"notifies exercise [bold]{notification.designation}[/bold] (Vienna Document ch. V), "
                    f"{to_iso(notification.start)[:10]}–{to_iso(notification.end)[:10]}, "
                    f"{notification.count('naval_vessels')} ships, {notification.count('troops'):,} troops "
                    f"({sent.envelope.id[:8]})")
    story.say("check", f"regime check: obligations {', '.join(verdict.kinds('obligations')) or 'none'}; "
                       f"breaches {', '.join(verdict.kinds('breaches')) or 'none'}; warning: {warnings}")
    text = made.navarea_path.read_text(encoding="utf-8")
    notice = story.send("RU", Outgoing(MessageType.HAZARD_NOTICE, "RU-EE", notice_from_navarea(parse_navarea(text),
                                                                                                text)))
    story.say("RU", f"gunnery warning {parse_navarea(text).identifier} sent as a hazard notice "
                    f"({notice.envelope.id[:8]})")
    story.find("EE", lambda m: m.id == notice.envelope.id, what="the hazard notice at EE")
    story.find("EE", lambda m: m.id == sent.envelope.id, what="the notification at EE")

    with story.node("EE") as ee, ee.database.read() as connection:
        received = transparency_store.notices(connection, ("hazard_notice",), direction="in")
    hazards = [{"party": n.party, "issued": n.created, "notice": n.body} for n in received if not n.body.get("cancels")]
    hazards_path = made.hazards_path
    hazards_path.write_text(json.dumps(hazards, indent=2) + "\n", encoding="utf-8")
    watch = Watch(load_rulebook(overrides=[f"hazard_area_entry.notices={hazards_path}"]))
    with story.node("EE") as ee:  # the node's own connection: it seals what the run writes
        run = RecordedRun(ee.database, [str(made.table_path)], watch)
        try:
            for observation in read_path(made.table_path, run.outcome.stats):
                run.record(watch.feed(observation))
            run.record(watch.finish())
        finally:
            run.close()
    story.say("watch", f"EE's watch replays the exercise day ({len(made.scenario.observations):,} reports; RU ships "
                       "and real aircraft tracks relocated into the area, and a second group off Gotland)")
    for encounter in run.outcome.encounters:
        if encounter.rule == "hazard_area_entry" and encounter.lead_time_s is not None:
            story.console.print(f"          · {encounter.a} predicted to enter {encounter.b.removeprefix('hazard:')} "
                                f"{encounter.lead_time_s / 60:.0f} min ahead (notice given "
                                f"{encounter.details.get('notice_lead_days')} days ahead)")

    with story.node("EE") as ee:
        declared = [n for _, _, _, n in stored_notifications(ee)]
        observed = transparency_store.load_activity(ee.database)
        result = compare(observed, declared, start=made.scenario.start, end=made.scenario.end + 1.0)
        pngs = [render_finding_png(f, observed, declared) for f in result.findings]
        ids = transparency_store.save_findings(ee.database, result.findings, pngs, time.time())
    for account in result.accounted:
        story.console.print(f"          · accounted for by {account.designation}: {account.sea_platforms} ships "
                            f"(declared {account.declared_vessels}), {account.sorties} sorties "
                            f"(declared {account.declared_sorties})")
    undeclared = [(i, f) for i, f in zip(ids, result.findings, strict=True) if f.kind == "undeclared_activity"]
    if not undeclared:
        story.say("check", "no undeclared activity found")
        return
    finding_id, finding = undeclared[0]
    story.say("watch", f"finding {finding_id}: [bold]undeclared_activity[/bold] {finding.party}, {finding.platforms} "
                       f"platforms near {finding.lat:.2f}N {finding.lon:.2f}E for "
                       f"{(finding.end - finding.start) / 3600:.1f} h, outside every declared area")
    with story.node("EE") as ee:
        request = ask(ee, ee.database, finding_id, "RU-EE", author=officers["EE"], deadline_span=ASK_DEADLINE_S)
    story.say("EE", f"Chapter III request for clarification, evidence attached (map and counts), "
                    f"reply due in 48 h (here {ASK_DEADLINE_S / 60:.0f} min) ({request.envelope.id[:8]})")
    story.find("RU", lambda m: m.id == request.envelope.id, what="the Chapter III request at RU")
    answer = story.send("RU", Outgoing(MessageType.CLARIFICATION, None, {
        "answers": [f"A readiness check of a second Baltic Fleet group, {finding.platforms} platforms, on the "
                    f"same day as {notification.designation}; below every notification threshold."],
        "references": [request.envelope.id],
    }, author=officers["RU"], in_reply_to=request.envelope.id))
    story.find("EE", lambda m: m.id == answer.envelope.id, what="the clarification at EE")
    with story.node("EE") as ee, ee.database.read() as connection:
        asked = store.message(connection, request.envelope.id)
    in_time = asked is not None and asked.answered_at is not None and asked.deadline is not None and (
        asked.answered_at <= asked.deadline
    )
    story.say("RU", f"clarifies {'within' if in_time else 'AFTER'} the deadline ({answer.envelope.id[:8]})")
