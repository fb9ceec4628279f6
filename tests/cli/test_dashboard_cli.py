"""``riskline dashboard``, ``riskline operator`` and the dashboard that ``riskline node serve`` runs beside the node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.node.config import ListenAddress
from riskline.node.local import init_node
from riskline.testing.nodes import wait_until


def make_node(root: Path) -> Path:
    init_node(root, party="EE", name="Estonian ops", listen=ListenAddress("127.0.0.1", 0), tls_enabled=False)
    return root


def test_operators_are_added_with_a_role_and_listed_without_their_password(tmp_path: Path) -> None:
    node = make_node(tmp_path / "ee")
    runner = CliRunner()
    added = runner.invoke(
        app, ["operator", "add", "tamm", "--role", "duty-officer", "--node", str(node), "--password-stdin"],
        input="correct horse battery\n",
    )
    assert added.exit_code == 0, added.output
    assert added.stdout == "created operator tamm (duty_officer)\n"
    listed = runner.invoke(app, ["operator", "list", "--node", str(node)])
    assert listed.stdout == "tamm                     duty_officer\n"
    assert "correct horse" not in (node / "node.db").read_bytes().decode("latin-1")


def test_a_bad_role_or_short_password_is_one_line(tmp_path: Path) -> None:
    node = make_node(tmp_path / "ee")
    runner = CliRunner()
    role = runner.invoke(app, ["operator", "add", "tamm", "--role", "admiral", "--node", str(node)], input="x\n")
    assert (role.exit_code, role.stderr) == (
        2, "riskline: error: role 'admiral' is not one of: viewer, duty_officer, commander\n"
    )
    short = runner.invoke(
        app, ["operator", "add", "tamm", "--role", "viewer", "--node", str(node), "--password-stdin"], input="short\n"
    )
    assert (short.exit_code, short.stderr) == (2, "riskline: error: password: at least 10 characters\n")


def test_the_dashboard_refuses_an_address_beyond_loopback_unless_told(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboard", "--db", str(tmp_path / "w.db"), "--listen", "0.0.0.0:0"])
    assert result.exit_code == 2
    assert result.stderr == (
        "riskline: error: --listen 0.0.0.0:0: the dashboard listens on loopback only unless --allow-remote is "
        "given\n"
    )


def test_a_missing_database_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dashboard", "--db", str(tmp_path / "missing.db"), "--listen", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("riskline: error: ")
    assert result.stderr.count("\n") == 1


def test_node_serve_runs_the_dashboard_beside_the_node_on_loopback(tmp_path: Path) -> None:
    node = make_node(tmp_path / "ee")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from riskline.cli.main import main; main()", "node", "serve", "--node", str(node),
         "--port", "0", "--dashboard", "127.0.0.1:0"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    info = node / "run" / "dashboard.json"
    try:
        wait_until(lambda: info.exists() or process.poll() is not None, timeout=120, what="the dashboard")
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        url = json.loads(info.read_text())["url"]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/") as page:
            assert b"riskline" in page.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/api/state")
        assert refused.value.code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the SIGTERM it handled gracefully
    assert f"at {url}" in out
    assert out.splitlines()[-1].startswith("riskline dashboard of ")


def test_a_recording_replayed_into_the_read_only_dashboard_shows_its_encounter(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
    from web_support import air_scenario

    table = air_scenario().write_table(tmp_path / "positions.csv")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from riskline.cli.main import main; main()", "dashboard", "--db",
         str(tmp_path / "w.db"), "--listen", "127.0.0.1:0", "--replay", str(table), "--speed", "1000"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"riskline dashboard of {tmp_path / 'w.db'} at http://127.0.0.1:"), first
        url = first.split(" at ", 1)[1].split()[0]
        state: dict[str, object] = {}

        def stored() -> bool:
            with urllib.request.urlopen(url + "/api/state") as answer:
                state.update(json.loads(answer.read()))
            return bool(state["incidents"])

        wait_until(stored, timeout=120, interval=0.2, what="the replayed encounter")
        (incident,) = state["incidents"]  # type: ignore[misc]
        assert incident["rule"] == "air_proximity"
        assert state["read_only"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
