"""Delivery: drain the outbox to peer nodes, in order, until every envelope has a verified receipt.

* Order: per (peer, channel) in ``seq`` order; a peer's envelopes are sent one request at a time, so the
  consistency proof of each starts where the peer's last cosignature left off.
* Store-and-forward: a peer that cannot be reached (refused, reset, timed out, 5xx) is retried with
  exponential backoff and jitter, capped (``RetryPolicy``); nothing is dropped while it is down.
* Exactly once, from the log's point of view: the receiver deduplicates by envelope id and answers a
  re-delivery with its original receipt (``duplicate: true``), which counts as delivered.
* ``409 OutOfOrder``: the receiver waits for an earlier seq; it is resent from there (rows we thought
  delivered are queued again — the peer lost them — and the operator is told).
* ``409 ConsistencyBaseMismatch``: our idea of what the peer last cosigned was stale (a receipt lost in a
  crash); retried at once with a proof from the size it names.
* Any other 4xx is permanent: the row is marked ``failed-permanent``, later envelopes on that channel to that
  peer wait behind it, and the operator is told (``node_events``; ``riskline outbox`` shows it;
  ``riskline outbox --retry`` queues it again).
* Every receipt is verified (``riskline.channel.receipt.verify_receipt``) before the row is marked
  delivered, and stored with the peer's signed head and its cosignature of ours. Two heads of the peer's
  log with the same size and different roots are reported with a portable ``EquivocationProof``, and the
  peer's log growth is checked with a consistency proof fetched from it.

``Deliverer.run`` is the server's asyncio task; ``flush`` does one synchronous pass for the CLI. Both take
the node's delivery lock, so two processes never deliver for one node at once.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx
from sqlalchemy.engine import Connection

from riskline.channel.checkpoint import Checkpoint, SignedCheckpoint, detect_equivocation
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import ChannelError, InvalidProof
from riskline.channel.merkle import verify_consistency
from riskline.channel.protocol import prepare_delivery
from riskline.channel.receipt import Receipt, verify_receipt
from riskline.channel.signing import VerifyKey
from riskline.node.client import error_document, ssl_for, timeout, unreachable
from riskline.node.errors import NodeBusy, PeerError
from riskline.node.local import LocalNode
from riskline.node.locks import FileLock
from riskline.node.receiving import to_json
from riskline.storage import channel_store as store

RETRYABLE_CONFLICTS = frozenset({"OutOfOrder", "ConsistencyBaseMismatch"})
MARK_GROUP = 50
"""Most verified receipts recorded in one transaction."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt ``n`` waits ``min(cap, base * 2**(n-1))`` times 0.5–1."""

    base: float = 0.5  # [s]
    cap: float = 30.0  # [s]
    batch: int = 200
    """Most envelopes sent to one peer in one pass."""

    def delay(self, attempts: int, rng: random.Random) -> float:  # [s]
        exponent = min(max(attempts - 1, 0), 30)
        return min(self.cap, self.base * 2.0**exponent) * rng.uniform(0.5, 1.0)


