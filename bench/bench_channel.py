"""The signed channel between two real nodes on loopback, against a plain unsigned HTTP POST-and-INSERT baseline.

Run on demand (it is not a test): ``.venv/bin/python bench/bench_channel.py [--quick]``.
Prints a table and writes it as a markdown section to ``bench/out/channel.md``.

1. Throughput: N messages (``free_text``) queued at once on RU for EE over RU-EE — one ``send_many``, one
   transaction committed (``synchronous=FULL``) before anything is sent — between two REAL node
   processes (``riskline.testing.nodes.TwoNodeHarness``: uvicorn, plain HTTP on loopback; once more with
   mutual TLS). Measured from just before the first message is queued to the last receipt verified and
   stored at RU (the outbox row's ``delivered`` time, taken when the transaction recording the verified
   receipt begins, on RU's clock — the same machine clock as the bench's).
   Every message is signed, appended to both Merkle logs, receipted (receipt signature, inclusion proof in
   EE's log, EE's signed head and its cosignature of RU's head) and the receipt verified at RU.
2. Latency at a steady offered load of 100 msg/s: one ``send`` (its own transaction) every 10 ms for
   ``--seconds``; per message, from ``send`` returning (committed to the outbox) to its receipt verified and
   stored at RU. p50, p99, max.
3. ``riskline log verify`` (``riskline.node.audit.verify_node``) of a node whose log holds 1,000,000 entries:
   half sent by the node, half received from its peer, as real signed envelopes (each signed with one of two
   keys), a signed head of the node every 1,000 entries, written straight into the node's database with the
   store's bulk functions (about 80 s; ``--quick`` builds 50,000), checked with 1 and with 2 worker
   processes. Receipts are not built (they would take as long again to sign): the cost of a log with a
   receipt per entry is measured on the real log of the throughput run instead (one process; it is too short
   for workers) and extrapolated. The whole run takes about 7 minutes, ``--quick`` about 40 s.
4. The baseline, in the same run: a minimal FastAPI app on uvicorn (``--baseline-server``, this file) that
   accepts an unsigned JSON message (pydantic-validated) and INSERTs it into SQLite (WAL,
   ``synchronous=FULL``), one transaction per request; driven as ours is: one request in flight, keep-alive,
   one message per request (and, as a second row, 200 per request like our batches), and at 100 msg/s
   (latency: the POST's round trip, its "receipt" being the 200 after the commit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_line, write_section
from riskline.channel.canonical import canonical_json, encode_base64
from riskline.channel.checkpoint import Checkpoint, sign_checkpoint
from riskline.channel.envelope import Author, LogHead, Sender, SignedEnvelope, new_envelope
from riskline.channel.merkle import MerkleTree, leaf_hash
from riskline.channel.messages import ContactLevel, MessageType
from riskline.channel.policy import ChannelPolicy
from riskline.channel.signing import Purpose, SigningKey
from riskline.node.audit import verify_node
from riskline.node.local import LocalNode, init_node
from riskline.node.messaging import Outgoing, send, send_many
from riskline.storage import channel_store as store
from riskline.testing.nodes import ServerOptions, TwoNodeHarness, bilateral_channel, free_port, wait_until

BASELINE_BATCH = 200
"""Messages per request in the batched baseline row (our delivery batch size)."""
OPTIONS = ServerOptions(delivery_interval=0.2, escalation_interval=1.0, retry_base=0.05, retry_cap=0.5)
"""The server's defaults, except quicker retries (none happen in a clean run)."""


@dataclass(frozen=True, slots=True)
class Throughput:
    messages: int
    queued_s: float  # [s] from the first send to the last commit of the queue
    total_s: float  # [s] from the first send to the last receipt stored

    @property
    def rate(self) -> float:  # [msg/s]
        return self.messages / self.total_s

    @property
    def delivery_rate(self) -> float:  # [msg/s] once the queue was committed
        return self.messages / (self.total_s - self.queued_s)


@dataclass(frozen=True, slots=True)
class Latency:
    messages: int
    offered: float  # [msg/s]
    achieved: float  # [msg/s] what the sender managed to offer
    samples: tuple[float, ...]  # [s]

    def quantile(self, q: float) -> float:  # [s]
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- ours ----------------------------------------------------------------------------------------------------


