"""Track positions for area queries, partitioned by month on PostgreSQL; PostGIS geometry where a query needs it.

Revision ID: 0010
Revises: 0005

* ``track_positions``: one row per stored position fix (``riskline watch --keep-positions``, ``riskline
  history --out``). The table that grows without bound (a national AIS and ADS-B feed stores billions of fixes
  a year), so on PostgreSQL it is declared ``PARTITION BY RANGE (t)``; ``PositionStore`` creates each
  month's partition before the first insert into it, and a time-bounded query reads only the months it spans
  (partition pruning). No DEFAULT partition: a row in it would block creating the partition of its month.
* On PostgreSQL, ``geom`` (``geometry(Point, 4326)``, generated from ``lon``/``lat`` and stored) with a GiST
  index, on ``track_positions`` and on ``incidents``: "incidents in this area" and "tracks through this hazard
  area" are index scans there. SQLite keeps plain ``lat``/``lon`` and ``PositionStore`` filters by bounding box
  in SQL and exactly in Python (shapely); the answers are the same (a test runs both).

PostGIS must be installed in the PostgreSQL database (``CREATE EXTENSION postgis``, which needs a superuser).
The migration creates it if it can; if not, it refuses with a one-line reason and the database stays as it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from riskline.storage.errors import PostgisMissing

revision = "0010"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_POINT = "ST_SetSRID(ST_MakePoint(lon, lat), 4326)"


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        _require_postgis(bind)
    columns = [
        sa.Column("platform_id", sa.String, nullable=False),
        sa.Column("t", sa.Double, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("alt_m", sa.Double, nullable=True),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("platform_id", "t", name=op.f("pk_track_positions")),
    ]
    if postgres:
        op.create_table("track_positions", *columns, postgresql_partition_by="RANGE (t)")
        op.execute(
            f"ALTER TABLE track_positions ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS ({_POINT}) STORED"
        )
        op.execute("CREATE INDEX ix_track_positions_geom ON track_positions USING gist (geom)")
        op.execute(
            f"ALTER TABLE incidents ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS ({_POINT}) STORED"
        )
        op.execute("CREATE INDEX ix_incidents_geom ON incidents USING gist (geom)")
    else:
        op.create_table("track_positions", *columns)
    op.create_index(op.f("ix_track_positions_t"), "track_positions", ["t"])
    op.create_index(op.f("ix_track_positions_lat_lon"), "track_positions", ["lat", "lon"])
    op.create_index(op.f("ix_incidents_lat_lon"), "incidents", ["lat", "lon"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_lat_lon"), "incidents")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_geom")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS geom")
    op.drop_table("track_positions")


def _require_postgis(bind: sa.Connection) -> None:
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first() is not None:
        return
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first()
    if available is None:
        raise PostgisMissing(
            "PostGIS is not installed on the PostgreSQL server (Debian: apt-get install postgresql-15-postgis-3)"
        )
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        raise PostgisMissing(
            "PostGIS is not enabled in this database and riskline may not enable it: "
            "as a superuser run CREATE EXTENSION postgis; then retry"
        ) from None
    savepoint.commit()
