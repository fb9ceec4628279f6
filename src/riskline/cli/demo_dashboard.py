"""The demo's dashboards: one per node, on loopback, with demo accounts; ``--keep`` keeps them (and the nodes) up.

Each node's dashboard opens the node's directory a second time, as ``riskline node serve`` does for its own;
the EE dashboard also shows the last picture of EE's watch. Demo accounts (printed, for the demo only):
``duty`` (duty officer) and ``viewer`` (viewer), both with the password ``DEMO_PASSWORD``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

from rich.console import Console

from riskline.node.cluster import LocalCluster
from riskline.node.config import ListenAddress
from riskline.node.local import LocalNode
from riskline.watch import Watch
from riskline.web.accounts import Role
from riskline.web.backend import Dashboard
from riskline.web.live import frame_from_snapshot
from riskline.web.server import DashboardServer

DEMO_PASSWORD = "riskline-demo"
DEMO_ACCOUNTS = {"duty": Role.DUTY_OFFICER, "viewer": Role.VIEWER}


@dataclass
class DemoDashboards:
    console: Console
    servers: dict[str, DashboardServer] = field(default_factory=dict)
    nodes: list[LocalNode] = field(default_factory=list)

    def start(self, harness: LocalCluster) -> None:
        for party, process in harness.nodes.items():
            node = LocalNode.open(process.root)
            self.nodes.append(node)
            board = Dashboard(node.database, node=node)
            for name, role in DEMO_ACCOUNTS.items():
                board.add_operator(name, role, DEMO_PASSWORD)
            server = DashboardServer(board, ListenAddress("127.0.0.1", 0))
            self.servers[party] = server
            url = server.start()
            self.console.print(f"[cyan]\\[check][/cyan] {party} dashboard at [bold]{url}[/bold]")
        self.console.print(f"        log in as [bold]duty[/bold] (duty officer) or [bold]viewer[/bold], "
                           f"password [bold]{DEMO_PASSWORD}[/bold] (demo accounts)")

    def show_watch(self, party: str, watch: Watch) -> None:
        """The last picture of ``watch`` (every live track at its last tick) on ``party``'s dashboard map."""
        server, t = self.servers.get(party), watch.status().t
        if server is None or t is None:
            return
        frame = frame_from_snapshot(watch.tracks.snapshot(t))
        server.dashboard.observe(frame, watch.tracker.open_encounters(), [])

    def keep(self) -> None:
        """Block until Ctrl-C or SIGTERM, with every node and dashboard up."""
        stop = threading.Event()

        def stopping(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, stopping)
        self.console.print("Nodes and dashboards stay up; Ctrl-C stops them.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        for node in self.nodes:
            node.close()


@contextlib.contextmanager
def demo_dashboards(console: Console, harness: LocalCluster) -> Iterator[DemoDashboards]:
    dashboards = DemoDashboards(console)
    try:
        dashboards.start(harness)
        yield dashboards
    finally:
        dashboards.close()
