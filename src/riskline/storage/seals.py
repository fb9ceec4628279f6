"""Row seals: every row of a node's database that the log cannot vouch for is sealed as it is written.

The Merkle log proves what was said; a node also keeps what it *showed* and *did* (the operator's view of
each message, the outbox, escalations, security and node events, pinned peers, …). Any single-row edit or
deletion there must be caught by ``riskline log verify`` and named, so each such row carries a seal:

* ``row_seals``: per table and ``rowid``, the row's values as canonical JSON, behind an HMAC-SHA256 of
  ``table, rowid, values`` (RFC 2104) under a key only the node's identity key can derive. A changed value is
  named by column; a row without its seal was written behind the node's back; a seal without its row names
  the deleted row by its sealed values.
* ``seal_heads``: per table, the sealed column list, the number of rows and the XOR of their MACs, under an
  HMAC too, so that deleting a row *and* its seal is caught as a count and digest that no longer match. The
  head ``*`` lists the sealed tables, so a deleted head is caught as well.

The seals are written by SQLite triggers (``AFTER INSERT/UPDATE/DELETE``) that call functions this module
registers on every connection of the node's engine (``attach``): whatever code writes a row — today's
store or tomorrow's — seals it in the same transaction, and a connection without the key (``sqlite3`` on the
file) cannot write a sealed table at all until it drops the triggers, which the seals then expose.
Triggers are generated from the live schema when the node opens, so a table added by a later migration is
sealed from then on (its existing rows adopted once).
On PostgreSQL the same seals are made by the node at commit from rows a keyless trigger notes
(``storage/seals_pg.py``).

What seals cannot do: someone holding the node's identity key can reseal anything (they can sign anything
too); a whole-database rollback to an earlier copy is consistent. Both are what the peers' witnessed heads
(``riskline log audit``) are for. The log's own columns that the Merkle tree covers (``data``,
``leaf_hash``) are left to it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import ConnectionPoolEntry

from riskline.storage.engine import Database
from riskline.storage.schema import metadata

row_seals = sa.Table(
    "row_seals",
    metadata,
    sa.Column("tbl", sa.String, primary_key=True),
    sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("sealed", sa.Text, nullable=False),
)
"""``sealed`` is ``<HMAC hex> <canonical JSON of the row's sealed columns>``."""

seal_heads = sa.Table(
    "seal_heads",
    metadata,
    sa.Column("tbl", sa.String, primary_key=True),
    sa.Column("columns", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("digest", sa.LargeBinary, nullable=False),
    sa.Column("mac", sa.LargeBinary, nullable=False),
)
"""Per sealed table: its sealed columns (JSON list), row count and XOR of the rows' MACs, under ``mac``.
The row ``*`` lists the sealed tables in ``columns``."""

log_verified = sa.Table(
    "log_verified",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("verified", sa.Double, nullable=False),
)
"""The last head of our log that ``log verify`` checked in full (one row, ``id`` 1), with what an incremental
check needs to go on from it (``state``, JSON); sealed like any other table."""

UNSEALED_TABLES: Final = frozenset({"alembic_version", "row_seals", "seal_heads"})
"""Tables without row seals: alembic's bookkeeping (checked at open) and the seals themselves."""
COVERED_COLUMNS: Final[Mapping[str, frozenset[str]]] = {"log_entries": frozenset({"data", "leaf_hash"})}
"""Columns the Merkle log and its signatures already cover, left out of the seals."""
MASTER: Final = "*"
_DIGEST_SIZE: Final = 32  # [bytes] HMAC-SHA256
_EMPTY: Final = bytes(_DIGEST_SIZE)
_OPERATIONS: Final = ("insert", "update", "delete")


def seal_values(values: Sequence[Any]) -> str:
    """Canonical JSON of a row's values: bytes as ``{"hex": …}``, floats exactly (``repr``), text as is."""
    try:
        return _encode_row(values)
    except TypeError:  # bytes: the rare case, so the common one is one C call
        return _dumps([{"hex": bytes(v).hex()} if isinstance(v, bytes | memoryview) else v for v in values])


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True)
_dumps = _ENCODER.encode
_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    None
    if _MAKE_ENCODER is None
    else _MAKE_ENCODER(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
)
"""``_ENCODER``'s own C encoder, made once: ``encode`` makes one per call, a third of the cost of a row of
scalars (no markers: a row's values are scalars, never containers that could hold themselves)."""


