"""A throwaway NATS server with JetStream for tests and benchmarks: ``nats-server -js`` on a free loopback port,
its store in a temporary directory, killed (with its process group) and removed on ``stop()``.

The binary is Debian's ``nats-server`` (``apt-get install nats-server``), found on ``PATH`` or ``/usr/sbin``.
The same store directory survives ``restart()``, as a broker restarted in production keeps its streams.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from riskline.testing.nodes import free_port


def server_binary() -> str | None:
    return shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")


def missing_reason() -> str | None:
    """Why a NATS server cannot be started here (None if it can): a one-line skip reason for tests."""
    if server_binary() is None:
        return "nats-server not installed (apt-get install nats-server)"
    return None


class NatsServer:
    """``nats-server -js`` on 127.0.0.1; ``url`` is where clients connect."""

    def __init__(self) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError(missing_reason())
        self._binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="riskline-nats-"))
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        log = (self.root / "server.log").open("ab")
        self._process = subprocess.Popen(
            [self._binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.root / "store")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30.0
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nats-server did not start; see {self.root / 'server.log'}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server (its store stays, for ``start()`` again)."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> NatsServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
