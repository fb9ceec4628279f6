"""Faults a demanding auditor tries, in-process and on a fake clock, so that each is exact and needs no luck:
a full disk during a commit, a peer's clock an hour off, a peer that answers with garbage or too late,
batches duplicated and reordered, and a peer restarted with a different key.

Each ends with nothing lost, nothing duplicated, nothing half-written: both logs verify and every envelope is
logged once by its receiver.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.messages import MessageType
from riskline.channel.protocol import prepare_batch
from riskline.channel.sending import RetryPolicy
from riskline.node import keys
from riskline.node.audit import verify_node
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send, send_many
from riskline.storage import channel_store as store
from riskline.storage.errors import DiskFull
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess

PATH = "/v1/channels/RU-EE/batches"
POLICY = RetryPolicy(base=1.0, cap=8.0)
AFTER_ANY_BACKOFF = 10.0  # [s] longer than POLICY.cap


def queue(node: LocalNode, count: int, label: str) -> list[str]:
    outgoing = [
        Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{label} {n}"}) for n in range(count)
    ]
    return [sent.envelope.id for sent in send_many(node, outgoing)]


def logged_ids(node: LocalNode) -> list[str]:
    with node.database.read() as connection:
        return [entry.envelope_id for entry in store.iter_log(connection)]


def received(node: LocalNode) -> list[str]:
    with node.database.read() as connection:
        return [m.summary for m in store.list_messages(connection, direction="in")]


def outbox_states(node: LocalNode) -> dict[str, str]:
    with node.database.read() as connection:
        return {row.envelope_id: row.state for row in store.outbox_rows(connection)}


def security_kinds(node: LocalNode) -> list[str]:
    with node.database.read() as connection:
        return [event.kind for event in store.list_security_events(connection)]


def assert_both_verify(pair: InProcess) -> None:
    for party in ("RU", "EE"):
        result = verify_node(pair[party])
        assert result.ok, (party, result.problems)


def table_counts(node: LocalNode) -> dict[str, int]:
    with node.database.read() as connection:
        return {
            table.name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in (
                store.log_entries,
                store.messages,
                store.outbox,
                store.receipts,
                store.checkpoints,
                store.peer_checkpoints,
                store.peer_state,
            )
        }


@contextmanager
def disk_full(node: LocalNode) -> Iterator[None]:
    """The node's database may not grow by a single page (SQLite's ``max_page_count``: the same SQLITE_FULL a
    full disk gives), on every connection it opens, until the block ends."""
    engine = node.database.engine
    with engine.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())

    def limit(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    sa.event.listen(engine, "connect", limit)
    engine.dispose()
    try:
        yield
    finally:
        sa.event.remove(engine, "connect", limit)
        engine.dispose()


def test_a_full_disk_while_receiving_keeps_nothing_half_written_and_the_batch_is_taken_once_there_is_room(
    pair: InProcess, clock: FakeClock
) -> None:
    queue(pair["RU"], 40, "filling")  # batches big enough to need new pages at EE
    before = table_counts(pair["EE"])
    with disk_full(pair["EE"]):
        report = pair.deliver("RU", POLICY, force=False)
        assert (report.delivered, report.retry_later) == (0, 1)
        assert report.errors[0].startswith("507 DiskFull: ")
        assert table_counts(pair["EE"]) == before
    with pair["EE"].reading():
        assert pair["EE"].tree.size == 0  # the in-memory tree follows the database, not the failed append
    assert set(outbox_states(pair["RU"]).values()) == {"pending"}
    clock.advance(AFTER_ANY_BACKOFF)
    assert pair.deliver("RU", POLICY, force=False).delivered == 40
    assert len(received(pair["EE"])) == 40
    assert_both_verify(pair)


def test_a_full_disk_while_sending_refuses_the_send_and_leaves_no_trace(pair: InProcess) -> None:
    queue(pair["RU"], 2, "before")
    before = table_counts(pair["RU"])
    with disk_full(pair["RU"]), pytest.raises(DiskFull, match="the disk is full; the write was rolled back whole"):
        queue(pair["RU"], 40, "while full")
    assert table_counts(pair["RU"]) == before
    queue(pair["RU"], 1, "after")
    with pair["RU"].reading():
        assert pair["RU"].tree.size == 3
    assert pair.deliver("RU", POLICY).delivered == 3
    assert received(pair["EE"]) == ["before 0", "before 1", "after 0"]
    assert_both_verify(pair)


class ShiftedClock:
    """Another node's clock: ``offset`` [s] off the test's clock, moving with it."""

    def __init__(self, clock: FakeClock, offset: float) -> None:
        self.clock = clock
        self.offset = offset  # [s]

    def __call__(self) -> float:
        return self.clock() + self.offset


@pytest.mark.parametrize("offset", [3600.0, -3600.0], ids=["an hour ahead", "an hour behind"])
def test_a_peer_whose_clock_is_an_hour_off_is_heard_and_our_deadlines_run_on_our_clock(
    pair: InProcess, clock: FakeClock, offset: float
) -> None:
    pair["EE"].clock = ShiftedClock(clock, offset)
    request = send(
        pair["EE"],
        Outgoing(
            type=MessageType.REQUEST_FOR_CLARIFICATION,
            channel="RU-EE",
            body={"subject": "Su-27 pass", "questions": ["What was the purpose of the flight?"]},
        ),
    )
    assert pair.deliver("EE", POLICY).delivered == 1
    with pair["RU"].database.read() as connection:
        message = store.message(connection, request.envelope.id)
    assert message is not None
    assert message.created == clock() + offset  # the sender's clock, recorded
    assert message.received == clock()  # ours
    assert message.deadline is not None
    policy = pair["RU"].config.channel("RU-EE")
    assert message.deadline == clock() + policy.deadline_for(MessageType.REQUEST_FOR_CLARIFICATION)
    queue(pair["RU"], 2, "answer")
    assert pair.deliver("RU", POLICY).delivered == 2
    assert_both_verify(pair)


class Garbage(httpx.AsyncBaseTransport):
    """A peer that answers every request with ``status`` and ``body``; counts the requests."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(self.status, content=self.body)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b"<html>captive portal</html>", "200 from ee-mod: not a riskline batch answer"),
        (200, b'{"receipts": [1, 2, 3, 4], "error": null}', "200 from ee-mod: not a riskline batch answer"),
        (502, b"<html>Bad Gateway</html>", "502 HTTP502: <html>Bad Gateway</html>"),
        (503, b"", "503 HTTP503: Service Unavailable"),
    ],
    ids=["html", "more receipts than envelopes", "proxy error", "empty 503"],
)
def test_a_peer_answering_garbage_is_retried_after_its_backoff_and_nothing_is_marked_delivered(
    pair: InProcess, clock: FakeClock, status: int, body: bytes, error: str
) -> None:
    queue(pair["RU"], 3, "through garbage")
    garbage = Garbage(status, body)
    report = pair.deliver("RU", POLICY, wrap=lambda _app: garbage, force=False)
    assert (report.delivered, report.retry_later, report.errors) == (0, 1, [error])
    assert pair.deliver("RU", POLICY, wrap=lambda _app: garbage, force=False).retry_later == 0
    assert garbage.requests == 1
    assert set(outbox_states(pair["RU"]).values()) == {"pending"}
    clock.advance(AFTER_ANY_BACKOFF)
    assert pair.deliver("RU", POLICY, force=False).delivered == 3
    assert len(received(pair["EE"])) == 3
    assert_both_verify(pair)


