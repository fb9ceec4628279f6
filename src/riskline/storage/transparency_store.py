"""Transparency records: observed military activity per watch run, compare findings, and the notices in force.

- ``observed_activity``: one row per military platform per time bin of a run (``transparency.observed``), so a
  ``transparency compare --db`` works from what the watch saw, long after the run.
- ``transparency_findings``: each ``undeclared_activity`` or ``exceeds_declaration`` finding with its evidence
  (JSON) and its picture (PNG), so ``transparency ask FINDING`` sends exactly what the analyst saw.
- Notifications and hazard notices are not copied: they live in the channel's log as signed messages;
  ``notifications`` and ``active_areas`` read them from there (``active_areas`` is what the dashboard draws).

Each write is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import MalformedEnvelope
from riskline.storage import channel_store
from riskline.storage.engine import Database
from riskline.storage.errors import StorageError
from riskline.storage.schema import Json, Seconds, metadata
from riskline.transparency.observed import BIN_S, ObservedActivity

if TYPE_CHECKING:
    from riskline.transparency.compare import Finding

observed_activity = sa.Table(
    "observed_activity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("t", Seconds(), nullable=False),
    sa.Column("platform_id", sa.String, nullable=False),
    sa.Column("party", sa.String, nullable=False),
    sa.Column("domain", sa.String, nullable=False),
    sa.Column("lat", sa.Double, nullable=False),
    sa.Column("lon", sa.Double, nullable=False),
    sa.Column("bin_s", Seconds(), nullable=False),
    sa.CheckConstraint("domain IN ('air', 'sea')", name="domain"),
    sa.Index(None, "t"),
    sa.Index(None, "run_id"),
)
"""One row per military platform per time bin of a watch run: its last position in the bin."""

transparency_findings = sa.Table(
    "transparency_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("party", sa.String, nullable=False),
    sa.Column("start_time", Seconds(), nullable=False),
    sa.Column("end_time", Seconds(), nullable=False),
    sa.Column("lat", sa.Double, nullable=False),
    sa.Column("lon", sa.Double, nullable=False),
    sa.Column("platforms", sa.Integer, nullable=False),
    sa.Column("platform_hours", sa.Double, nullable=False),
    sa.Column("declared", sa.String, nullable=True),
    sa.Column("evidence", Json(), nullable=False),
    sa.Column("png", sa.LargeBinary, nullable=True),
    sa.Column("created", Seconds(), nullable=False),
    sa.Index(None, "start_time"),
    sqlite_autoincrement=True,
)
"""One row per stored compare finding; ids are never reused."""


@dataclass(frozen=True, slots=True)
class StoredFinding:
    id: int
    json: dict[str, Any]
    """The ``--json`` contract keys."""
    evidence: dict[str, Any]
    png: bytes | None
    created: float  # [s]


@dataclass(frozen=True, slots=True)
class StoredNotice:
    """A notification or hazard notice from the channel log, with who sent it and which way it went."""

    envelope_id: str
    type: str
    direction: str
    channel: str
    party: str
    created: float  # [s] the sender's clock
    body: dict[str, Any]


def save_activity(db: Database, run_id: int, activity: ObservedActivity) -> int:
    """Store a run's observed activity in one transaction; returns the rows written."""
    rows = [
        {"run_id": run_id, "t": t, "platform_id": pid, "party": party, "domain": "air" if air else "sea",
         "lat": lat, "lon": lon, "bin_s": activity.bin_s}
        for t, pid, party, air, lat, lon in activity.rows()
    ]
    if not rows:
        return 0
    with db.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(observed_activity.insert(), rows[start : start + 5000])
    return len(rows)


def load_activity(db: Database, *, until: float | None = None) -> ObservedActivity:
    """Every stored sample (of every run) before ``until`` [s]; runs over the same time merge, one per bin."""
    query = sa.select(
        observed_activity.c.t, observed_activity.c.platform_id, observed_activity.c.party,
        observed_activity.c.domain, observed_activity.c.lat, observed_activity.c.lon, observed_activity.c.bin_s,
    ).order_by(observed_activity.c.run_id, observed_activity.c.t)
    if until is not None:
        query = query.where(observed_activity.c.t < until)
    with db.read() as connection:
        result = connection.execute(query).mappings().all()
    bin_s = max((float(row["bin_s"]) for row in result), default=BIN_S)
    return ObservedActivity.from_rows(
        (
            (float(row["t"]), str(row["platform_id"]), str(row["party"]), row["domain"] == "air",
             float(row["lat"]), float(row["lon"]))
            for row in result
        ),
        bin_s=bin_s,
    )


