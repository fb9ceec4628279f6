"""Delivery: drain the outbox to peer nodes, in order, until every envelope has a verified receipt.

This module does the I/O (HTTP, the database, the clock); what an answer means and what follows it — record,
retry later, resend, prove again, give up — is decided by ``riskline.channel.sending``, without I/O.

* Batches: the pending envelopes of one channel to one peer go out in ``seq`` order, up to
  ``RetryPolicy.batch`` in one request (``POST /v1/channels/{channel}/batches``) under one signed head of our
  log, which the peer checks, logs and receipts in one transaction. A peer's batches are sent one at a time,
  so the consistency proof of each starts where the peer's last cosignature left off; they are pipelined:
  while the peer takes one, the receipts of the one before are verified and the next is prepared.
* Store-and-forward: a peer that cannot be reached (refused, reset, timed out, 5xx) is retried with
  exponential backoff and jitter, capped (``RetryPolicy``); nothing is dropped while it is down.
* Exactly once, from the log's point of view: the receiver deduplicates by envelope id and answers a
  re-delivery with its original receipt (``duplicate: true``), which counts as delivered.
* A batch is taken up to its first refused envelope: the receipts of those before it are recorded, and the
  refusal is dealt with as a single delivery's would be:
* ``409 OutOfOrder``: the receiver waits for an earlier seq; it is resent from there (rows we thought
  delivered are queued again — the peer lost them — and the operator is told).
* ``409 ConsistencyBaseMismatch``: our idea of what the peer last cosigned was stale (a receipt lost in a
  crash); retried at once with a proof from the size it names.
* Any other 4xx is permanent: the row is marked ``failed-permanent``, later envelopes on that channel to that
  peer wait behind it, and the operator is told (``node_events``; ``riskline outbox`` shows it;
  ``riskline outbox --retry`` queues it again).
* Every receipt is verified (``riskline.channel.receipt.verify_receipt``; the head and cosignature a batch's
  receipts share, once) before its row is marked delivered, and stored with the peer's signed head and its
  cosignature of ours, one transaction per batch. Two heads of the peer's log with the same size and
  different roots are reported with a portable ``EquivocationProof``, and the peer's log growth is checked
  with a consistency proof fetched from it after a pass (at most once a second under load).

Every use of the node (its database, its tree, its key: preparing a batch, verifying and recording receipts) runs
on the node's own thread (``LocalNode.call``), never on the event loop, which only moves bytes: while the peer
takes one batch, the receipts of the one before are verified on that thread.

``Deliverer.run`` is the server's asyncio task: it notices at once (``PRAGMA data_version``, polled every few
milliseconds) when another process — the CLI's ``send`` — commits to the database, so a message sent alone
goes out within milliseconds, and makes a full pass at least every ``interval`` for retries. ``flush`` does
one synchronous pass for the CLI. Both take the node's delivery lock, so two processes never deliver for one
node at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Connection

from riskline.channel.checkpoint import Checkpoint, Cosignature, SignedCheckpoint, detect_equivocation
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import ChannelError, InvalidProof, MalformedEnvelope
from riskline.channel.merkle import verify_consistency
from riskline.channel.protocol import prepare_batch
from riskline.channel.receipt import Receipt, SignatureMemo, verify_receipt
from riskline.channel.sending import (
    GiveUp,
    Rebase,
    Resend,
    RetryPolicy,
    Step,
    after_refusal,
    fresh_cosignature,
    parse_answer,
    step_after,
)
from riskline.channel.signing import VerifyKey
from riskline.node.client import ssl_for, timeout, unreachable
from riskline.node.errors import NodeBusy, PeerError
from riskline.node.local import LocalNode
from riskline.node.locks import FileLock
from riskline.node.receiving import to_json
from riskline.storage import channel_store as store
from riskline.storage.errors import StorageError

WATCH_INTERVAL = 0.002  # [s]
"""How often the server's delivery task asks SQLite whether another process committed (a message to send)."""
PEER_LOG_CHECK_INTERVAL = 1.0  # [s]
"""Under load, the peer's log growth is checked (a consistency proof fetched) at most this often."""


