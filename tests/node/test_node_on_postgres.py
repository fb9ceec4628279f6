"""Two nodes keeping their logs, messages and receipts in PostgreSQL: the channel works as on SQLite.
(``riskline log verify`` and the row seals on PostgreSQL: test_verify_on_both_backends.py.) (The node
server's change watch, ``DatabaseWatch``, reads SQLite's ``data_version``; a server on PostgreSQL
delivers every delivery interval instead.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskline.channel.messages import MessageType
from riskline.node.config import load_config
from riskline.node.messaging import Outgoing, send_many
from riskline.storage import channel_store as store
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess, make_nodes
from riskline.testing.postgres import PostgresCluster


@pytest.fixture
def pg_pair(tmp_path: Path, clock: FakeClock, postgres_cluster: PostgresCluster) -> Iterator[InProcess]:
    urls = {party: postgres_cluster.create_database() for party in ("RU", "EE")}
    nodes = make_nodes(tmp_path, clock, database=urls.__getitem__)
    yield nodes
    nodes.close()


def test_messages_are_logged_delivered_receipted_and_verified_on_postgresql(pg_pair: InProcess) -> None:
    ru, ee = pg_pair["RU"], pg_pair["EE"]
    assert ru.database.dialect == ee.database.dialect == "postgresql"
    assert load_config(ru.paths.config).database is not None
    assert not ru.paths.database.exists()
    texts = [f"pg message {n}" for n in range(12)]
    send_many(ru, [Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": t}) for t in texts])
    report = pg_pair.deliver("RU")
    assert report.delivered == len(texts)
    with ee.database.read() as connection:
        received = [m.summary for m in store.list_messages(connection, direction="in")]
    assert sorted(received) == sorted(texts)
    with ru.database.read() as connection:
        receipts = store.list_messages(connection, direction="out")
    assert len(receipts) == len(texts)
    assert ru.tree.size == ee.tree.size == len(texts)


def test_the_change_watch_of_a_node_on_postgresql_leaves_delivery_to_the_interval(pg_pair: InProcess) -> None:
    from riskline.node.delivery import DatabaseWatch

    watch = DatabaseWatch(pg_pair["RU"].paths.database)
    assert (watch.changed(), watch.changed()) == (False, False)
    watch.close()
