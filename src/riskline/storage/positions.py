"""Stored position fixes, and the two area queries an operations centre asks of history.

* ``incidents_in_area``: the incidents whose closest approach lies inside an area (and a time span).
* ``tracks_through_area``: the platforms with a fix inside a hazard area during a time span, with when they
  were first and last inside and how many fixes there are.

On PostgreSQL both are PostGIS ``ST_Intersects`` against the generated ``geom`` column with its GiST index
(migration ``0010``), and ``track_positions`` is partitioned by month: ``save_positions`` creates
the partitions its rows need (``CREATE TABLE … PARTITION OF``) before it inserts. On SQLite the same queries
filter by the area's bounding box in SQL (``ix_…_lat_lon``) and exactly with shapely; a test checks that both
back-ends give the same answers. Areas are WGS-84 polygons in degrees (lon, lat), not crossing the antimeridian.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.engine import Connection

from riskline.ingest.observation import Observation
from riskline.storage.engine import Database
from riskline.storage.errors import UnstorableValue
from riskline.storage.schema import Seconds, incidents, metadata
from riskline.storage.watch_store import StoredIncident, _incident_from_row


class Geometry(sa.types.UserDefinedType[object]):
    """PostGIS ``geometry``, known to SQLAlchemy so that reflecting a riskline database names it (the generated
    ``geom`` columns are only ever read by PostGIS functions, never into Python)."""

    cache_ok = True

    def __init__(self, *arguments: object) -> None:
        self.arguments = arguments
        """What PostgreSQL reports in parentheses: geometry type and SRID, e.g. ``('Point', 4326)``."""

    def get_col_spec(self, **kw: object) -> str:
        return "geometry"


ischema_names.setdefault("geometry", Geometry)

track_positions = sa.Table(
    "track_positions",
    metadata,
    sa.Column("platform_id", sa.String, primary_key=True),
    sa.Column("t", Seconds(), primary_key=True),
    sa.Column("lat", sa.Double, nullable=False),
    sa.Column("lon", sa.Double, nullable=False),
    sa.Column("alt_m", sa.Double, nullable=True),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Index(None, "t"),
    sa.Index(None, "lat", "lon"),
)
"""One position fix of one platform; (platform, time) is unique: a fix heard twice is stored once."""

sa.Index("ix_incidents_lat_lon", incidents.c.lat, incidents.c.lon)

_INSERT_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class TrackPassage:
    """One platform's fixes inside an area during the asked span."""

    platform_id: str
    first_t: float
    """[s] the first fix inside the area."""
    last_t: float
    """[s] the last fix inside the area."""
    fixes: int


@dataclass(frozen=True, slots=True)
class MonthPartition:
    """One month of ``track_positions`` on PostgreSQL: ``[start, end)`` in POSIX seconds."""

    name: str
    start: float  # [s]
    end: float  # [s]


def month_partition(t: float) -> MonthPartition:
    """The calendar month (UTC) holding ``t`` [s], as a partition of ``track_positions``."""
    moment = dt.datetime.fromtimestamp(t, dt.UTC)
    first = dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)
    following = dt.datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=dt.UTC)
    return MonthPartition(f"track_positions_{first:%Y_%m}", first.timestamp(), following.timestamp())