def _free_text(label: str, number: int) -> Outgoing:
    return Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{label} {number}"})


def _delivered_times(harness: TwoNodeHarness, ids: Sequence[str]) -> dict[str, float]:
    with harness["RU"].open() as ru, ru.database.read() as connection:
        rows = store.outbox_rows(connection)
    wanted = set(ids)
    return {row.envelope_id: row.delivered for row in rows if row.envelope_id in wanted and row.delivered}


def _wait_delivered(harness: TwoNodeHarness, ids: Sequence[str], timeout: float) -> dict[str, float]:
    found: dict[str, float] = {}

    def done() -> bool:
        found.clear()
        found.update(_delivered_times(harness, ids))
        return len(found) == len(ids)

    wait_until(done, timeout=timeout, interval=0.1, what=f"{len(ids)} receipts at RU")
    return found


def our_throughput(base: Path, messages: int, *, tls: bool) -> Throughput:
    with TwoNodeHarness(base, tls=tls, options=OPTIONS) as harness, harness["RU"].open() as ru:
        warm = [sent.envelope.id for sent in send_many(ru, [_free_text("warm-up", n) for n in range(50)])]
        _wait_delivered(harness, warm, timeout=60)
        outgoing = [_free_text("throughput", n) for n in range(messages)]
        started = time.time()
        ids = [sent.envelope.id for sent in send_many(ru, outgoing)]
        queued = time.time()
        delivered = _wait_delivered(harness, ids, timeout=600)
        return Throughput(messages, queued - started, max(delivered.values()) - started)


def our_latency(base: Path, seconds: float, rate: float) -> Latency:
    with TwoNodeHarness(base, options=OPTIONS) as harness, harness["RU"].open() as ru:
        warm = [sent.envelope.id for sent in send_many(ru, [_free_text("warm-up", n) for n in range(50)])]
        _wait_delivered(harness, warm, timeout=60)
        count = round(seconds * rate)
        committed: dict[str, float] = {}
        started = time.monotonic()
        for number in range(count):
            pause = started + number / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sent = send(ru, _free_text("latency", number))
            committed[sent.envelope.id] = time.time()
        achieved = count / (time.monotonic() - started)
        delivered = _wait_delivered(harness, list(committed), timeout=120)
        samples = tuple(delivered[i] - committed[i] for i in committed)
        return Latency(count, rate, achieved, samples)


# --- log verify ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verified:
    entries: int
    workers: int
    seconds: float
    ok: bool

    @property
    def per_entry(self) -> float:  # [s]
        return self.seconds / self.entries


class _Template:
    """Real signed envelopes of one sender, made fast: the canonical payload of one envelope built by the real
    code (``new_envelope``), with distinctive values replaced for each entry (id, seq, created, cited head,
    text), signed, and the signature spliced in where RFC 8785 puts it. The first ones are checked against the
    real parser with re-canonicalisation."""

    _ID = "a" * 32
    _ROOT = "b" * 64
    _SEQ = 987654321
    _SIZE = 876543210
    _CREATED = 1234567890.5

    def __init__(self, key: SigningKey, node: str, party: str, policy: ChannelPolicy) -> None:
        self.key = key
        envelope = new_envelope(
            channel=policy,
            msg_type=MessageType.FREE_TEXT,
            body={"text": "TEMPLATE-TEXT"},
            sender=Sender(node, party, key.public_key),
            author=Author("Duty officer", "duty_officer"),
            level=ContactLevel.DUTY_OFFICER,
            language="en",
            seq=self._SEQ,
            created=self._CREATED,
            sender_checkpoint=LogHead(self._SIZE, bytes.fromhex(self._ROOT)),
            peer_checkpoint=None,
            id=self._ID,
        )
        self.payload = envelope.payload()
        for token in (self._ID.encode(), self._ROOT.encode(), b'"seq":987654321', b'"size":876543210'):
            assert token in self.payload, token

    def leaf(self, *, seq: int, created: float, size: int, root: bytes, text: str) -> bytes:
        message_id = uuid.uuid4().hex.encode()
        payload = (
            self.payload.replace(self._ID.encode(), message_id)
            .replace(self._ROOT.encode(), root.hex().encode())
            .replace(b'"seq":987654321', b'"seq":' + str(seq).encode())
            .replace(b'"size":876543210', b'"size":' + str(size).encode())
            .replace(b'"created":1234567890.5', b'"created":' + canonical_json(created))
            .replace(b"TEMPLATE-TEXT", text.encode())
        )
        signature = self.key.sign(Purpose.ENVELOPE, payload)
        marker = payload.rindex(b',"thread":"')
        return payload[:marker] + b',"signature":"' + encode_base64(signature).encode() + b'"' + payload[marker:]