@dataclass(slots=True)
class DeliveryReport:
    """What one pass did."""

    delivered: int = 0
    duplicates: int = 0
    failed_permanent: int = 0
    retry_later: int = 0
    errors: list[str] = field(default_factory=list)


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
        self.wake = asyncio.Event()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _client(self, peer: store.PeerRow) -> httpx.AsyncClient:
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
        now = self.node.clock()
        with self.node.reading() as connection:
            pending = store.pending_outbox(connection)
            peers = {row.node: row for row in store.list_peers(connection)}
        due: dict[str, float] = {}
        for row in pending:
            due[row.peer] = min(due.get(row.peer, row.next_attempt), row.next_attempt)
        targets = [peers[name] for name, at in due.items() if name in peers and (force or at <= now)]
        await asyncio.gather(*(self._deliver_to(peer, report) for peer in targets))
        return report

    async def _deliver_to(self, peer: store.PeerRow, report: DeliveryReport) -> None:
        rounds = 0
        while rounds < 20:
            rounds += 1
            again = await self._one_round(peer, report)
            if not again:
                return

    async def _one_round(self, peer: store.PeerRow, report: DeliveryReport) -> bool:
        """Send one batch to ``peer``; True when another round should follow at once.

        Verified receipts are recorded in groups (one transaction for up to ``MARK_GROUP``): a crash before a
        group is written only means those envelopes are sent again and answered as duplicates.
        """
        marks: list[tuple[store.OutboxRow, Receipt]] = []
        try:
            return await self._send_batch(peer, report, marks)
        finally:
            self._record_delivered(peer, marks)

    async def _send_batch(
        self, peer: store.PeerRow, report: DeliveryReport, marks: list[tuple[store.OutboxRow, Receipt]]
    ) -> bool:
        node = self.node
        with node.writing() as connection:
            rows = store.pending_outbox(connection, peer.node)
            failed = store.failed_outbox(connection, peer.node)
            head = node.head(connection)
            cosigned_size = store.peer_state_of(connection, peer.node).cosigned_size
        blocked = {row.channel: row.seq for row in failed}
        rows = [row for row in rows if not (row.channel in blocked and blocked[row.channel] < row.seq)]
        if not rows:
            return False
        peer_key = VerifyKey.from_text(peer.key)
        client = self._client(peer)
        url = peer.url.rstrip("/")
        stopped_channels: set[str] = set()
        delivered_any = False
        for row in rows[: self.policy.batch]:
            if row.channel in stopped_channels:
                continue
            with node.reading() as connection:
                entry = store.log_entry_by_envelope(connection, row.envelope_id)
            if entry is None:
                self._fail(row, "envelope is missing from the log (run `riskline log verify`)", report)
                stopped_channels.add(row.channel)
                continue
            signed = SignedEnvelope.from_leaf(entry.data)
            for _ in range(3):  # a stale cosigned size is corrected at most twice
                request = prepare_delivery(
                    envelope=signed, index=entry.index, tree=node.tree, checkpoint=head, cosigned_size=cosigned_size
                )
                try:
                    response = await client.post(f"{url}/v1/channels/{row.channel}/envelopes", json=request.to_wire())
                except (httpx.TransportError, ssl.SSLError, OSError) as error:
                    self._record_delivered(peer, marks)
                    self._retry_later(peer.node, row, str(unreachable(peer.url, error)), report)
                    return False
                if response.status_code == 409 and error_document(response).type == "ConsistencyBaseMismatch":
                    expected = error_document(response).expected
                    if expected is None or not 0 <= expected <= head.checkpoint.size:
                        break
                    cosigned_size = expected
                    self._save_cosigned_size(peer.node, expected)
                    continue
                break
            status = response.status_code
            if status == 200:
                try:
                    receipt = self._verified_receipt(response, signed, peer_key, head.checkpoint)
                except (ChannelError, ValueError) as error:
                    self._record_delivered(peer, marks)
                    self._security(peer.node, row, f"receipt from {peer.node} does not verify: {error}", error)
                    self._retry_later(peer.node, row, f"receipt does not verify: {error}", report)
                    return False
                marks.append((row, receipt))
                if len(marks) >= MARK_GROUP:
                    self._record_delivered(peer, marks)
                if not receipt.duplicate:
                    cosigned_size = head.checkpoint.size
                report.delivered += 1
                report.duplicates += int(receipt.duplicate)
                delivered_any = True
                continue
            document = error_document(response)
            message = f"{status} {document.type}: {document.message}"
            if status == 409 and document.type == "OutOfOrder":
                if document.expected is not None and document.expected < row.seq:
                    self._record_delivered(peer, marks)
                    self._requeue_from(peer.node, row.channel, document.expected, message)
                    return True
                self._record_delivered(peer, marks)
                self._retry_later(peer.node, row, message, report)
                return False
            if 400 <= status < 500 and document.type not in RETRYABLE_CONFLICTS:
                self._record_delivered(peer, marks)
                self._fail(row, message, report)
                stopped_channels.add(row.channel)
                continue
            self._record_delivered(peer, marks)
            self._retry_later(peer.node, row, message, report)
            return False
        if delivered_any:
            self._record_delivered(peer, marks)
            await self._check_peer_log(peer, client)
        return len(rows) > self.policy.batch

    # --- bookkeeping -------------------------------------------------------------------------------------------

    def _verified_receipt(
        self, response: httpx.Response, signed: SignedEnvelope, peer_key: VerifyKey, sent: Checkpoint
    ) -> Receipt:
        receipt = Receipt.from_wire(response.json())
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
        verify_receipt(receipt, envelope=signed, receiver_key=peer_key, sender_checkpoint=cosigned)
        return receipt

    def _record_delivered(self, peer: store.PeerRow, marks: list[tuple[store.OutboxRow, Receipt]]) -> None:
        """Store receipts and mark their rows delivered, all in one transaction; empties ``marks``."""
        if not marks:
            return
        with self.node.writing() as connection:
            for row, receipt in marks:
                self._delivered(connection, peer, row, receipt)
        marks.clear()

    def _delivered(self, connection: Connection, peer: store.PeerRow, row: store.OutboxRow, receipt: Receipt) -> None:
        now = self.node.clock()
        head = receipt.receiver_checkpoint
        origin, size, root = head.checkpoint.origin, head.checkpoint.size, head.checkpoint.root
        store.store_receipt(connection, row.envelope_id, "out", peer.node, to_json(receipt.to_wire()), now)
        for earlier in store.peer_checkpoints_of_size(connection, "head", origin, size):
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
                    channel=row.channel,
                    envelope_id=row.envelope_id,
                    detail={"equivocation_proof": proof.to_dict()},
                )
                store.record_node_event(connection, at=now, kind="equivocation", message=message, peer=peer.node)
        store.store_peer_checkpoint(connection, "head", origin, size, root, peer.node, to_json(head.to_dict()), now)
        cosignature = receipt.cosignature
        store.store_peer_checkpoint(
            connection,
            "cosigned_by_peer",
            cosignature.checkpoint.origin,
            cosignature.checkpoint.size,
            cosignature.checkpoint.root,
            peer.node,
            to_json(cosignature.to_dict()),
            now,
        )
        state = store.peer_state_of(connection, peer.node)
        if not receipt.duplicate:
            state = _with(state, cosigned_size=max(state.cosigned_size, cosignature.checkpoint.size), updated=now)
            store.save_peer_state(connection, state)
        store.update_outbox(
            connection,
            row.envelope_id,
            peer.node,
            state="delivered",
            delivered=now,
            attempts=row.attempts + 1,
            last_error=None,
        )

    def _retry_later(self, peer: str, row: store.OutboxRow, error: str, report: DeliveryReport) -> None:
        now = self.node.clock()
        attempts = row.attempts + 1
        next_attempt = now + self.policy.delay(attempts, self._rng)
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
        with self.node.reading() as connection:
            latest = store.latest_peer_checkpoint(connection, "head", peer.node)
            state = store.peer_state_of(connection, peer.node)
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
            with self.node.writing() as connection:
                now = self.node.clock()
                store.record_security_event(
                    connection, at=now, kind="InvalidProof", status=409, message=message, peer=peer.node
                )
                store.record_node_event(connection, at=now, kind="invalid_proof", message=message, peer=peer.node)
            return
        with self.node.writing() as connection:
            current = store.peer_state_of(connection, peer.node)
            if head.size > current.verified_size:
                store.save_peer_state(
                    connection,
                    _with(current, verified_size=head.size, verified_root=head.root, updated=self.node.clock()),
                )

    # --- the server's task -------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, interval: float = 0.2) -> None:
        """Deliver until ``stop`` is set: a pass every ``interval`` [s], or at once when ``wake`` is set."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except (PeerError, ChannelError, OSError) as error:  # never let one bad pass end the worker
                with self.node.writing() as connection:
                    store.record_node_event(connection, at=self.node.clock(), kind="delivery_error", message=str(error))
            self.wake.clear()
            waiter = asyncio.ensure_future(self.wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()


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
