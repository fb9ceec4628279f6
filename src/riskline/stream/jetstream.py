"""A synchronous link to NATS JetStream for riskline's two streams (nats-py underneath, on a private event loop).

Streams (created if missing, file storage, limits by age):

* ``RISKLINE_OBSERVATIONS`` on ``riskline.observations``: decoded observations, ``Nats-Msg-Id`` = content hash.
* ``RISKLINE_ENCOUNTERS`` on ``riskline.encounters``: the encounters a watch closed, id = pair, rule, start.
* Object store ``RISKLINE_WATCH_STATE``: one checkpoint per durable watch consumer (``stream/checkpoint.py``).

Publishing waits for JetStream's acknowledgement of every message (pipelined, ``PUBLISH_WINDOW`` in flight);
a message not acknowledged — the server restarting, a timeout — is published again with the same id until it
is, so the stream loses nothing and, thanks to the duplicate window, holds nothing twice
(https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication).

Consuming uses a durable pull consumer acknowledging in batches (``AckPolicy.ALL``). Where it starts is the
caller's: a resumable consumer keeps its own position (the watch's checkpoint) and recreates the durable
consumer from it on every start, so the position and the state it goes with can never disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import DigestMismatchError, NotFoundError
from nats.js.object_store import ObjectStore

from riskline.stream.errors import BrokerUnreachable, StreamError

OBSERVATION_STREAM: Final = "RISKLINE_OBSERVATIONS"
OBSERVATION_SUBJECT: Final = "riskline.observations"
ENCOUNTER_STREAM: Final = "RISKLINE_ENCOUNTERS"
ENCOUNTER_SUBJECT: Final = "riskline.encounters"
WATCH_STATE_BUCKET: Final = "RISKLINE_WATCH_STATE"
PUBLISHER_HEADER: Final = "Riskline-Publisher"
"""Who published an encounter (the watch's durable consumer name): what a restarted watch recognises as its own."""
PUBLISH_WINDOW: Final = 256
"""Publishes in flight at once before waiting for their acknowledgements."""
DUPLICATE_WINDOW_S: Final = 3600.0  # [s] a restarted receiver republishing the last hour is de-duplicated
RETENTION_S: Final = 7 * 86400.0  # [s] how long the streams keep messages
_PUBLISH_TIMEOUT_S: Final = 5.0  # [s]
_PUBLISH_ATTEMPTS: Final = 20
OBJECT_READ_ATTEMPTS: Final = 5
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StreamCounts:
    messages: int
    """Messages the stream holds."""
    first_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class Published:
    """A message a stream holds, as far as de-duplication needs it."""

    stream_seq: int
    message_id: str
    publisher: str | None
    """The ``PUBLISHER_HEADER``, if the publisher set one."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """A message handed to a consumer: its payload and the handle to acknowledge it."""

    payload: bytes
    stream_seq: int
    redelivered: bool
    _message: Msg


def _object_read_timeout_s(size: int) -> float:  # [s] generous: it only ends a read that can never finish
    return 10.0 + size / 1e6


def broker_address(url: str) -> str:
    """``nats://host:port``, checked: a one-line error for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise StreamError(f"{url}: not a NATS URL (expected nats://HOST:PORT)")
    return url


class JetStreamLink:
    """One connection to a NATS server with JetStream; every method blocks until done."""

    def __init__(self, url: str, *, connect_timeout_s: float = 2.0) -> None:
        self.url = broker_address(url)
        self._loop = asyncio.new_event_loop()
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        try:
            self._run(self._connect(connect_timeout_s))
        except BaseException:
            self._loop.close()
            raise

    @classmethod
    def connect_with_retry(
        cls,
        url: str,
        *,
        report: Callable[[str], None],
        base_s: float = 0.5,
        cap_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> JetStreamLink:
        """Connect, retrying with exponential backoff (``base_s`` doubling up to ``cap_s``) while the broker is
        unreachable; ``report`` gets one line per failed attempt. For live consumers, which must outlast a
        broker restart."""
        delay = base_s
        while True:
            try:
                return cls(url)
            except BrokerUnreachable as error:
                report(f"{error}; retrying in {delay:g} s")
                sleep(delay)
                delay = min(delay * 2, cap_s)

    def __enter__(self) -> JetStreamLink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ set-up

    async def _connect(self, timeout_s: float) -> None:
        self._probe(timeout_s)
        try:
            self._client = await nats.connect(
                self.url,
                connect_timeout=timeout_s,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=_quiet,
                disconnected_cb=None,
            )
        except (TimeoutError, NoServersError, OSError, NatsTimeout) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise BrokerUnreachable(f"{self.url}: NATS server unreachable ({reason})") from None
        self._js = self._client.jetstream(timeout=_PUBLISH_TIMEOUT_S)
        for name, subject in ((OBSERVATION_STREAM, OBSERVATION_SUBJECT), (ENCOUNTER_STREAM, ENCOUNTER_SUBJECT)):
            config = StreamConfig(
                name=name,
                subjects=[subject],
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_S,
                max_age=RETENTION_S,
            )
            try:
                await self._js.stream_info(name)
            except NotFoundError:
                await self._js.add_stream(config)
            except Exception as error:  # JetStream not enabled on the server, …
                raise StreamError(f"{self.url}: JetStream unavailable ({error})") from None

    def _probe(self, timeout_s: float) -> None:
        """Fail at once if nothing listens at the URL (nats-py, told to reconnect forever once connected,
        would also retry a first connection forever)."""
        parts = urlsplit(self.url)
        try:
            with socket.create_connection((parts.hostname, parts.port or 4222), timeout=timeout_s):
                pass
        except OSError as error:
            raise BrokerUnreachable(f"{self.url}: NATS server unreachable ({error.strerror or error})") from None

    # ------------------------------------------------------------------ publishing

    def publish(self, subject: str, messages: Sequence[tuple[str, bytes]], *, publisher: str | None = None) -> int:
        """Publish ``(message id, payload)`` pairs in order; returns how many the stream took as new
        (the rest were duplicates it already held). ``publisher`` goes in ``PUBLISHER_HEADER``."""
        return self._run(self._publish(subject, messages, publisher))

    async def _publish(self, subject: str, messages: Sequence[tuple[str, bytes]], publisher: str | None) -> int:
        assert self._js is not None
        extra = {} if publisher is None else {PUBLISHER_HEADER: publisher}
        js = self._js
        new = 0
        for start in range(0, len(messages), PUBLISH_WINDOW):
            window = messages[start : start + PUBLISH_WINDOW]
            pending = list(range(len(window)))
            for attempt in range(_PUBLISH_ATTEMPTS):
                results = await asyncio.gather(
                    *(
                        js.publish(subject, window[i][1], headers={"Nats-Msg-Id": window[i][0], **extra})
                        for i in pending
                    ),
                    return_exceptions=True,
                )
                failed = []
                for i, result in zip(pending, results, strict=True):
                    if isinstance(result, BaseException):
                        failed.append(i)
                    elif not result.duplicate:
                        new += 1
                if not failed:
                    break
                pending = failed
                await asyncio.sleep(min(0.1 * 2**attempt, 5.0))
            else:
                raise StreamError(
                    f"{self.url}: {len(pending)} messages not acknowledged after {_PUBLISH_ATTEMPTS} tries"
                )
        return new

    # ------------------------------------------------------------------ consuming

    def consumer(
        self, stream: str, subject: str, durable: str, *, first_seq: int = 1, ack_wait_s: float = 30.0
    ) -> Consumer:
        """The durable pull consumer ``durable``, (re)created to deliver from stream sequence ``first_seq`` (or
        the first message the stream still holds, if that is later). One process per durable name."""
        return Consumer(self, self._run(self._pull(stream, subject, durable, first_seq, ack_wait_s)))

    async def _pull(self, stream: str, subject: str, durable: str, first_seq: int, ack_wait_s: float) -> Any:
        assert self._js is not None
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(stream, durable)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(first_seq, 1),
            ack_wait=ack_wait_s,
            max_ack_pending=-1,
        )
        return await self._js.pull_subscribe(subject, durable=durable, stream=stream, config=config)

    def published_since(self, stream: str, subject: str, after_seq: int) -> list[Published]:
        """The message ids (and publishers) of every message the stream holds after ``after_seq``, in order."""
        return self._run(self._published_since(stream, subject, after_seq))

    async def _published_since(self, stream: str, subject: str, after_seq: int) -> list[Published]:
        assert self._js is not None
        info = await self._js.stream_info(stream)
        last = int(info.state.last_seq)
        if int(info.state.messages) == 0 or last <= after_seq:
            return []
        subscription = await self._js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after_seq + 1, inactive_threshold=60.0,
        ))
        found: list[Published] = []
        seq = after_seq
        while seq < last:
            for message in await subscription.fetch(1000, timeout=5.0):
                headers = message.headers or {}
                seq = int(message.metadata.sequence.stream)
                found.append(Published(seq, headers.get("Nats-Msg-Id", ""), headers.get(PUBLISHER_HEADER)))
        await subscription.unsubscribe()
        return found

    def load_object(self, bucket: str, name: str) -> bytes | None:
        """The object ``name`` of the object store ``bucket`` (created if missing), or None if there is none."""
        return self._run(self._load_object(bucket, name))

    async def _load_object(self, bucket: str, name: str) -> bytes | None:
        store = await self._object_store(bucket)
        for _ in range(OBJECT_READ_ATTEMPTS):
            try:
                info = await store.get_info(name)
                result = await asyncio.wait_for(store.get(name), timeout=_object_read_timeout_s(info.size or 0))
            except NotFoundError:
                return None
            except (TimeoutError, DigestMismatchError):
                continue  # replaced while read: nats-py waits for ever on the chunks the new version purged
            return bytes(result.data or b"")
        raise StreamError(f"{self.url}: could not read {bucket}/{name}: it was replaced each time it was read")

    def save_object(self, bucket: str, name: str, data: bytes) -> None:
        """Replace the object ``name``: its new chunks are written before its description points at them, so a
        process killed while saving leaves the previous object whole."""
        self._run(self._save_object(bucket, name, data))

    async def _save_object(self, bucket: str, name: str, data: bytes) -> None:
        try:
            store = await self._object_store(bucket)
            await store.put(name, data)
        except (TimeoutError, NatsTimeout, NatsError) as error:
            raise StreamError(f"{self.url}: could not save {bucket}/{name} ({type(error).__name__})") from None

    async def _object_store(self, bucket: str) -> ObjectStore:
        assert self._js is not None
        try:
            return await self._js.object_store(bucket)
        except NotFoundError:
            return await self._js.create_object_store(bucket, storage=StorageType.FILE)

    def counts(self, stream: str) -> StreamCounts:
        info = self._run(self._stream_info(stream))
        return StreamCounts(int(info.state.messages), int(info.state.first_seq), int(info.state.last_seq))

    async def _stream_info(self, stream: str) -> Any:
        assert self._js is not None
        return await self._js.stream_info(stream)

    def read_all(self, stream: str, subject: str) -> list[bytes]:
        """Every payload the stream holds, in order (an ephemeral consumer; for checks and replays)."""
        return self._run(self._read_all(stream, subject))

    async def _read_all(self, stream: str, subject: str) -> list[bytes]:
        assert self._js is not None
        info = await self._js.stream_info(stream)
        total = int(info.state.messages)
        if total == 0:
            return []
        subscription = await self._js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60.0,
        ))
        payloads: list[bytes] = []
        while len(payloads) < total:
            batch = await subscription.fetch(min(1000, total - len(payloads)), timeout=5.0)
            payloads += [message.data for message in batch]
        await subscription.unsubscribe()
        return payloads

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._client is not None and not self._client.is_closed:
            # Every publish and acknowledgement has been awaited: nothing is left to drain. (``drain()`` was seen
            # to wait out its 30 s timeout at the end of a watch that had checkpointed between its fetches.)
            self._run(self._client.close())
        leftover = asyncio.all_tasks(self._loop)  # e.g. the heartbeat checks of a subscription a timeout abandoned
        if leftover:
            self._run(_cancelled(leftover))
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coroutine)


