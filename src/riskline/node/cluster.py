"""Several nodes on one machine, started as real server processes and waited for by events, not by sleeps.

What ``riskline demo`` runs on (``riskline.testing.nodes.TwoNodeHarness`` stays the tests' harness):

* ``LocalCluster.start`` makes each node directory (``init_node``), adds its channels, and pins every other node
  *before* any server starts — read from the sibling directories on this machine (key and TLS CA, what
  ``peer add`` would fetch and check over the network) — so each server trusts its peers' CAs from its first
  connection, with no wait for the server's periodic re-read of the pins;
* each server is a ``python -m riskline.node.server`` process leading its own process group; the cluster reads
  the server's standard output until it prints ``listening on URL`` — the event that it serves — and copies
  the rest of the output to ``<node>.log``;
* ``wait_for(party, predicate)`` re-checks ``predicate`` each time the node's directory changes (its SQLite
  database and write-ahead log are written on every commit): Linux inotify, read with ``select``; where
  inotify is missing, a re-check every ``FALLBACK_INTERVAL`` seconds.

Every process is stopped (SIGTERM to its group, SIGKILL after a grace period) on ``close()`` and on leaving
the ``with`` block.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from riskline.channel.policy import ChannelPolicy
from riskline.node.config import ListenAddress, PeerConfig
from riskline.node.errors import NodeError
from riskline.node.local import LocalNode, init_node
from riskline.node.peers import add_channel
from riskline.storage import channel_store as store

FALLBACK_INTERVAL = 0.2  # [s] re-check period where inotify is not available
_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x002, 0x008, 0x080, 0x100


class ClusterError(NodeError):
    """A node of the cluster did not start, or an awaited event did not come (whose fault: the machine)."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class NodeSpec:
    party: str
    node_id: str
    name: str
    channels: tuple[Mapping[str, Any], ...]
    """``[[channel]]`` tables of the channels this node is a member of."""


@dataclass(frozen=True, slots=True)
class ServerTiming:
    """Timing flags of every server (``python -m riskline.node.server``)."""

    delivery_interval: float = 0.1  # [s]
    escalation_interval: float = 0.5  # [s]
    retry_base: float = 0.2  # [s]
    retry_cap: float = 2.0  # [s]

    def arguments(self) -> list[str]:
        return [
            "--delivery-interval", str(self.delivery_interval), "--escalation-interval", str(self.escalation_interval),
            "--retry-base", str(self.retry_base), "--retry-cap", str(self.retry_cap),
        ]  # fmt: skip


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DirectoryWatch:
    """Wakes up when a file in a directory is written (inotify); falls back to a short period without it."""

    def __init__(self, directory: Path) -> None:
        self._fd: int | None = None
        libc_name = ctypes.util.find_library("c")
        if sys.platform.startswith("linux") and libc_name:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
            mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
            if fd >= 0 and libc.inotify_add_watch(fd, os.fsencode(directory), mask) >= 0:
                self._fd = fd
            elif fd >= 0:
                os.close(fd)

    @property
    def uses_events(self) -> bool:
        return self._fd is not None

    def wait(self, timeout: float) -> None:
        """Return when the directory changed, or after ``timeout`` [s] (at most the fallback period without inotify)."""
        if self._fd is None:
            time.sleep(min(timeout, FALLBACK_INTERVAL))
            return
        ready, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
        if ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._fd, 65_536):
                    pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ClusterNode:
    """One node directory and its server process."""

    def __init__(self, spec: NodeSpec, root: Path, port: int, *, tls: bool, timing: ServerTiming) -> None:
        self.spec = spec
        self.root = root
        self.port = port
        self.tls = tls
        self.timing = timing
        self.log_path = root.parent / f"{root.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def launch(self) -> None:
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, "-m", "riskline.node.server", "--node", str(self.root), "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.timing.arguments()],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )

    def wait_listening(self, timeout: float) -> None:
        """Read the server's output until it says it listens (the event), then copy the rest to the log."""
        process = self.process
        assert process is not None
        assert process.stdout is not None
        stream = process.stdout
        deadline = time.monotonic() + timeout
        seen = b""
        while b"listening on" not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError(f"node {self.spec.node_id} did not start within {timeout:g} s; see {self.log_path}")
            ready, _, _ = select.select([stream], [], [], remaining)
            if not ready:
                continue
            line = stream.readline()
            if not line:
                process.wait(timeout=5)
                raise ClusterError(
                    f"node {self.spec.node_id} exited with {process.returncode} before listening; see {self.log_path}"
                )
            seen = line
            with self.log_path.open("ab") as log:
                log.write(line)
        self._drain = threading.Thread(target=_copy, args=(stream, self.log_path), daemon=True)
        self._drain.start()

    @contextlib.contextmanager
    def open(self) -> Iterator[LocalNode]:
        """The node's directory opened in this process (safe while its server runs: SQLite transactions)."""
        node = LocalNode.open(self.root)
        try:
            yield node
        finally:
            node.close()

    def stop(self, grace: float = 5.0) -> None:
        process = self.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=grace)
        if self._drain is not None:
            self._drain.join(timeout=grace)
        self.process = None