def build_log(root: Path, entries: int, *, head_every: int = 1000) -> None:
    """A node (EE) whose log holds ``entries`` entries: every other one sent by it, the others received from its
    pinned peer RU; a signed head every ``head_every`` entries; written with the store's bulk functions."""
    init_node(root, party="EE", name="Estonian Defence Forces ops", node_id="ee-mod", tls_enabled=False)
    peer_key = SigningKey.generate()
    with contextlib.closing(LocalNode.open(root)) as node:
        policy = ChannelPolicy.from_config(bilateral_channel())
        ours = _Template(node.identity, "ee-mod", "EE", policy)
        theirs = _Template(peer_key, "ru-nmdc", "RU", policy)
        with node.writing() as connection:
            store.upsert_peer(
                connection,
                store.PeerRow(
                    name="ru-nmdc",
                    node="ru-nmdc",
                    party="RU",
                    url="http://127.0.0.1:9",
                    key=peer_key.public_key.to_text(),
                    fingerprint=peer_key.public_key.fingerprint,
                    ca_pem=None,
                    added=time.time(),
                ),
            )
        tree = MerkleTree()
        pending: list[store.LogEntry] = []
        heads: list[tuple[int, bytes, str]] = []
        created = time.time() - 86_400.0
        for index in range(entries):
            template, direction = (ours, "out") if index % 2 == 0 else (theirs, "in")
            leaf = template.leaf(
                seq=index // 2 + 1,
                created=created + index * 0.01,
                size=index,
                root=tree.root(),
                text=f"log entry {index}",
            )
            if index < 200:
                SignedEnvelope.from_leaf(leaf, recanonicalize=True)  # the template makes canonical envelopes
            leaf_hashed = leaf_hash(leaf)
            tree.append_leaf_hash(leaf_hashed)
            message_id = json.loads(leaf)["id"] if index < 1 else leaf[leaf.index(b'"id":"') + 6 :][:32].decode()
            pending.append(store.LogEntry(index, leaf_hashed, leaf, direction, message_id, "RU-EE", created))
            if tree.size % head_every == 0 or tree.size == entries:
                head = sign_checkpoint(node.identity, Checkpoint("ee-mod", tree.size, tree.root(), time.time()))
                heads.append((tree.size, head.checkpoint.root, canonical_json(head.to_dict()).decode()))
            if len(pending) >= 20_000 or tree.size == entries:
                with node.writing() as connection:
                    store.append_log_many(connection, pending)
                    for size, head_root, data in heads:
                        store.store_checkpoint(connection, size, head_root, data, time.time())
                pending, heads = [], []


def log_verify(root: Path, workers: int) -> Verified:
    with contextlib.closing(LocalNode.open(root)) as node:
        started = time.perf_counter()
        result = verify_node(node, workers=workers)
        seconds = time.perf_counter() - started
    if not result.ok:
        print(f"log verify FAILED: {result.problems[:3]}", flush=True)
    return Verified(result.entries, workers, seconds, result.ok)


def receipts_verify(base: Path) -> tuple[Verified, Verified]:
    """``log verify`` of the throughput run's node RU (a real log: every entry with its receipt), 1 and 2 workers."""
    root = base / "plain" / "ru-nmdc"
    return log_verify(root, 1), log_verify(root, 2)


# --- the baseline --------------------------------------------------------------------------------------------


class Message(BaseModel):
    """The baseline's message: what our envelope carries that matters to the receiver, unsigned."""

    id: str
    channel: str
    seq: int
    body: dict[str, Any]
    created: float


