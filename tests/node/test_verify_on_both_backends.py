"""``riskline log verify`` proves a node's history on SQLite and on PostgreSQL alike (issue 11).

The same node is populated on each back-end, a hostile operator changes one row the way they would there
(``sqlite3`` with the seal triggers dropped; ``psql`` with triggers skipped), and ``log verify`` must name it in
the same words. On PostgreSQL a session that is not the node's cannot write a sealed table at all, and every
table's rows carry seals (``storage/seals_pg.py``). The PostgreSQL cases start their own server
(``riskline.testing.postgres``) and are skipped only where its binaries are missing.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from riskline.channel.messages import MessageType
from riskline.node.audit import VerifyResult, verify_node
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send_many
from riskline.storage import channel_store as store
from riskline.storage import seals_pg
from riskline.storage.engine import open_database
from riskline.storage.schema import declared_metadata
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import make_nodes
from riskline.testing.postgres import PostgresCluster
from riskline.testing.tamper import hostile
from riskline.testing.tamper_pg import psql

BACKENDS = ["sqlite", "postgresql"]
_COPIES = itertools.count(1)


@dataclass(frozen=True)
class Populated:
    """A populated node (EE) and, on PostgreSQL, its database's URL and name."""

    root: Path
    url: str | None = None


def _populate(base: Path, database: dict[str, str] | None) -> Path:
    pair = make_nodes(base, FakeClock(1_790_000_000.0), database=database.__getitem__ if database else None)
    try:
        for number in range(3):
            for party in ("RU", "EE"):
                send_many(
                    pair[party],
                    [
                        Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{party} {number} {n}"})
                        for n in range(2)
                    ],
                )
            pair.deliver("RU")
            pair.deliver("EE")
        node = pair["EE"]
        with node.recording() as connection:
            store.record_security_event(
                connection, at=node.clock(), kind="BadSignature", status=401, message="bad", peer="ru-nmdc"
            )
            store.record_node_event(connection, at=node.clock(), kind="delivery-failed", message="gave up on ru-nmdc")
        with node.database.begin() as connection:
            _fill_empty_tables(connection)
        assert verify_node(node).ok
        return node.paths.root
    finally:
        pair.close()


def _fill_empty_tables(connection: sa.Connection) -> None:
    """A plain row in each declared table still empty, written through the node's connection (so it is sealed);
    a table that refuses it (a month with no partition yet) stays empty."""
    for table in declared_metadata().sorted_tables:
        if table.name in ("alembic_version", "row_seals", "seal_heads"):
            continue
        if connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
            continue
        allowed = {}
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                found = re.search(r"(\w+) IN \('([^']*)'", str(constraint.sqltext))
                if found:
                    allowed[found[1]] = found[2]
        values: dict[str, object] = {}
        for column in table.columns:
            if column.name in allowed:
                values[column.name] = allowed[column.name]
            elif column.foreign_keys:
                referred = next(iter(column.foreign_keys)).column
                values[column.name] = connection.execute(sa.select(referred).limit(1)).scalar()
            elif column.nullable and not column.primary_key:
                values[column.name] = None
            elif isinstance(column.type, sa.Integer):
                values[column.name] = 1
            elif isinstance(column.type, sa.Float):
                values[column.name] = 1_790_000_000.0
            elif isinstance(column.type, sa.LargeBinary):
                values[column.name] = b"\x01" * 32
            elif isinstance(column.type, sa.Boolean):
                values[column.name] = True
            elif isinstance(column.type, sa.JSON):
                values[column.name] = {}
            else:
                values[column.name] = "{}"
        try:
            with connection.begin_nested():
                connection.execute(table.insert().values(values))
        except sa.exc.DBAPIError:
            continue


@pytest.fixture(scope="module", params=BACKENDS)
def populated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Populated:
    base = tmp_path_factory.mktemp(f"populated-{request.param}")
    if request.param == "sqlite":
        return Populated(_populate(base, None))
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    urls = {party: cluster.create_database() for party in ("RU", "EE")}
    return Populated(_populate(base, urls), urls["EE"])


@pytest.fixture
def node_copy(populated: Populated, tmp_path: Path) -> Populated:
    return _copy(populated, tmp_path)


def _copy(populated: Populated, tmp_path: Path) -> Populated:
    """A copy of the populated node to tamper with: the directory, and on PostgreSQL a copy of its database."""
    root = tmp_path / "ee-mod"
    shutil.copytree(populated.root, root)
    if populated.url is None:
        return Populated(root)
    source = make_url(populated.url)
    name = f"{source.database}_copy{next(_COPIES)}"
    admin = sa.create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    admin.dispose()
    url = source.set(database=name).render_as_string(hide_password=False)
    config = root / "node.toml"
    config.write_text(config.read_text().replace(populated.url, url))
    return Populated(root, url)


