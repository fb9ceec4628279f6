"""What ``riskline log verify`` says differently to SQLite and to PostgreSQL (issue 11: one audit, two stores).

The audit's SQL (``audit_implied``) is written once; the few fragments the two back-ends spell differently
come from ``AuditSql``. On SQLite each fragment is exactly the SQL the audit always ran (``json_extract``,
``IS NOT``, ``rowid`` marks), so nothing changes there. On PostgreSQL:

* the envelope is ``log_entries.data`` (``bytea``) decoded as UTF-8 and parsed as ``jsonb`` once per row;
* a field read from JSON stays ``jsonb`` (JSON ``null`` as SQL ``NULL``), and the column it is compared
  with is turned into ``jsonb`` too (``to_jsonb``), so numbers compare as numbers and text as text whatever
  the column's type, as SQLite's ``json_extract`` gives; the driver hands the values back as Python's;
* ``IS NOT`` is ``IS DISTINCT FROM``;
* there is no ``rowid``: an incremental check re-reads the whole of each table (its marks are empty).

``streamed_facts`` and ``facts_of_url`` (a worker process's task) read the log's entries from a database server,
as ``audit_workers`` reads them from an SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from riskline.channel.bundle import EntryChecker, EntryFacts
from riskline.node.audit_workers import STREAM_CHUNK, LogChanged, _facts

if TYPE_CHECKING:  # a worker process imports this module: not the whole storage layer
    from riskline.storage.engine import Database


@dataclass(frozen=True, slots=True)
class AuditSql:
    """The audit's SQL fragments for one back-end (``of(connection)``)."""

    postgresql: bool

    @classmethod
    def of(cls, connection: Connection) -> AuditSql:
        return cls(connection.dialect.name == "postgresql")

    def envelope(self, alias: str = "l") -> str:
        """The signed envelope of log entry ``alias`` as JSON (``jsonb`` parsed once by ``envelope_source``)."""
        if self.postgresql:
            return "envelope.doc"
        return f"CAST({alias}.data AS TEXT)"

    def envelope_source(self, alias: str = "l") -> str:
        """What to join after ``log_entries AS alias`` so that ``envelope`` can be read (nothing on SQLite)."""
        if self.postgresql:  # OFFSET 0 keeps the planner from inlining it: one parse per row, not one per field
            parsed = f"CAST(convert_from({alias}.data, 'UTF8') AS jsonb)"
            return f" CROSS JOIN LATERAL (SELECT {parsed} AS doc OFFSET 0) AS envelope"
        return ""

    def json(self, document: str, path: str) -> str:
        """The value at ``path`` (``$.a.b``) of the JSON ``document``, to compare with ``value(column)``."""
        if self.postgresql:
            return f"NULLIF(CAST({document} AS jsonb) #> '{self._path(path)}', 'null')"
        return f"json_extract({document}, '{path}')"

    def text(self, document: str, path: str) -> str:
        """The value at ``path`` as text, to compare with text or join to other text."""
        if self.postgresql:
            return f"(CAST({document} AS jsonb) #>> '{self._path(path)}')"
        return f"json_extract({document}, '{path}')"

    def value(self, expression: str) -> str:
        """A column or SQL expression as ``json`` gives its values (itself on SQLite)."""
        return f"to_jsonb({expression})" if self.postgresql else expression

    def differs(self, left: str, right: str) -> str:
        """``left`` and ``right`` differ, ``NULL`` being a value like any other."""
        return f"{left} IS DISTINCT FROM {right}" if self.postgresql else f"{left} IS NOT {right}"

    def above_mark(self, alias: str) -> str:
        """Rows of ``alias`` added after an earlier check's ``:mark`` (a ``rowid``; every row on PostgreSQL)."""
        return "TRUE" if self.postgresql else f"{alias}.rowid > :mark"

    @staticmethod
    def _path(path: str) -> str:
        return "{" + ",".join(path.removeprefix("$.").split(".")) + "}"


def first_gap(connection: Connection, start: int = 0) -> tuple[int, int] | None:
    """The first missing index of ``log_entries`` (from ``start``) and the next one stored, or None when they
    are dense from 0."""
    row = connection.execute(
        sa.text(
            "SELECT idx FROM log_entries AS l WHERE idx > :after AND NOT EXISTS"
            " (SELECT 1 FROM log_entries AS p WHERE p.idx = l.idx - 1) ORDER BY idx LIMIT 1"
        ),
        {"after": max(0, start - 1)},
    ).fetchone()
    first = connection.execute(sa.text("SELECT min(idx) FROM log_entries")).scalar()
    if first is not None and first != 0:
        return 0, int(first)
    if row is None:
        return None
    found = int(row[0])
    before = connection.execute(
        sa.text("SELECT max(idx) FROM log_entries WHERE idx < :found"), {"found": found}
    ).scalar_one()
    return int(before) + 1, found


_ENTRIES = sa.text("SELECT idx, leaf_hash, data FROM log_entries WHERE idx >= :start AND idx < :end ORDER BY idx")


def streamed_facts(checker: EntryChecker, database: Database, start: int, end: int) -> Iterator[EntryFacts]:
    """``audit_workers.streamed_facts`` read through ``database`` (any back-end), ``STREAM_CHUNK`` at a time."""
    with database.read() as connection:
        for low in range(start, end, STREAM_CHUNK):
            yield from _facts(checker, _entries(connection, low, min(end, low + STREAM_CHUNK)))


def _entries(connection: Connection, start: int, end: int) -> list[tuple[int, bytes, bytes | str]]:
    rows: list[tuple[int, bytes, bytes | str]] = [
        (int(r[0]), bytes(r[1]), bytes(r[2])) for r in connection.execute(_ENTRIES, {"start": start, "end": end})
    ]
    if [row[0] for row in rows] != list(range(start, end)):
        raise LogChanged(f"log entries {start}..{end - 1} changed while they were being checked")
    return rows


def facts_of_url(checker: EntryChecker, url: str, start: int, end: int) -> list[EntryFacts]:
    """``audit_workers.facts_of_range`` for a log on a server (``url``): a worker's own connection, read-only."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = _entries(connection, start, end)
    finally:
        engine.dispose()
    return list(_facts(checker, rows))
