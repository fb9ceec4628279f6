"""Row seals on PostgreSQL: ``storage/seals.py``'s promise — a connection without the node's key cannot write a
row whose seal verifies — kept without the key ever entering the database.

On SQLite the triggers call a function the node registers on its own connections, so the key stays in the
node's process. PostgreSQL runs trigger code in the server, where a key would be readable by whoever can read
the function; so the work is split:

* the server only *notes* which rows changed: statement-level triggers on every sealed table (plain
  PL/pgSQL, no key, generated from the live schema when the node opens) append the primary key of each row a
  statement wrote, as ``jsonb``, to the session's temporary table ``riskline_seal_pending``, one ``INSERT``
  per statement from its transition tables. A session without that table (``psql``, any other
  program) cannot write a sealed table at all: the trigger refuses, naming it.
* the node seals: every connection of the node's engine creates that temporary table when it connects, and
  just before each commit of a transaction that wrote (SQLAlchemy's ``commit`` event) the node reads the noted
  rows, seals them with the same ``Sealer`` as on SQLite, updates ``row_seals`` and the table's head in
  ``seal_heads`` and empties the note, all in the committing transaction. A rolled-back write takes its note
  with it.

Seals are keyed by the table's primary key (PostgreSQL has no ``rowid``): ``row_seals.row_id`` is the key
itself when it is one integer column, else a 63-bit HMAC of the key under the node's seal key (so no one
without the key can pick two keys that share a slot). Sealed columns are the table's own, less those
PostgreSQL generates (PostGIS ``geom``, derived from ``lon``/``lat``). ``check_all`` reports exactly what
``seals.check_all`` reports, in the same words; an incremental ``log verify`` re-checks every table whole here.

A head whose MAC no longer holds is never re-signed by a later write (its rows and digest follow the writes, its
MAC stays wrong), so an edited head stays reported.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import ConnectionPoolEntry

from riskline.storage.engine import Database
from riskline.storage.seals import (
    _EMPTY,
    COVERED_COLUMNS,
    MASTER,
    UNSEALED_TABLES,
    Head,
    Sealer,
    SealProblem,
    _deleted,
    _describe,
    _put_head,
    _row_problems,
    head_problems,
    heads,
    row_seals,
    sealed_listing,
    xor_digest,
)

PENDING: Final = "riskline_seal_pending"
TRIGGER: Final = "riskline_seal_"
"""Each sealed table's triggers: ``riskline_seal_insert``, ``_update``, ``_delete`` (one event each: transition
tables allow no more), statement-level, calling the table's own function ``riskline_seal_note_<table>``."""
FUNCTION_PREFIX: Final = "riskline_seal_note_"
_WROTE: Final = "riskline_seals_pg_wrote"
_BATCH: Final = 5_000
_INTEGER_TYPES: Final = frozenset({"integer", "bigint", "smallint"})

_EVENTS: Final = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def _note_function(shape: Layout) -> str:
    """The trigger function of one table: it notes the keys of the rows a statement wrote (no key, no seal)."""

    def keys(alias: str) -> str:
        return "jsonb_build_array(" + ", ".join(f'{alias}."{k}"' for k in shape.key) + ")"

    def note(rows: str, alias: str) -> str:
        return (
            f"INSERT INTO pg_temp.{PENDING} (tbl, key) SELECT '{shape.table}', {keys(alias)} FROM {rows} AS {alias}"
            " ON CONFLICT DO NOTHING;"
        )

    return f"""
CREATE OR REPLACE FUNCTION "{FUNCTION_PREFIX}{shape.table}"() RETURNS trigger LANGUAGE plpgsql AS $riskline$
BEGIN
    IF to_regclass('pg_temp.{PENDING}') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = 'riskline: table {shape.table} is '
            || 'sealed: only its node writes it (`riskline log verify` names any row written otherwise)';
    END IF;
    IF TG_OP <> 'INSERT' THEN {note("old_rows", "o")} END IF;
    IF TG_OP <> 'DELETE' THEN {note("new_rows", "n")} END IF;
    RETURN NULL;
END
$riskline$"""


_PENDING_TABLE: Final = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {PENDING} (tbl text NOT NULL, key jsonb NOT NULL, PRIMARY KEY (tbl, key))"
)