class PositionStore:
    """Reads and writes ``track_positions`` and answers area queries over it and ``incidents``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save_positions(self, observations: Iterable[Observation], *, run_id: int | None = None) -> int:
        """Store the fixes among ``observations`` (reports without a position are skipped); returns how many
        rows were new (a fix already stored, same platform and time, is kept as it was)."""
        rows = [
            {
                "platform_id": o.platform_id,
                "t": o.t,
                "lat": o.lat,
                "lon": o.lon,
                "alt_m": o.alt_m,
                "run_id": run_id,
            }
            for o in observations
            if o.lat is not None and o.lon is not None and np.isfinite(o.t)
        ]
        if not rows:
            return 0
        written = 0
        with self._db.begin() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                self._ensure_partitions(connection, {month_partition(float(row["t"])) for row in rows})  # type: ignore[arg-type]
                statement = _insert_ignoring_duplicates("postgresql").returning(track_positions.c.t)  # type: ignore[attr-defined]
            else:
                statement = _insert_ignoring_duplicates("sqlite")
                sqlite = connection.connection.dbapi_connection
                changes_before = sqlite.total_changes  # type: ignore[union-attr]
            for start in range(0, len(rows), _INSERT_BATCH):
                result = connection.execute(statement, rows[start : start + _INSERT_BATCH])
                if postgres:
                    written += len(result.all())
            if not postgres:
                written = sqlite.total_changes - changes_before  # type: ignore[union-attr]
        return written

    def partitions(self) -> list[str]:
        """The month partitions of ``track_positions`` (PostgreSQL), oldest first; empty on SQLite."""
        if self._db.dialect != "postgresql":
            return []
        query = sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'track_positions' ORDER BY c.relname"
        )
        with self._db.read() as connection:
            return [str(name) for name in connection.execute(query).scalars()]

    def count(self) -> int:
        with self._db.read() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(track_positions)).scalar_one())

    def incidents_in_area(
        self, area: BaseGeometry, *, start: float | None = None, end: float | None = None, limit: int = 1000
    ) -> list[StoredIncident]:
        """Incidents whose closest approach is inside ``area`` (and whose span meets ``[start, end]`` [s]),
        oldest first."""
        _check_area(area)
        query = sa.select(incidents).order_by(incidents.c.start_time, incidents.c.id)
        if start is not None:
            query = query.where(incidents.c.end_time >= start)
        if end is not None:
            query = query.where(incidents.c.start_time <= end)
        with self._db.read() as connection:
            if connection.dialect.name == "postgresql":
                query = query.where(_intersects(incidents, area)).limit(limit)
                rows = connection.execute(query).mappings().all()
                return [_incident_from_row(row) for row in rows]
            rows = connection.execute(query.where(*_in_box(incidents, area))).mappings().all()
        inside = _inside(area, [row["lon"] for row in rows], [row["lat"] for row in rows])
        return [_incident_from_row(row) for row, keep in zip(rows, inside, strict=True) if keep][:limit]

    def tracks_through_area(self, area: BaseGeometry, start: float, end: float) -> list[TrackPassage]:
        """Platforms with at least one fix inside ``area`` during ``[start, end]`` [s], by first time inside."""
        _check_area(area)
        if not end >= start:
            raise UnstorableValue(f"time span end {end!r} is before its start {start!r}")
        span = (track_positions.c.t >= start, track_positions.c.t <= end)
        with self._db.read() as connection:
            if connection.dialect.name == "postgresql":
                query = (
                    sa.select(
                        track_positions.c.platform_id,
                        sa.func.min(track_positions.c.t),
                        sa.func.max(track_positions.c.t),
                        sa.func.count(),
                    )
                    .where(*span, _intersects(track_positions, area))
                    .group_by(track_positions.c.platform_id)
                )
                passages = [
                    TrackPassage(str(pid), float(first), float(last), int(n))
                    for pid, first, last, n in connection.execute(query)
                ]
            else:
                query = sa.select(
                    track_positions.c.platform_id, track_positions.c.t, track_positions.c.lon, track_positions.c.lat
                ).where(*span, *_in_box(track_positions, area))
                passages = _passages(area, [tuple(row) for row in connection.execute(query)])
        return sorted(passages, key=lambda p: (p.first_t, p.platform_id))

    def _ensure_partitions(self, connection: Connection, months: set[MonthPartition]) -> None:
        for month in sorted(months, key=lambda m: m.start):
            connection.execute(
                sa.text(
                    f"CREATE TABLE IF NOT EXISTS {month.name} PARTITION OF track_positions "
                    f"FOR VALUES FROM ({month.start!r}) TO ({month.end!r})"
                )
            )


def _insert_ignoring_duplicates(dialect: str) -> sa.Executable:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(track_positions).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(track_positions).on_conflict_do_nothing()


def _check_area(area: BaseGeometry) -> None:
    if area.is_empty or not area.is_valid or area.geom_type not in ("Polygon", "MultiPolygon"):
        raise UnstorableValue(f"area must be a valid, non-empty polygon, not {area.geom_type} {area.wkt[:60]}")


def _intersects(table: sa.Table, area: BaseGeometry) -> sa.ColumnElement[bool]:
    clause = sa.text(f"ST_Intersects({table.name}.geom, ST_GeomFromText(:area, 4326))").bindparams(area=area.wkt)
    return clause  # type: ignore[return-value]


def _in_box(table: sa.Table, area: BaseGeometry) -> tuple[sa.ColumnElement[bool], ...]:
    west, south, east, north = area.bounds
    return (table.c.lon >= west, table.c.lon <= east, table.c.lat >= south, table.c.lat <= north)


def _inside(area: BaseGeometry, lon: Sequence[float], lat: Sequence[float]) -> np.ndarray:
    if not lon:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects_xy(area, np.asarray(lon, float), np.asarray(lat, float)), dtype=bool)


def _passages(area: BaseGeometry, rows: Sequence[tuple[Any, ...]]) -> list[TrackPassage]:
    """Per platform, the fixes of ``rows`` (platform_id, t, lon, lat) that lie inside ``area``."""
    inside = _inside(area, [float(row[2]) for row in rows], [float(row[3]) for row in rows])
    spans: dict[str, list[float]] = {}
    for (platform_id, t, _, _), keep in zip(rows, inside, strict=True):
        if keep:
            span = spans.setdefault(platform_id, [t, t, 0])
            span[0], span[1], span[2] = min(span[0], t), max(span[1], t), span[2] + 1
    return [TrackPassage(pid, float(first), float(last), int(n)) for pid, (first, last, n) in spans.items()]
