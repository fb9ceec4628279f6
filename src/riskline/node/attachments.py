"""Attachments travel by hash: the sender keeps the bytes, each receiver fetches them and checks them.

An envelope carries only an attachment's name, SHA-256, media type and size, signed with the rest. The bytes
stay with the sender under ``DIR/attachments/<sha256>``. The receiver queues a fetch for each attachment in
the transaction that logs the message (``queue_fetches_for``), and the server's fetch task asks the sender

    GET /v1/channels/{channel}/messages/{envelope_id}/attachments/{sha256}

over mutual TLS. The sender serves the bytes only to a member party of the message's channel, and only for
a hash that message lists. The receiver reads at most the signed size (never more than
``MAX_ATTACHMENT_SIZE``), checks the hash before anything is written, and keeps the bytes under its own
``DIR/attachments/<sha256>`` (written to a temporary name and renamed, so a crash never leaves half a file).

What became of each fetch is kept (``riskline.storage.report_store``): ``fetched``, ``mismatch`` (bytes of
another hash: nothing kept), ``too_large``, ``missing`` (the sender has no such bytes), or ``pending`` while
the sender cannot be reached (retried with a growing delay). Nothing is dropped silently: ``riskline show``
and ``riskline incident plot --message`` name every attachment that is not ``fetched``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import Connection

from riskline.channel.envelope import MAX_ATTACHMENT_SIZE, Attachment, SignedEnvelope, attachment_too_large
from riskline.channel.messages import InvalidField
from riskline.node.client import error_document, ssl_for, timeout
from riskline.node.errors import MessageNotFound, NodeError
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store
from riskline.storage import report_store

log = logging.getLogger("riskline.node")

FOLDER = "attachments"
RETRY_BASE = 1.0  # [s] first delay after a failed attempt; doubles up to RETRY_CAP
RETRY_CAP = 300.0  # [s]
CHUNK = 64 * 1024  # [bytes]


class AttachmentNotFound(MessageNotFound):
    """The bytes asked for are not here, or not for that message (404)."""

    http_status = 404


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """One fetch attempt: the attachment and the state it ended in."""

    fetch: report_store.AttachmentFetch
    state: str
    error: str | None


def attachment_path(node: LocalNode, sha256: str) -> Path:
    return node.paths.root / FOLDER / sha256


def keep_attachment(node: LocalNode, name: str, data: bytes, media_type: str, *, index: int = 0) -> Attachment:
    """Keep ``data`` under ``DIR/attachments/<sha256>`` and return its reference (refused when too large)."""
    if len(data) > MAX_ATTACHMENT_SIZE:
        raise InvalidField(f"attachments.{index}.size", f"{name}: {attachment_too_large(len(data))}")
    attachment = Attachment.from_bytes(name, data, media_type)
    _write_atomically(attachment_path(node, attachment.sha256), data)
    return attachment


def read_attachment(node: LocalNode, sha256: str) -> bytes | None:
    """The kept bytes of ``sha256`` if they are here and still hash to it; else None."""
    path = attachment_path(node, sha256)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(exist_ok=True)
    if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == path.name:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


# --- the sending side: serve the bytes of our own messages ---------------------------------------------------


def served_attachment(
    node: LocalNode, channel: str, envelope_id: str, sha256: str, caller_party: str | None
) -> tuple[Attachment, bytes]:
    """The bytes of attachment ``sha256`` of message ``envelope_id`` on ``channel``, for ``caller_party``.

    ``caller_party`` None is plain HTTP on loopback (no certificate to tell the party). Anything else that does
    not fit — another channel, a party not a member of it, a hash the message does not list, bytes we do not
    hold — is one ``AttachmentNotFound`` (404), so that a stranger learns nothing about what exists.
    """
    config = node.reload_config()
    with node.reading() as connection:
        entry = store.log_entry_by_envelope(connection, envelope_id)
    if entry is None or entry.channel != channel or not config.has_channel(channel):
        raise AttachmentNotFound(f"no message {envelope_id} on channel {channel}")
    if caller_party is not None and caller_party not in config.channel(channel).members:
        raise AttachmentNotFound(f"no message {envelope_id} on channel {channel}")
    envelope = SignedEnvelope.from_leaf(entry.data).envelope
    listed = next((a for a in envelope.attachments if a.sha256 == sha256), None)
    if listed is None:
        raise AttachmentNotFound(f"message {envelope_id} has no attachment {sha256}")
    data = read_attachment(node, sha256)
    if data is None:
        raise AttachmentNotFound(f"attachment {listed.name} ({sha256}) of message {envelope_id} is not kept here")
    return listed, data


# --- the receiving side: queue, fetch, check, keep ------------------------------------------------------------


def queue_fetches_for(connection: Connection, envelopes: Sequence[SignedEnvelope], at: float) -> None:
    """Queue a fetch of every attachment of ``envelopes`` just received (inside the transaction logging them)."""
    fetches = [
        report_store.AttachmentFetch(
            envelope_id=signed.id,
            sha256=attachment.sha256,
            name=attachment.name,
            media_type=attachment.media_type,
            size=attachment.size,
            peer=signed.envelope.sender.node,
            state="pending",
            attempts=0,
            next_attempt=at,
            last_error=None,
            updated=at,
        )
        for signed in envelopes
        for attachment in signed.envelope.attachments
    ]
    report_store.queue_fetches(connection, fetches)


def attachment_states(node: LocalNode, envelope_id: str) -> list[report_store.AttachmentFetch]:
    """What became of the attachments of a received message (empty for our own messages)."""
    with node.reading() as connection:
        return report_store.fetches_of(connection, envelope_id)


class Fetcher:
    """Fetches due attachments from their senders; one ``httpx.AsyncClient`` per peer, kept alive.

    Runs in the server's event loop (``run``), or once from the CLI (``fetch_due`` under ``asyncio.run``).
    ``transport_factory`` gives tests an in-process transport per peer URL.
    """

    def __init__(
        self,
        node: LocalNode,
        *,
        transport_factory: Callable[[str], httpx.AsyncBaseTransport | None] | None = None,
    ) -> None:
        self.node = node
        self._transport_factory = transport_factory
        self._clients: dict[tuple[str, str, str | None], httpx.AsyncClient] = {}

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def run(self, stop: asyncio.Event, *, interval: float) -> None:
        while not stop.is_set():
            try:
                await self.fetch_due()
            except NodeError as error:
                log.warning("attachment fetch pass failed: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def fetch_due(self, *, force: bool = False) -> list[FetchOutcome]:
        """Attempt every pending fetch that is due (all pending ones with ``force``); their outcomes."""
        due, peers = await self.node.call(self._due, force)
        outcomes = []
        for fetch in due:
            outcome = await self._fetch(fetch, peers.get(fetch.peer))
            at = self.node.clock()
            retry_at = None
            if outcome.state == "pending":
                retry_at = at + min(RETRY_CAP, RETRY_BASE * 2 ** min(fetch.attempts, 16))
            await self.node.call(self._settle, fetch, outcome, at, retry_at)
            outcomes.append(outcome)
        return outcomes

    # Every use of the node runs on its own thread (``LocalNode.call``), never on the event loop.

    def _due(self, force: bool) -> tuple[list[report_store.AttachmentFetch], dict[str, store.PeerRow]]:
        now = self.node.clock()
        with self.node.reading() as connection:
            due = report_store.due_fetches(connection, float("inf") if force else now, limit=50)
            return due, {peer.node: peer for peer in store.list_peers(connection)}

    def _settle(
        self, fetch: report_store.AttachmentFetch, outcome: FetchOutcome, at: float, retry_at: float | None
    ) -> None:
        with self.node.recording() as connection:
            report_store.settle_fetch(
                connection, fetch, state=outcome.state, at=at, error=outcome.error, retry_at=retry_at
            )

    def _entry(self, envelope_id: str) -> store.LogEntry | None:
        with self.node.reading() as connection:
            return store.log_entry_by_envelope(connection, envelope_id)

    async def _fetch(self, fetch: report_store.AttachmentFetch, peer: store.PeerRow | None) -> FetchOutcome:
        if read_attachment(self.node, fetch.sha256) is not None:  # the same bytes came with another message
            return FetchOutcome(fetch, "fetched", None)
        if peer is None:
            return FetchOutcome(fetch, "pending", f"sender node {fetch.peer} is not pinned")
        if fetch.size > MAX_ATTACHMENT_SIZE:
            return FetchOutcome(fetch, "too_large", attachment_too_large(fetch.size))
        entry = await self.node.call(self._entry, fetch.envelope_id)
        if entry is None:
            return FetchOutcome(fetch, "missing", f"message {fetch.envelope_id} is not in our log")
        path = f"/v1/channels/{entry.channel}/messages/{fetch.envelope_id}/attachments/{fetch.sha256}"
        url = peer.url.rstrip("/") + path
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        received = 0
        try:
            async with self._client(peer).stream("GET", url) as response:
                if response.status_code == 404:
                    await response.aread()
                    return FetchOutcome(fetch, "missing", f"{peer.url} has no such attachment (404)")
                if response.status_code != 200:
                    await response.aread()
                    document = error_document(response)
                    return FetchOutcome(
                        fetch, "pending", f"{peer.url} answered {response.status_code} {document.type}: "
                        f"{document.message}"
                    )
                async for chunk in response.aiter_bytes(CHUNK):
                    received += len(chunk)
                    if received > fetch.size:
                        return FetchOutcome(
                            fetch, "too_large", f"{peer.url} sent more than the {fetch.size:,} bytes signed"
                        )
                    digest.update(chunk)
                    chunks.append(chunk)
        except (httpx.TransportError, OSError) as error:
            reason = " ".join((str(error) or type(error).__name__).split())
            return FetchOutcome(fetch, "pending", f"cannot reach {peer.url}: {reason}")
        if received != fetch.size or digest.hexdigest() != fetch.sha256:
            return FetchOutcome(
                fetch, "mismatch",
                f"{peer.url} sent {received:,} bytes with SHA-256 {digest.hexdigest()}, not the {fetch.size:,} "
                f"bytes with SHA-256 {fetch.sha256} that were signed; nothing kept",
            )
        _write_atomically(attachment_path(self.node, fetch.sha256), b"".join(chunks))
        return FetchOutcome(fetch, "fetched", None)

    def _client(self, peer: store.PeerRow) -> httpx.AsyncClient:
        key = (peer.node, peer.url, peer.ca_pem)
        client = self._clients.get(key)
        if client is None:
            ca = None if peer.ca_pem is None else peer.ca_pem.encode("ascii")
            transport = self._transport_factory(peer.url) if self._transport_factory else None
            client = httpx.AsyncClient(verify=ssl_for(self.node.paths, peer.url, ca), timeout=timeout(),
                                       transport=transport)
            self._clients[key] = client
        return client


def fetch_now(node: LocalNode) -> list[FetchOutcome]:
    """Attempt every pending fetch once, now (the CLI, when no server runs)."""

    async def run() -> list[FetchOutcome]:
        fetcher = Fetcher(node)
        try:
            return await fetcher.fetch_due(force=True)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())