def _encode_row(values: Sequence[Any]) -> str:
    """``_dumps(values)`` of a row's scalar values (``TypeError`` on bytes, as ``_dumps``)."""
    if _C_ENCODER is None:
        return _dumps(values)
    return "".join(_C_ENCODER(values, 0))


def _row_prefix(table: str) -> bytes:
    return b"row\x00" + table.encode() + b"\x00"


@dataclass(frozen=True, slots=True)
class Sealer:
    """The seal functions of one node, under its ``key`` (derived from its identity key, never stored)."""

    key: bytes
    _keyed: Any = field(init=False, repr=False, compare=False)
    """An HMAC-SHA256 that has absorbed ``key``: copied for each MAC, the key's two blocks are hashed once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keyed", hmac.new(self.key, digestmod=hashlib.sha256))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sealer, (self.key,))

    def mac(self, table: str, row_id: int, text: str) -> bytes:
        return bytes(self._row_mac(_row_prefix(table), row_id, text).digest())

    def _row_mac(self, prefix: bytes, row_id: object, text: str) -> Any:
        """The HMAC of row ``row_id`` of the table ``prefix`` names, over its values' ``text``."""
        keyed = self._keyed.copy()
        keyed.update(prefix + str(row_id).encode() + b"\x00" + text.encode())
        return keyed

    def seal(self, table: str, row_id: int, *values: Any) -> str:
        text = seal_values(values)
        return f"{self.mac(table, row_id, text).hex()} {text}"

    def row_sealer(self, table: str) -> Callable[[Sequence[Any]], str]:
        """``seal(table, row[0], *row[1:])`` of rows read as ``(rowid, *values)``, what every row of ``table``
        shares made once (checking a table of a million rows)."""
        prefix = _row_prefix(table)
        row_mac = self._row_mac

        def sealed(row: Sequence[Any]) -> str:
            text = seal_values(row[1:])
            return f"{row_mac(prefix, row[0], text).hexdigest()} {text}"

        return sealed

    def head_mac(self, table: str, columns: str, rows: int, digest: bytes) -> bytes:
        message = b"head\x00" + table.encode() + b"\x00" + columns.encode() + b"\x00" + str(rows).encode()
        return hmac.digest(self.key, message + b"\x00" + bytes(digest), "sha256")

    def holds(self, table: str, row_id: int, sealed: str) -> bool:
        """Whether ``sealed`` (a ``row_seals.sealed`` value) is this node's seal of that row."""
        mac_hex, _, text = sealed.partition(" ")
        try:
            stored = bytes.fromhex(mac_hex)
        except ValueError:
            return False
        return hmac.compare_digest(stored, self.mac(table, row_id, text))


def xor_digest(digest: bytes | None, sealed: str | None) -> bytes:
    """``digest`` with the MAC of ``sealed`` XOR-ed in (or out): the order-free digest of a table's seals."""
    base = _EMPTY if digest is None or len(digest) != _DIGEST_SIZE else bytes(digest)
    if sealed is None:
        return base
    try:
        mac = bytes.fromhex(sealed[: 2 * _DIGEST_SIZE])
    except ValueError:
        return base
    if len(mac) != _DIGEST_SIZE:
        return base
    return (int.from_bytes(base, "big") ^ int.from_bytes(mac, "big")).to_bytes(_DIGEST_SIZE, "big")


def register_functions(dbapi_connection: Any, sealer: Sealer) -> None:
    """The SQL functions the triggers call, on one ``sqlite3`` connection."""

    def head(table: str, columns: str, rows: int, digest: bytes) -> bytes:
        return sealer.head_mac(table, columns, rows, digest)

    dbapi_connection.create_function("riskline_seal", -1, sealer.seal, deterministic=True)
    dbapi_connection.create_function("riskline_xor", 2, xor_digest, deterministic=True)
    dbapi_connection.create_function("riskline_head", 4, head, deterministic=True)


def attach(database: Database, sealer: Sealer) -> None:
    """Register the seal functions on every connection of ``database`` (pooled ones are reopened)."""
    if database.dialect != "sqlite":
        return

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        register_functions(dbapi_connection, sealer)

    listen: Callable[..., None] = event.listen
    listen(database.engine, "connect", on_connect)
    database.engine.dispose()


# --- the live schema ----------------------------------------------------------------------------------------


def sealed_columns(connection: Connection, table: str) -> list[str]:
    """The columns of ``table`` that its seals cover, in table order."""
    covered = COVERED_COLUMNS.get(table, frozenset())
    rows = connection.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall()
    return [str(row[1]) for row in rows if row[1] not in covered]


