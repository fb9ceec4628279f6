"""One thread owns a node in the server: every SQL statement of a delivery and of the answer to it runs on the
node's own thread, never on the event loop's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from riskline.channel.messages import MessageType
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send_many
from riskline.testing.nodes import InProcess


@contextmanager
def statement_threads(node: LocalNode) -> Iterator[set[str]]:
    """The names of the threads that run SQL on ``node``'s database while the block runs."""
    names: set[str] = set()

    def seen(*_: Any) -> None:
        names.add(threading.current_thread().name)

    sa.event.listen(node.database.engine, "before_cursor_execute", seen)
    try:
        yield names
    finally:
        sa.event.remove(node.database.engine, "before_cursor_execute", seen)


def test_a_delivery_and_its_answer_touch_each_database_only_from_that_node_s_own_thread(pair: InProcess) -> None:
    outgoing = [Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"n {n}"}) for n in range(5)]
    send_many(pair["RU"], outgoing)
    with statement_threads(pair["RU"]) as sender, statement_threads(pair["EE"]) as receiver:
        assert pair.deliver("RU").delivered == 5
    assert sender == {"riskline-node-ru-nmdc_0"}
    assert receiver == {"riskline-node-ee-mod_0"}
    assert threading.current_thread().name not in sender | receiver


def test_a_node_s_thread_ends_when_the_node_is_closed(pair: InProcess) -> None:
    assert pair.get("EE", "/v1/health").status_code == 200
    threads = {thread.name for thread in threading.enumerate()}
    assert "riskline-node-ee-mod_0" in threads
    pair["EE"].close()
    assert "riskline-node-ee-mod_0" not in {thread.name for thread in threading.enumerate()}
    pair.nodes["EE"] = LocalNode.open(pair["EE"].paths.root, clock=pair.clock)