@dataclass(frozen=True, slots=True)
class Layout:
    """What sealing one table needs from the catalogue: its primary key (names and SQL types) and columns."""

    table: str
    key: tuple[str, ...]
    key_types: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def integer_key(self) -> bool:
        return len(self.key) == 1 and self.key_types[0] in _INTEGER_TYPES

    def key_text(self, alias: str) -> str:
        """SQL: the row's key as the trigger notes it (``jsonb`` array text)."""
        return "CAST(jsonb_build_array(" + ", ".join(f'{alias}."{k}"' for k in self.key) + ") AS text)"

    def row_id(self, sealer: Sealer, key_text: str) -> int:
        """The row's ``row_seals.row_id``: an integer key itself, else a keyed 63-bit hash of the key."""
        if self.integer_key:
            return int(json.loads(key_text)[0])
        digest = hmac.digest(sealer.key, b"rowid\x00" + self.table.encode() + b"\x00" + key_text.encode(), "sha256")
        return int.from_bytes(digest[:8], "big") >> 1


# --- the catalogue ------------------------------------------------------------------------------------------


def database_tables(connection: Connection) -> list[str]:
    """The tables of the schema: partitioned tables once (not each partition), extensions' own left out."""
    query = sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY c.relname"
    )
    return [str(name) for name in connection.execute(query).scalars()]


def sealable_tables(connection: Connection) -> list[str]:
    return [name for name in database_tables(connection) if name not in UNSEALED_TABLES]


_LAYOUT = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated, "
    "array_position(i.indkey::int2[], a.attnum) FROM pg_attribute a "
    "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
    "WHERE a.attrelid = CAST({table} AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)


def layout(connection: Connection, table: str) -> Layout:
    rows = connection.execute(sa.text(_LAYOUT.format(table=":table")), {"table": f'"{table}"'}).all()
    return _layout(table, rows)


def _layout(table: str, rows: Sequence[Sequence[Any]]) -> Layout:
    """``rows``: the catalogue's (name, type, generated, position in the primary key) of each column."""
    covered = COVERED_COLUMNS.get(table, frozenset())
    key = sorted((position, str(name), str(kind)) for name, kind, _, position in rows if position is not None)
    columns = tuple(str(name) for name, _, generated, _ in rows if not generated and name not in covered)
    return Layout(table, tuple(k[1] for k in key), tuple(k[2] for k in key), columns)


# --- writing: the node's connections ------------------------------------------------------------------------