def _tamper(copy: Populated, sql: str) -> None:
    """What a hostile operator does with the database's own tools."""
    if copy.url is None:
        with hostile(copy.root / "node.db") as connection:
            connection.executescript(sql)
        return
    result = psql(copy.url, sql)
    assert result.ok, result.output


def _verify(root: Path) -> VerifyResult:
    with LocalNode.open(root) as node:
        return verify_node(node)


def _problems(copy: Populated, sql: str) -> list[str]:
    _tamper(copy, sql)
    return [str(problem) for problem in _verify(copy.root).problems]


def test_a_sound_node_verifies_and_says_so_in_json(node_copy: Populated) -> None:
    from typer.testing import CliRunner

    from riskline.cli.main import app

    result = CliRunner().invoke(app, ["log", "verify", "--node", str(node_copy.root), "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["ok"], report["entries"], report["failures"]) == (True, 12, [])


def test_the_exported_log_verifies_offline_and_a_truncated_one_does_not(node_copy: Populated, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from riskline.cli.main import app

    bundle = tmp_path / "bundle.json"
    exported = CliRunner().invoke(app, ["log", "export", "-o", str(bundle), "--node", str(node_copy.root)])
    assert exported.exit_code == 0, exported.output
    assert CliRunner().invoke(app, ["log", "verify-bundle", str(bundle)]).exit_code == 0
    _tamper(node_copy, "DELETE FROM log_entries WHERE idx >= 10")
    exported = CliRunner().invoke(app, ["log", "export", "-o", str(bundle), "--node", str(node_copy.root)])
    assert exported.exit_code == 0, exported.output
    checked = CliRunner().invoke(app, ["log", "verify-bundle", str(bundle)])
    assert checked.exit_code == 1
    assert "the log ends after 10 entries but a signed checkpoint covers 12" in checked.output


def test_every_row_of_every_sealed_table_carries_a_seal(node_copy: Populated) -> None:
    with LocalNode.open(node_copy.root) as node, node.database.read() as connection:
        if node.database.dialect == "postgresql":
            tables = seals_pg.sealable_tables(connection)
        else:
            tables = [t for t in sa.inspect(connection).get_table_names() if t not in ("row_seals", "seal_heads")]
            tables.remove("alembic_version")
        for table in tables:
            rows = connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one()
            sealed = connection.exec_driver_sql(f"SELECT count(*) FROM row_seals WHERE tbl = '{table}'").scalar_one()
            head = connection.exec_driver_sql(f"SELECT rows FROM seal_heads WHERE tbl = '{table}'").scalar_one()
            assert rows == sealed == head, table
        assert connection.exec_driver_sql("SELECT count(*) FROM row_seals").scalar_one() > 40


def test_an_edited_summary_is_named_with_what_it_was(node_copy: Populated) -> None:
    problems = _problems(node_copy, "UPDATE messages SET summary = 'all quiet' WHERE log_index = 4")
    assert len(problems) == 1
    assert problems[0].startswith("messages[envelope_id=")
    assert problems[0].endswith('edited: summary is "all quiet", sealed as "EE 1 0"')


def test_a_changed_channel_column_is_named_against_the_signed_envelope(node_copy: Populated) -> None:
    problems = _problems(node_copy, "UPDATE log_entries SET channel = 'RU-XX' WHERE idx = 3")
    assert problems == [
        "log_entries[idx=3]: channel is 'RU-XX', the signed envelope says 'RU-EE'",
        'log_entries[idx=3]: edited: channel is "RU-XX", sealed as "RU-EE"',
    ]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("type", "notice", "type is 'notice', the log says 'free_text'"),
        ("seq", "99", "seq is 99, the log says "),
        ("created", "5.5", "created is 5.5, the log says "),
    ],
)
def test_a_message_column_the_log_implies_is_checked_against_it(
    node_copy: Populated, column: str, value: str, expected: str
) -> None:
    problems = _problems(node_copy, f"UPDATE messages SET {column} = '{value}' WHERE log_index = 4")
    assert any(p.startswith("messages[envelope_id=") and expected in p for p in problems), problems


def test_deleting_the_last_entry_is_caught_by_the_head_that_still_covers_it(node_copy: Populated) -> None:
    problems = _problems(node_copy, "DELETE FROM log_entries WHERE idx = 11")
    assert "checkpoints[size=12]: our signed head covers 12 entries but the log holds 11: entry 11 is missing" in (
        " ".join(problems)
    )
    assert "log_entries[idx=11]: deleted (its seal remains)" in problems


def test_a_deleted_middle_entry_is_the_first_failing_one(node_copy: Populated) -> None:
    _tamper(node_copy, "DELETE FROM log_entries WHERE idx = 5")
    result = _verify(node_copy.root)
    assert result.first_failing_entry == 5
    assert "entries[5]: entry 5 is missing (the next stored entry is 6)" in [str(p) for p in result.problems]


def test_deleting_a_receipt_names_the_delivery_it_proved(node_copy: Populated) -> None:
    problems = _problems(node_copy, "DELETE FROM receipts WHERE direction = 'out'")
    assert any(
        p.startswith("outbox[envelope_id=") and "delivered without the recipient's receipt" in p for p in problems
    )
    assert any(p.startswith("receipts[id=") and p.endswith("deleted (its seal remains)") for p in problems)


def test_a_row_deleted_with_its_seal_is_caught_by_the_count(node_copy: Populated) -> None:
    problems = _problems(
        node_copy,
        "DELETE FROM row_seals WHERE tbl = 'node_events'; DELETE FROM node_events;",
    )
    assert "node_events: 1 rows were sealed, 0 seals remain: a row was deleted with its seal" in problems


def test_a_row_written_behind_the_nodes_back_has_no_seal(node_copy: Populated) -> None:
    problems = _problems(
        node_copy,
        "INSERT INTO node_events (id, at, kind, message) VALUES (99, 1790000000.0, 'delivery-failed', 'forged')",
    )
    assert problems == ["node_events[id=99]: has no seal: written behind the node's back"]


def test_an_edited_entry_is_found_by_an_incremental_check_on_both_backends(node_copy: Populated) -> None:
    with LocalNode.open(node_copy.root) as node:
        assert verify_node(node, full=True).ok
        send_many(node, [Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": "later 0 1"})])
    _tamper(node_copy, "UPDATE messages SET summary = 'edited later' WHERE summary = 'later 0 1'")
    with LocalNode.open(node_copy.root) as node:
        later = verify_node(node, full=False)
    assert (later.ok, later.checked_from, later.entries) == (False, 12, 13)
    assert [p.reason for p in later.problems] == ['edited: summary is "edited later", sealed as "later 0 1"']


def test_worker_processes_find_what_one_process_finds(node_copy: Populated, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskline.node import audit

    monkeypatch.setattr(audit, "PARALLEL_FROM", 1)
    monkeypatch.setattr(audit, "PARALLEL_CHUNK", 5)  # 12 entries: three tasks
    with LocalNode.open(node_copy.root) as node:
        sound = verify_node(node, workers=2)
        assert sound == verify_node(node, workers=1)
        assert (sound.ok, sound.entries) == (True, 12)
    edited = (
        "replace(data, 'EE 1 0', 'EE 1 9')"
        if node_copy.url is None
        else "convert_to(replace(convert_from(data, 'UTF8'), 'EE 1 0', 'EE 1 9'), 'UTF8')"
    )
    _tamper(node_copy, f"UPDATE log_entries SET data = {edited} WHERE idx = 4")
    with LocalNode.open(node_copy.root) as node:
        broken = verify_node(node, workers=2)
        assert broken == verify_node(node, workers=1)
    assert broken.first_failing_entry == 4
    assert str(broken.problems[0]) == "entries[4]: stored data does not hash to the stored leaf hash"


# --- PostgreSQL only -----------------------------------------------------------------------------------------


ON_POSTGRESQL = pytest.mark.parametrize("populated", ["postgresql"], indirect=True)
"""For the tests below: the populated node on PostgreSQL only (the module's PostgreSQL node, not a new one)."""


def _postgres(copy: Populated) -> str:
    assert copy.url is not None
    return copy.url


@ON_POSTGRESQL
def test_psql_without_the_node_cannot_write_a_sealed_table(node_copy: Populated) -> None:
    url = _postgres(node_copy)
    refused = psql(url, "UPDATE messages SET summary = 'all quiet' WHERE log_index = 4", triggers=True)
    assert not refused.ok
    assert "riskline: table messages is sealed: only its node writes it" in refused.output
    assert _verify(node_copy.root).ok


@ON_POSTGRESQL
def test_the_node_seals_its_writes_in_the_same_transaction_and_a_rollback_leaves_no_seal(
    node_copy: Populated,
) -> None:
    _postgres(node_copy)
    with LocalNode.open(node_copy.root) as node:
        with node.recording() as connection:
            store.record_node_event(connection, at=node.clock(), kind="delivery-failed", message="sealed as written")
        with pytest.raises(RuntimeError, match="abandon"):
            _write_then_abandon(node)
        with node.database.read() as connection:
            messages = [m for (m,) in connection.exec_driver_sql("SELECT message FROM node_events ORDER BY id")]
            pending = connection.exec_driver_sql("SELECT count(*) FROM pg_temp.riskline_seal_pending").scalar_one()
        assert messages == ["gave up on ru-nmdc", "sealed as written"]
        assert pending == 0
        assert verify_node(node).ok


def _write_then_abandon(node: LocalNode) -> None:
    with node.recording() as connection:
        store.record_node_event(connection, at=node.clock(), kind="delivery-failed", message="rolled back")
        raise RuntimeError("abandon the write")


def _pg_tables(url: str) -> list[str]:
    database = open_database(url, upgrade=False)
    try:
        with database.read() as connection:
            return [
                table
                for table in seals_pg.sealable_tables(connection)
                if connection.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None
            ]
    finally:
        database.close()


def _edit_any_column(url: str, table: str) -> str:
    """Change one column of the first row of ``table`` with ``psql``; the column changed."""
    database = open_database(url, upgrade=False)
    try:
        with database.read() as connection:
            shape = seals_pg.layout(connection, table)
            types = {
                str(name): str(kind)
                for name, kind in connection.execute(
                    sa.text(
                        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0"
                    ),
                    {"t": f'"{table}"'},
                )
            }
            first = connection.exec_driver_sql(
                f'SELECT {", ".join(chr(34) + k + chr(34) for k in shape.key)} FROM "{table}" ORDER BY 1 LIMIT 1'
            ).one()
    finally:
        database.close()
    where = " AND ".join(f"\"{k}\" = '{v}'" for k, v in zip(shape.key, first, strict=True))
    for column in [c for c in shape.columns if c not in shape.key] + list(shape.key):
        kind = types[column]
        change = {
            "integer": f'"{column}" + 1',
            "bigint": f'"{column}" + 1',
            "double precision": f'"{column}" + 0.5',
            "bytea": f"\"{column}\" || '\\x01'::bytea",
            "boolean": f'NOT "{column}"',
        }.get(kind, f"\"{column}\" || '~'")
        if psql(url, f'UPDATE "{table}" SET "{column}" = {change} WHERE {where} AND "{column}" IS NOT NULL').ok:
            return column
    raise AssertionError(f"no column of {table} could be edited")


@ON_POSTGRESQL
def test_an_edited_row_of_every_table_on_postgresql_is_named(populated: Populated, tmp_path: Path) -> None:
    assert populated.url is not None
    tables = _pg_tables(populated.url)
    database = open_database(populated.url, upgrade=False)
    with database.read() as connection:
        sealable = set(seals_pg.sealable_tables(connection))
    database.close()
    assert set(tables) == sealable - {"track_positions"}  # its rows need a month's partition: none is made here
    assert len(tables) >= 20
    missed = []
    for table in tables:
        (tmp_path / table).mkdir()
        copy = _copy(populated, tmp_path / table)
        column = _edit_any_column(str(copy.url), table)
        problems = [p for p in _verify(copy.root).problems if p.section == table]
        if not any(p.row is not None for p in problems):
            missed.append(f"{table}.{column}: {[str(p) for p in problems]}")
    assert missed == []


@ON_POSTGRESQL
def test_a_deleted_row_of_every_table_on_postgresql_is_named(populated: Populated, tmp_path: Path) -> None:
    assert populated.url is not None
    missed = []
    for table in _pg_tables(populated.url):
        (tmp_path / table).mkdir()
        copy = _copy(populated, tmp_path / table)
        assert psql(str(copy.url), f'DELETE FROM "{table}" WHERE ctid = (SELECT max(ctid) FROM "{table}")').ok
        problems = [p for p in _verify(copy.root).problems if p.section == table]
        if not problems:
            missed.append(table)
    assert missed == []


@ON_POSTGRESQL
def test_going_back_below_0011_lets_an_older_riskline_write_on_postgresql(node_copy: Populated) -> None:
    from alembic import command

    from riskline.storage.engine import alembic_config

    url = _postgres(node_copy)
    database = open_database(url, upgrade=False)
    try:
        with database.begin() as connection:
            command.downgrade(alembic_config(connection), "0010")
    finally:
        database.close()
    written = psql(url, "UPDATE node_events SET message = 'older riskline' WHERE id = 1", triggers=True)
    assert written.ok, written.output
    assert _verify(node_copy.root).ok  # upgraded again on open: every row adopted as it is now, then sealed
    _tamper(node_copy, "UPDATE node_events SET message = 'after' WHERE id = 1")
    problems = [str(p) for p in _verify(node_copy.root).problems]
    assert problems == ['node_events[id=1]: edited: message is "after", sealed as "older riskline"']
