"""A harness that runs real riskline nodes as separate processes on loopback, for tests and demos.

``TwoNodeHarness`` makes node directories under a temporary directory (``node init``), gives each the
channels (``RU-EE``, and optionally the collective ``NRC`` with a third node), starts each node as a real
``python -m riskline.node.server`` process (uvicorn) on a free 127.0.0.1 port, waits for ``/v1/health``,
and pins every node as every other's peer (``peer add``, which fetches ``/v1/node`` from the running
process). A node can be SIGKILLed and restarted on the same port.

No orphans: every process leads its own process group, is killed with its group on ``close()``, on leaving
the ``with`` block and, as a last resort, ``atexit``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from riskline.channel.policy import ChannelPolicy
from riskline.channel.sending import RetryPolicy
from riskline.node.app import create_app
from riskline.node.config import ListenAddress, PeerConfig
from riskline.node.delivery import Deliverer, DeliveryReport
from riskline.node.local import Clock, LocalNode, init_node
from riskline.node.peers import add_channel, add_peer
from riskline.storage import channel_store as store

_LIVE: weakref.WeakSet[NodeProcess] = weakref.WeakSet()


def _kill_all() -> None:
    for process in list(_LIVE):
        process.kill()


atexit.register(_kill_all)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> None:
    """Poll ``predicate`` until true; ``TimeoutError`` naming ``what`` after ``timeout`` [s]."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timing flags passed to each node server (short, for tests)."""

    delivery_interval: float = 0.05  # [s]
    escalation_interval: float = 0.25  # [s]
    retry_base: float = 0.05  # [s]
    retry_cap: float = 0.5  # [s]

    def arguments(self) -> list[str]:
        return [
            "--delivery-interval",
            str(self.delivery_interval),
            "--escalation-interval",
            str(self.escalation_interval),
            "--retry-base",
            str(self.retry_base),
            "--retry-cap",
            str(self.retry_cap),
        ]


class NodeProcess:
    """One node directory and the server process that runs it."""

    def __init__(self, root: Path, port: int, *, tls: bool, options: ServerOptions | None = None) -> None:
        self.root = root
        self.port = port
        self.tls = tls
        self.options = options or ServerOptions()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = root.parent / f"{root.name}.log"
        self.starts = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        if self.running:
            return
        command = [sys.executable, "-m", "riskline.node.server", "--node", str(self.root), "--port", str(self.port)]
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.options.arguments()],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        self.starts += 1
        _LIVE.add(self)
        if wait:
            self.wait_healthy(timeout=timeout)

    def health(self) -> dict[str, Any] | None:
        """``GET /v1/health`` (no certificate needed), or None when the node does not answer."""
        verify: ssl.SSLContext | bool = False
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            verify = context
        try:
            response = httpx.get(f"{self.url}/v1/health", verify=verify, timeout=2.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        result: dict[str, Any] = response.json()
        return result

    def wait_healthy(self, timeout: float = 30.0) -> None:
        def healthy() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"node {self.root.name} exited with {self.process.returncode}; see {self.log_path}")
            return self.health() is not None

        wait_until(healthy, timeout=timeout, what=f"node {self.root.name} to answer /v1/health")

    def kill(self) -> None:
        """SIGKILL the server (and its process group) at once, as a crash would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None
        _LIVE.discard(self)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not stop within ``timeout`` [s]."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self.process = None
        _LIVE.discard(self)

    def restart(self, *, wait: bool = True) -> None:
        self.kill()
        self.start(wait=wait)

    @contextlib.contextmanager
    def open(self) -> Iterator[LocalNode]:
        """The node's directory opened in this process (safe while the server runs: SQLite transactions)."""
        node = LocalNode.open(self.root)
        try:
            yield node
        finally:
            node.close()


NODES: Mapping[str, tuple[str, str]] = {
    "RU": ("ru-nmdc", "Russian National Defence Management Centre"),
    "EE": ("ee-mod", "Estonian Defence Forces ops"),
    "US": ("us-eucom", "US EUCOM operations centre"),
}
"""Party → (node id, display name) of the harness's nodes."""


def bilateral_channel(deadlines: Mapping[str, float] | None = None, *, council: bool = False) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": "RU-EE",
        "kind": "bilateral",
        "members": ["RU", "EE"],
        "agreements": [],
        "rulebook": "default",
        "levels": ["duty_officer", "military_commander", "charge_d_affaires", "ambassador"],
        "languages": ["en", "ru", "et"],
        "escalation_min_step_s": 1.0,
    }
    if council:
        table["council"] = "NRC"
    if deadlines:
        table["deadlines"] = dict(deadlines)
    return table


def council_channel() -> dict[str, Any]:
    return {
        "id": "NRC",
        "kind": "collective",
        "members": ["RU", "EE", "US"],
        "agreements": ["NATO–Russia Founding Act 1997"],
        "levels": ["duty_officer", "military_commander", "military_representative", "ambassador", "foreign_minister"],
        "languages": ["en", "ru"],
        "escalation_min_step_s": 1.0,
    }