def primary_key(connection: Connection, table: str) -> list[str]:
    rows = connection.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall()
    return [str(row[1]) for row in sorted((r for r in rows if r[5]), key=lambda r: r[5])]


def database_tables(connection: Connection) -> list[str]:
    """Every table of the database, by name, SQLite's own left out."""
    rows = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def sealable_tables(connection: Connection) -> list[str]:
    return [name for name in database_tables(connection) if name not in UNSEALED_TABLES]


def _trigger_sql(table: str, columns: Sequence[str]) -> dict[str, str]:
    columns_text = json.dumps(list(columns))

    def seal(prefix: str) -> str:
        values = "".join(f', {prefix}."{c}"' for c in columns)
        return f"riskline_seal('{table}', {prefix}.rowid{values})"

    def sealed(prefix: str) -> str:
        return f"(SELECT sealed FROM row_seals WHERE tbl = '{table}' AND row_id = {prefix}.rowid)"

    def finish(rows: str) -> str:
        return (
            f"UPDATE seal_heads SET rows = {rows}, mac = riskline_head('{table}', '{columns_text}', {rows}, digest)"
            f" WHERE tbl = '{table}';"
        )

    xor_out = f"UPDATE seal_heads SET digest = riskline_xor(digest, {sealed('OLD')}) WHERE tbl = '{table}';"
    xor_in = f"UPDATE seal_heads SET digest = riskline_xor(digest, {sealed('NEW')}) WHERE tbl = '{table}';"
    drop = f"DELETE FROM row_seals WHERE tbl = '{table}' AND row_id = OLD.rowid;"
    put = f"INSERT OR REPLACE INTO row_seals (tbl, row_id, sealed) VALUES ('{table}', NEW.rowid, {seal('NEW')});"
    bodies = {
        "insert": f"{put} {xor_in} {finish('rows + 1')}",
        "update": f"{xor_out} {drop} {put} {xor_in} {finish('rows')}",
        "delete": f"{xor_out} {drop} {finish('rows - 1')}",
    }
    return {
        operation: (
            f'CREATE TRIGGER "riskline_seal_{operation}_{table}" AFTER {operation.upper()} ON "{table}"'
            f" FOR EACH ROW BEGIN {body} END"
        )
        for operation, body in bodies.items()
    }


@dataclass(frozen=True, slots=True)
class Head:
    table: str
    columns: str
    rows: int
    digest: bytes
    mac: bytes


def heads(connection: Connection) -> dict[str, Head]:
    rows = connection.execute(sa.select(seal_heads)).fetchall()
    return {row.tbl: Head(row.tbl, row.columns, row.rows, bytes(row.digest), bytes(row.mac)) for row in rows}


def sealed_listing(connection: Connection, sealer: Sealer, known: Mapping[str, Head]) -> list[str] | None:
    """The tables the master head lists as sealed ([] on a node that never sealed), or None when the seals cannot
    be trusted to build on: the master head is not this node's, or seals exist without it (tampered: left for
    ``log verify`` to report). ``known``: the stored heads. Both back-ends' ``install`` start from it."""
    master = known.get(MASTER)
    if master is not None:
        if not hmac.compare_digest(master.mac, sealer.head_mac(MASTER, master.columns, master.rows, master.digest)):
            return None
        return list(json.loads(master.columns))
    if connection.execute(sa.select(sa.func.count()).select_from(row_seals)).scalar_one() or known:
        return None
    return []


def install(connection: Connection, sealer: Sealer) -> list[str]:
    """Make every sealable table sealed, inside the caller's write transaction; the tables newly adopted.

    A table is adopted (its rows sealed as they are) only when it was never sealed: on the database a
    migration just created, or for a table a later migration added. A table whose head or seals are
    missing on a node that sealed it before is left for ``log verify`` to report, never re-adopted; a table
    whose columns changed (a migration) is resealed only when every row still matches its old seal.
    """
    known = heads(connection)
    listed = sealed_listing(connection, sealer, known)
    if listed is None:
        return []
    master = known.get(MASTER)
    adopted: list[str] = []
    triggers = {
        str(row[0])
        for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    }
    for table in sealable_tables(connection):
        columns = sealed_columns(connection, table)
        columns_text = json.dumps(columns)
        head = known.get(table)
        if table in listed and head is None:
            continue  # a deleted head: reported by `log verify`
        if head is not None and head.columns != columns_text:
            old = json.loads(head.columns)
            if any(problem for problem in check_table(connection, sealer, table, old, head)):
                continue
            head = None
        if head is None:
            _adopt(connection, sealer, table, columns)
            adopted.append(table)
        wanted = _trigger_sql(table, columns)
        for operation, sql in wanted.items():
            name = f"riskline_seal_{operation}_{table}"
            if name in triggers and table not in adopted:
                continue
            connection.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}"')
            connection.exec_driver_sql(sql)
        if table not in listed:
            listed.append(table)
    if adopted or master is None:
        text = json.dumps(sorted(listed))
        _put_head(connection, sealer, MASTER, text, len(listed), _EMPTY)
    return adopted


