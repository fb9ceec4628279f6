"""The tables riskline keeps, declared once on one ``MetaData``; migrations build exactly these.

Design choices (docs/storage.md explains them at length):

* Times are POSIX seconds in double precision (``Seconds``), not ``TIMESTAMP``: riskline is SI inside and
  keeps time as float seconds everywhere; SQLite has no timestamp type and PostgreSQL's is rounded to the
  microsecond, while an IEEE double round-trips the Python float exactly on both backends (REAL / DOUBLE
  PRECISION) and allows arithmetic in SQL. At 1.7e9 s one ulp is about 0.24 µs.
* ``start``/``end`` are named ``start_time``/``end_time``: ``END`` is a reserved word in SQL.
* Structured values (evidence, details, run options and stats) are JSON text. Plain ``JSON`` rather than
  PostgreSQL ``JSONB``: JSONB normalises numbers, JSON keeps the text and so the floats exactly.
* Every constraint and index is named by ``NAMING_CONVENTION``, so later migrations can refer to them by name
  (SQLite needs that for ``batch_alter_table``).

The migration ``0001_watch`` writes these tables with alembic ops; a test compares the migrated database with
this metadata, so the two cannot drift apart. Other storage modules may declare their tables on ``metadata``
too; ``declared_metadata`` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil

import sqlalchemy as sa

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def Seconds() -> sa.Double[float]:  # noqa: N802 (reads as a column type)
    """[s] POSIX time or duration in double precision: REAL in SQLite, DOUBLE PRECISION in PostgreSQL."""
    return sa.Double()


def Json() -> sa.JSON:  # noqa: N802 (reads as a column type)
    """JSON text; Python ``None`` is SQL NULL, not the JSON ``null``."""
    return sa.JSON(none_as_null=True)


ingest_runs = sa.Table(
    "ingest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started", Seconds(), nullable=False),
    sa.Column("finished", Seconds(), nullable=True),
    sa.Column("inputs", Json(), nullable=False),
    sa.Column("options", Json(), nullable=False),
    sa.Column("stats", Json(), nullable=True),
    sa.Column("ended_by", sa.String, nullable=True),
    sqlite_autoincrement=True,
)
"""One run of the watch over its inputs: what it read, with which options, and what ingest counted.

``ended_by`` (migration 0003) says how a finished run ended: ``end of input``, or interrupted by ``SIGINT``,
``SIGTERM`` or a ``closed pipe``; NULL while it runs, or when it never finished (killed)."""

platforms = sa.Table(
    "platforms",
    metadata,
    sa.Column("platform_id", sa.String, primary_key=True),
    sa.Column("party", sa.String, nullable=False),
    sa.Column("domain", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("platform_type", sa.String, nullable=True),
    sa.Column("name", sa.String, nullable=True),
    sa.Column("callsign", sa.String, nullable=True),
    sa.Column("flag", sa.String, nullable=True),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("first_seen", Seconds(), nullable=False),
    sa.Column("last_seen", Seconds(), nullable=False),
    sa.Column("updated", Seconds(), nullable=False),
)
"""The latest identity of every platform seen, and when it was first and last seen."""

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id"), nullable=False),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("a", sa.String, nullable=False),
    sa.Column("b", sa.String, nullable=False),
    sa.Column("party_a", sa.String, nullable=False),
    sa.Column("party_b", sa.String, nullable=False),
    sa.Column("occurred", sa.Boolean, nullable=False),
    sa.Column("start_time", Seconds(), nullable=False),
    sa.Column("end_time", Seconds(), nullable=False),
    sa.Column("t_cpa", Seconds(), nullable=False),
    sa.Column("min_distance_m", sa.Double, nullable=False),
    sa.Column("min_horizontal_m", sa.Double, nullable=False),
    sa.Column("min_vertical_m", sa.Double, nullable=True),
    sa.Column("first_alert", Seconds(), nullable=True),
    sa.Column("lat", sa.Double, nullable=False),
    sa.Column("lon", sa.Double, nullable=False),
    sa.Column("details", Json(), nullable=False),
    sa.Column("evidence", Json(), nullable=True),
    sa.Column("created", Seconds(), nullable=False),
    sa.Index(None, "rule"),
    sa.Index(None, "start_time"),
    sa.Index(None, "a", "b"),
    sa.Index(None, "run_id"),
    sqlite_autoincrement=True,
)
"""One row per stored ``Encounter``; ids are never reused (SQLite ``AUTOINCREMENT``)."""


def declared_metadata() -> sa.MetaData:
    """``metadata`` with every table any storage module declares on it (those modules are imported first)."""
    import riskline.storage as package

    for module in pkgutil.iter_modules(package.__path__):
        if not module.ispkg:
            importlib.import_module(f"{package.__name__}.{module.name}")
    return metadata