class TwoNodeHarness:
    """Two (or, with ``council=True``, three) real nodes on loopback, pinned to each other.

    ``with TwoNodeHarness(tmp_path) as harness: harness["RU"]``… Plain HTTP by default (fast, loopback);
    ``tls=True`` runs every node with mutual TLS.
    """

    def __init__(
        self,
        base: Path,
        *,
        tls: bool = False,
        council: bool = False,
        deadlines: Mapping[str, float] | None = None,
        options: ServerOptions | None = None,
    ) -> None:
        self.base = base
        self.tls = tls
        self.council = council
        self.deadlines = deadlines
        self.options = options or ServerOptions()
        self.parties = ["RU", "EE", "US"] if council else ["RU", "EE"]
        self.nodes: dict[str, NodeProcess] = {}
        self.keys: dict[str, str] = {}

    def __getitem__(self, party: str) -> NodeProcess:
        return self.nodes[party]

    def __enter__(self) -> TwoNodeHarness:
        try:
            self.setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def setup(self) -> None:
        for party in self.parties:
            node_id, name = NODES[party]
            root = self.base / node_id
            port = free_port()
            result = init_node(
                root,
                party=party,
                name=name,
                node_id=node_id,
                listen=ListenAddress("127.0.0.1", port),
                tls_enabled=self.tls,
            )
            self.keys[party] = result.key.to_text()
            with contextlib.closing(LocalNode.open(root)) as node:
                channels = [council_channel()] if self.council else []
                if party in ("RU", "EE"):
                    channels.insert(0, bilateral_channel(self.deadlines, council=self.council))
                for table in channels:
                    add_channel(node, ChannelPolicy.from_config(table))
            self.nodes[party] = NodeProcess(root, port, tls=self.tls, options=self.options)
        for process in self.nodes.values():
            process.start(wait=False)
        for process in self.nodes.values():
            process.wait_healthy()
        for party, process in self.nodes.items():
            with process.open() as node:
                for other, peer in self.nodes.items():
                    if other != party:
                        add_peer(node, NODES[other][0], peer.url, self.keys[other])
        if self.tls:
            time.sleep(1.2)  # the servers trust newly pinned peers' CAs within a second

    def close(self) -> None:
        for process in self.nodes.values():
            process.stop(timeout=5.0)


# --- in-process nodes (no sockets): the real ASGI app through httpx.ASGITransport -----------------------


def pin(node: LocalNode, other: LocalNode, url: str = "http://127.0.0.1:1") -> None:
    """Pin ``other`` on ``node`` without the network (what ``peer add`` stores after its checks)."""
    with node.writing() as connection:
        store.upsert_peer(
            connection,
            store.PeerRow(
                name=other.config.id,
                node=other.config.id,
                party=other.config.party,
                url=url,
                key=other.key.to_text(),
                fingerprint=other.key.fingerprint,
                ca_pem=None,
                added=node.clock(),
            ),
        )
    node.save_config(
        node.config.with_peer(
            PeerConfig(other.config.id, other.config.id, other.config.party, url, other.key.to_text())
        )
    )


@dataclass
class InProcess:
    """Nodes opened in this process, each with its ASGI app; delivery goes through ``httpx.ASGITransport``."""

    clock: Clock
    nodes: dict[str, LocalNode]

    def __getitem__(self, party: str) -> LocalNode:
        return self.nodes[party]

    def app(self, party: str) -> Any:
        return create_app(self.nodes[party])

    def deliver(
        self,
        party: str,
        policy: RetryPolicy | None = None,
        *,
        wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
        force: bool = True,
    ) -> DeliveryReport:
        """One delivery pass from ``party``'s outbox to the others' apps (``policy``: batch sizes, retries;
        ``wrap``: a transport around the app's, e.g. one that alters answers as a compromised peer would;
        ``force``: every peer with pending envelopes, due or not — False: as the server's task, due ones only)."""
        urls = {in_process_url(node): create_app(node) for node in self.nodes.values()}

        def transport(url: str) -> httpx.AsyncBaseTransport:
            app = httpx.ASGITransport(app=urls[url.rstrip("/")])
            return app if wrap is None else wrap(app)

        async def run() -> DeliveryReport:
            deliverer = Deliverer(self.nodes[party], policy=policy, transport_factory=transport)
            try:
                return await deliverer.deliver_due(force=force)
            finally:
                await deliverer.aclose()

        return asyncio.run(run())

    def post(self, party: str, path: str, body: object, *, raw: bytes | None = None) -> httpx.Response:
        return request(self.app(party), "POST", path, body, raw=raw)

    def get(self, party: str, path: str) -> httpx.Response:
        return request(self.app(party), "GET", path, None)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


def in_process_url(node: LocalNode) -> str:
    """The URL an in-process node is pinned under: loopback, a port per party (nothing listens there)."""
    return f"http://127.0.0.1:{9000 + sum(ord(c) for c in node.config.party)}"


def request(app: Any, method: str, path: str, body: object, *, raw: bytes | None = None) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
            if raw is not None:
                return await client.request(method, path, content=raw, headers={"content-type": "application/json"})
            if body is None:
                return await client.request(method, path)
            return await client.request(method, path, json=body)

    return asyncio.run(run())


def make_nodes(
    base: Path,
    clock: Clock,
    *,
    council: bool = False,
    deadlines: dict[str, float] | None = None,
    database: Callable[[str], str | None] | None = None,
) -> InProcess:
    """Nodes opened in this process; ``database(party)`` gives a node's database URL (default: its node.db)."""
    parties = ["RU", "EE", "US"] if council else ["RU", "EE"]
    nodes: dict[str, LocalNode] = {}
    for party in parties:
        node_id, name = NODES[party]
        root = base / node_id
        init_node(
            root, party=party, name=name, node_id=node_id, listen=ListenAddress("127.0.0.1", 0), tls_enabled=False,
            database=database(party) if database else None,
        )
        node = LocalNode.open(root, clock=clock)
        tables = [council_channel()] if council else []
        if party in ("RU", "EE"):
            tables.insert(0, bilateral_channel(deadlines, council=council))
        for table in tables:
            add_channel(node, ChannelPolicy.from_config(table))
        nodes[party] = node
    for party, node in nodes.items():
        for other_party, other in nodes.items():
            if other_party != party:
                pin(node, other, url=in_process_url(other))
    return InProcess(clock, nodes)
