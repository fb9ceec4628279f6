"""Faults end with nothing lost and nothing duplicated: SIGKILLed nodes, cut connections, replays, reordering.

Messages go out in bursts (delivered as batches). Faults are counted in events, not seconds: the senders of
the SIGKILL exchange stop at each kill point until its kill is made, so every kill lands in the middle of the
exchange however fast or loaded the machine is; waits for an outcome only guard against a hang.

Each test ends with every envelope delivered exactly once (the receiver's seqs are exactly 1..n) and both
``log verify`` clean.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from riskline.channel.envelope import SignedEnvelope
from riskline.channel.messages import MessageType
from riskline.channel.protocol import prepare_delivery
from riskline.node.audit import verify_node
from riskline.node.messaging import Outgoing, send
from riskline.node.messaging import send_many as send_batch
from riskline.storage import channel_store as store
from riskline.testing.nodes import NodeProcess, TwoNodeHarness, wait_until

pytestmark = pytest.mark.slow


def received_seqs(process: NodeProcess, sender: str) -> list[int]:
    with process.open() as node, node.database.read() as connection:
        rows = store.list_messages(connection, direction="in", channel="RU-EE")
    return sorted(row.seq for row in rows if row.sender_node == sender and row.type == "free_text")


def drained(process: NodeProcess) -> bool:
    with process.open() as node, node.database.read() as connection:
        counts = store.outbox_counts(connection)
    return counts.get("pending", 0) == 0 and counts.get("failed-permanent", 0) == 0


def send_many(process: NodeProcess, count: int, label: str) -> None:
    with process.open() as node:
        for number in range(count):
            send(node, Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{label} {number}"}))


def send_in_bursts(
    process: NodeProcess,
    count: int,
    label: str,
    *,
    burst: int,
    pause: float,
    kills: KillSchedule | None = None,
) -> None:
    """``count`` messages in bursts of ``burst`` (one transaction each, so they travel as batches), ``pause`` [s]
    apart; with ``kills``, the sender stops at each of its points until that kill is done."""
    with process.open() as node:
        for sent, first in enumerate(range(0, count, burst), start=1):
            outgoing = [
                Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{label} {number}"})
                for number in range(first, min(count, first + burst))
            ]
            send_batch(node, outgoing)
            if kills is not None:
                kills.reached(sent)
            time.sleep(pause)


class KillSchedule:
    """Kills at fixed points of an exchange, counted in bursts sent, not in seconds: at burst ``every``,
    ``2 * every``, … each sender waits until the killer has killed and restarted a node there, so the
    exchange cannot end before every kill is made, however slow or loaded the machine is."""

    def __init__(self, kills: int, every: int, timeout: float = 300.0) -> None:
        self.every = every
        self.timeout = timeout  # [s] only against a hang: a kill that never comes fails the test
        self._reached = [threading.Event() for _ in range(kills)]
        self._done = [threading.Event() for _ in range(kills)]

    def reached(self, burst: int) -> None:
        """A sender has sent ``burst`` bursts; at a kill point, wait for the kill."""
        point, rest = divmod(burst, self.every)
        if rest or not 1 <= point <= len(self._done):
            return
        self._reached[point - 1].set()
        if not self._done[point - 1].wait(self.timeout):
            raise TimeoutError(f"kill {point} was not made")

    def kill_at_each_point(self, harness: TwoNodeHarness, rng: random.Random) -> int:
        """Wait for each point, SIGKILL a node chosen at random while its deliveries are in flight, restart it."""
        made = 0
        for reached, done in zip(self._reached, self._done, strict=True):
            if not reached.wait(self.timeout):
                raise TimeoutError(f"no sender reached kill point {made + 1}")
            time.sleep(rng.uniform(0.0, 0.05))
            victim = harness[rng.choice(["RU", "EE"])]
            victim.kill()
            made += 1
            time.sleep(rng.uniform(0.0, 0.2))
            victim.start(timeout=120)
            done.set()
        return made


def assert_exactly_once_and_verified(harness: TwoNodeHarness, counts: dict[str, int]) -> None:
    for party, process in harness.nodes.items():
        wait_until(lambda p=process: drained(p), timeout=300, what=f"{party}'s outbox to drain")
    senders = {"RU": "ru-nmdc", "EE": "ee-mod"}
    for party, count in counts.items():
        other = "EE" if party == "RU" else "RU"
        assert received_seqs(harness[other], senders[party]) == list(range(1, count + 1))
    for process in harness.nodes.values():
        with process.open() as node:
            result = verify_node(node)
        assert result.ok, result.problems


def test_sigkill_of_either_node_during_a_thousand_message_exchange_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    rng = random.Random(20240611)
    kills = KillSchedule(kills=6, every=4)
    with TwoNodeHarness(tmp_path) as harness:
        senders = [
            threading.Thread(
                target=send_in_bursts,
                args=(harness[party], 500, f"from {party}"),
                kwargs={"burst": 20, "pause": 0.05, "kills": kills},
            )
            for party in ("RU", "EE")
        ]
        for thread in senders:
            thread.start()
        made = kills.kill_at_each_point(harness, rng)
        for thread in senders:
            thread.join()
        assert made == 6
        assert harness["RU"].starts + harness["EE"].starts == 2 + made
        assert_exactly_once_and_verified(harness, {"RU": 500, "EE": 500})


class ChaosProxy:
    """A TCP proxy that cuts connections at random: mid-request, or after the request and before the answer."""

    def __init__(self, target_port: int, rng: random.Random, probability: float) -> None:
        self.target_port = target_port
        self.rng = rng
        self.probability = probability
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target, client, upstream), daemon=True).start()

    def _cut(self) -> bool:
        with self._lock:
            if self.rng.random() < self.probability:
                self.cuts += 1
                return True
            return False

    def _pump(self, source: socket.socket, target: socket.socket, *both: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self._cut():
                    target.sendall(data[: len(data) // 2])
                    break
                target.sendall(data)
        except OSError:
            pass
        for sock in both:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._stopped = True
        self._listener.close()


def test_connections_cut_mid_request_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    with TwoNodeHarness(tmp_path) as harness:
        proxy = ChaosProxy(harness["EE"].port, random.Random(7), probability=0.04)
        try:
            with harness["RU"].open() as ru, ru.writing() as connection:
                peer = store.peer_by_node(connection, "ee-mod")
                assert peer is not None
                store.upsert_peer(connection, replace(peer, url=f"http://127.0.0.1:{proxy.port}"))
            send_in_bursts(harness["RU"], 150, "through the proxy", burst=3, pause=0.02)
            assert_exactly_once_and_verified(harness, {"RU": 150})
            assert proxy.cuts > 0
        finally:
            proxy.close()


def test_a_replayed_request_is_idempotent_and_seq_three_before_two_waits_for_two(tmp_path: Path) -> None:
    with TwoNodeHarness(tmp_path) as harness:
        harness["RU"].stop()
        send_many(harness["RU"], 3, "in order")
        with harness["RU"].open() as ru, ru.writing() as connection:
            head = ru.head(connection)
            entries = store.log_range(connection, 0, 3)
            requests = [
                prepare_delivery(
                    envelope=SignedEnvelope.from_leaf(entry.data),
                    index=entry.index,
                    tree=ru.tree,
                    checkpoint=head,
                    cosigned_size=0 if entry.index == 0 else head.checkpoint.size,
                ).to_wire()
                for entry in entries
            ]
        url = f"{harness['EE'].url}/v1/channels/RU-EE/envelopes"
        first = httpx.post(url, json=requests[0])
        again = httpx.post(url, json=requests[0])
        early = httpx.post(url, json=requests[2])
        assert (first.status_code, again.status_code, early.status_code) == (200, 200, 409)
        assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
        assert early.json()["error"]["type"] == "OutOfOrder"
        assert early.json()["error"]["expected"] == 2
        harness["RU"].start()
        assert_exactly_once_and_verified(harness, {"RU": 3})
