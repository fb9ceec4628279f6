"""The delivery task notices at once when another process commits (a message to send)."""

from __future__ import annotations

from riskline.channel.messages import MessageType
from riskline.node.delivery import DatabaseWatch
from riskline.node.messaging import Outgoing, send
from riskline.testing.nodes import InProcess


def test_the_database_watch_sees_a_commit_of_another_connection_once(pair: InProcess) -> None:
    node = pair["RU"]
    watch = DatabaseWatch(node.paths.database)
    try:
        watch.changed()
        assert watch.changed() is False
        send(node, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": "news"}))
        assert (watch.changed(), watch.changed()) == (True, False)
    finally:
        watch.close()
