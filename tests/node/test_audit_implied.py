"""``audit_implied``: what the log implies of the other tables, found in one pass over the entries and their
message rows, is what the three queries it replaced found (``implied_oracle``), tampered rows named alike."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from implied_oracle import implied_rows
from test_verify_every_table import _populate

from riskline.node.audit_implied import EVERYTHING, Since, implied_problems
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store
from riskline.testing.tamper import hostile


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _populate(tmp_path_factory.mktemp("populated"))


@pytest.fixture
def node_copy(populated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ee-mod"
    shutil.copytree(populated, copy)
    return copy


TAMPERED_ENTRIES = (
    "UPDATE log_entries SET channel = 'RU-XX' WHERE idx = 3",
    "UPDATE messages SET type = 'notice', seq = 99 WHERE log_index = 3",
    "DELETE FROM messages WHERE log_index = 6",
    "UPDATE log_entries SET direction = 'in' WHERE idx = 8",
    "UPDATE messages SET log_index = 2 WHERE log_index = 9",
    "UPDATE log_entries SET envelope_id = 'ab' || substr(envelope_id, 3) WHERE idx = 10",
    "INSERT INTO messages SELECT 'cd' || substr(envelope_id, 3), 99, direction, channel, thread, type, seq,"
    " sender_node, sender_party, in_reply_to, author, level, language, summary, created, received, sent, deadline,"
    " status, answered_by, answered_at FROM messages WHERE log_index = 1",
)


def test_the_single_pass_over_entries_and_messages_names_what_the_three_queries_named(node_copy: Path) -> None:
    with hostile(node_copy / "node.db") as connection:
        for sql in TAMPERED_ENTRIES:
            connection.execute(sql)
    tables = ("log_entries", "messages")
    with LocalNode.open(node_copy) as node, node.database.read() as connection:
        size = store.log_size(connection)
        for since in (EVERYTHING, Since(5, {"messages": 4})):
            found = [i for i in implied_problems(connection, node.origin, size, since) if i.table in tables]
            assert found == implied_rows(connection, node.origin, size, since)
        found = [i for i in implied_problems(connection, node.origin, size) if i.table in tables]
    assert [(i.table, i.row) for i in found[:3]] == [("log_entries", f"idx={idx}") for idx in (3, 8, 10)]
    assert [i.table for i in found[3:]] == ["messages"] * 7
    reasons = [i.reason for i in found]
    assert reasons[:2] == [
        "channel is 'RU-XX', the signed envelope says 'RU-EE'",
        "direction is 'in', the signed envelope says 'out'",
    ]
    assert re.fullmatch(r"envelope_id is 'ab([0-9a-f]{30})', the signed envelope says '[0-9a-f]{2}\1'", reasons[2])
    assert reasons[3:] == [
        "missing: log entry 6 has no message row",
        "missing: log entry 10 has no message row",
        "names log entry 10, which is not there",
        "names log entry 99, which is not there",
        "type is 'notice', the log says 'free_text'; seq is 99, the log says 2",
        "direction is 'out', the log says 'in'; received is None, the log says 1790000000.0;"
        " sent is 1790000000.0, the log says None",
        "log_index is 2, the entry sits at 9",
    ]