def save_findings(db: Database, findings: Sequence[Finding], pngs: Sequence[bytes | None], now: float) -> list[int]:
    ids = []
    with db.begin() as connection:
        for finding, png in zip(findings, pngs, strict=True):
            result = connection.execute(
                transparency_findings.insert().values(
                    kind=finding.kind, party=finding.party, start_time=finding.start, end_time=finding.end,
                    lat=finding.lat, lon=finding.lon, platforms=finding.platforms,
                    platform_hours=finding.platform_hours, declared=finding.declared, evidence=finding.evidence(),
                    png=png, created=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            ids.append(int(key[0]))
    return ids


def get_finding(db: Database, finding_id: int) -> StoredFinding:
    with db.read() as connection:
        row = connection.execute(
            sa.select(transparency_findings).where(transparency_findings.c.id == finding_id)
        ).mappings().first()
    if row is None:
        raise FindingNotFound(f"no transparency finding {finding_id} (run `riskline transparency compare` first)")
    evidence = dict(row["evidence"])
    keys = ("kind", "party", "start", "end", "lat", "lon", "platforms", "platform_hours", "declared")
    return StoredFinding(int(row["id"]), {k: evidence[k] for k in keys}, evidence, row["png"], float(row["created"]))


class FindingNotFound(StorageError):
    http_status = 404


def notices(
    connection: Connection, types: tuple[str, ...] = ("activity_notification",), *, direction: str | None = None
) -> list[StoredNotice]:
    """The notices of ``types`` in this node's log (sent and received), oldest first, with their bodies."""
    rows = channel_store.list_messages(connection, types=types, direction=direction)
    entries = channel_store.log_entries_by_envelopes(connection, [row.envelope_id for row in rows])
    found = []
    for row in rows:
        entry = entries.get(row.envelope_id)
        if entry is None:
            continue
        try:
            body = json.loads(json.dumps(dict(SignedEnvelope.from_leaf(entry.data).envelope.body)))
        except MalformedEnvelope:
            continue
        found.append(
            StoredNotice(row.envelope_id, row.type, row.direction, row.channel, row.sender_party, row.created, body)
        )
    return found


def active_areas(connection: Connection, t: float) -> list[dict[str, Any]]:
    """Declared exercise areas and announced hazard areas active at ``t`` [s], for a map.

    Each item: ``{"kind": "exercise" | "hazard", "party", "reference", "title", "start", "end", "geometry"}``
    with ``geometry`` GeoJSON (RFC 7946) and times POSIX seconds. Amended and cancelled notices are left out.
    """
    from riskline.transparency.activity import geojson_of, parse_notification
    from riskline.transparency.compare import effective
    from riskline.transparency.errors import InvalidNotification

    areas: list[dict[str, Any]] = []
    stored = notices(connection, ("activity_notification", "hazard_notice"))
    parsed = []
    for notice in stored:
        if notice.type != "activity_notification":
            continue
        try:
            parsed.append(parse_notification(notice.body))
        except InvalidNotification:
            continue
    for notification in effective(parsed):
        if notification.start <= t <= notification.end:
            phases = [p for p in notification.phases if p.start <= t <= p.end]
            geometry = phases[0].area if phases else notification.area
            areas.append({
                "kind": "exercise", "party": notification.party, "reference": notification.designation,
                "title": notification.purpose, "start": notification.start, "end": notification.end,
                "geometry": geojson_of(geometry),
            })
    hazards = [n for n in stored if n.type == "hazard_notice"]
    withdrawn = {n.body.get("cancels") for n in hazards} | {n.body.get("amends") for n in hazards}
    for notice in hazards:
        body = notice.body
        if notice.envelope_id in withdrawn or body.get("cancels"):
            continue
        if float(body["start"]) <= t <= float(body["end"]):
            areas.append({
                "kind": "hazard", "party": notice.party, "reference": notice.envelope_id,
                "title": body.get("nature", ""), "start": float(body["start"]), "end": float(body["end"]),
                "geometry": body["area"],
            })
    return areas