def _adopt(connection: Connection, sealer: Sealer, table: str, columns: Sequence[str]) -> None:
    connection.execute(row_seals.delete().where(row_seals.c.tbl == table))
    selected = ", ".join(f'"{c}"' for c in columns)
    digest = _EMPTY
    rows = 0
    batch: list[dict[str, Any]] = []
    for row in connection.exec_driver_sql(f'SELECT rowid, {selected} FROM "{table}"'):
        sealed = sealer.seal(table, row[0], *row[1:])
        digest = xor_digest(digest, sealed)
        rows += 1
        batch.append({"tbl": table, "row_id": row[0], "sealed": sealed})
        if len(batch) >= 5_000:
            connection.execute(row_seals.insert(), batch)
            batch = []
    if batch:
        connection.execute(row_seals.insert(), batch)
    _put_head(connection, sealer, table, json.dumps(list(columns)), rows, digest)


def _put_head(connection: Connection, sealer: Sealer, table: str, columns: str, rows: int, digest: bytes) -> None:
    connection.execute(seal_heads.delete().where(seal_heads.c.tbl == table))
    connection.execute(
        seal_heads.insert().values(
            tbl=table, columns=columns, rows=rows, digest=digest, mac=sealer.head_mac(table, columns, rows, digest)
        )
    )


# --- checking -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealProblem:
    """One row (or table) whose seal does not hold: ``row`` names it by its primary key where it can."""

    table: str
    row: str | None
    reason: str


def marks(connection: Connection, *, at_least: int = 10_000, rows: Mapping[str, int] | None = None) -> dict[str, int]:
    """The highest ``rowid`` of each sealed table holding more than ``at_least`` rows: where an incremental
    check of a large table starts (smaller tables are always checked whole). ``rows``: the tables' row counts
    when the caller knows them (a table missing there is counted)."""
    known = rows or {}
    found: dict[str, int] = {}
    for table in sealable_tables(connection):
        if table in known:
            count = known[table]
            highest = connection.exec_driver_sql(f'SELECT max(rowid) FROM "{table}"').scalar()
        else:
            count, highest = connection.exec_driver_sql(f'SELECT count(*), max(rowid) FROM "{table}"').one()
        if count > at_least and highest is not None:
            found[table] = int(highest)
    return found


@dataclass(frozen=True, slots=True)
class SealedTable:
    """A table whose seal head is there: its rows are checked against it next (``head_problems``)."""

    table: str
    head: Head


def head_problems(
    known: Mapping[str, Head], tables: Sequence[str], sealer: Sealer
) -> Iterator[SealProblem | SealedTable]:
    """The problems of the seal heads — the list of sealed tables, then each table's head — in order, with each
    table whose head is there given in its turn as a ``SealedTable``, for its rows to be checked. ``known``: the
    stored heads; ``tables``: the sealable tables of the database (both back-ends share this part)."""
    master = known.get(MASTER)
    if master is None:
        yield SealProblem("seal_heads", MASTER, "the list of sealed tables is missing: the seals were wiped")
        listed: list[str] = []
    elif not hmac.compare_digest(master.mac, sealer.head_mac(MASTER, master.columns, master.rows, master.digest)):
        yield SealProblem("seal_heads", MASTER, "the list of sealed tables is not this node's (edited)")
        listed = []
    else:
        listed = json.loads(master.columns)
        for table in listed:
            if table not in tables:
                yield SealProblem(table, None, "the table was sealed but is gone from the database")
    for table in tables:
        head = known.get(table)
        if head is None:
            yield SealProblem(table, None, "its seal head is missing from seal_heads (deleted)")
            continue
        if table not in listed and master is not None:
            yield SealProblem(table, None, "is not among the sealed tables of seal_heads['*']")
        yield SealedTable(table, head)