def test_receipts_that_are_garbage_are_refused_logged_and_the_envelopes_delivered_later(
    pair: InProcess, clock: FakeClock
) -> None:
    queue(pair["RU"], 2, "garbled receipts")
    answer = json.dumps({"receipts": [{"v": 1}, "not a receipt"], "error": None}).encode()
    report = pair.deliver("RU", POLICY, wrap=lambda _app: Garbage(200, answer), force=False)
    assert (report.delivered, report.retry_later) == (0, 1)
    assert security_kinds(pair["RU"]) == ["InvalidField"]
    clock.advance(AFTER_ANY_BACKOFF)
    assert pair.deliver("RU", POLICY, force=False).delivered == 2
    assert_both_verify(pair)


class AnswersTooLate(httpx.AsyncBaseTransport):
    """A slow peer: it takes and logs the batch, but its answer comes after the sender gave up waiting."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        raise httpx.ReadTimeout("timed out waiting for the answer", request=request)


def test_a_peer_that_logs_a_batch_but_answers_too_late_gets_it_again_and_answers_duplicates(
    pair: InProcess, clock: FakeClock
) -> None:
    ids = queue(pair["RU"], 5, "slow")
    report = pair.deliver("RU", POLICY, wrap=AnswersTooLate, force=False)
    assert (report.delivered, report.retry_later) == (0, 1)
    assert "timed out waiting for the answer" in report.errors[0]
    assert logged_ids(pair["EE"]) == ids  # taken, though the sender does not know it yet
    clock.advance(AFTER_ANY_BACKOFF)
    again = pair.deliver("RU", POLICY, force=False)
    assert (again.delivered, again.duplicates) == (5, 5)
    assert logged_ids(pair["EE"]) == ids
    assert set(outbox_states(pair["RU"]).values()) == {"delivered"}
    assert_both_verify(pair)


def batch_body(node: LocalNode, envelope_ids: list[str], cosigned_size: int) -> dict[str, Any]:
    with node.writing() as connection:
        head = node.head(connection)
        entries = store.log_entries_by_envelopes(connection, envelope_ids)
    envelopes = [(SignedEnvelope.from_leaf(entries[i].data), entries[i].index) for i in envelope_ids]
    return prepare_batch(envelopes=envelopes, tree=node.tree, checkpoint=head, cosigned_size=cosigned_size).to_wire()


def test_batches_duplicated_and_reordered_are_logged_once_in_seq_order(pair: InProcess) -> None:
    ids = queue(pair["RU"], 6, "reordered")
    size = len(ids)
    first, second = batch_body(pair["RU"], ids[:3], 0), batch_body(pair["RU"], ids[3:], size)
    shuffled = copy.deepcopy(first)
    shuffled["items"] = [shuffled["items"][1], shuffled["items"][0], shuffled["items"][2]]
    answers = [
        pair.post("EE", PATH, second),  # 4-6 before 1-3: refused whole, EE waits for seq 1
        pair.post("EE", PATH, shuffled),  # 2 before 1: refused whole
        pair.post("EE", PATH, first),
        pair.post("EE", PATH, first),  # again: the original receipts, marked duplicate
        pair.post("EE", PATH, second),
        pair.post("EE", PATH, second),
    ]
    assert [a.status_code for a in answers] == [409, 409, 200, 200, 200, 200]
    assert [a.json()["error"]["expected"] for a in answers[:2]] == [1, 1]
    assert [[r["duplicate"] for r in a.json()["receipts"]] for a in answers[2:]] == [[False] * 3, [True] * 3] * 2
    indices = [[r["log_index"] for r in a.json()["receipts"]] for a in answers[2:4]]
    assert indices == [[0, 1, 2], [0, 1, 2]]
    assert logged_ids(pair["EE"]) == ids
    assert received(pair["EE"]) == [f"reordered {n}" for n in range(6)]
    report = pair.deliver("RU", POLICY)  # the sender's own delivery: every one a duplicate, each receipt verified
    assert (report.delivered, report.duplicates) == (6, 6)
    assert logged_ids(pair["EE"]) == ids
    assert_both_verify(pair)


def restart_with_a_new_key(pair: InProcess, party: str) -> LocalNode:
    """The node's identity key replaced (a re-install, a stolen disk restored from the wrong backup) and the node
    opened again on the same database."""
    node = pair[party]
    path, clock = node.paths.identity, node.clock
    node.close()
    path.unlink()
    keys.generate_identity(path)
    reopened = LocalNode.open(node.paths.root, clock=clock)
    pair.nodes[party] = reopened
    return reopened


def test_a_peer_restarted_with_a_different_key_is_not_believed_and_nothing_is_marked_delivered(
    pair: InProcess, clock: FakeClock
) -> None:
    queue(pair["RU"], 2, "before the new key")
    assert pair.deliver("RU", POLICY).delivered == 2
    ids = queue(pair["RU"], 2, "after the new key")
    ee = restart_with_a_new_key(pair, "EE")
    report = pair.deliver("RU", POLICY, force=False)
    assert (report.delivered, report.retry_later) == (0, 1)
    assert "does not verify" in report.errors[0]
    assert [outbox_states(pair["RU"])[i] for i in ids] == ["pending", "pending"]
    assert security_kinds(pair["RU"]) == ["KeyChanged"]
    answer = pair.post("RU", PATH, batch_body(ee, [send_free_text(ee)], 0))
    assert (answer.status_code, answer.json()["error"]["type"]) == (403, "KeyChanged")
    clock.advance(AFTER_ANY_BACKOFF)
    assert pair.deliver("RU", POLICY, force=False).delivered == 0  # still refused: a key is pinned, not learnt
    assert received(pair["RU"]) == []


def send_free_text(node: LocalNode) -> str:
    return send(node, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": "new key"})).envelope.id