def attach(database: Database, sealer: Sealer) -> None:
    """Give every connection of ``database`` its note table and seal what each transaction wrote as it commits."""
    if database.dialect != "postgresql":
        return
    layouts: dict[str, Layout] = {}

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(_PENDING_TABLE)
        dbapi_connection.commit()

    def on_execute(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if not connection.info.get(_WROTE) and not statement.lstrip()[:6].upper().startswith("SELECT"):
            connection.info[_WROTE] = True

    def on_commit(connection: Connection) -> None:
        if connection.info.pop(_WROTE, False):
            seal_pending(connection.connection.dbapi_connection, sealer, layouts)

    def on_rollback(connection: Connection) -> None:
        connection.info.pop(_WROTE, None)

    listen: Callable[..., None] = event.listen
    listen(database.engine, "connect", on_connect)
    listen(database.engine, "after_cursor_execute", on_execute)
    listen(database.engine, "commit", on_commit)
    listen(database.engine, "rollback", on_rollback)
    database.engine.dispose()


def seal_pending(dbapi_connection: Any, sealer: Sealer, layouts: dict[str, Layout]) -> int:
    """Seal the rows noted in this transaction (on the raw ``psycopg`` connection, inside the commit); how many."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tbl FROM pg_temp.{PENDING} ORDER BY tbl")
        tables = [str(row[0]) for row in cursor.fetchall()]
        sealed = 0
        for table in tables:
            sealed += _seal_table(cursor, sealer, table, layouts)
        if tables:
            cursor.execute(f"DELETE FROM pg_temp.{PENDING}")
    return sealed


def _raw_layout(cursor: Any, table: str, layouts: dict[str, Layout]) -> Layout:
    known = layouts.get(table)
    if known is None:
        cursor.execute(_LAYOUT.format(table="%(table)s"), {"table": f'"{table}"'})
        known = layouts[table] = _layout(table, cursor.fetchall())
    return known


def _seal_table(cursor: Any, sealer: Sealer, table: str, layouts: dict[str, Layout]) -> int:
    cursor.execute("SELECT columns, rows, digest, mac FROM seal_heads WHERE tbl = %s FOR UPDATE", (table,))
    head = cursor.fetchone()
    if head is None:
        return 0  # not sealed (yet): `log verify` names the table
    columns_text, rows, digest, mac = str(head[0]), int(head[1]), bytes(head[2]), bytes(head[3])
    head_held = hmac.compare_digest(mac, sealer.head_mac(table, columns_text, rows, digest))
    shape = _raw_layout(cursor, table, layouts)
    columns = json.loads(columns_text)
    selected = ", ".join(f't."{c}"' for c in columns)
    joined = " AND ".join(
        f't."{name}" = CAST(p.key ->> {position} AS {kind})'
        for position, (name, kind) in enumerate(zip(shape.key, shape.key_types, strict=True))
    )
    cursor.execute(
        f'SELECT p.key::text, t."{shape.key[0]}" IS NOT NULL, {selected} FROM pg_temp.{PENDING} AS p '
        f'LEFT JOIN "{table}" AS t ON {joined} WHERE p.tbl = %s',
        (table,),
    )
    changed = [(shape.row_id(sealer, str(row[0])), bool(row[1]), row[2:]) for row in cursor.fetchall()]
    ids = [row_id for row_id, _, _ in changed]
    cursor.execute("SELECT row_id, sealed FROM row_seals WHERE tbl = %s AND row_id = ANY(%s::bigint[])", (table, ids))
    for _row_id, old in cursor.fetchall():
        digest = xor_digest(digest, str(old))
        rows -= 1
    cursor.execute("DELETE FROM row_seals WHERE tbl = %s AND row_id = ANY(%s::bigint[])", (table, ids))
    fresh = []
    for row_id, present, values in changed:
        if present:
            seal = sealer.seal(table, row_id, *values)
            digest = xor_digest(digest, seal)
            rows += 1
            fresh.append((table, row_id, seal))
    if fresh:
        cursor.executemany("INSERT INTO row_seals (tbl, row_id, sealed) VALUES (%s, %s, %s)", fresh)
    if head_held:
        mac = sealer.head_mac(table, columns_text, rows, digest)
    cursor.execute("UPDATE seal_heads SET rows = %s, digest = %s, mac = %s WHERE tbl = %s", (rows, digest, mac, table))
    return len(fresh)


def install(connection: Connection, sealer: Sealer) -> list[str]:
    """``seals.install`` on PostgreSQL: each sealable table's note function and triggers; the tables newly
    adopted (their rows sealed as they are), inside the caller's write transaction."""
    known = heads(connection)
    listed = sealed_listing(connection, sealer, known)
    if listed is None:
        return []
    master = known.get(MASTER)
    present = connection.execute(
        sa.text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'riskline\\_seal\\_%' AND t.tgparentid = 0"
        )
    ).all()
    wanted = {f"{TRIGGER}{operation}" for operation in _EVENTS}
    triggered = {
        table for table in {str(r[0]) for r in present} if wanted <= {str(r[1]) for r in present if r[0] == table}
    }
    adopted: list[str] = []
    for table in sealable_tables(connection):
        shape = layout(connection, table)
        if not shape.key:
            continue  # no primary key to seal it by: `log verify` names the table (every riskline table has one)
        columns_text = json.dumps(list(shape.columns))
        head = known.get(table)
        if table in listed and head is None:
            continue  # a deleted head: reported by `log verify`
        if head is not None and head.columns != columns_text:
            old = json.loads(head.columns)
            if any(problem for problem in check_table(connection, sealer, table, old, head)):
                continue
            head = None
        if head is None:
            _adopt(connection, sealer, shape)
            adopted.append(table)
        if table not in triggered or table in adopted:
            connection.execute(sa.text(_note_function(shape)))
            for operation, transition in _EVENTS.items():
                name = f"{TRIGGER}{operation}"
                connection.execute(sa.text(f'DROP TRIGGER IF EXISTS {name} ON "{table}"'))
                connection.execute(
                    sa.text(
                        f'CREATE TRIGGER {name} AFTER {operation.upper()} ON "{table}" REFERENCING {transition} '
                        f'FOR EACH STATEMENT EXECUTE FUNCTION "{FUNCTION_PREFIX}{table}"()'
                    )
                )
        if table not in listed:
            listed.append(table)
    if adopted or master is None:
        text = json.dumps(sorted(listed))
        _put_head(connection, sealer, MASTER, text, len(listed), _EMPTY)
    return adopted


