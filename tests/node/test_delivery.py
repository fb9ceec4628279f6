"""The delivery task: it notices at once when another process commits (a message to send), and a peer that is
down is retried after its backoff, however many messages are sent to it meanwhile."""

from __future__ import annotations

import httpx

from riskline.channel.messages import MessageType
from riskline.channel.sending import RetryPolicy
from riskline.node.delivery import DatabaseWatch
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send
from riskline.storage import channel_store as store
from riskline.testing.clock import FakeClock
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


class Unreachable(httpx.AsyncBaseTransport):
    """A peer that is down: every connection is refused; counts the attempts."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        raise httpx.ConnectError("connection refused", request=request)


def free_text(node: LocalNode, text: str) -> str:
    return send(node, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": text})).envelope.id


def test_messages_sent_to_a_peer_that_is_down_wait_for_its_backoff_instead_of_restarting_it(
    pair: InProcess, clock: FakeClock
) -> None:
    down = Unreachable()
    policy = RetryPolicy(base=10.0, cap=60.0)
    first = free_text(pair["RU"], "first")
    assert pair.deliver("RU", policy, wrap=lambda _app: down, force=False).retry_later == 1
    for number in range(100):  # as the server's task does: a pass after every commit
        clock.advance(0.05)
        free_text(pair["RU"], f"while down {number}")
        report = pair.deliver("RU", policy, wrap=lambda _app: down, force=False)
        assert (report.delivered, report.retry_later) == (0, 0)
    assert down.requests == 1
    clock.advance(10.0)  # the first backoff is at most ``base``
    assert pair.deliver("RU", policy, wrap=lambda _app: down, force=False).retry_later == 1
    assert down.requests == 2
    assert pair.deliver("RU", policy, force=False).delivered == 0  # the peer is back, but its backoff runs
    clock.advance(20.0)  # the second is at most ``2 * base``
    assert pair.deliver("RU", policy, force=False).delivered == 101
    with pair["RU"].database.read() as connection:
        rows = store.outbox_rows(connection)
    assert {row.state for row in rows} == {"delivered"}
    assert {row.envelope_id: row.attempts for row in rows}[first] == 3
    assert sorted(row.attempts for row in rows)[:100] == [1] * 100


def test_once_a_peer_answers_its_backoff_ends_for_the_rows_still_queued(pair: InProcess, clock: FakeClock) -> None:
    down = Unreachable()
    policy = RetryPolicy(base=10.0, cap=60.0, batch=2, batches=1, rounds=1)
    for number in range(5):
        free_text(pair["RU"], f"queued {number}")
    pair.deliver("RU", policy, wrap=lambda _app: down, force=False)
    report = pair.deliver("RU", policy, force=True)  # ``riskline outbox --flush``: one round of one batch
    assert (report.delivered, report.more) == (2, True)
    assert pair.deliver("RU", policy, force=False).delivered == 2  # due at once, not after the backoff
