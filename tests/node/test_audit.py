"""``riskline log verify`` with worker processes finds exactly what one process finds."""

from __future__ import annotations

import json

import pytest

from riskline.channel.merkle import leaf_hash
from riskline.channel.messages import MessageType
from riskline.node import audit
from riskline.node.audit import verify_node
from riskline.node.audit_workers import seals_of_range
from riskline.node.local import seal_key
from riskline.node.messaging import Outgoing, send_many
from riskline.storage import seals
from riskline.testing.nodes import InProcess
from riskline.testing.tamper import hostile


@pytest.fixture
def small_parallel_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for logs of any size, in tasks of 7 entries (so that a short log still spreads over several)."""
    monkeypatch.setattr(audit, "PARALLEL_FROM", 1)
    monkeypatch.setattr(audit, "PARALLEL_CHUNK", 7)


def exchange(pair: InProcess, rounds: int) -> None:
    for number in range(rounds):
        for party in ("RU", "EE"):
            outgoing = [
                Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{party} {number} {n}"})
                for n in range(5)
            ]
            send_many(pair[party], outgoing)
        pair.deliver("RU")
        pair.deliver("EE")


@pytest.mark.usefixtures("small_parallel_runs")
def test_two_workers_pass_a_sound_log_and_name_the_first_bad_entry_as_one_process_does(pair: InProcess) -> None:
    exchange(pair, 3)
    node = pair["RU"]
    sound = verify_node(node, workers=2)
    assert sound == verify_node(node, workers=1)
    assert (sound.ok, sound.entries, sound.receipts) == (True, 30, 30)
    with hostile(node.paths.database) as connection:
        data = connection.execute("SELECT data FROM log_entries WHERE idx = 17").fetchone()[0]
        edited = bytes(data).replace(b'"text":"', b'"text":"edited ')
        connection.execute("UPDATE log_entries SET data = ?, leaf_hash = ? WHERE idx = 17", (edited, leaf_hash(edited)))
    broken = verify_node(node, workers=2)
    assert broken == verify_node(node, workers=1)
    assert broken.first_failing_entry == 17
    assert "signature does not verify" in str(broken.problems[0])


@pytest.mark.usefixtures("small_parallel_runs")
def test_a_tampered_row_of_a_large_table_is_found_when_the_workers_check_its_seals(
    pair: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "SEAL_CHUNK", 4)  # every table's seals in several worker tasks
    exchange(pair, 2)
    node = pair["RU"]
    assert verify_node(node, workers=2) == verify_node(node, workers=1)
    with hostile(node.paths.database) as connection:
        connection.execute("UPDATE messages SET summary = 'nothing happened' WHERE log_index = 9")
        connection.execute("DELETE FROM row_seals WHERE tbl = 'receipts' AND row_id = 3")
    edited = verify_node(node, workers=2)
    assert edited == verify_node(node, workers=1)
    reasons = [str(p) for p in edited.problems]
    assert any(r.startswith("messages[") and 'edited: summary is "nothing happened"' in r for r in reasons), reasons
    assert any(r.startswith("receipts[") and "has no seal" in r for r in reasons), reasons
    with node.database.read() as connection:
        columns = json.loads(seals.heads(connection)["messages"].columns)
        key = seals.primary_key(connection, "messages")
    found = [  # what the worker tasks report (the run above trusts them only when they find nothing)
        problem
        for above, upto in ((None, 8), (8, None))
        for problem in seals_of_range(
            seal_key(node.anchor), node.paths.database, "messages", columns, key, above, upto
        ).problems
    ]
    assert [f"{p.table}[{p.row}]: {p.reason}" for p in found] == [r for r in reasons if r.startswith("messages[")]


def test_rows_checked_in_ranges_add_up_to_the_whole_table(pair: InProcess) -> None:
    exchange(pair, 2)
    node = pair["RU"]
    sealer = seals.Sealer(seal_key(node.anchor))
    with node.database.read() as connection:
        head = seals.heads(connection)["messages"]
        columns = json.loads(head.columns)
        key = seals.primary_key(connection, "messages")
        whole = seals.check_rows(connection.connection, sealer, "messages", columns, key)
        parts = [
            seals.check_rows(connection.connection, sealer, "messages", columns, key, above=above, upto=upto)
            for above, upto in ((None, 5), (5, 6), (6, 13), (13, None))
        ]
    assert whole.holds(head)
    assert seals.RowsChecked.combined("messages", parts) == whole
