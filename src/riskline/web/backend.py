"""What the dashboard reads and does: the watch database, the live picture, alarms, and (with a node) the channel.

``Dashboard`` is the one object the HTTP face calls; it holds no HTTP. Reading needs only the watch database
(``riskline dashboard --db``: read-only, nothing can be changed). With a node it also shows the channel and
acts on it: every action is checked against the operator's role, and the change and its record in
``operator_actions`` commit in one transaction.

Alarms are raised by the server, never by the page: for every open encounter the live watch reports (an
actual breach or a prediction), and for every stored incident that has none yet (one written by another
process, e.g. ``riskline watch`` into this database). ``sync`` runs about once a second: it wakes snoozed
alarms whose time ran out, picks up new incidents and notices channel changes, and pushes events.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.channel.envelope import Author, SignedEnvelope
from riskline.channel.errors import MalformedEnvelope
from riskline.channel.messages import MessageType
from riskline.incidents.model import Encounter
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, resolve_message, send
from riskline.node.views import inbox, outbox, thread
from riskline.storage import channel_store, report_store
from riskline.storage import dashboard_store as store
from riskline.storage.engine import Database
from riskline.storage.schema import incidents as incidents_table
from riskline.storage.watch_store import WatchStore
from riskline.web.accounts import Action, Role, check_operator_name, hash_password, require, verify_password
from riskline.web.alarms import Alarm, AlarmState, acknowledge, alarm_key, observe, resolve, snooze, wake
from riskline.web.errors import BadRequest, NoSuchAlarm, NotLoggedIn, ReadOnly
from riskline.web.live import EventStream, Frame, LivePicture, encounter_summary

Clock = Callable[[], float]


class Operator:
    """Who is acting, and as what (a logged-in account, or the read-only local viewer)."""

    __slots__ = ("name", "role")

    def __init__(self, name: str, role: Role) -> None:
        self.name = name
        self.role = role

    def __repr__(self) -> str:
        return f"Operator({self.name!r}, {self.role.value})"


LOCAL_VIEWER = Operator("local-viewer", Role.VIEWER)


def alarm_from_row(row: Mapping[str, Any]) -> Alarm:
    values = {name: row[name] for name in Alarm.__dataclass_fields__}
    values["state"] = AlarmState(row["state"])
    values["occurred"] = bool(row["occurred"])
    return Alarm(**values)


def alarm_to_row(alarm: Alarm) -> dict[str, Any]:
    row = asdict(alarm)
    row["state"] = alarm.state.value
    return row


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    return {**alarm_to_row(alarm), "silenced": alarm.silenced, "active": alarm.active}


class Dashboard:
    def __init__(
        self,
        database: Database,
        *,
        node: LocalNode | None = None,
        picture: LivePicture | None = None,
        events: EventStream | None = None,
        clock: Clock = time.time,
        title: str | None = None,
    ) -> None:
        self.database = database
        self.node = node
        self.picture = picture or LivePicture()
        self.events = events or EventStream()
        self.clock = clock
        self.title = title or (f"{node.config.id} ({node.config.party})" if node else "watch database")
        self._watch_store = WatchStore(database, clock=clock)
        self._open_alarms: dict[tuple[str, str, str], int] = {}
        """Alarm id of each encounter the live watch holds open, by (rule, a, b)."""
        self._lock = threading.RLock()
        self._last_incident_id = 0
        self._channel_fingerprint: tuple[Any, ...] | None = None

    @property
    def read_only(self) -> bool:
        return self.node is None

    # ------------------------------------------------------------------ operators

    def add_operator(self, name: str, role: Role, password: str) -> bool:
        """Create an account or change its role and password; True if new."""
        name = check_operator_name(name)
        hashed = hash_password(password)
        with self.database.begin() as connection:
            return store.add_operator(connection, name, role.value, hashed, self.clock())

    def authenticate(self, name: str, password: str) -> Operator:
        """The operator with that name and password; ``NotLoggedIn`` (one message for both mistakes) otherwise."""
        with self.database.read() as connection:
            row = store.get_operator(connection, name)
        if row is None or not verify_password(password, row["password_hash"]):
            raise NotLoggedIn("wrong operator name or password")
        operator = Operator(row["name"], Role(row["role"]))
        self._record(operator, "login", None, {})
        return operator

    def operators(self) -> list[dict[str, Any]]:
        with self.database.read() as connection:
            return [
                {"name": row["name"], "role": row["role"], "created": row["created"]}
                for row in store.list_operators(connection)
            ]

    # ------------------------------------------------------------------ what the page reads

    def state(self, operator: Operator) -> dict[str, Any]:
        """Everything the page needs to draw itself once; events keep it current from ``seq`` on."""
        seq = self.events.last_seq
        frame = self.picture.frame()
        now = frame.t if frame is not None else None
        return {
            "seq": seq,
            "title": self.title,
            "operator": {"name": operator.name, "role": operator.role.value},
            "read_only": self.read_only,
            "server_time": self.clock(),
            "frame": None if frame is None else frame.to_json(),
            "trails": self.picture.trails(),
            "open_encounters": self.open_encounters(now),
            "incidents": self.incidents(),
            "alarms": self.alarms(),
            "span": self.span(),
            "channels": [] if self.node is None else [c.id for c in self.node.config.channels],
            "channel": None if self.node is None else self.channel(),
            "areas": self.hazard_areas(),
            "exercise_areas": self.exercise_areas(),
        }

    def open_encounters(self, now: float | None = None) -> list[dict[str, Any]]:
        now = self.picture.t if now is None else now
        listed = []
        for encounter in self.picture.open_encounters():
            summary = encounter_summary(encounter, now if now is not None else encounter.t_cpa)
            summary["alarm_id"] = self._open_alarms.get((encounter.rule, encounter.a, encounter.b))
            listed.append(summary)
        return listed

    def incidents(self, limit: int = 200) -> list[dict[str, Any]]:
        stored = self._watch_store.list_incidents(limit=limit)
        with self.database.read() as connection:
            alarm_ids = {
                int(row["incident_id"]): int(row["id"])
                for row in store.list_alarms(connection, limit=5000)
                if row["incident_id"] is not None
            }
        return [
            {
                "id": item.id,
                **encounter_summary(item.encounter, item.encounter.t_cpa),
                "alarm_id": alarm_ids.get(item.id),
            }
            for item in stored
        ]

    def alarms(self) -> list[dict[str, Any]]:
        """Unresolved alarms first (raised, then silenced, then acknowledged), then the last resolved ones."""
        with self.database.read() as connection:
            rows = store.list_alarms(connection, limit=500)
        alarms = [alarm_from_row(row) for row in rows]
        order = {AlarmState.RAISED: 0, AlarmState.SNOOZED: 1, AlarmState.ACKNOWLEDGED: 2, AlarmState.RESOLVED: 3}
        alarms.sort(key=lambda a: (order[a.state], -a.raised_at))
        resolved = [a for a in alarms if a.state is AlarmState.RESOLVED][:50]
        return [alarm_json(a) for a in alarms if a.state is not AlarmState.RESOLVED] + [alarm_json(a) for a in resolved]

    def span(self) -> dict[str, float] | None:
        """[s] data times the slider can reach: stored incidents' evidence and the live frames kept."""
        with self.database.read() as connection:
            low, high = connection.execute(
                sa.select(sa.func.min(incidents_table.c.start_time), sa.func.max(incidents_table.c.end_time))
            ).one()
        live = self.picture.span()
        times = [t for t in (low, high) if t is not None] + (list(live) if live else [])
        if not times:
            return None
        return {"start": float(min(times)) - 300.0 if low is not None else float(min(times)), "end": float(max(times))}

    def frame_at(self, t: float) -> dict[str, Any]:
        """The platforms at data time ``t`` [s]: the live frame kept for then, else what stored evidence shows."""
        frame = self.picture.frame(t)
        span = self.picture.span()
        if frame is not None and span is not None and span[0] <= t:
            return {"frame": frame.to_json(), "from": "live"}
        return {"frame": self._evidence_frame(t).to_json(), "from": "stored evidence"}

    def _evidence_frame(self, t: float) -> Frame:
        """Positions at ``t`` of every platform in a stored incident's evidence that covers ``t`` (interpolated)."""
        with self.database.read() as connection:
            rows = (
                connection.execute(
                    sa.select(incidents_table.c.id)
                    .where(incidents_table.c.start_time - 1800.0 <= t, incidents_table.c.end_time + 1800.0 >= t)
                    .limit(500)
                )
                .scalars()
                .all()
            )
        positions: dict[str, tuple[str, bool, float, float, float]] = {}
        for incident_id in rows:
            item = self._watch_store.get_incident(int(incident_id))
            evidence = item.encounter.evidence
            if evidence is None:
                continue
            for segment, party in (
                (evidence.segment_a, item.encounter.party_a),
                (evidence.segment_b, item.encounter.party_b),
            ):
                if segment is None or not segment.t or not segment.t[0] <= t <= segment.t[-1]:
                    continue
                lat = float(np.interp(t, segment.t, segment.lat))
                lon = float(np.interp(t, segment.t, segment.lon))
                alt = float(np.interp(t, segment.t, segment.alt))
                positions[segment.platform_id] = (party, item.encounter.details.get("domain") == "air", lat, lon, alt)
        ids = tuple(sorted(positions))
        parties = tuple(sorted({positions[i][0] for i in ids}))
        return Frame(
            t=t,
            ids=ids,
            parties=parties,
            party=tuple(parties.index(positions[i][0]) for i in ids),
            flags=tuple(1 if positions[i][1] else 0 for i in ids),
            lat=tuple(round(positions[i][2], 5) for i in ids),
            lon=tuple(round(positions[i][3], 5) for i in ids),
            alt_m=tuple(round(positions[i][4], 1) for i in ids),
            course_deg=tuple(0.0 for _ in ids),
            speed_mps=tuple(0.0 for _ in ids),
        )

    def incident(self, incident_id: int) -> dict[str, Any]:
        """One incident with its evidence, the rule's threshold and source, its alarm, what was done about it and
        the channels it was reported on."""
        from riskline.incidents.plot import rule_threshold_m  # matplotlib: only when an incident is opened

        item = self._watch_store.get_incident(incident_id)
        encounter = item.encounter
        run = next((r for r in self._watch_store.runs() if r.id == item.run_id), None)
        evidence = encounter.evidence
        with self.database.read() as connection:
            alarm_row = store.alarm_for_incident(connection, incident_id)
            targets = [f"incident:{incident_id}"] + ([f"alarm:{alarm_row['id']}"] if alarm_row else [])
            actions = [dict(row) for target in targets for row in store.list_actions(connection, target=target)]
            reports = [
                {"channel": row.channel, "message": row.envelope_id, "at": row.reported}
                for row in report_store.reports_of_incident(connection, incident_id)
            ]
        actions.sort(key=lambda a: -a["at"])
        return {
            "id": item.id,
            **encounter_summary(encounter, encounter.t_cpa),
            "mark": encounter.details.get("mark"),
            "details": {k: v for k, v in encounter.details.items() if k != "findings"},
            "threshold_m": rule_threshold_m(encounter, run.options if run else {}),
            "evidence": None
            if evidence is None
            else {
                "a": evidence.segment_a.as_dict(),
                "b": None if evidence.segment_b is None else evidence.segment_b.as_dict(),
                "separation_t": list(evidence.separation_t),
                "separation_m": list(evidence.separation_m),
            },
            "alarm": None if alarm_row is None else alarm_json(alarm_from_row(alarm_row)),
            "actions": actions,
            "reports": reports,
            "channels": [] if self.node is None else [c.id for c in self.node.config.channels],
        }

    def channel(self) -> dict[str, Any]:
        """Inbox and outbox on the node's clock: deadlines, overdue, delivery per recipient, escalations."""
        node = self._require_node()
        received, sent = inbox(node, limit=200), outbox(node, limit=200)
        with node.reading() as connection:
            escalations = [asdict(row) for row in channel_store.list_escalations(connection)][-50:]
        return {
            "now": received.now,
            "inbox": received.to_json(),
            "outbox": sent.to_json(),
            "escalations": escalations,
        }

    def hazard_areas(self) -> list[dict[str, Any]]:
        """Areas announced in hazard notices sent or received on this node's channels (INCSEA art. VI), as
        GeoJSON features with their time span [s] and who announced them; the page draws the active ones solid."""
        features = []
        with self._reading_log() as connection:
            for row in channel_store.list_messages(connection, types=("hazard_notice",)):
                entry = channel_store.log_entry(connection, row.log_index)
                if entry is None:
                    continue
                try:
                    body = SignedEnvelope.from_leaf(entry.data).envelope.body
                except MalformedEnvelope:
                    continue  # `riskline log verify` names it; the map shows what it can read
                area = json.loads(json.dumps(dict(body)["area"]))
                features.append({
                    "type": "Feature",
                    "geometry": area,
                    "properties": {
                        "message": row.envelope_id, "party": row.sender_party, "nature": str(body.get("nature", "")),
                        "start": float(body["start"]), "end": float(body["end"]), "navwarn": body.get("navwarn"),
                    },
                })
        return features

    def exercise_areas(self) -> list[dict[str, Any]]:
        """Exercise areas declared in the activity notifications in force (Vienna Document 2011 ch. V §38.4,
        amended and cancelled ones left out), sent or received on this node's channels, as GeoJSON features:
        the whole area as declared, with its phases (each its own window [s] and area) so the page can draw the
        phase in force at the picture's time. A read-only dashboard reads the same log in its database."""
        from riskline.storage.transparency_store import notices
        from riskline.transparency.activity import parse_notification
        from riskline.transparency.compare import effective
        from riskline.transparency.errors import InvalidNotification

        with self._reading_log() as connection:
            stored = notices(connection, ("activity_notification",))
        parsed = []
        for notice in stored:
            try:
                parsed.append((notice, parse_notification(notice.body)))
            except InvalidNotification:
                continue  # `riskline transparency notifications` names it; the map shows what it can read
        in_force = {id(n) for n in effective(n for _, n in parsed)}
        return [
            {
                "type": "Feature",
                "geometry": notice.body["area"],
                "properties": {
                    "message": notice.envelope_id, "party": notification.party,
                    "designation": notification.designation, "purpose": notification.purpose,
                    "start": notification.start, "end": notification.end,
                    "counts": {name: count for name, count in notification.counts.items() if count},
                    "phases": [
                        {"name": declared.name, "start": declared.start, "end": declared.end,
                         "geometry": phase["area"]}
                        for phase, declared in zip(notice.body.get("phases", []), notification.phases, strict=True)
                    ],
                },
            }
            for notice, notification in parsed
            if id(notification) in in_force
        ]

    def _reading_log(self) -> AbstractContextManager[Connection]:
        """The node's log, or on a read-only dashboard the log its database holds (empty for a watch database)."""
        return self.node.reading() if self.node is not None else self.database.read()

    def thread(self, reference: str) -> list[dict[str, Any]]:
        node = self._require_node()
        return [
            {"message": entry.message.to_json(), "body": entry.body, "attachments": list(entry.attachments)}
            for entry in thread(node, reference)
        ]

    def actions(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.database.read() as connection:
            return [dict(row) for row in store.list_actions(connection, limit=limit)]

    # ------------------------------------------------------------------ what operators do

    def alarm_action(self, operator: Operator, alarm_id: int, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``acknowledge``, ``snooze`` (``duration_s``, ``reason``) or ``resolve`` (``note``) an alarm."""
        needs = {
            "acknowledge": Action.ACKNOWLEDGE_ALARM,
            "snooze": Action.SNOOZE_ALARM,
            "resolve": Action.RESOLVE_ALARM,
        }
        if action not in needs:
            raise BadRequest(f"action: one of {', '.join(needs)}, not {action!r}")
        self._require_writable()
        require(operator.role, needs[action], operator.name)
        now = self.clock()
        with self._lock, self.database.begin() as connection:
            row = store.get_alarm(connection, alarm_id)
            if row is None:
                raise NoSuchAlarm(f"no alarm {alarm_id}")
            alarm = alarm_from_row(row)
            if action == "acknowledge":
                changed = acknowledge(alarm, operator.name, now)
                detail: dict[str, Any] = {}
            elif action == "snooze":
                duration = _number(params, "duration_s")
                reason = str(params.get("reason") or "")
                changed = snooze(alarm, operator.name, now, duration_s=duration, reason=reason)
                detail = {"duration_s": duration, "reason": reason.strip()}
            else:
                note = str(params.get("note") or "").strip() or None
                changed = resolve(alarm, operator.name, now, note=note)
                detail = {"note": note}
            store.update_alarm(connection, alarm_id, alarm_to_row(changed))
            self._record_in(connection, operator, action + "_alarm", f"alarm:{alarm_id}", detail, now)
        self.events.publish("alarm", alarm_json(changed))
        return alarm_json(changed)

    def send_report(
        self, operator: Operator, incident_id: int, channel: str, narrative: str | None, *, again: bool = False
    ) -> dict[str, Any]:
        """Send the stored incident as a signed ``incident_report`` on ``channel`` (``report_incident``: the
        dialogue's one library path), its plot attached by hash; ``again`` sends a second report on a channel."""
        from riskline.node.reporting import report_incident

        self._require_writable()
        require(operator.role, Action.SEND_REPORT, operator.name)
        node = self._require_node()
        if not node.config.has_channel(channel):
            raise BadRequest(f"channel: this node has no channel {channel!r}")
        text = narrative.strip() if narrative and narrative.strip() else None
        report = report_incident(
            node, incident_id, channel=channel, narrative=text, author=_author(operator), again=again
        )
        envelope_id = report.sent.envelope.id
        self._record(operator, "send_report", f"incident:{incident_id}", {"channel": channel, "message": envelope_id})
        self.events.publish("channel", {"reason": "report sent", "message": envelope_id})
        return {"message": envelope_id, "channel": channel}

    def reply(self, operator: Operator, reference: str, text: str) -> dict[str, Any]:
        """Answer a message in its thread (``free_text``)."""
        text = text.strip()
        if not text:
            raise BadRequest("text: a reply needs text")
        return self._answer(operator, reference, MessageType.FREE_TEXT, {"text": text}, Action.REPLY, "reply")

    def acknowledge_message(self, operator: Operator, reference: str, note: str | None) -> dict[str, Any]:
        """Acknowledge receipt of a message (``acknowledgement``)."""
        body = {"note": note.strip()} if note and note.strip() else {}
        return self._answer(
            operator, reference, MessageType.ACKNOWLEDGEMENT, body, Action.ACKNOWLEDGE_MESSAGE, "acknowledge_message"
        )

    def _answer(
        self, operator: Operator, reference: str, kind: MessageType, body: dict[str, Any], action: Action, verb: str
    ) -> dict[str, Any]:
        self._require_writable()
        require(operator.role, action, operator.name)
        node = self._require_node()
        with node.reading() as connection:
            original = resolve_message(connection, reference)
        sent = send(node, Outgoing(kind, None, body, author=_author(operator), in_reply_to=original.envelope_id))
        self._record(operator, verb, f"message:{original.envelope_id}", {"message": sent.envelope.id})
        self.events.publish("channel", {"reason": verb, "message": sent.envelope.id})
        return {"message": sent.envelope.id, "in_reply_to": original.envelope_id}

    # ------------------------------------------------------------------ the watch reports

    def observe(
        self, frame: Frame, open_encounters: Sequence[Encounter], closed: Sequence[tuple[int, Encounter]]
    ) -> None:
        """One tick of the live watch: the picture, the open encounters, and the encounters just stored."""
        self.picture.update(frame, open_encounters)
        now = self.clock()
        changed: list[Alarm] = []
        with self._lock, self.database.begin() as connection:
            for encounter in open_encounters:
                alarm = self._alarm_for(connection, encounter, None, frame.t, now)
                if alarm is not None:
                    changed.append(alarm)
            for incident_id, encounter in closed:
                alarm = self._alarm_for(connection, encounter, incident_id, frame.t, now)
                self._open_alarms.pop((encounter.rule, encounter.a, encounter.b), None)
                self._last_incident_id = max(self._last_incident_id, incident_id)
                if alarm is not None:
                    changed.append(alarm)
        self.events.publish("frame", frame.to_json())
        self.events.publish("encounters", {"t": frame.t, "open": self.open_encounters(frame.t)})
        for alarm in changed:
            self.events.publish("alarm", alarm_json(alarm))
        for incident_id, encounter in closed:
            self.events.publish("incident", {"id": incident_id, **encounter_summary(encounter, encounter.t_cpa)})

    def _alarm_for(
        self, connection: Connection, encounter: Encounter, incident_id: int | None, t: float, now: float
    ) -> Alarm | None:
        """Raise the encounter's alarm, or update it; the alarm if it changed, else None."""
        pair = (encounter.rule, encounter.a, encounter.b)
        alarm_id = self._open_alarms.get(pair)
        if alarm_id is not None:
            row = store.get_alarm(connection, alarm_id)
            if row is not None:
                updated = observe(
                    alarm_from_row(row),
                    severity=encounter.severity,
                    occurred=encounter.occurred,
                    incident_id=incident_id,
                    now=now,
                )
                if updated is not None:
                    store.update_alarm(connection, alarm_id, alarm_to_row(updated))
                    if updated.state is AlarmState.RAISED and updated.reason.startswith("severity"):
                        self._record_in(
                            connection, None, "raise_alarm", f"alarm:{alarm_id}", {"reason": updated.reason}, now
                        )
                return updated
        key = alarm_key(encounter.rule, encounter.a, encounter.b, t)
        values = {
            "key": key,
            "rule": encounter.rule,
            "a": encounter.a,
            "b": encounter.b,
            "party_a": encounter.party_a,
            "party_b": encounter.party_b,
            "severity": encounter.severity,
            "occurred": encounter.occurred,
            "incident_id": incident_id,
            "state": AlarmState.RAISED.value,
            "raised_at": now,
            "reason": "new encounter" if encounter.occurred else "predicted encounter",
        }
        existing = store.alarm_by_key(connection, key)
        new_id = int(existing["id"]) if existing is not None else store.insert_alarm(connection, values)
        if incident_id is None:
            self._open_alarms[pair] = new_id
        self._record_in(connection, None, "raise_alarm", f"alarm:{new_id}", {"reason": values["reason"]}, now)
        row = store.get_alarm(connection, new_id)
        assert row is not None
        return alarm_from_row(row)

    # ------------------------------------------------------------------ housekeeping

    def sync(self) -> None:
        """Wake snoozed alarms whose time ran out, alarm new stored incidents, notice channel changes."""
        now = self.clock()
        woken: list[Alarm] = []
        raised: list[Alarm] = []
        with self._lock:
            with self.database.begin() as connection:
                for row in store.list_alarms(connection, active_only=True, limit=5000):
                    alarm = wake(alarm_from_row(row), now)
                    if alarm is not None:
                        store.update_alarm(connection, alarm.id, alarm_to_row(alarm))
                        self._record_in(
                            connection, None, "raise_alarm", f"alarm:{alarm.id}", {"reason": alarm.reason}, now
                        )
                        woken.append(alarm)
                new_rows = (
                    connection.execute(
                        sa.select(incidents_table.c.id).where(incidents_table.c.id > self._last_incident_id)
                    )
                    .scalars()
                    .all()
                )
                alarmed = store.alarmed_incident_ids(connection) if new_rows else set()
            for incident_id in sorted(int(i) for i in new_rows):
                self._last_incident_id = max(self._last_incident_id, incident_id)
                if incident_id in alarmed:
                    continue
                item = self._watch_store.get_incident(incident_id)
                with self.database.begin() as connection:
                    alarm = self._alarm_for(connection, item.encounter, incident_id, item.encounter.start, now)
                if alarm is not None:
                    raised.append(alarm)
                    self.events.publish(
                        "incident", {"id": incident_id, **encounter_summary(item.encounter, item.encounter.t_cpa)}
                    )
        for alarm in woken + raised:
            self.events.publish("alarm", alarm_json(alarm))
        if self.node is not None:
            fingerprint = self._fingerprint()
            if fingerprint != self._channel_fingerprint:
                self._channel_fingerprint = fingerprint
                self.events.publish("channel", {"reason": "changed"})

    def _fingerprint(self) -> tuple[Any, ...]:
        node = self._require_node()
        with node.database.read() as connection:
            return (
                channel_store.log_size(connection),
                tuple(sorted(channel_store.outbox_counts(connection).items())),
                len(channel_store.list_node_events(connection)),
                sum(
                    1 for m in channel_store.list_messages(connection, direction="in", limit=None) if m.status == "open"
                ),
            )

    # ------------------------------------------------------------------ helpers

    def _require_node(self) -> LocalNode:
        if self.node is None:
            raise ReadOnly("this dashboard shows a watch database without a node: there is no channel")
        return self.node

    def _require_writable(self) -> None:
        if self.read_only:
            raise ReadOnly("this dashboard is read-only (a watch database without a node): nothing can be changed")

    def _record(self, operator: Operator, action: str, target: str | None, detail: Mapping[str, Any]) -> None:
        with self.database.begin() as connection:
            self._record_in(connection, operator, action, target, detail, self.clock())

    def _record_in(
        self,
        connection: Connection,
        operator: Operator | None,
        action: str,
        target: str | None,
        detail: Mapping[str, Any],
        at: float,
    ) -> None:
        store.record_action(
            connection,
            at=at,
            operator=operator.name if operator else "watch",
            role=operator.role.value if operator else "system",
            action=action,
            target=target,
            detail=dict(detail),
        )


def _author(operator: Operator) -> Author:
    return Author(operator.name, "duty_officer" if operator.role is Role.DUTY_OFFICER else "military_commander")


def _number(params: Mapping[str, Any], name: str) -> float:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name}: a number is required")
    return float(value)