def _copy(stream: IO[bytes], path: Path) -> None:
    with path.open("ab") as log:
        for line in stream:
            log.write(line)
            log.flush()


@dataclass
class LocalCluster:
    """Nodes of several parties on loopback, pinned to each other, each a real server process."""

    base: Path
    specs: Sequence[NodeSpec]
    tls: bool = True
    timing: ServerTiming = field(default_factory=ServerTiming)
    nodes: dict[str, ClusterNode] = field(default_factory=dict)

    def __getitem__(self, party: str) -> ClusterNode:
        return self.nodes[party]

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self, timeout: float = 60.0) -> None:
        for spec in self.specs:
            root = self.base / spec.node_id
            port = free_port()
            init_node(root, party=spec.party, name=spec.name, node_id=spec.node_id,
                      listen=ListenAddress("127.0.0.1", port), tls_enabled=self.tls)  # fmt: skip
            with contextlib.closing(LocalNode.open(root)) as node:
                for table in spec.channels:
                    add_channel(node, ChannelPolicy.from_config(table))
            self.nodes[spec.party] = ClusterNode(spec, root, port, tls=self.tls, timing=self.timing)
        for member in self.nodes.values():
            self._pin_siblings(member)
        for member in self.nodes.values():
            member.launch()
        for member in self.nodes.values():
            member.wait_listening(timeout)

    def _pin_siblings(self, member: ClusterNode) -> None:
        """Pin every other node of the cluster, read from its directory (the out-of-band exchange of keys)."""
        with contextlib.closing(LocalNode.open(member.root)) as node:
            for other in self.nodes.values():
                if other is member:
                    continue
                with contextlib.closing(LocalNode.open(other.root)) as peer:
                    key = peer.key
                    ca_pem = peer.paths.ca_cert.read_text(encoding="ascii") if self.tls else None
                with node.writing() as connection:
                    store.upsert_peer(connection, store.PeerRow(
                        name=other.spec.node_id, node=other.spec.node_id, party=other.spec.party, url=other.url,
                        key=key.to_text(), fingerprint=key.fingerprint, ca_pem=ca_pem, added=node.clock(),
                    ))  # fmt: skip
                node.save_config(node.reload_config().with_peer(PeerConfig(
                    other.spec.node_id, other.spec.node_id, other.spec.party, other.url, key.to_text(),
                )))  # fmt: skip

    def wait_for(self, party: str, predicate: Callable[[], bool], *, timeout: float = 60.0, what: str = "") -> None:
        """Return once ``predicate()`` holds, re-checking it whenever ``party``'s node directory changes."""
        watch = DirectoryWatch(self.nodes[party].root)
        deadline = time.monotonic() + timeout
        try:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ClusterError(f"timed out after {timeout:g} s waiting for {what or 'an event'} at {party}")
                watch.wait(min(remaining, 5.0))
        finally:
            watch.close()

    def close(self) -> None:
        for member in self.nodes.values():
            member.stop()