@dataclass(slots=True)
class DeliveryReport:
    """What one pass did."""

    delivered: int = 0
    duplicates: int = 0
    failed_permanent: int = 0
    retry_later: int = 0
    errors: list[str] = field(default_factory=list)
    more: bool = False
    """A peer's queue was not drained within ``RetryPolicy.rounds``: another pass should follow at once."""


class _Queued:
    """An outbox row and its log entry, waiting for a batch; the envelope is parsed when first needed."""

    __slots__ = ("_envelope", "entry", "row")

    def __init__(self, row: store.OutboxRow, entry: store.LogEntry) -> None:
        self.row = row
        self.entry = entry
        self._envelope: SignedEnvelope | None = None

    @property
    def envelope(self) -> SignedEnvelope:
        if self._envelope is None:
            self._envelope = SignedEnvelope.from_leaf(self.entry.data, recanonicalize=False)
        return self._envelope


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A batch ready to send: its queued envelopes, the request body, the head it carries and the size of our
    log it assumes the peer cosigned last (where its consistency proof starts)."""

    items: list[_Queued]
    body: bytes
    head: SignedCheckpoint
    cosigned_size: int


class _Post:
    """One batch POST in flight; ``written()`` returns once the request has gone out (or the answer is in)."""

    def __init__(self, client: httpx.AsyncClient, url: str, body: bytes) -> None:
        self._sent = asyncio.Event()
        self._task = asyncio.ensure_future(
            client.post(
                url,
                content=body,
                headers={"content-type": "application/json"},
                extensions={"trace": self._trace},
            )
        )

    async def _trace(self, name: str, _info: dict[str, Any]) -> None:
        if name == "http11.send_request_body.complete":
            self._sent.set()

    async def written(self) -> None:
        waiter = asyncio.ensure_future(self._sent.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def response(self) -> httpx.Response:
        return await self._task

    async def discard(self) -> None:
        """Wait for the answer and drop it (its envelopes stay queued; the peer answers them as duplicates)."""
        with contextlib.suppress(httpx.HTTPError, ssl.SSLError, OSError):
            await self._task


class DatabaseWatch:
    """Tells cheaply whether another connection committed to the node's SQLite database since the last look.

    ``PRAGMA data_version`` changes for a connection exactly when another connection (of any process) has
    committed (https://sqlite.org/pragma.html#pragma_data_version); asking costs microseconds.
    """

    def __init__(self, path: Path) -> None:
        self._connection: sqlite3.Connection | None = None
        if path.is_file():  # a node on PostgreSQL has no file to watch: it delivers every ``interval``
            self._connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        self._version: int | None = None

    def changed(self) -> bool:
        if self._connection is None:
            return False
        try:
            version = int(self._connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return True
        changed = version != self._version
        self._version = version
        return changed

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


class Deliverer:
    """Sends a node's outbox; one instance per process, used from one asyncio loop."""

    def __init__(
        self,
        node: LocalNode,
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        transport_factory: Callable[[str], httpx.AsyncBaseTransport | None] | None = None,
    ) -> None:
        self.node = node
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()
        self._clients: dict[tuple[str, str, str | None], httpx.AsyncClient] = {}
        self._transport_factory = transport_factory
        self._peer_log_checked: dict[str, float] = {}  # [s] monotonic
        self.wake = asyncio.Event()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _client(self, peer: store.PeerRow) -> httpx.AsyncClient:
        """One client per peer (URL, CA): its connection is kept alive between batches."""
        key = (peer.node, peer.url, peer.ca_pem)
        client = self._clients.get(key)
        if client is None:
            ca = None if peer.ca_pem is None else peer.ca_pem.encode("ascii")
            transport = self._transport_factory(peer.url) if self._transport_factory else None
            client = httpx.AsyncClient(
                verify=ssl_for(self.node.paths, peer.url, ca), timeout=timeout(), transport=transport
            )
            self._clients[key] = client
        return client

    # --- one pass --------------------------------------------------------------------------------------------

    async def deliver_due(self, *, force: bool = False) -> DeliveryReport:
        """Deliver to every peer with pending envelopes that are due (all of them when ``force``)."""
        report = DeliveryReport()
        targets = await self.node.call(self._due, force=force)
        await asyncio.gather(*(self._deliver_to(peer, report, force=force) for peer in targets))
        return report

    def _due(self, *, force: bool) -> list[store.PeerRow]:
        now = self.node.clock()
        with self.node.reading() as connection:
            due = store.pending_due(connection)
            peers = {row.node: row for row in store.list_peers(connection)}
        return [peers[name] for name, at in due.items() if name in peers and (force or at <= now)]

    async def _deliver_to(self, peer: store.PeerRow, report: DeliveryReport, *, force: bool) -> None:
        delivered = report.delivered
        for _ in range(self.policy.rounds):
            if not await self._one_round(peer, report):
                break
        else:
            report.more = True
        checked = self._peer_log_checked.get(peer.node, -float("inf"))
        if report.delivered > delivered and (force or time.monotonic() - checked >= PEER_LOG_CHECK_INTERVAL):
            self._peer_log_checked[peer.node] = time.monotonic()
            await self._check_peer_log(peer, self._client(peer))

    async def _one_round(self, peer: store.PeerRow, report: DeliveryReport) -> bool:
        """A batch of every channel with pending envelopes to ``peer``; True when another round should follow."""
        round_work = await self.node.call(self._round_work, peer)
        if round_work is None:
            return False
        work, head, cosigned_size = round_work
        again = False
        for channel, rows in work.items():
            step, cosigned_size = await self._deliver_channel(peer, channel, rows, head, cosigned_size, report)
            if step is Step.STOP:
                return False
            again = again or step is Step.AGAIN or len(rows) >= self.policy.batch * self.policy.batches
        return again

    def _round_work(self, peer: store.PeerRow) -> tuple[dict[str, list[store.OutboxRow]], SignedCheckpoint, int] | None:
        """The pending rows to ``peer`` by channel, our head to send them under, and the size of our log the peer
        cosigned last; None when nothing is pending."""
        node = self.node
        with node.reading() as connection:
            work = store.pending_by_channel(connection, peer.node, self.policy.batch * self.policy.batches)
            if not work:
                return None
            stored = node.stored_head(connection)
            cosigned_size = store.peer_state_of(connection, peer.node).cosigned_size
        if stored is None:  # our log grew without a head (``send`` signs one): sign it before sending it
            with node.writing() as connection:
                stored = node.head(connection)
        return work, stored, cosigned_size

    async def _deliver_channel(
        self,
        peer: store.PeerRow,
        channel: str,
        rows: list[store.OutboxRow],
        head: SignedCheckpoint,
        cosigned_size: int,
        report: DeliveryReport,
    ) -> tuple[Step, int]:
        """Send ``rows`` (one channel, seq order) in batches until all are taken or one is refused.

        Pipelined, the peer still getting one request at a time, in order: while a batch is with the peer, the
        receipts of the one before are verified and recorded and the next one is prepared, as if this one will
        be taken (its consistency proof starts at the head it carries, which the peer will then have cosigned);
        it is sent as soon as this one is answered in full. When a batch is not taken in full, the next is
        prepared again. Envelopes queued meanwhile follow at once, under our newer head (up to ``batch *
        batches`` in all, so that a busy channel does not hold up the others).
        """
        queue = await self.node.call(self._queued, rows, report)
        budget = self.policy.batch * self.policy.batches - len(queue)
        last_seq = queue[-1].row.seq if queue else 0
        peer_key = VerifyKey.from_text(peer.key)
        client = self._client(peer)
        url = f"{peer.url.rstrip('/')}/v1/channels/{channel}/batches"
        answered: tuple[list[tuple[_Queued, Any]], Checkpoint] | None = None
        """A batch answered in full whose receipts are not verified yet, and the head it carried."""
        rebases = 0
        prepared = await self.node.call(self._prepare, queue, head, cosigned_size)
        while prepared is not None:
            post = _Post(client, url, prepared.body)
            await post.written()
            if answered is not None:
                if not await self.node.call(self._settle, peer, *answered, peer_key, report):
                    await post.discard()
                    return Step.STOP, cosigned_size
                answered = None
            following = await self.node.call(self._prepare, queue[len(prepared.items) :], head, head.checkpoint.size)
            try:
                response = await post.response()
            except (httpx.TransportError, ssl.SSLError, OSError) as error:
                await self.node.call(
                    self._retry_later, peer.node, queue[0].row, str(unreachable(peer.url, error)), report
                )
                return Step.STOP, cosigned_size
            answer = parse_answer(response.status_code, response.content, len(prepared.items), response.reason_phrase)
            if answer is None:
                message = f"{response.status_code} from {peer.node}: not a riskline batch answer"
                await self.node.call(self._retry_later, peer.node, queue[0].row, message, report)
                return Step.STOP, cosigned_size
            taken = list(zip(prepared.items, answer.receipts, strict=False))
            queue = queue[len(taken) :]
            if fresh_cosignature(answer.receipts):
                cosigned_size = prepared.head.checkpoint.size
            if answer.refusal is None:
                answered = (taken, prepared.head.checkpoint)
                if not queue and budget > 0:
                    more, newer = await self.node.call(
                        self._queued_since, peer, channel, last_seq, min(self.policy.batch, budget), report
                    )
                    if more:
                        queue, head, budget, last_seq = more, newer or head, budget - len(more), more[-1].row.seq
                        following = None
                if following is None or following.cosigned_size != cosigned_size:
                    following = await self.node.call(self._prepare, queue, head, cosigned_size)
                prepared = following
                continue
            if not await self.node.call(self._settle, peer, taken, prepared.head.checkpoint, peer_key, report):
                return Step.STOP, cosigned_size
            row = queue[0].row
            decision = after_refusal(
                answer.refusal, seq=row.seq, sent_size=prepared.head.checkpoint.size, rebases=rebases
            )
            if isinstance(decision, Rebase):
                rebases += 1
                cosigned_size = decision.cosigned_size
                await self.node.call(self._save_cosigned_size, peer.node, cosigned_size)
                prepared = await self.node.call(self._prepare, queue, head, cosigned_size)
                continue
            if isinstance(decision, Resend):
                await self.node.call(self._requeue_from, peer.node, channel, decision.seq, decision.reason)
            elif isinstance(decision, GiveUp):
                await self.node.call(self._fail, row, decision.reason, report)
            else:
                await self.node.call(self._retry_later, peer.node, row, decision.reason, report)
            return step_after(decision), cosigned_size
        if answered is not None and not await self.node.call(self._settle, peer, *answered, peer_key, report):
            return Step.STOP, cosigned_size
        return Step.CONTINUE, cosigned_size

    def _queued(self, rows: Sequence[store.OutboxRow], report: DeliveryReport) -> list[_Queued]:
        """``rows`` with their log entries, up to the first whose envelope is missing (that row fails)."""
        with self.node.reading() as connection:
            entries = store.log_entries_by_envelopes(connection, [row.envelope_id for row in rows])
        queue = []
        for row in rows:
            if row.envelope_id not in entries:
                self._fail(row, "envelope is missing from the log (run `riskline log verify`)", report)
                break
            queue.append(_Queued(row, entries[row.envelope_id]))
        return queue

    def _queued_since(
        self, peer: store.PeerRow, channel: str, after_seq: int, limit: int, report: DeliveryReport
    ) -> tuple[list[_Queued], SignedCheckpoint | None]:
        """Envelopes queued for ``peer`` on ``channel`` after ``after_seq`` since the round began, and our head
        that includes them (signed with them by ``send``; signed here if it is not)."""
        node = self.node
        with node.reading() as connection:
            rows = store.pending_after(connection, peer.node, channel, after_seq, limit)
            head = node.stored_head(connection) if rows else None
        if not rows:
            return [], None
        if head is None:
            with node.writing() as connection:
                head = node.head(connection)
        return self._queued(rows, report), head

    def _prepare(self, queue: Sequence[_Queued], head: SignedCheckpoint, cosigned_size: int) -> _Prepared | None:
        """The next batch of ``queue`` and its request body; None when the queue is empty."""
        items = list(queue[: self.policy.batch])
        if not items:
            return None
        batch = prepare_batch(
            envelopes=[(item.envelope, item.entry.index) for item in items],
            tree=self.node.tree,
            checkpoint=head,
            cosigned_size=cosigned_size,
        )
        return _Prepared(items, batch.wire_bytes(), head, cosigned_size)

    def _settle(
        self,
        peer: store.PeerRow,
        answered: Sequence[tuple[_Queued, Any]],
        sent: Checkpoint,
        peer_key: VerifyKey,
        report: DeliveryReport,
    ) -> bool:
        """Verify the receipts of ``answered`` in order and record those that hold (one transaction); False (and
        the row retried later, the peer's bad receipt in the security log) when one does not verify."""
        memo = SignatureMemo()
        taken: list[tuple[store.OutboxRow, Receipt]] = []
        failure: tuple[store.OutboxRow, Exception] | None = None
        for item, wire in answered:
            try:
                taken.append((item.row, self._verified_receipt(wire, item.envelope, peer_key, sent, memo)))
            except (ChannelError, ValueError, TypeError) as error:
                failure = (item.row, error)
                break
        self._record_delivered(peer, taken)
        report.delivered += len(taken)
        report.duplicates += sum(1 for _, receipt in taken if receipt.duplicate)
        if failure is not None:
            row, problem = failure
            self._security(peer.node, row, f"receipt from {peer.node} does not verify: {problem}", problem)
            self._retry_later(peer.node, row, f"receipt does not verify: {problem}", report)
            return False
        return True

    # --- bookkeeping -------------------------------------------------------------------------------------------

    def _verified_receipt(
        self, wire: Any, signed: SignedEnvelope, peer_key: VerifyKey, sent: Checkpoint, memo: SignatureMemo
    ) -> Receipt:
        if not isinstance(wire, dict):
            raise MalformedEnvelope(f"a receipt is a JSON object, got {type(wire).__name__}")
        receipt = Receipt.from_wire(wire)
        cosigned = sent
        if receipt.duplicate:
            # The original receipt cosigns the checkpoint of the first delivery: check it is one of ours.
            cosigned = receipt.cosignature.checkpoint
            tree = self.node.tree
            if (
                cosigned.origin != self.node.origin
                or cosigned.size > tree.size
                or tree.root(cosigned.size) != cosigned.root
            ):
                raise InvalidProof(
                    f"duplicate receipt cosigns a checkpoint of size {cosigned.size} that is not our log's"
                )
        verify_receipt(receipt, envelope=signed, receiver_key=peer_key, sender_checkpoint=cosigned, memo=memo)
        return receipt

    def _record_delivered(self, peer: store.PeerRow, marks: Sequence[tuple[store.OutboxRow, Receipt]]) -> None:
        """Store the receipts, the peer's heads and cosignatures they carry, and mark the rows delivered: one
        transaction."""
        if not marks:
            return
        with self.node.writing() as connection:
            now = self.node.clock()
            store.store_receipts(
                connection,
                [
                    store.StoredReceipt(row.envelope_id, "out", peer.node, receipt.canonical().decode("utf-8"), now)
                    for row, receipt in marks
                ],
            )
            heads: dict[tuple[int, bytes, bytes], tuple[SignedCheckpoint, store.OutboxRow]] = {}
            cosignatures: dict[tuple[int, bytes, bytes], Cosignature] = {}
            for row, receipt in marks:  # a batch's receipts share one head and one cosignature
                head, cosignature = receipt.receiver_checkpoint, receipt.cosignature
                heads.setdefault((head.checkpoint.size, head.checkpoint.root, head.signature), (head, row))
                key = (cosignature.checkpoint.size, cosignature.checkpoint.root, cosignature.signature)
                cosignatures.setdefault(key, cosignature)
            for head, row in sorted(heads.values(), key=lambda item: item[0].checkpoint.size):
                self._store_peer_head(connection, peer, head, row.channel, row.envelope_id, now)
            for cosignature in sorted(cosignatures.values(), key=lambda c: c.checkpoint.size):
                store.store_peer_checkpoint(
                    connection,
                    store.CheckpointKind.COSIGNED_BY_PEER,
                    cosignature.checkpoint.origin,
                    cosignature.checkpoint.size,
                    cosignature.checkpoint.root,
                    peer.node,
                    to_json(cosignature.to_dict()),
                    now,
                )
            fresh = [receipt.cosignature.checkpoint.size for _, receipt in marks if not receipt.duplicate]
            if fresh:
                state = store.peer_state_of(connection, peer.node)
                store.save_peer_state(
                    connection, _with(state, cosigned_size=max(state.cosigned_size, *fresh), updated=now)
                )
            store.mark_delivered(
                connection, [store.Delivered(row.envelope_id, peer.node, now, row.attempts + 1) for row, _ in marks]
            )
            store.resume_outbox(connection, peer.node, now)

    def _store_peer_head(
        self,
        connection: Connection,
        peer: store.PeerRow,
        head: SignedCheckpoint,
        channel: str,
        envelope_id: str,
        now: float,
    ) -> None:
        origin, size, root = head.checkpoint.origin, head.checkpoint.size, head.checkpoint.root
        for earlier in store.peer_checkpoints_of_size(connection, store.CheckpointKind.HEAD, origin, size):
            proof = detect_equivocation(SignedCheckpoint.from_dict(json.loads(earlier)), head)
            if proof is not None:
                message = f"peer {peer.node} signed two different roots for size {size} of its log"
                store.record_security_event(
                    connection,
                    at=now,
                    kind="EquivocationDetected",
                    status=409,
                    message=message,
                    peer=peer.node,
                    channel=channel,
                    envelope_id=envelope_id,
                    detail={"equivocation_proof": proof.to_dict()},
                )
                store.record_node_event(connection, at=now, kind="equivocation", message=message, peer=peer.node)
        store.store_peer_checkpoint(
            connection, store.CheckpointKind.HEAD, origin, size, root, peer.node, to_json(head.to_dict()), now
        )

    def _retry_later(self, peer: str, row: store.OutboxRow, error: str, report: DeliveryReport) -> None:
        now = self.node.clock()
        attempts = row.attempts + 1
        next_attempt = now + self.policy.delay(attempts, self._rng.uniform(0.5, 1.0))
        with self.node.writing() as connection:
            store.update_outbox(connection, row.envelope_id, peer, attempts=attempts, last_error=error)
            store.postpone_outbox(connection, peer, next_attempt)
        report.retry_later += 1
        report.errors.append(error)

    def _fail(self, row: store.OutboxRow, error: str, report: DeliveryReport) -> None:
        now = self.node.clock()
        with self.node.writing() as connection:
            store.update_outbox(
                connection,
                row.envelope_id,
                row.peer,
                state="failed-permanent",
                attempts=row.attempts + 1,
                last_error=error,
            )
            store.record_node_event(
                connection,
                at=now,
                kind="delivery_failed",
                message=f"{row.channel} seq {row.seq} to {row.peer} failed permanently: {error}",
                envelope_id=row.envelope_id,
                peer=row.peer,
            )
        report.failed_permanent += 1
        report.errors.append(error)

    def _requeue_from(self, peer: str, channel: str, seq: int, error: str) -> None:
        now = self.node.clock()
        with self.node.writing() as connection:
            count = store.requeue_outbox(connection, peer, channel, seq, now)
            if count:
                store.record_node_event(
                    connection,
                    at=now,
                    kind="redelivery",
                    message=f"{peer} asks for {channel} from seq {seq} ({error}); {count} envelope(s) queued again",
                    peer=peer,
                )

    def _save_cosigned_size(self, peer: str, size: int) -> None:
        with self.node.writing() as connection:
            state = store.peer_state_of(connection, peer)
            store.save_peer_state(connection, _with(state, cosigned_size=size, updated=self.node.clock()))

    def _security(self, peer: str, row: store.OutboxRow, message: str, error: Exception) -> None:
        with self.node.writing() as connection:
            store.record_security_event(
                connection,
                at=self.node.clock(),
                kind=type(error).__name__,
                status=getattr(error, "status", 0),
                message=message,
                peer=peer,
                channel=row.channel,
                envelope_id=row.envelope_id,
            )

    async def _check_peer_log(self, peer: store.PeerRow, client: httpx.AsyncClient) -> None:
        """Check that the peer's log only grew: a consistency proof from the last head we verified to its newest."""
        latest, state = await self.node.call(self._peer_log_state, peer)
        if latest is None:
            return
        head = SignedCheckpoint.from_dict(json.loads(latest)).checkpoint
        if head.size <= state.verified_size:
            return
        old_size, old_root = state.verified_size, state.verified_root
        proof: list[bytes] = []
        if old_size > 0:
            try:
                response = await client.get(
                    f"{peer.url.rstrip('/')}/v1/log/consistency", params={"from": old_size, "to": head.size}
                )
            except (httpx.TransportError, ssl.SSLError, OSError):
                return
            if response.status_code != 200:
                return
            try:
                proof = [bytes.fromhex(item) for item in response.json()["proof"]]
            except (ValueError, KeyError, TypeError):
                return
        try:
            if old_size > 0 and old_root is not None:
                verify_consistency(old_size, head.size, old_root, head.root, proof)
        except InvalidProof as error:
            message = f"log of {peer.node} is not consistent from size {old_size} to {head.size}: {error}"
            await self.node.call(self._inconsistent_peer_log, peer.node, message)
            return
        await self.node.call(self._peer_log_verified, peer.node, head)

    def _peer_log_state(self, peer: store.PeerRow) -> tuple[str | None, store.PeerStateRow]:
        with self.node.reading() as connection:
            return store.latest_peer_checkpoint(connection, store.CheckpointKind.HEAD, peer.node), store.peer_state_of(
                connection, peer.node
            )

    def _inconsistent_peer_log(self, peer: str, message: str) -> None:
        with self.node.writing() as connection:
            now = self.node.clock()
            store.record_security_event(connection, at=now, kind="InvalidProof", status=409, message=message, peer=peer)
            store.record_node_event(connection, at=now, kind="invalid_proof", message=message, peer=peer)

    def _peer_log_verified(self, peer: str, head: Checkpoint) -> None:
        with self.node.writing() as connection:
            current = store.peer_state_of(connection, peer)
            if head.size > current.verified_size:
                store.save_peer_state(
                    connection,
                    _with(current, verified_size=head.size, verified_root=head.root, updated=self.node.clock()),
                )

    # --- the server's task -------------------------------------------------------------------------------------

    def _record_pass_error(self, message: str) -> None:
        with self.node.writing() as connection:
            store.record_node_event(connection, at=self.node.clock(), kind="delivery_error", message=message)

    async def run(self, stop: asyncio.Event, *, interval: float = 0.2, watch: float = WATCH_INTERVAL) -> None:
        """Deliver until ``stop`` is set: a pass as soon as the database changed (looked at every ``watch`` [s]),
        at once when ``wake`` is set, and at least every ``interval`` [s] (retries fall due)."""
        database = DatabaseWatch(self.node.paths.database)
        last_pass = -float("inf")
        more = True
        try:
            while not stop.is_set():
                if more or self.wake.is_set() or database.changed() or time.monotonic() - last_pass >= interval:
                    self.wake.clear()
                    last_pass = time.monotonic()
                    more = False
                    try:
                        more = (await self.deliver_due()).more
                    except (PeerError, ChannelError, StorageError, OSError) as error:
                        # never let one bad pass end the worker
                        await self.node.call(self._record_pass_error, str(error))
                    if more:
                        await asyncio.sleep(0)
                        continue
                waiter = asyncio.ensure_future(self.wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=watch, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            database.close()


def _with(state: store.PeerStateRow, **changes: object) -> store.PeerStateRow:
    return replace(state, **changes)  # type: ignore[arg-type]


def flush(node: LocalNode, *, policy: RetryPolicy | None = None, force: bool = True) -> DeliveryReport:
    """One synchronous delivery pass for the CLI; ``NodeBusy`` when the server (or another flush) delivers."""
    lock = FileLock(node.paths.delivery_lock)
    if not lock.try_acquire():
        raise NodeBusy(f"the server of {node.paths.root} is delivering this outbox already (it retries on its own)")
    try:

        async def one_pass() -> DeliveryReport:
            deliverer = Deliverer(node, policy=policy)
            try:
                return await deliverer.deliver_due(force=force)
            finally:
                await deliverer.aclose()

        return asyncio.run(one_pass())
    finally:
        lock.release()