def baseline_app(database: Path) -> Any:
    """A minimal FastAPI app: one unsigned JSON message (or a list) per POST, INSERTed in one transaction."""
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, channel TEXT NOT NULL, seq INTEGER NOT NULL,"
        " body TEXT NOT NULL, created REAL NOT NULL, received REAL NOT NULL)"
    )

    app = FastAPI()

    def insert(messages: list[Message]) -> None:
        now = time.time()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                [(m.id, m.channel, m.seq, json.dumps(m.body), m.created, now) for m in messages],
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @app.post("/messages")
    async def one(message: Message) -> dict[str, Any]:
        insert([message])
        return {"id": message.id, "stored": True}

    @app.post("/batches")
    async def many(messages: list[Message]) -> dict[str, Any]:
        insert(messages)
        return {"stored": len(messages)}

    return app


def serve_baseline(port: int, database: Path) -> None:
    import uvicorn

    uvicorn.run(baseline_app(database), host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextlib.contextmanager
def baseline_server(base: Path) -> Iterator[str]:
    port = free_port()
    database = base / "baseline.db"
    command = [sys.executable, __file__, "--baseline-server", str(port), "--database", str(database)]
    process = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{url}/openapi.json", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=30, what="the baseline server")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _message(number: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "channel": "RU-EE",
        "seq": number + 1,
        "body": {"text": f"baseline {number}"},
        "created": time.time(),
    }


def baseline_throughput(url: str, messages: int, per_request: int) -> Throughput:
    async def run() -> Throughput:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
            for number in range(50):  # warm-up
                (await client.post("/messages", json=_message(number))).raise_for_status()
            bodies = [_message(number) for number in range(messages)]
            started = time.time()
            for first in range(0, messages, per_request):
                chunk = bodies[first : first + per_request]
                if per_request == 1:
                    response = await client.post("/messages", json=chunk[0])
                else:
                    response = await client.post("/batches", json=chunk)
                response.raise_for_status()
            return Throughput(messages, 0.0, time.time() - started)

    return asyncio.run(run())


def baseline_latency(url: str, seconds: float, rate: float) -> Latency:
    async def run() -> Latency:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
            for number in range(50):
                (await client.post("/messages", json=_message(number))).raise_for_status()
            count = round(seconds * rate)
            samples = []
            started = time.monotonic()
            for number in range(count):
                pause = started + number / rate - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                begun = time.monotonic()
                (await client.post("/messages", json=_message(number))).raise_for_status()
                samples.append(time.monotonic() - begun)
            return Latency(count, rate, count / (time.monotonic() - started), tuple(samples))

    return asyncio.run(run())


