"""The watch's records: ingest runs, platform identities and encounters, and their exact row conversion.

An ``Encounter`` goes into one ``incidents`` row and comes back equal (``encounter_to_row`` /
``encounter_from_row``; a hypothesis test holds them to it). Its ``Evidence`` is one JSON object:
``{"segment_a": {platform_id, t, lat, lon, alt}, "segment_b": … | null, "separation_t": […],
"separation_m": […]}`` with the arrays in SI units, as in ``TrackSegment.as_dict``. Floats round-trip exactly
(double columns; JSON floats written with ``repr``). Values that would not come back equal are refused with
``UnstorableValue`` instead of being silently altered: NaN and infinities, and details that are not plain
JSON (tuples, sets, non-string keys, …); NumPy scalars are stored as the Python numbers they equal.

Each write method is one transaction: a batch of encounters is stored whole or not at all.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from riskline.incidents.model import Encounter, Evidence
from riskline.ingest.observation import Domain, Kind
from riskline.ingest.stats import IngestStats
from riskline.storage.engine import Database
from riskline.storage.errors import IncidentNotFound, PlatformNotFound, RunNotFound, StorageError, UnstorableValue
from riskline.storage.schema import incidents, ingest_runs, platforms
from riskline.tracks.identity import PlatformIdentity
from riskline.tracks.segment import TrackSegment

END_OF_INPUT = "end of input"
"""How a run that read all its input ended (``StoredRun.ended_by``)."""


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """An encounter as stored: its id, the run that found it, and when it was written."""

    id: int
    run_id: int
    encounter: Encounter
    created: float
    """[s] POSIX time the row was written (the store's clock)."""


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One ingest run as stored."""

    id: int
    started: float
    """[s] POSIX"""
    finished: float | None
    """[s] POSIX; None while running, or if the run never finished (crashed, killed)."""
    inputs: tuple[str, ...]
    options: dict[str, object]
    """The rulebook in force and the ``--set`` overrides, as the CLI gave them."""
    stats: IngestStats | None
    """None until the run finishes."""
    incidents: int
    """How many incidents the run stored."""
    ended_by: str | None = None
    """``END_OF_INPUT``, or what interrupted the run; None while it runs or if it never finished."""

    @property
    def interrupted(self) -> bool:
        return self.ended_by is not None and self.ended_by != END_OF_INPUT


@dataclass(frozen=True, slots=True)
class SeenSpan:
    """When a platform was first and last seen within one save."""

    first: float
    """[s] POSIX"""
    last: float
    """[s] POSIX"""


@dataclass(frozen=True, slots=True)
class StoredPlatform:
    """A platform's latest identity and the span over which riskline has seen it."""

    identity: PlatformIdentity
    first_seen: float
    """[s] POSIX, earliest over every save"""
    last_seen: float
    """[s] POSIX, latest over every save"""
    updated: float
    """[s] POSIX time of the last save that touched it"""


class WatchStore:
    """Reads and writes the watch's tables of one ``Database``.

    ``clock`` stamps ``created`` on incidents (``time.time`` unless a test passes a ``FakeClock``).
    """

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    # Runs

    def begin_run(self, inputs: Sequence[str], options: Mapping[str, object], t: float) -> int:
        """Record that a run over ``inputs`` started at ``t`` [s]; returns its id."""
        values = {
            "started": _finite(t, "run start"),
            "finished": None,
            "inputs": [str(name) for name in inputs],
            "options": _plain_json(dict(options), "run options"),
            "stats": None,
        }
        with self._db.begin() as connection:
            run_id = connection.execute(sa.insert(ingest_runs).returning(ingest_runs.c.id), values).scalar_one()
        return int(run_id)

    def finish_run(self, run_id: int, stats: IngestStats, t: float, *, ended_by: str = END_OF_INPUT) -> None:
        """Record the run's end at ``t`` [s], what ingest counted and what ended it (``END_OF_INPUT``, or what
        interrupted it: ``SIGINT``, ``SIGTERM``, ``closed pipe``); again later overwrites them."""
        values = {"finished": _finite(t, "run end"), "stats": stats.as_dict(), "ended_by": ended_by}
        with self._db.begin() as connection:
            updated = connection.execute(sa.update(ingest_runs).where(ingest_runs.c.id == run_id).values(values))
            if updated.rowcount != 1:
                raise RunNotFound(f"no ingest run {run_id}")

    def runs(self) -> list[StoredRun]:
        """Every run, oldest first, with its incident count."""
        count = (
            sa.select(sa.func.count(incidents.c.id))
            .where(incidents.c.run_id == ingest_runs.c.id)
            .scalar_subquery()
            .label("incident_count")
        )
        with self._db.read() as connection:
            rows = connection.execute(sa.select(ingest_runs, count).order_by(ingest_runs.c.id)).mappings().all()
        return [_run_from_row(row) for row in rows]

    # Platforms

    def save_identities(
        self, identities: Iterable[PlatformIdentity], t: float, *, seen: Mapping[str, SeenSpan] | None = None
    ) -> int:
        """Insert or update platforms; returns how many distinct platforms were written.

        The identity is the latest one given (party, domain, kind and source are replaced); a name, callsign,
        type or flag already known is kept when the new identity has none. ``first_seen``/``last_seen`` widen
        to include ``seen[platform_id]``, or ``t`` [s] for a platform not in ``seen``; ``updated`` is ``t``.
        """
        latest: dict[str, PlatformIdentity] = {}
        spans: dict[str, SeenSpan] = {}
        for identity in identities:
            given = (seen or {}).get(identity.platform_id) or SeenSpan(t, t)
            span = SeenSpan(_finite(given.first, "first seen"), _finite(given.last, "last seen"))
            earlier = spans.get(identity.platform_id)
            if earlier is not None:  # the same platform twice in one call: one row, the span of both
                span = SeenSpan(min(span.first, earlier.first), max(span.last, earlier.last))
            latest[identity.platform_id] = identity
            spans[identity.platform_id] = span
        updated = _finite(t, "t")
        rows = [
            _identity_row(identity, first=spans[key].first, last=spans[key].last, updated=updated)
            for key, identity in latest.items()
        ]
        if not rows:
            return 0
        with self._db.begin() as connection:
            connection.execute(_upsert_platforms(connection.dialect.name), rows)
        return len(rows)

    def get_platform(self, platform_id: str) -> StoredPlatform:
        """The stored platform; ``PlatformNotFound`` (404) if riskline never saw it."""
        with self._db.read() as connection:
            row = connection.execute(
                sa.select(platforms).where(platforms.c.platform_id == platform_id)
            ).mappings().one_or_none()
        if row is None:
            raise PlatformNotFound(f"no platform {platform_id!r}")
        return _platform_from_row(row)

    # Incidents

    def save_encounters(self, run_id: int, encounters: Sequence[Encounter]) -> list[int]:
        """Store ``encounters`` for run ``run_id`` in one transaction; returns their ids, in the same order.

        One batched ``executemany``. SQLite has no ordered ``RETURNING`` for a batch, so there the ids are read
        back instead: inside the write transaction no one else inserts, and ``AUTOINCREMENT`` hands out
        consecutive ids, so the batch holds the last ``len(encounters)`` ids. Elsewhere (PostgreSQL)
        ``RETURNING`` sorted by parameter order gives them directly.
        """
        created = _finite(self._clock(), "clock")
        rows = [{**encounter_to_row(encounter), "run_id": run_id, "created": created} for encounter in encounters]
        with self._db.begin() as connection:
            _require_run(connection, run_id)
            if not rows:
                return []
            if connection.dialect.name == "sqlite":
                connection.execute(sa.insert(incidents), rows)
                last = int(connection.execute(sa.select(sa.func.max(incidents.c.id))).scalar_one())
                return list(range(last - len(rows) + 1, last + 1))
            statement = sa.insert(incidents).returning(incidents.c.id, sort_by_parameter_order=True)
            return [int(incident_id) for incident_id in connection.execute(statement, rows).scalars()]

    def get_incident(self, incident_id: int) -> StoredIncident:
        """The stored incident with its evidence; ``IncidentNotFound`` (404) if there is none."""
        with self._db.read() as connection:
            row = connection.execute(sa.select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id}")
        return _incident_from_row(row)

    def list_incidents(
        self, *, rule: str | None = None, run_id: int | None = None, limit: int = 100
    ) -> list[StoredIncident]:
        """The latest incidents first (by start time, then id), optionally of one rule or one run."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        query = sa.select(incidents).order_by(incidents.c.start_time.desc(), incidents.c.id.desc()).limit(limit)
        if rule is not None:
            query = query.where(incidents.c.rule == rule)
        if run_id is not None:
            query = query.where(incidents.c.run_id == run_id)
        with self._db.read() as connection:
            rows = connection.execute(query).mappings().all()
        return [_incident_from_row(row) for row in rows]


# Encounter ⇄ row


def encounter_to_row(encounter: Encounter) -> dict[str, object]:
    """The ``incidents`` columns of an encounter (without ``id``, ``run_id`` and ``created``).

    Raises ``UnstorableValue`` for a value that would not come back equal.
    """
    label = f"encounter {encounter.rule} {encounter.a}/{encounter.b}"

    def number(value: float, name: str) -> float:
        return _finite(value, f"{label}: {name}")

    def optional(value: float | None, name: str) -> float | None:
        return None if value is None else number(value, name)

    return {
        "rule": encounter.rule,
        "severity": encounter.severity,
        "a": encounter.a,
        "b": encounter.b,
        "party_a": encounter.party_a,
        "party_b": encounter.party_b,
        "occurred": bool(encounter.occurred),
        "start_time": number(encounter.start, "start"),
        "end_time": number(encounter.end, "end"),
        "t_cpa": number(encounter.t_cpa, "t_cpa"),
        "min_distance_m": number(encounter.min_distance_m, "min_distance_m"),
        "min_horizontal_m": number(encounter.min_horizontal_m, "min_horizontal_m"),
        "min_vertical_m": optional(encounter.min_vertical_m, "min_vertical_m"),
        "first_alert": optional(encounter.first_alert, "first_alert"),
        "lat": number(encounter.lat, "lat"),
        "lon": number(encounter.lon, "lon"),
        "details": _plain_json(encounter.details, f"{label}: details"),
        "evidence": None if encounter.evidence is None else evidence_to_json(encounter.evidence, label),
    }


def encounter_from_row(row: Mapping[Any, Any]) -> Encounter:
    """The encounter an ``incidents`` row holds, evidence rebuilt."""
    return Encounter(
        rule=row["rule"],
        severity=row["severity"],
        a=row["a"],
        b=row["b"],
        party_a=row["party_a"],
        party_b=row["party_b"],
        occurred=bool(row["occurred"]),
        start=float(row["start_time"]),
        end=float(row["end_time"]),
        t_cpa=float(row["t_cpa"]),
        min_distance_m=float(row["min_distance_m"]),
        min_horizontal_m=float(row["min_horizontal_m"]),
        min_vertical_m=_optional_float(row["min_vertical_m"]),
        first_alert=_optional_float(row["first_alert"]),
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        details=dict(row["details"]),
        evidence=None if row["evidence"] is None else evidence_from_json(row["evidence"]),
    )


def evidence_to_json(evidence: Evidence, label: str = "evidence") -> dict[str, object]:
    """Evidence as one JSON object; ``label`` names the encounter in errors."""
    segment_b = evidence.segment_b
    return {
        "segment_a": _segment_to_json(evidence.segment_a, f"{label}: segment_a"),
        "segment_b": None if segment_b is None else _segment_to_json(segment_b, f"{label}: segment_b"),
        "separation_t": _finite_list(evidence.separation_t, f"{label}: separation_t"),
        "separation_m": _finite_list(evidence.separation_m, f"{label}: separation_m"),
    }


def evidence_from_json(data: Mapping[str, Any]) -> Evidence:
    segment_b = data["segment_b"]
    return Evidence(
        segment_a=TrackSegment.from_dict(dict(data["segment_a"])),
        segment_b=None if segment_b is None else TrackSegment.from_dict(dict(segment_b)),
        separation_t=tuple(float(value) for value in data["separation_t"]),
        separation_m=tuple(float(value) for value in data["separation_m"]),
    )


def _segment_to_json(segment: TrackSegment, label: str) -> dict[str, object]:
    return {
        "platform_id": segment.platform_id,
        "t": _finite_list(segment.t, f"{label}.t"),
        "lat": _finite_list(segment.lat, f"{label}.lat"),
        "lon": _finite_list(segment.lon, f"{label}.lon"),
        "alt": _finite_list(segment.alt, f"{label}.alt"),
    }


# Other rows


def _identity_row(identity: PlatformIdentity, *, first: float, last: float, updated: float) -> dict[str, object]:
    return {
        "platform_id": identity.platform_id,
        "party": identity.party,
        "domain": Domain(identity.domain).value,
        "kind": Kind(identity.kind).value,
        "platform_type": identity.platform_type,
        "name": identity.name,
        "callsign": identity.callsign,
        "flag": identity.flag,
        "source": identity.source,
        "first_seen": first,
        "last_seen": last,
        "updated": updated,
    }


def _upsert_platforms(dialect: str) -> sa.Executable:
    """``INSERT … ON CONFLICT (platform_id) DO UPDATE`` in the dialect's own words (SQLite and PostgreSQL)."""
    if dialect == "sqlite":
        statement: sqlite.Insert | postgresql.Insert = sqlite.insert(platforms)
    elif dialect == "postgresql":
        statement = postgresql.insert(platforms)
    else:
        raise StorageError(f"storing platforms is written for SQLite and PostgreSQL, not {dialect}")
    new, old = statement.excluded, platforms.c
    changes: dict[str, Any] = {
        "party": new.party,
        "domain": new.domain,
        "kind": new.kind,
        "source": new.source,
        "platform_type": sa.func.coalesce(new.platform_type, old.platform_type),
        "name": sa.func.coalesce(new.name, old.name),
        "callsign": sa.func.coalesce(new.callsign, old.callsign),
        "flag": sa.func.coalesce(new.flag, old.flag),
        "first_seen": sa.case((new.first_seen < old.first_seen, new.first_seen), else_=old.first_seen),
        "last_seen": sa.case((new.last_seen > old.last_seen, new.last_seen), else_=old.last_seen),
        "updated": new.updated,
    }
    return statement.on_conflict_do_update(index_elements=[platforms.c.platform_id], set_=changes)


def _platform_from_row(row: RowMapping) -> StoredPlatform:
    identity = PlatformIdentity(
        platform_id=row["platform_id"],
        party=row["party"],
        domain=Domain(row["domain"]),
        kind=Kind(row["kind"]),
        platform_type=row["platform_type"],
        name=row["name"],
        callsign=row["callsign"],
        flag=row["flag"],
        source=row["source"],
    )
    return StoredPlatform(identity, float(row["first_seen"]), float(row["last_seen"]), float(row["updated"]))


def _incident_from_row(row: RowMapping) -> StoredIncident:
    return StoredIncident(int(row["id"]), int(row["run_id"]), encounter_from_row(row), float(row["created"]))


def _run_from_row(row: RowMapping) -> StoredRun:
    stats = row["stats"]
    return StoredRun(
        id=int(row["id"]),
        started=float(row["started"]),
        finished=_optional_float(row["finished"]),
        inputs=tuple(str(name) for name in row["inputs"]),
        options=dict(row["options"]),
        stats=None if stats is None else _stats_from_json(stats),
        incidents=int(row["incident_count"]),
        ended_by=row["ended_by"],
    )


def _stats_from_json(data: Mapping[str, Any]) -> IngestStats:
    return IngestStats(
        read=int(data["read"]),
        accepted=int(data["accepted"]),
        observations=int(data["observations"]),
        bytes_read=int(data["bytes_read"]),
        rejected=Counter({str(reason): int(count) for reason, count in data["rejected"].items()}),
    )


def _require_run(connection: Connection, run_id: int) -> None:
    found = connection.execute(sa.select(ingest_runs.c.id).where(ingest_runs.c.id == run_id)).first()
    if found is None:
        raise RunNotFound(f"no ingest run {run_id}")


# Values that come back equal


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise UnstorableValue(f"{what} is {number}, not a finite number")
    return number


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _finite_list(values: Sequence[float], what: str) -> list[float]:
    numbers = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(numbers)
    if not finite.all():
        raise UnstorableValue(f"{what} holds {numbers[~finite][0]}, not a finite number")
    listed: list[float] = numbers.tolist()
    return listed


def _plain_json(value: object, what: str) -> Any:
    """A copy of ``value`` that comes back equal from JSON; else ``UnstorableValue`` naming the spot.

    NumPy scalars become the Python numbers they equal; tuples, sets, non-string keys and non-finite numbers
    are refused, since they would come back as something else.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return _finite(value, what)
    if isinstance(value, list):
        return [_plain_json(item, f"{what}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnstorableValue(f"{what} has the key {key!r}, not a string")
            plain[key] = _plain_json(item, f"{what}[{key!r}]")
        return plain
    raise UnstorableValue(
        f"{what} is a {type(value).__name__}, not plain JSON (use dict, list, str, int, float, bool or None)"
    )