def check_all(
    connection: Connection,
    sealer: Sealer,
    since: Mapping[str, int] | None = None,
    *,
    checked: Mapping[str, RowsChecked] | None = None,
    counted: Mapping[str, int] | None = None,
    seals_counted: Mapping[str, int] | None = None,
) -> Iterator[SealProblem]:
    """Every seal problem of the database: tables, heads, rows. ``since`` (``marks`` of an earlier full check):
    of those tables only the rows added after, with the row counts. ``checked``: tables whose rows were checked
    elsewhere (``check_table``); ``counted``: the row counts of tables the caller has taken already;
    ``seals_counted``: the seals of each table, counted before (``seal_counts``)."""
    for item in head_problems(heads(connection), sealable_tables(connection), sealer):
        if isinstance(item, SealProblem):
            yield item
            continue
        head, table = item.head, item.table
        mark = (since or {}).get(table, 0)
        yield from check_table(
            connection,
            sealer,
            table,
            json.loads(head.columns),
            head,
            since=mark,
            checked=(checked or {}).get(table),
            present=(counted or {}).get(table),
            sealed=(seals_counted or {}).get(table),
        )


def _describe(table: str, key: Sequence[str], columns: Sequence[str], values: Sequence[Any], row_id: int) -> str:
    named = dict(zip(columns, values, strict=False))
    if key and all(k in named for k in key):
        return ", ".join(f"{k}={named[k]!r}" for k in key)
    return f"rowid={row_id}"


def check_table(
    connection: Connection,
    sealer: Sealer,
    table: str,
    columns: Sequence[str],
    head: Head,
    *,
    since: int = 0,
    checked: RowsChecked | None = None,
    present: int | None = None,
    sealed: int | None = None,
) -> Iterator[SealProblem]:
    """The seal problems of one table against its ``head``, naming rows by their primary key; ``since``: only
    the rows above that ``rowid``, and the counts (a deletion anywhere still shows). ``checked``: the rows
    already checked elsewhere (``check_rows`` in a worker process) — trusted only when it found nothing and its
    count and digest are the head's; any doubt and the table is checked here, which names what is wrong.
    ``present``: the table's row count, when the caller has taken it; ``sealed``: its seals, counted before this
    transaction (trusted only when they are the head's count: any other and they are counted again here)."""
    if not hmac.compare_digest(head.mac, sealer.head_mac(table, head.columns, head.rows, head.digest)):
        yield SealProblem(table, None, "its seal head (row count and digest) is not this node's: edited")
    if checked is not None and not since and checked.holds(head):
        return
    key = primary_key(connection, table)
    found = check_rows(connection.connection, sealer, table, columns, key, above=since if since else None)
    yield from found.problems
    if since:
        if present is None:
            present = connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one()
        sealed_rows = sealed
        if sealed_rows != head.rows:
            sealed_rows = connection.execute(
                sa.select(sa.func.count()).select_from(row_seals).where(row_seals.c.tbl == table)
            ).scalar_one()
        if present != head.rows or sealed_rows != head.rows:
            yield SealProblem(
                table, None, f"{head.rows} rows were sealed, {present} rows and {sealed_rows} seals remain"
            )
        return
    if found.count != head.rows or found.digest != head.digest:
        yield SealProblem(
            table,
            None,
            f"{head.rows} rows were sealed, {found.count} seals remain: a row was deleted with its seal"
            if found.count != head.rows
            else "the seals present are not the ones sealed (a seal was replaced)",
        )


def seal_counts(connection: Connection) -> dict[str, int]:
    """The number of seals of each table, in one pass over ``row_seals`` (its primary key's index)."""
    rows = connection.execute(sa.select(row_seals.c.tbl, sa.func.count()).group_by(row_seals.c.tbl))
    return {str(table): int(count) for table, count in rows}


@dataclass(frozen=True, slots=True)
class RowsChecked:
    """What ``check_rows`` found in one table (or one ``rowid`` range of it): the problems of its rows, and
    the number and XOR digest of the seals in the range, for the caller to hold against the table's head."""

    table: str
    problems: tuple[SealProblem, ...]
    count: int
    digest: bytes

    def holds(self, head: Head) -> bool:
        return not self.problems and self.count == head.rows and self.digest == head.digest

    @staticmethod
    def combined(table: str, parts: Sequence[RowsChecked]) -> RowsChecked:
        """The ranges ``parts`` (disjoint, in order) as one."""
        digest = 0
        for part in parts:
            digest ^= int.from_bytes(part.digest, "big")
        return RowsChecked(
            table,
            tuple(problem for part in parts for problem in part.problems),
            sum(part.count for part in parts),
            digest.to_bytes(_DIGEST_SIZE, "big"),
        )