def _adopt(connection: Connection, sealer: Sealer, shape: Layout) -> None:
    table = shape.table
    connection.execute(row_seals.delete().where(row_seals.c.tbl == table))
    selected = "".join(f', t."{c}"' for c in shape.columns)
    digest = _EMPTY
    rows = 0
    result = connection.execute(
        sa.text(f'SELECT {shape.key_text("t")}{selected} FROM "{table}" AS t').execution_options(yield_per=_BATCH)
    )
    for batch in result.partitions():
        sealed = []
        for row in batch:
            row_id = shape.row_id(sealer, str(row[0]))
            seal = sealer.seal(table, row_id, *row[1:])
            digest = xor_digest(digest, seal)
            sealed.append({"tbl": table, "row_id": row_id, "sealed": seal})
        rows += len(sealed)
        if sealed:
            connection.execute(row_seals.insert(), sealed)
    _put_head(connection, sealer, table, json.dumps(list(shape.columns)), rows, digest)


# --- checking -----------------------------------------------------------------------------------------------


def check_all(connection: Connection, sealer: Sealer, since: Mapping[str, int] | None = None) -> Iterator[SealProblem]:
    """``seals.check_all`` on PostgreSQL (``since`` is ignored: every table is checked whole)."""
    for item in head_problems(heads(connection), sealable_tables(connection), sealer):
        if isinstance(item, SealProblem):
            yield item
        else:
            yield from check_table(connection, sealer, item.table, json.loads(item.head.columns), item.head)


_SEALS_OF = sa.text("SELECT row_id, sealed FROM row_seals WHERE tbl = :tbl AND row_id = ANY(CAST(:ids AS bigint[]))")


def check_table(
    connection: Connection, sealer: Sealer, table: str, columns: Sequence[str], head: Head
) -> Iterator[SealProblem]:
    """The seal problems of one table against its ``head``, rows named by their primary key, in key order."""
    if not hmac.compare_digest(head.mac, sealer.head_mac(table, head.columns, head.rows, head.digest)):
        yield SealProblem(table, None, "its seal head (row count and digest) is not this node's: edited")
    shape = layout(connection, table)
    key = list(shape.key)
    selected = "".join(f', t."{c}"' for c in columns)
    order = ", ".join(f't."{k}"' for k in key)
    result = connection.execute(
        sa.text(f'SELECT {shape.key_text("t")}{selected} FROM "{table}" AS t ORDER BY {order}').execution_options(
            yield_per=_BATCH
        )
    )
    seen: set[int] = set()
    digest = _EMPTY
    count = 0
    for batch in result.partitions():
        ids = [shape.row_id(sealer, str(row[0])) for row in batch]
        stored = {int(r[0]): str(r[1]) for r in connection.execute(_SEALS_OF, {"tbl": table, "ids": ids})}
        for row_id, row in zip(ids, batch, strict=True):
            values = list(row[1:])
            name = _describe(table, key, columns, values, row_id)
            sealed = stored.get(row_id)
            if sealed is None or row_id in seen:
                yield SealProblem(table, name, "has no seal: written behind the node's back")
                continue
            seen.add(row_id)
            digest = xor_digest(digest, sealed)
            count += 1
            yield from _row_problems(sealer, table, name, columns, row_id, values, sealed)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(row_seals).where(row_seals.c.tbl == table)
    ).scalar_one()
    if total != count:
        orphans = connection.execute(
            sa.select(row_seals.c.row_id, row_seals.c.sealed)
            .where(row_seals.c.tbl == table)
            .order_by(row_seals.c.row_id)
        )
        for row_id, sealed in orphans:
            if int(row_id) in seen:
                continue
            yield _deleted(sealer, table, key, columns, int(row_id), str(sealed))
            digest = xor_digest(digest, sealed)
            count += 1
    if count != head.rows or digest != head.digest:
        yield SealProblem(
            table,
            None,
            f"{head.rows} rows were sealed, {count} seals remain: a row was deleted with its seal"
            if count != head.rows
            else "the seals present are not the ones sealed (a seal was replaced)",
        )
