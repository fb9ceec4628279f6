"""``riskline demo``: the whole system on one machine — three national nodes, the watch, the channel.

What happens (about two minutes):
1. Three nodes start on loopback as real server processes, each with its own keys, mutual TLS and SQLite
   (``riskline.node.cluster``: pinned to each other before they start; every wait is for an event):
   Russia (RU), Estonia (EE) and the United States (US). RU and EE share the bilateral channel RU-EE (no
   agreement in force: Russia and Estonia have none, ELN 2016); all three sit on the collective NATO–Russia
   Council channel NRC. The line is tested first (``link_test``, answered automatically).
2. EE's watch replays a Baltic scenario built from real data: reconstructed real incidents (2014–2016) among real
   air and sea traffic relocated into the Baltic. Each encounter is stored with its evidence and plot.
3. EE files incident reports to RU; the US files its own on the Council channel. RU answers some, only
   acknowledges one — which goes unanswered past its (shortened) deadline and escalates step by step, each
   step a signed, logged message, up to a meeting proposal to the Council.
4. RU gives notice of a hazardous activity (INCSEA, 3–5 days ahead); EE asks for clarification of unusual
   activity (Vienna Document ch. III) and RU answers.
5. The Council meeting the ladder proposed is accepted by all, minuted and approved by every party; an action
   item is opened and closed; the annual review of RU-EE is computed on both nodes, side by side, equal
   (``demo_dialogue.py``).
6. Every node's log is verified, and the nodes' directories are left for inspection.
Deadlines are shortened so that the escalation plays out in a minute; the rules are the real ones.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from riskline.channel.envelope import Author
from riskline.channel.messages import MessageType
from riskline.cli.demo_dialogue import DEMO_DEADLINES, demo_cluster, dialogue_act, inspect_commands
from riskline.cli.demo_reports import draw, plots_fetched, report_encounter
from riskline.cli.demo_transparency import exercise_act
from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Encounter
from riskline.ingest.sources import read_path
from riskline.node.audit import verify_node
from riskline.node.cluster import LocalCluster
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, Sent, send
from riskline.node.views import MessageView, inbox, outbox
from riskline.scenarios.baltic import demo_scenario
from riskline.storage import channel_store as store
from riskline.storage.watch_run import RecordedRun
from riskline.timeutil import to_iso
from riskline.tracks.attribution import Attributor
from riskline.tracks.fleet import Fleet
from riskline.watch import Watch

if TYPE_CHECKING:
    from riskline.cli.demo_dashboard import DemoDashboards

MARKER = ".riskline-demo"
__all__ = ["DEMO_DEADLINES", "demo"]
OFFICERS = {
    "RU": Author("Capt 2nd rank A. Sokolov", "duty_officer"),
    "EE": Author("Maj K. Tamm", "duty_officer"),
    "US": Author("Cdr J. Miller", "duty_officer"),
}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    directory: Path = typer.Option(Path("riskline-demo"), "--dir", help="Where the nodes' directories are left."),
    tls: bool = typer.Option(True, "--tls/--no-tls", help="Mutual TLS between the nodes (plain HTTP on loopback)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the nodes and their dashboards up until Ctrl-C."),
) -> None:
    """Run the whole system: three national nodes, the watch on real-data-based traffic, reports, escalation.

    Example: riskline demo --dir /tmp/riskline-demo
    """
    from riskline.cli.demo_dashboard import demo_dashboards

    console = Console(highlight=False, soft_wrap=True)
    base = _prepare(directory)
    story = Story(console, base)
    started = time.monotonic()
    console.rule("[bold]riskline demo")
    console.print(f"Nodes go under [bold]{base}[/bold]; they are left there for inspection.\n")
    with demo_cluster(base, tls=tls) as harness, demo_dashboards(console, harness) as dashboards:
        story.harness = harness
        story.nodes_started()
        story.link_test()
        encounters = story.watch(dashboards)
        story.report(encounters)
        story.transparency()
        story.escalation()
        exercise_act(story, OFFICERS)
        dialogue_act(story)
        story.verify()
        if keep:
            dashboards.keep()
    console.rule(f"[bold]done in {time.monotonic() - started:.0f} s")
    story.inspect_hint()


def _prepare(directory: Path) -> Path:
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise typer.BadParameter(f"{directory} exists and was not made by riskline demo", param_hint="--dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by riskline demo; removed by the next run with the same --dir\n")
    return directory


@dataclass(slots=True)
class Story:
    console: Console
    base: Path
    harness: LocalCluster | None = None
    reports: dict[str, Sent] = field(default_factory=dict)

    # ------------------------------------------------------------------ helpers

    def say(self, who: str, text: str) -> None:
        colour = {"RU": "red", "EE": "blue", "US": "green", "watch": "magenta", "check": "cyan"}.get(who, "white")
        self.console.print(f"[{colour}]{escape(f'[{who:>5}]')}[/{colour}] {text}")

    @contextlib.contextmanager
    def node(self, party: str) -> Iterator[LocalNode]:
        assert self.harness is not None
        with self.harness[party].open() as node:
            yield node

    def send(self, party: str, outgoing: Outgoing) -> Sent:
        with self.node(party) as node:
            return send(node, outgoing)

    def find(self, party: str, predicate: Callable[[MessageView], bool], *, timeout: float = 60.0,
             what: str = "") -> MessageView:
        found: list[MessageView] = []

        def seen() -> bool:
            with self.node(party) as node:
                found[:] = [m for m in inbox(node, limit=None).messages if predicate(m)]
            return bool(found)

        assert self.harness is not None
        self.harness.wait_for(party, seen, timeout=timeout, what=what)
        return found[0]

    def delivered(self, party: str, envelope_id: str, *, timeout: float = 60.0) -> None:
        def done() -> bool:
            with self.node(party) as node:
                for message in outbox(node, limit=None).messages:
                    if message.id == envelope_id:
                        return bool(message.deliveries) and all(d.state == "delivered" for d in message.deliveries)
            return False

        assert self.harness is not None
        self.harness.wait_for(party, done, timeout=timeout, what=f"delivery of {envelope_id}")

    def log_size(self, party: str) -> int:
        with self.node(party) as node, node.database.read() as connection:
            return store.log_size(connection)

    # ------------------------------------------------------------------ acts

    def nodes_started(self) -> None:
        assert self.harness is not None
        for party, process in self.harness.nodes.items():
            with process.open() as node:
                key = node.key
                self.say(party, f"node [bold]{node.config.id}[/bold] up at {process.url} — key {key.fingerprint}")
        self.say("check", "channels: RU-EE (bilateral, [bold]no agreement in force[/bold]), "
                          "NRC (collective: RU, EE, US); every node pinned the others' keys")

    def link_test(self) -> None:
        sent = self.send("EE", Outgoing(MessageType.LINK_TEST, "RU-EE", {"nonce": "demo-1"}, author=OFFICERS["EE"]))
        self.say("EE", f"link test → RU ({sent.envelope.id[:8]})")
        reply = self.find("EE", lambda m: m.type == "link_test_reply", what="the link test reply")
        self.say("RU", f"link test answered automatically; round trip logged on both sides ({reply.id[:8]})")

    def watch(self, dashboards: DemoDashboards | None = None) -> list[Encounter]:
        scenario = demo_scenario(self.base / "scenario")
        self.say("watch", "EE's watch replays a Baltic scenario built from real data:")
        for line in scenario.incidents:
            self.console.print(f"          · {line}")
        self.console.print(f"          · background: {scenario.background_aircraft} aircraft and "
                           f"{scenario.background_ships} ships, real tracks relocated into the Baltic")
        assert self.harness is not None
        watch = Watch(load_rulebook(), attributor=Attributor(Fleet.load(scenario.fleet_path)))
        with LocalNode.open(self.harness["EE"].root) as ee_node:  # its connections seal what the watch stores
            run = RecordedRun(ee_node.database, [str(scenario.table_path)], watch)
            try:
                for observation in read_path(scenario.table_path, run.outcome.stats):
                    run.record(watch.feed(observation))
                run.record(watch.finish())
            finally:
                run.close()
        if dashboards is not None:
            dashboards.show_watch("EE", watch)
        encounters, stats = run.outcome.encounters, run.outcome.stats
        status = watch.status()
        self.say("watch", f"{stats.read:,} reports, {status.platforms} platforms, {len(encounters)} encounters:")
        for encounter in sorted(encounters, key=lambda e: e.start):
            if encounter.occurred and encounter.rule != "low_pass":
                self.console.print(f"          · {_describe(encounter)}")
        passes = sum(1 for e in encounters if e.rule == "low_pass")
        self.console.print(f"          · and {passes} single low passes (each one stored with its evidence)")
        return encounters

    def report(self, encounters: list[Encounter]) -> None:
        picks = {
            e.rule: e for e in encounters
            if e.occurred and e.rule in {"ship_contact_range", "non_cooperative_aircraft", "air_intercept",
                                         "repeated_low_passes"}
        }
        plots = self.base / "plots"
        plots.mkdir(exist_ok=True)
        routes = (
            ("ship_contact_range", "EE", "RU-EE"),
            ("non_cooperative_aircraft", "EE", "RU-EE"),
            ("air_intercept", "US", "NRC"),
            ("repeated_low_passes", "US", "NRC"),
        )
        drawn = {rule: draw(picks[rule]) for rule, _, _ in routes if rule in picks}  # before the deadlines run
        for rule, sender, channel in routes:
            encounter = picks.get(rule)
            if encounter is None:
                continue
            with self.node(sender) as node:
                done = report_encounter(node, encounter, channel=channel, narrative=_narrative(encounter),
                                        author=OFFICERS[sender], table=self.base / "scenario", plots=plots,
                                        plot_png=drawn[rule])
            sent = self.reports[rule] = done.sent
            self.say(sender, f"incident report → {channel}: {rule} ({sent.envelope.id[:8]}), {done.fixes_a} + "
                             f"{done.fixes_b} fixes of evidence, plot attached by hash")
        for sent in self.reports.values():
            sender = sent.envelope.envelope.sender.party
            self.delivered(sender, sent.envelope.id)
        self.say("check", "every report delivered; each recipient returned a signed receipt with an inclusion "
                          "proof and a cosignature of the sender's log head")
        answers = {
            "ship_contact_range": ("RU", MessageType.FREE_TEXT, {"text": "Corvette on routine passage to Baltiysk; "
                                   "VHF 16 contact offered at 3 NM. Noted, no further action."}),
            "air_intercept": ("RU", MessageType.FREE_TEXT, {"text": "Su-27 identified an aircraft approaching the "
                              "Russian border. Manoeuvre judged safe by the crew. Ready to discuss at the Council."}),
            "repeated_low_passes": ("RU", MessageType.ACKNOWLEDGEMENT, {"note": "Received; the Ministry will reply."}),
            "non_cooperative_aircraft": ("RU", MessageType.ACKNOWLEDGEMENT, {"note": "Received."}),
        }
        for rule, sent in self.reports.items():
            party, kind, body = answers[rule]
            report_id = sent.envelope.id
            self.find(party, lambda m, i=report_id: m.id == i, what=f"{rule} report at RU")  # type: ignore[misc]
            reply = self.send(party, Outgoing(kind, None, body, author=OFFICERS[party], in_reply_to=sent.envelope.id))
            verb = "answers" if kind != MessageType.ACKNOWLEDGEMENT else "only acknowledges"
            self.say(party, f"{verb} the {rule} report ({reply.envelope.id[:8]})")
        ids = [sent.envelope.id for sent in self.reports.values()]
        assert self.harness is not None
        self.harness.wait_for("RU", lambda: plots_fetched_by(self, "RU", ids), timeout=60, what="the plots at RU")
        self.say("RU", f"fetched the {len(ids)} plots from their senders by hash; each SHA-256 checked before kept")

    def transparency(self) -> None:
        start = time.time() + 4 * 86_400
        area = {"type": "Polygon", "coordinates": [[[19.2, 55.0], [20.0, 55.0], [20.0, 55.4], [19.2, 55.4],
                                                    [19.2, 55.0]]]}
        notice = self.send("RU", Outgoing(MessageType.HAZARD_NOTICE, "RU-EE", {
            "area": area, "start": start, "end": start + 6 * 3600, "nature": "naval gunnery exercise",
            "navwarn": "NAVAREA I: live firing, area closed",
        }, author=OFFICERS["RU"]))
        self.say("RU", f"hazard notice (INCSEA art. VI, 4 days ahead): gunnery area off Baltiysk "
                       f"{to_iso(start)[:16]} ({notice.envelope.id[:8]})")
        request = self.send("EE", Outgoing(MessageType.REQUEST_FOR_CLARIFICATION, "RU-EE", {
            "subject": "Unusual air activity near the Estonian FIR, 12 April",
            "questions": ["Purpose of the Il-20 flight with its transponder off?",
                          "Will Russia keep transponders on in the Baltic, as proposed on 1 July 2016?"],
        }, author=OFFICERS["EE"]))
        self.say("EE", f"request for clarification (Vienna Document ch. III, 48 h; here 12 s) "
                       f"({request.envelope.id[:8]})")
        self.find("RU", lambda m: m.id == request.envelope.id, what="the request at RU")
        answer = self.send("RU", Outgoing(MessageType.CLARIFICATION, None, {
            "answers": ["Routine reconnaissance flight in international airspace.",
                        "Russia is ready to discuss transponder use at the NATO–Russia Council."],
            "references": [request.envelope.id],
        }, author=OFFICERS["RU"], in_reply_to=request.envelope.id))
        self.say("RU", f"clarification answers it within the deadline ({answer.envelope.id[:8]})")

    def escalation(self) -> None:
        report = self.reports.get("non_cooperative_aircraft")
        if report is None:
            return
        original = report.envelope.id
        self.say("check", "the non-cooperative aircraft report is only acknowledged: its deadline runs out …")
        shown: set[str] = set()

        def steps() -> list[MessageView]:
            with self.node("EE") as node:
                notices = [m for m in outbox(node, limit=None).messages if m.type == "escalation_notice"
                           and m.thread == report.envelope.envelope.thread]
                meetings = [m for m in outbox(node, limit=None).messages if m.type == "meeting_proposal"]
            return notices + meetings

        def final() -> bool:
            for step in steps():
                if step.id not in shown:
                    shown.add(step.id)
                    where = "→ NRC (all members)" if step.type == "meeting_proposal" else "→ RU"
                    self.say("EE", f"escalation {where}: {step.type} at level [bold]{step.level}[/bold] — "
                                   f"{step.summary}")
            return any(s.type == "meeting_proposal" for s in steps())

        assert self.harness is not None
        self.harness.wait_for("EE", final, timeout=120, what=f"the escalation of {original} to the Council")
        meeting = next(s for s in steps() if s.type == "meeting_proposal")
        self.delivered("EE", meeting.id)
        with self.node("US") as node:
            received = [m for m in inbox(node, limit=None).messages if m.id == meeting.id]
        self.say("US", f"meeting proposal received on the Council channel ({len(received)} copy, receipt signed)")
        with self.node("EE") as node:
            events = [e for e in _events(node) if e.kind.startswith("escalat")]
        if events:
            self.say("check", f"operators told: {len(events)} escalation events in EE's inbox")

    def verify(self) -> None:
        assert self.harness is not None
        for party, process in self.harness.nodes.items():
            with process.open() as node:
                result = verify_node(node)
            mark = "[green]OK[/green]" if result.ok else "[red]FAILED[/red]"
            self.say("check", f"{party} log verify {mark}: {result.entries} entries, {result.checkpoints} signed "
                              f"heads, {result.receipts} receipts, {result.cosignatures} cosignatures")
            if not result.ok:
                raise typer.Exit(1)

    def inspect_hint(self) -> None:
        assert self.harness is not None
        ee = self.harness["EE"].root
        self.console.print("Look around (the nodes are stopped; their state stays; from a clone, prefix with ./run):")
        for command in (f"riskline inbox --node {ee}", f"riskline outbox --node {ee}",
                        f"riskline incident list --node {ee}",
                        *[f"riskline incident plot --message {sent.envelope.id[:12]} --node {self.harness['RU'].root} "
                          f"-o received-{rule}.png" for rule, sent in self.reports.items()
                          if rule == "non_cooperative_aircraft"],
                        f"riskline log verify --node {self.harness['RU'].root}",
                        f"riskline log export --node {ee} -o ee-bundle.json",
                        *inspect_commands(self.harness)):
            self.console.print(f"  {command}")


def plots_fetched_by(story: Story, party: str, envelope_ids: list[str]) -> bool:
    with story.node(party) as node:
        return plots_fetched(node, envelope_ids)


def _events(node: LocalNode) -> list[Any]:
    with node.database.read() as connection:
        return list(store.list_node_events(connection))


def _describe(encounter: Encounter) -> str:
    lead = "" if encounter.lead_time_s is None else f", predicted {encounter.lead_time_s:.0f} s ahead"
    vertical = "" if encounter.min_vertical_m is None else f" ({encounter.min_vertical_m:.0f} m vertical)"
    return (f"{encounter.rule} [{encounter.severity}] {encounter.party_a}–{encounter.party_b}: "
            f"{encounter.min_horizontal_m:,.1f} m{vertical} at {to_iso(encounter.t_cpa)[11:19]}{lead}")


def _narrative(encounter: Encounter) -> str:
    return (f"{encounter.rule.replace('_', ' ')} between {encounter.a} ({encounter.party_a}) and {encounter.b} "
            f"({encounter.party_b}); closest {encounter.min_distance_m:.1f} m at {to_iso(encounter.t_cpa)}.")