# --- report --------------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{1e3 * seconds:.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer messages, a shorter latency run, a smaller log")
    parser.add_argument("--messages", type=int, default=None, help="messages in the throughput run")
    parser.add_argument("--seconds", type=float, default=None, help="[s] length of the latency run")
    parser.add_argument("--log-entries", type=int, default=None, help="entries of the log to verify")
    parser.add_argument("--baseline-server", type=int, default=None, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_server is not None:
        serve_baseline(args.baseline_server, args.database)
        return 0
    messages = args.messages or (500 if args.quick else 5000)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    log_entries = args.log_entries or (50_000 if args.quick else 1_000_000)
    rate = 100.0
    with tempfile.TemporaryDirectory(prefix="riskline-bench-channel-") as folder:
        base = Path(folder)
        ours_plain = our_throughput(base / "plain", messages, tls=False)
        print(f"ours, plain HTTP: {ours_plain.rate:.0f} msg/s", flush=True)
        ours_tls = our_throughput(base / "tls", messages, tls=True)
        print(f"ours, mutual TLS: {ours_tls.rate:.0f} msg/s", flush=True)
        ours_latency = our_latency(base / "latency", seconds, rate)
        print(f"ours, latency p99: {_ms(ours_latency.quantile(0.99))} ms", flush=True)
        with baseline_server(base) as url:
            plain_one = baseline_throughput(url, messages, 1)
            plain_batch = baseline_throughput(url, messages, BASELINE_BATCH)
            plain_latency = baseline_latency(url, seconds, rate)
        print(f"baseline: {plain_one.rate:.0f} msg/s", flush=True)
        real_log = log_verify(base / "plain" / "ru-nmdc", 1)
        started = time.perf_counter()
        build_log(base / "big" / "ee-mod", log_entries)
        built_s = time.perf_counter() - started
        print(f"built a log of {log_entries:,} entries in {built_s:.0f} s", flush=True)
        verified = [log_verify(base / "big" / "ee-mod", workers) for workers in (1, 2)]
        print(f"log verify: {', '.join(f'{v.seconds:.0f} s' for v in verified)}", flush=True)
    lines = [
        "## Channel: signed, logged, receipted messages between two nodes vs plain HTTP POST-and-INSERT",
        "",
        machine_line(),
        f"- Throughput: {messages:,} messages queued at once (one `send_many` transaction) on RU for EE, two node "
        "processes on loopback; from the first send to the last receipt verified and stored at RU. Latency: "
        f"{rate:.0f} msg/s offered for {seconds:g} s ({ours_latency.messages:,} messages, one `send` each; "
        f"{ours_latency.achieved:.1f} msg/s achieved by ours, {plain_latency.achieved:.1f} by the baseline), "
        "from `send` committed to the receipt verified and stored.",
        "- Baseline: FastAPI/uvicorn, unsigned JSON message, pydantic-validated, INSERT into SQLite (WAL, "
        "synchronous=FULL) in one transaction per request; one request in flight, keep-alive (as our delivery).",
        "",
        "| | ours | baseline | ours / baseline |",
        "|---|---:|---:|---:|",
        f"| throughput, plain HTTP [msg/s] | **{ours_plain.rate:,.0f}** | {plain_one.rate:,.0f} (1 message per "
        f"request) | {ours_plain.rate / plain_one.rate:.2f} |",
        f"| | | {plain_batch.rate:,.0f} ({BASELINE_BATCH} per request) | {ours_plain.rate / plain_batch.rate:.3f} |",
        f"| throughput, mutual TLS [msg/s] | **{ours_tls.rate:,.0f}** | — | — |",
        f"| of which delivery alone, after the queue was committed [msg/s] | {ours_plain.delivery_rate:,.0f} "
        f"(TLS {ours_tls.delivery_rate:,.0f}) | — | — |",
        f"| latency p50 at {rate:.0f} msg/s [ms] | {_ms(ours_latency.quantile(0.5))} "
        f"| {_ms(plain_latency.quantile(0.5))} | {ours_latency.quantile(0.5) / plain_latency.quantile(0.5):.1f} |",
        f"| latency p99 [ms] | **{_ms(ours_latency.quantile(0.99))}** | {_ms(plain_latency.quantile(0.99))} "
        f"| {ours_latency.quantile(0.99) / plain_latency.quantile(0.99):.1f} |",
        f"| latency max [ms] | {_ms(max(ours_latency.samples))} | {_ms(max(plain_latency.samples))} "
        f"| {max(ours_latency.samples) / max(plain_latency.samples):.1f} |",
        "",
        f"Queueing the {messages:,} messages (signing, appending to RU's log, one commit) took "
        f"{ours_plain.queued_s:.2f} s of the {ours_plain.total_s:.2f} s (plain HTTP) and {ours_tls.queued_s:.2f} s "
        f"of {ours_tls.total_s:.2f} s (mutual TLS). Goal: ≥ 1,000 msg/s and p99 < 50 ms.",
        "",
        f"`riskline log verify` (`verify_node`) of a log of {log_entries:,} entries (half sent, half received, real "
        f"signed envelopes, a signed head every 1,000; built in {built_s:.0f} s; no receipts):",
        "",
        "| workers | time [s] | per entry [µs] |",
        "|---:|---:|---:|",
        *(f"| {v.workers} | {v.seconds:.1f} | {1e6 * v.per_entry:.0f} |" for v in verified),
        "",
        f"A real log with a receipt per entry (RU's {real_log.entries:,} entries after the throughput run, each "
        f"with EE's receipt): {1e6 * real_log.per_entry:.0f} µs per entry with one process, i.e. about "
        f"{real_log.per_entry * 1e6:.0f} s for 1,000,000 such entries (extrapolated, not measured).",
    ]
    if not all(v.ok for v in [*verified, real_log]):
        lines.append("\n**A log verify FAILED in this run (see the output above).**")
    write_section("channel", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