def check_rows(
    database: Any,
    sealer: Sealer,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    *,
    above: int | None = None,
    upto: int | None = None,
) -> RowsChecked:
    """Every row of ``table`` with ``above < rowid <= upto`` (unbounded when None) against its seal, on a DBAPI
    connection of SQLite (``database.cursor()``: the caller's, or a worker's own, read-only). A row whose seal is
    exactly what ``Sealer.seal`` gives for its values costs one HMAC and one comparison; any other is looked at
    closely (``_row_problems``)."""
    low = -(2**63) if above is None else above
    high = 2**63 - 1 if upto is None else upto
    selected = ", ".join(f'"{c}"' for c in columns)
    rows = database.cursor()
    rows.execute(f'SELECT rowid, {selected} FROM "{table}" WHERE rowid > ? AND rowid <= ? ORDER BY rowid', (low, high))
    stored = database.cursor()
    stored.execute(
        "SELECT row_id, sealed FROM row_seals WHERE tbl = ? AND row_id > ? AND row_id <= ? ORDER BY row_id",
        (table, low, high),
    )
    problems: list[SealProblem] = []
    seal = sealer.row_sealer(table)
    pending = stored.fetchone()
    digest = 0
    count = 0
    for row in rows:
        row_id = row[0]
        while pending is not None and pending[0] < row_id:
            problems.append(_deleted(sealer, table, key, columns, pending[0], pending[1]))
            digest ^= _mac_value(pending[1])
            count += 1
            pending = stored.fetchone()
        if pending is None or pending[0] != row_id:
            name = _describe(table, key, columns, row[1:], row_id)
            problems.append(SealProblem(table, name, "has no seal: written behind the node's back"))
            continue
        sealed = pending[1]
        count += 1
        pending = stored.fetchone()
        if sealed == seal(row):
            digest ^= int(sealed[: 2 * _DIGEST_SIZE], 16)
            continue
        sealed = str(sealed)
        digest ^= _mac_value(sealed)
        name = _describe(table, key, columns, row[1:], row_id)
        problems.extend(_row_problems(sealer, table, name, columns, row_id, list(row[1:]), sealed))
    while pending is not None:
        problems.append(_deleted(sealer, table, key, columns, pending[0], pending[1]))
        digest ^= _mac_value(pending[1])
        count += 1
        pending = stored.fetchone()
    rows.close()
    stored.close()
    return RowsChecked(table, tuple(problems), count, digest.to_bytes(_DIGEST_SIZE, "big"))


def _mac_value(sealed: object) -> int:
    """The MAC of a ``row_seals.sealed`` value as a number, 0 when unreadable (as ``xor_digest`` leaves it out)."""
    return int.from_bytes(xor_digest(None, None if sealed is None else str(sealed)), "big")


def _row_problems(
    sealer: Sealer, table: str, name: str, columns: Sequence[str], row_id: int, values: Sequence[Any], sealed: str
) -> Iterator[SealProblem]:
    if not sealer.holds(table, row_id, sealed):
        yield SealProblem(table, name, "its seal is not this node's (forged or edited)")
        return
    text = seal_values(values)
    _, _, sealed_text = sealed.partition(" ")
    if text == sealed_text:
        return
    was = json.loads(sealed_text)
    now = json.loads(text)
    changed = [
        f"{column} is {_show(new)}, sealed as {_show(old)}"
        for column, new, old in zip(columns, now, was, strict=False)
        if new != old
    ]
    yield SealProblem(table, name, "edited: " + "; ".join(changed or ["its values differ from the sealed ones"]))


def _deleted(
    sealer: Sealer, table: str, key: Sequence[str], columns: Sequence[str], row_id: int, sealed: str
) -> SealProblem:
    _, _, text = str(sealed).partition(" ")
    try:
        values = json.loads(text)
    except ValueError:
        values = []
    name = _describe(table, key, columns, values, row_id)
    if not sealer.holds(table, row_id, str(sealed)):
        return SealProblem(table, name, "a seal that is not this node's names a row that is not there")
    return SealProblem(table, name, "deleted (its seal remains)")


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"
