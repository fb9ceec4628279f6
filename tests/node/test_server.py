"""The node server process: a graceful stop leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from riskline.node.layout import NodePaths
from riskline.testing.nodes import TwoNodeHarness, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_server_exits_zero_and_removes_its_server_json(tmp_path: Path, signum: signal.Signals) -> None:
    with TwoNodeHarness(tmp_path) as harness:
        process = harness["EE"]
        info = NodePaths(process.root).server_info
        assert process.process is not None
        assert json.loads(info.read_text(encoding="utf-8"))["pid"] == process.process.pid
        os.kill(process.process.pid, signum)
        assert process.process.wait(timeout=30) == 0
        assert not info.exists()
        process.process = None
        process.start()
        wait_until(info.exists, timeout=30, what="the restarted server to write run/server.json")