class Consumer:
    """A durable pull consumer bound to a ``JetStreamLink``."""

    def __init__(self, link: JetStreamLink, subscription: Any) -> None:
        self._link = link
        self._subscription = subscription

    def fetch(self, batch: int, *, timeout_s: float) -> list[Delivered]:
        """Up to ``batch`` messages; fewer (or none) if ``timeout_s`` [s] passes first."""
        return self._link._run(self._fetch(batch, timeout_s))

    async def _fetch(self, batch: int, timeout_s: float) -> list[Delivered]:
        try:
            messages = await self._subscription.fetch(batch, timeout=timeout_s)
        except (TimeoutError, NatsTimeout):
            return []
        return [
            Delivered(m.data, int(m.metadata.sequence.stream), int(m.metadata.num_delivered) > 1, m)
            for m in messages
        ]

    def ack(self, delivered: Sequence[Delivered]) -> None:
        """Acknowledge a batch (``AckPolicy.ALL``: its last message acks all before it), waiting for the
        server to confirm (``ack_sync``): acknowledged work never comes back."""
        if delivered:
            self._link._run(delivered[-1]._message.ack_sync(timeout=_PUBLISH_TIMEOUT_S))

    def pending(self) -> int:
        """Messages the stream holds that this consumer has not yet been delivered, plus those unacked."""
        info = self._link._run(self._subscription.consumer_info())
        return int(info.num_pending) + int(info.num_ack_pending)


async def _cancelled(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _quiet(error: Exception) -> None:
    """nats-py reports connection trouble here while it reconnects; publish retries handle its effects."""
    del error
