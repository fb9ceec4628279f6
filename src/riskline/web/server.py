"""Run the dashboard: a uvicorn server on loopback (unless told otherwise), plus its once-a-second sync.

``DashboardServer.start()`` serves from a background thread (beside a node, in the demo, in tests) and returns
the URL once the socket listens; ``serve_forever()`` blocks until Ctrl-C (``riskline dashboard``). Binding
beyond loopback needs ``allow_remote=True`` (``--allow-remote``): the dashboard is for this node's operators.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn

from riskline.errors import RisklineError
from riskline.node.config import ListenAddress, is_loopback_host
from riskline.node.local import LocalNode
from riskline.node.server import bind
from riskline.web.app import create_dashboard_app
from riskline.web.backend import Dashboard
from riskline.web.errors import NotListening

log = logging.getLogger("riskline.web")


def check_listen(listen: ListenAddress, *, allow_remote: bool) -> None:
    """``NotListening`` for an address beyond loopback, unless the operator allowed it."""
    if not allow_remote and not is_loopback_host(listen.host):
        raise NotListening(f"--listen {listen}: the dashboard listens on loopback only unless --allow-remote is given")


class DashboardServer:
    def __init__(
        self, dashboard: Dashboard, listen: ListenAddress, *, allow_remote: bool = False, sync_interval: float = 1.0
    ) -> None:
        check_listen(listen, allow_remote=allow_remote)
        self.dashboard = dashboard
        self._sync_interval = sync_interval  # [s]
        self._socket = bind(listen)
        port = self._socket.getsockname()[1]
        host = listen.host if ":" not in listen.host else f"[{listen.host}]"
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(
            create_dashboard_app(dashboard),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.dashboard.sync()
            except RisklineError as error:
                log.warning("dashboard sync failed: %s", error)
            self._stop.wait(self._sync_interval)

    def start(self) -> str:
        """Serve in the background; returns the URL once it listens."""
        serving = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="dashboard-http", daemon=True
        )
        syncing = threading.Thread(target=self._sync_loop, name="dashboard-sync", daemon=True)
        self._threads = [serving, syncing]
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 30.0
        while not self._server.started and time.monotonic() < deadline and serving.is_alive():
            time.sleep(0.01)
        return self.url

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C or SIGTERM."""
        syncing = threading.Thread(target=self._sync_loop, name="dashboard-sync", daemon=True)
        syncing.start()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._stop.set()
            self.dashboard.events.close()
            syncing.join(5)
            self._socket.close()

    def stop(self) -> None:
        self._stop.set()
        self.dashboard.events.close()
        self._server.should_exit = True
        for thread in self._threads:
            thread.join(10)
        with contextlib.suppress(OSError):
            self._socket.close()


def node_dashboard(listen: ListenAddress) -> Callable[[LocalNode], contextlib.AbstractContextManager[object]]:
    """A companion for ``riskline.node.server.serve``: the node's dashboard on ``listen`` while the node runs.

    It opens the node a second time (its own connections; SQLite WAL lets both read and write), prints its
    address and writes it to ``run/dashboard.json``.
    """

    @contextlib.contextmanager
    def running(node: LocalNode) -> Iterator[object]:
        own = LocalNode.open(node.paths.root)
        server = DashboardServer(Dashboard(own.database, node=own), listen)
        url = server.start()
        info = node.paths.run_dir / "dashboard.json"
        info.write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
        print(f"riskline dashboard of {node.config.id} at {url}", flush=True)
        try:
            yield server
        finally:
            server.stop()
            with contextlib.suppress(FileNotFoundError):
                info.unlink()
            own.close()

    return running
