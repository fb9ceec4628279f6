"""A hostile operator edits or deletes one row of any table of a node's database: ``log verify`` names it.

The tables are enumerated from the schema of a real node (every table a migrated node database holds), so
a table added later is covered by these tests or fails them.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from riskline.channel.merkle import leaf_hash
from riskline.channel.messages import MessageType
from riskline.node import audit
from riskline.node.audit import VerifyResult, verify_node
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send_many
from riskline.storage import channel_store as store
from riskline.storage.watch_store import WatchStore
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import make_nodes
from riskline.testing.tamper import hostile

PREFERRED_COLUMN = {"log_entries": "channel", "messages": "summary", "row_seals": "sealed", "seal_heads": "rows"}
"""The column a hostile operator would edit first (the issue's cases); any other table: its first editable one."""


def _populate(base: Path) -> Path:
    """A node (EE) whose every table holds rows written the way the node writes them."""
    pair = make_nodes(base, FakeClock(1_790_000_000.0))
    try:
        for number in range(3):
            for party in ("RU", "EE"):
                outgoing = [
                    Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{party} {number} {n}"})
                    for n in range(2)
                ]
                send_many(pair[party], outgoing)
            pair.deliver("RU")
            pair.deliver("EE")
        node = pair["EE"]
        now = node.clock()
        with node.recording() as connection:
            store.record_security_event(
                connection, at=now, kind="BadSignature", status=401, message="signature does not verify", peer="ru-nmdc"
            )
            store.record_node_event(connection, at=now, kind="delivery-failed", message="gave up on ru-nmdc")
            first = connection.exec_driver_sql("SELECT envelope_id FROM messages ORDER BY log_index").fetchone()[0]
            store.insert_escalation(
                connection,
                original=first,
                step=1,
                from_level="duty_officer",
                to_level="watch_commander",
                notice_id=None,
                channel="RU-EE",
                overdue_since=now,
                created=now,
                note="no answer within the deadline",
            )
        WatchStore(node.database).begin_run(["baltic.nm4"], {"rulebook": "default"}, now)
        with node.database.begin() as connection:
            _fill_empty_tables(connection)
        assert verify_node(node).ok
        return node.paths.root
    finally:
        pair.close()


def _fill_empty_tables(connection: Any) -> None:
    """A plain row in each table still empty, written through the node's connection (so it is sealed)."""
    names = [row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in names:
        if table.startswith("sqlite_") or connection.exec_driver_sql(f'SELECT 1 FROM "{table}"').fetchone():
            continue
        referenced = {
            row[3]: (row[2], row[4]) for row in connection.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")')
        }
        sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar_one()
        allowed = {
            match[0]: match[1] for match in re.findall(r"CHECK \((\w+) IN \('([^']*)'", sql)
        }  # a CHECK (column IN (…)) constraint: its first allowed value
        values: list[object] = []
        for _cid, column, kind, _notnull, _default, _pk in connection.exec_driver_sql(f'PRAGMA table_info("{table}")'):
            if column in allowed:
                values.append(allowed[column])
            elif column in referenced:
                other, other_column = referenced[column]
                values.append(connection.exec_driver_sql(f'SELECT "{other_column}" FROM "{other}"').fetchone()[0])
            elif "INT" in kind.upper():
                values.append(1)
            elif kind.upper() in ("REAL", "FLOAT", "DOUBLE", "NUMERIC"):
                values.append(1_790_000_000.0)
            elif "BLOB" in kind.upper():
                values.append(b"\x01" * 32)
            else:
                values.append("{}")
        marks = ", ".join("?" for _ in values)
        connection.exec_driver_sql(f'INSERT INTO "{table}" VALUES ({marks})', tuple(values))


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _populate(tmp_path_factory.mktemp("populated"))


def _tables(root: Path) -> list[str]:
    with sqlite3.connect(root / "node.db") as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    return [name for (name,) in rows if not name.startswith("sqlite_")]


def _schema_tables() -> list[str]:
    """The tables of a freshly initialised node: the schema, enumerated (not listed by hand)."""
    import tempfile

    from riskline.node.local import init_node

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "node"
        init_node(root, party="EE", name="schema", tls_enabled=False)
        LocalNode.open(root).close()
        return _tables(root)


TABLES = _schema_tables()


@pytest.fixture
def node_copy(populated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ee-mod"
    shutil.copytree(populated, copy)
    return copy


def _verify(root: Path) -> VerifyResult:
    with LocalNode.open(root) as node:
        return verify_node(node)


def _editable(connection: sqlite3.Connection, table: str) -> tuple[int, str, Any]:
    """The first row and a column of it that can be changed without breaking a constraint, and its new value."""
    rowid = connection.execute(f'SELECT min(rowid) FROM "{table}"').fetchone()[0]
    columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
    preferred = PREFERRED_COLUMN.get(table)
    order = ([preferred] if preferred else []) + [c for c in columns if c != preferred]
    for column in order:
        value = connection.execute(f'SELECT "{column}" FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()[0]
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            new: Any = value + 1
        elif isinstance(value, float):
            new = value + 0.5
        elif isinstance(value, bytes):
            new = bytes([value[0] ^ 1]) + value[1:]
        else:
            new = value[:-1] + ("~" if value[-1:] != "~" else "!")
        try:
            connection.execute("SAVEPOINT probe")
            connection.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', (new, rowid))
            connection.execute("RELEASE probe")
            return rowid, column, new
        except sqlite3.IntegrityError:
            connection.execute("ROLLBACK TO probe")
            connection.execute("RELEASE probe")
    raise AssertionError(f"no column of {table} could be edited")


def _named(result: VerifyResult, table: str) -> list[str]:
    return [str(p) for p in result.problems if p.section == table]


def _sealed_table(root: Path, table: str, rowid: int) -> str:
    """For the seal tables, the table whose seal a row is (the problem names that table's row)."""
    with sqlite3.connect(root / "node.db") as connection:
        return str(connection.execute(f'SELECT tbl FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()[0])


@pytest.mark.parametrize("table", [t for t in TABLES if t != "alembic_version"])
def test_an_edited_row_of_any_table_fails_log_verify_naming_the_table_and_row(node_copy: Path, table: str) -> None:
    with hostile(node_copy / "node.db") as connection:
        rowid, column, _ = _editable(connection, table)
    expected = _sealed_table(node_copy, table, rowid) if table in ("row_seals", "seal_heads") else table
    result = _verify(node_copy)
    assert not result.ok
    named = _named(result, expected)
    assert named, f"{table}.{column} edited, but verify said: {[str(p) for p in result.problems]}"
    if table not in ("seal_heads",):
        assert any("[" in text for text in named), named  # the row is named, not only the table


@pytest.mark.parametrize("table", [t for t in TABLES if t != "alembic_version"])
def test_a_deleted_row_of_any_table_fails_log_verify_naming_the_table(node_copy: Path, table: str) -> None:
    with hostile(node_copy / "node.db") as connection:
        rowid = connection.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]
        expected = (
            str(connection.execute(f'SELECT tbl FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()[0])
            if table in ("row_seals", "seal_heads")
            else table
        )
        if expected == "*":
            expected = "seal_heads"
        connection.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
    result = _verify(node_copy)
    assert not result.ok
    assert _named(result, expected), f"{table} row deleted, but verify said: {[str(p) for p in result.problems]}"


def test_the_enumerated_tables_are_the_whole_schema() -> None:
    assert {"log_entries", "messages", "receipts", "checkpoints", "peer_checkpoints", "outbox"} <= set(TABLES)
    assert {"row_seals", "seal_heads", "log_verified", "alembic_version"} <= set(TABLES)


def test_an_edited_schema_revision_is_refused_in_one_line(node_copy: Path) -> None:
    from riskline.errors import RisklineError

    with hostile(node_copy / "node.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'forged'")
    with pytest.raises(RisklineError, match=r"schema 'forged' is newer"):
        _verify(node_copy)


# --- the cases the issue names, with the exact words an operator reads ------------------------------------


def _tampered(node_copy: Path, sql: str) -> list[str]:
    with hostile(node_copy / "node.db") as connection:
        connection.execute(sql)
    return [str(problem) for problem in _verify(node_copy).problems]


def test_deleting_the_last_entry_is_caught_by_the_head_that_still_covers_it(node_copy: Path) -> None:
    problems = _tampered(node_copy, "DELETE FROM log_entries WHERE idx = 11")
    assert "checkpoints[size=12]: our signed head covers 12 entries but the log holds 11: entry 11 is missing" in (
        " ".join(problems)
    )
    assert "log_entries[idx=11]: deleted (its seal remains)" in problems


def test_deleting_a_receipt_names_the_delivery_it_proved(node_copy: Path) -> None:
    problems = _tampered(node_copy, "DELETE FROM receipts WHERE direction = 'out'")
    assert any(
        p.startswith("outbox[envelope_id=") and "delivered without the recipient's receipt" in p for p in problems
    )
    assert any(p.startswith("receipts[id=") and p.endswith("deleted (its seal remains)") for p in problems)


def test_deleting_our_checkpoint_or_a_peer_head_names_the_receipts_that_carry_them(node_copy: Path) -> None:
    problems = _tampered(
        node_copy,
        "DELETE FROM peer_checkpoints WHERE id = (SELECT max(id) FROM peer_checkpoints WHERE kind = 'head')",
    )
    assert any(
        p.startswith("peer_checkpoints[kind='head', origin='ru-nmdc', size=") and "missing: the head of ru-nmdc" in p
        for p in problems
    )


def test_a_changed_channel_column_is_named_against_the_signed_envelope(node_copy: Path) -> None:
    problems = _tampered(node_copy, "UPDATE log_entries SET channel = 'RU-XX' WHERE idx = 3")
    assert problems == [
        "log_entries[idx=3]: channel is 'RU-XX', the signed envelope says 'RU-EE'",
        'log_entries[idx=3]: edited: channel is "RU-XX", sealed as "RU-EE"',
    ]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("type", "notice", "type is 'notice', the log says 'free_text'"),
        ("summary", "all quiet", 'edited: summary is "all quiet", sealed as "EE 1 0"'),
        ("status", "answered", 'edited: status is "answered", sealed as "closed"'),
    ],
)
def test_what_the_operator_is_shown_cannot_be_edited_unseen(
    node_copy: Path, column: str, value: str, expected: str
) -> None:
    problems = _tampered(node_copy, f"UPDATE messages SET {column} = '{value}' WHERE log_index = 4")
    assert any(p.startswith("messages[envelope_id=") and p.endswith(expected) for p in problems), problems


def test_a_deleted_message_row_is_named_by_its_log_entry(node_copy: Path) -> None:
    problems = _tampered(node_copy, "DELETE FROM messages WHERE log_index = 6")
    assert any(p.endswith("missing: log entry 6 has no message row") for p in problems)


def test_log_verify_names_a_deleted_middle_entry_itself_and_in_json(node_copy: Path) -> None:
    from typer.testing import CliRunner

    from riskline.cli.main import app

    with hostile(node_copy / "node.db") as connection:
        connection.execute("DELETE FROM log_entries WHERE idx = 5")
    result = CliRunner().invoke(app, ["log", "verify", "--node", str(node_copy), "--json", "--workers", "1"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_failing_entry"] == 5
    assert report["failures"][0] == {
        "table": "entries",
        "index": 5,
        "row": None,
        "reason": "entry 5 is missing (the next stored entry is 6)",
    }
    assert {"table": "log_entries", "index": None, "row": "idx=5", "reason": "deleted (its seal remains)"} in report[
        "failures"
    ]
    plain = CliRunner().invoke(app, ["log", "verify", "--node", str(node_copy)])
    assert plain.exit_code == 1
    assert "run `riskline log verify`" not in plain.output
    assert "FAILED at entry 5" in plain.output


def test_the_export_of_a_truncated_log_fails_verify_bundle(node_copy: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from riskline.cli.main import app

    with hostile(node_copy / "node.db") as connection:
        connection.execute("DELETE FROM log_entries WHERE idx >= 10")
    bundle = tmp_path / "bundle.json"
    exported = CliRunner().invoke(app, ["log", "export", "-o", str(bundle), "--node", str(node_copy)])
    assert exported.exit_code == 0, exported.output
    checked = CliRunner().invoke(app, ["log", "verify-bundle", str(bundle)])
    assert checked.exit_code == 1
    assert "the log ends after 10 entries but a signed checkpoint covers 12" in checked.output


# --- incremental verification -------------------------------------------------------------------------------


def _exchange_more(root: Path, peer_root: Path, rounds: int) -> None:
    """More messages from EE to RU's node (only EE's side: the outbox stays pending)."""
    with LocalNode.open(root) as node:
        for number in range(rounds):
            send_many(
                node,
                [
                    Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"later {number} {n}"})
                    for n in range(3)
                ],
            )


def test_an_incremental_check_goes_on_from_the_last_sound_one(node_copy: Path) -> None:
    with LocalNode.open(node_copy) as node:
        first = verify_node(node, full=True)
        assert (first.ok, first.checked_from, first.verified_before) == (True, 0, None)
        again = verify_node(node, full=False)
        assert (again.ok, again.checked_from, again.entries) == (True, first.entries, first.entries)
    _exchange_more(node_copy, node_copy, 2)
    with LocalNode.open(node_copy) as node:
        later = verify_node(node, full=False)
        assert later.ok, [str(p) for p in later.problems]
        assert (later.checked_from, later.entries) == (first.entries, first.entries + 6)
        assert later.verified_before is not None
        assert later.checkpoints >= 1


def test_an_incremental_check_catches_an_edited_new_entry_and_a_truncation_below_its_mark(node_copy: Path) -> None:
    with LocalNode.open(node_copy) as node:
        assert verify_node(node).ok
    _exchange_more(node_copy, node_copy, 1)
    with hostile(node_copy / "node.db") as connection:
        connection.execute("UPDATE log_entries SET data = replace(data, 'later 0 1', 'later 0 7') WHERE idx = 13")
    with LocalNode.open(node_copy) as node:
        edited = verify_node(node, full=False)
    assert (edited.ok, edited.checked_from, edited.first_failing_entry) == (False, 12, 13)
    with hostile(node_copy / "node.db") as connection:
        for table in ("messages", "outbox"):
            connection.execute(
                f"DELETE FROM {table} WHERE envelope_id IN (SELECT envelope_id FROM log_entries WHERE idx >= 10)"
            )
        connection.execute(
            "DELETE FROM receipts WHERE envelope_id IN (SELECT envelope_id FROM log_entries WHERE idx >= 10)"
        )
        connection.execute("DELETE FROM log_entries WHERE idx >= 10")
        connection.execute("DELETE FROM checkpoints WHERE size > 10")
    with LocalNode.open(node_copy) as node:
        truncated = verify_node(node, full=False)
    assert not truncated.ok
    assert "log_verified[id=1]: the log was verified at 12 entries and now holds 10: truncated" in [
        str(p) for p in truncated.problems
    ]


def test_an_old_row_edited_after_a_sound_check_is_left_to_the_full_check(node_copy: Path) -> None:
    with LocalNode.open(node_copy) as node:
        assert verify_node(node).ok
    with hostile(node_copy / "node.db") as connection:
        connection.execute("UPDATE log_entries SET data = replace(data, 'EE 1 0', 'EE 1 9') WHERE idx = 4")
    with LocalNode.open(node_copy) as node:
        full = verify_node(node, full=True)
    assert full.first_failing_entry == 4


def test_an_incremental_check_after_appends_finds_an_old_entry_rewritten_with_its_leaf_hash(node_copy: Path) -> None:
    with LocalNode.open(node_copy) as node:
        verified = verify_node(node)
    assert verified.ok
    _exchange_more(node_copy, node_copy, 2)
    with hostile(node_copy / "node.db") as connection:
        data = connection.execute("SELECT data FROM log_entries WHERE idx = 4").fetchone()[0]
        rewritten = bytes(data).replace(b'"text":"', b'"text":"rewritten ')
        connection.execute(
            "UPDATE log_entries SET data = ?, leaf_hash = ? WHERE idx = 4", (rewritten, leaf_hash(rewritten))
        )
    with LocalNode.open(node_copy) as node:
        incremental = verify_node(node, full=False)
        full = verify_node(node, full=True)
    assert (incremental.ok, incremental.checked_from, incremental.first_failing_entry) == (False, 0, 4)
    assert str(incremental.problems[0]) == str(full.problems[0])
    assert (
        f"log_verified[id=1]: the first {verified.entries} entries stored are not those verified at"
        f" {verified.entries} entries: an entry before the mark was rewritten (the log of {verified.entries + 6}"
        " entries is not an extension of the one verified); checked in full"
    ) in [str(p) for p in incremental.problems]
    assert [p for p in incremental.problems if p.section != "log_verified"] == list(full.problems)


def _full_then_two_incremental(root: Path) -> tuple[VerifyResult, VerifyResult, VerifyResult]:
    """A full check, then an incremental one after each of two more exchanges (three entries each)."""
    with LocalNode.open(root) as node:
        first = verify_node(node)
    _exchange_more(root, root, 1)
    with LocalNode.open(root) as node:
        second = verify_node(node, full=False)
    _exchange_more(root, root, 1)
    with LocalNode.open(root) as node:
        third = verify_node(node, full=False)
    return first, second, third


def test_an_incremental_check_after_appends_of_a_sound_log_goes_on_from_its_mark_again(node_copy: Path) -> None:
    first, second, third = _full_then_two_incremental(node_copy)
    assert (second.ok, second.checked_from) == (True, first.entries)
    assert (third.ok, third.checked_from, third.entries) == (True, first.entries + 3, first.entries + 6)


def test_the_stored_prefix_is_read_from_the_covering_index_of_leaf_hashes(node_copy: Path) -> None:
    with sqlite3.connect(node_copy / "node.db") as connection:
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT leaf_hash FROM log_entries WHERE idx >= 0 AND idx < 12 ORDER BY idx"
        ).fetchall()
        types = connection.execute("EXPLAIN QUERY PLAN SELECT * FROM messages WHERE type IN ('a', 'b')").fetchall()
    assert "USING COVERING INDEX ix_log_entries_idx_leaf_hash" in plan[0][-1]
    assert "ix_messages_type" in types[0][-1]


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table is large enough to be checked from its mark (a real node: 10,000 rows or more)."""
    from riskline.storage import seals

    assert seals.marks.__kwdefaults__ is not None
    monkeypatch.setitem(seals.marks.__kwdefaults__, "at_least", 0)


@pytest.mark.usefixtures("marked")
def test_an_incremental_check_from_marks_counts_the_rows_before_them_without_reading_them(node_copy: Path) -> None:
    first, second, third = _full_then_two_incremental(node_copy)
    assert (first.ok, second.ok, third.ok) == (True, True, True), [str(p) for p in (*second.problems, *third.problems)]
    assert (second.checked_from, third.checked_from, third.entries) == (first.entries, first.entries + 3, 18)


@pytest.mark.usefixtures("marked")
def test_an_incremental_check_from_marks_finds_an_old_entry_deleted(node_copy: Path) -> None:
    with LocalNode.open(node_copy) as node:
        verified = verify_node(node)
    _exchange_more(node_copy, node_copy, 1)
    with hostile(node_copy / "node.db") as connection:
        connection.execute("DELETE FROM log_entries WHERE idx = 4")
    with LocalNode.open(node_copy) as node:
        incremental = verify_node(node, full=False)
        full = verify_node(node, full=True)
    assert (incremental.ok, incremental.checked_from, incremental.first_failing_entry) == (False, 0, 4)
    assert str(incremental.problems[0]) == "entries[4]: entry 4 is missing (the next stored entry is 5)"
    assert f"the first {verified.entries} entries stored are not those verified" in str(incremental.problems)
    assert [p for p in incremental.problems if p.section != "log_verified"] == list(full.problems)


@pytest.mark.usefixtures("marked")
@pytest.mark.parametrize("table", ["log_entries", "messages"])
def test_an_incremental_check_from_marks_finds_a_deleted_old_row_or_seal(node_copy: Path, table: str) -> None:
    with LocalNode.open(node_copy) as node:
        verified = verify_node(node)
    _exchange_more(node_copy, node_copy, 1)
    rows = {"log_entries": 15, "messages": 15}[table]
    with hostile(node_copy / "node.db") as connection:
        row_id = connection.execute(f"SELECT min(rowid) FROM {table}").fetchone()[0]
        connection.execute("DELETE FROM row_seals WHERE tbl = ? AND row_id = ?", (table, row_id))
    with LocalNode.open(node_copy) as node:
        seal_gone = verify_node(node, full=False)
    assert (seal_gone.ok, seal_gone.checked_from) == (False, verified.entries)
    assert [str(p) for p in seal_gone.problems] == [
        f"{table}: {rows} rows were sealed, {rows} rows and {rows - 1} seals remain"
    ]
    if table == "messages":  # an old row with its seal: the row count
        with hostile(node_copy / "node.db") as connection:
            connection.execute(f"DELETE FROM {table} WHERE rowid = ?", (row_id,))
        with LocalNode.open(node_copy) as node:
            row_gone = verify_node(node, full=False)
        assert [str(p) for p in row_gone.problems] == [
            f"{table}: {rows} rows were sealed, {rows - 1} rows and {rows - 1} seals remain"
        ]


def test_an_incremental_check_finds_a_checkpoint_below_its_mark_edited_by_its_seal(node_copy: Path) -> None:
    with LocalNode.open(node_copy) as node:
        verified = verify_node(node)
    _exchange_more(node_copy, node_copy, 1)
    with hostile(node_copy / "node.db") as connection:
        size = connection.execute("SELECT min(size) FROM checkpoints").fetchone()[0]
        connection.execute("UPDATE checkpoints SET root = zeroblob(32) WHERE size = ?", (size,))
    with LocalNode.open(node_copy) as node:
        incremental = verify_node(node, full=False)
        full = verify_node(node, full=True)
    assert size <= verified.entries
    assert (incremental.ok, incremental.checked_from) == (False, verified.entries)
    assert [p.section for p in incremental.problems] == ["checkpoints"]
    assert incremental.problems[0].reason.startswith("edited: root is")
    assert f"checkpoints[{size}]: stored size/root differ from the signed checkpoint" in [str(p) for p in full.problems]


@pytest.mark.usefixtures("marked")
def test_rows_stored_while_a_check_runs_are_read_by_the_next_incremental_one(
    node_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marks are taken before a check reads anything: rows the node stores while it runs lie beyond them."""
    checked = audit._run

    def storing_meanwhile(*args: Any, **kwargs: Any) -> VerifyResult:
        result = checked(*args, **kwargs)
        _exchange_more(node_copy, node_copy, 1)  # after the check read the database, before it is remembered
        return result

    monkeypatch.setattr(audit, "_run", storing_meanwhile)
    with LocalNode.open(node_copy) as node:
        assert verify_node(node).ok
    monkeypatch.setattr(audit, "_run", checked)
    with hostile(node_copy / "node.db") as connection:
        rowid = connection.execute("SELECT max(rowid) FROM outbox").fetchone()[0]
        connection.execute("UPDATE outbox SET attempts = attempts + 7 WHERE rowid = ?", (rowid,))
    with LocalNode.open(node_copy) as node:
        incremental = verify_node(node, full=False)
    assert not incremental.ok
    assert [p.section for p in incremental.problems] == ["outbox"]
