"""The node's commands through Typer's test runner, on node directories made in the test."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from riskline.cli import channels, log, messages, node, peers
from riskline.testing.nodes import InProcess
from riskline.testing.tamper import hostile

app = typer.Typer(pretty_exceptions_enable=False)
for group in (node, peers, channels, messages, log):
    group.register(app)
runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def commands(group: Any, prefix: str = "riskline") -> Iterator[tuple[str, Any]]:
    """Every leaf command (typer vendors its own click, so groups are recognised by their ``commands``)."""
    children = getattr(group, "commands", None)
    if children:
        for name, command in sorted(children.items()):
            yield from commands(command, f"{prefix} {name}")
    else:
        yield prefix, group


ALL = list(commands(typer.main.get_command(app)))


def test_register_adds_every_node_command() -> None:
    assert [name for name, _ in ALL] == [
        "riskline channel add",
        "riskline channel list",
        "riskline escalate",
        "riskline inbox",
        "riskline log audit",
        "riskline log events",
        "riskline log export",
        "riskline log fork-evidence",
        "riskline log verify",
        "riskline log verify-bundle",
        "riskline log verify-evidence",
        "riskline node init",
        "riskline node serve",
        "riskline node show",
        "riskline outbox",
        "riskline peer add",
        "riskline peer list",
        "riskline peer remove",
        "riskline reply",
        "riskline send",
        "riskline thread",
    ]


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_node_command_has_help_ending_with_an_example(name: str, command: Any) -> None:
    last = (command.help or "").strip().splitlines()[-1].strip()
    assert last.startswith("Example: riskline "), name


def test_node_init_makes_the_keys_certificates_and_database_and_refuses_to_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "ee"
    output = run("node", "init", "--party", "EE", "--name", "Estonian Defence Forces ops", "--dir", str(root))
    assert "ED25519 key fingerprint is SHA256:" in output
    assert "key: ed25519:" in output
    for name in (
        "node.toml",
        "node.db",
        "keys/identity.pem",
        "tls/ca.pem",
        "tls/ca.key",
        "tls/node.pem",
        "tls/node.key",
    ):
        assert (root / name).is_file(), name
    for secret in ("keys/identity.pem", "tls/ca.key", "tls/node.key"):
        assert stat.S_IMODE((root / secret).stat().st_mode) == 0o600
    again = runner.invoke(app, ["node", "init", "--party", "EE", "--name", "x", "--dir", str(root)])
    assert again.exit_code == 2
    assert "already holds a node" in again.output


def test_plain_http_is_refused_off_loopback(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "node",
            "init",
            "--party",
            "EE",
            "--name",
            "x",
            "--dir",
            str(tmp_path / "n"),
            "--listen",
            "0.0.0.0:8700",
            "--plain-http",
        ],
    )
    assert result.exit_code == 2
    assert "plain HTTP is allowed only on loopback" in result.output


def test_a_channel_needs_its_agreements_said_and_lists_none_explicitly(tmp_path: Path) -> None:
    root = str(tmp_path / "ee")
    run("node", "init", "--party", "EE", "--name", "EE ops", "--dir", root)
    silent = runner.invoke(app, ["channel", "add", "RU-EE", "--members", "RU,EE", "--node", root])
    assert silent.exit_code == 2
    run("channel", "add", "RU-EE", "--members", "RU,EE", "--no-agreement", "--languages", "en,ru,et", "--node", root)
    listed = json.loads(run("channel", "list", "--json", "--node", root))
    assert (listed["id"], listed["agreements"], listed["agreements_text"]) == ("RU-EE", [], "no agreement in force")
    assert listed["languages"] == ["en", "ru", "et"]


def test_send_inbox_reply_thread_and_outbox_from_the_command_line(pair: InProcess) -> None:
    ru, ee = str(pair["RU"].paths.root), str(pair["EE"].paths.root)
    output = run(
        "send",
        "request_for_clarification",
        "--channel",
        "RU-EE",
        "--subject",
        "Su-27 pass",
        "--text",
        "What was the purpose?",
        "--node",
        ru,
    )
    assert output.startswith("request_for_clarification ")
    request_id = output.split()[1]
    pair.deliver("RU")
    inbox = json.loads(run("inbox", "--json", "--node", ee))
    assert [(m["id"], m["status"], m["summary"]) for m in inbox["messages"]] == [
        (request_id, "open", "Su-27 pass: What was the purpose?")
    ]
    assert inbox["awaiting"] == 1
    run("reply", request_id[:8], "--type", "clarification", "--text", "Training.", "--node", ee)
    pair.deliver("EE")
    thread = [json.loads(line) for line in run("thread", request_id, "--json", "--node", ru).splitlines()]
    assert [(m["type"], m["direction"]) for m in thread] == [
        ("request_for_clarification", "out"),
        ("clarification", "in"),
    ]
    assert thread[1]["body"] == {"answers": ["Training."], "references": []}
    outbox = json.loads(run("outbox", "--json", "--node", ru))
    assert [(m["status"], [d["state"] for d in m["deliveries"]]) for m in outbox["messages"]] == [
        ("answered", ["delivered"])
    ]
    assert "0 awaiting reply, 0 overdue" in run("inbox", "--node", ee)


def test_log_verify_export_and_verify_bundle(pair: InProcess, tmp_path: Path) -> None:
    ru = str(pair["RU"].paths.root)
    for number in range(3):
        run("send", "free_text", "--channel", "RU-EE", "--text", f"note {number}", "--node", ru)
    pair.deliver("RU")
    assert run("log", "verify", "--node", ru).startswith("ok: 3 entries")
    bundle = tmp_path / "bundle.json"
    run("log", "export", "-o", str(bundle), "--node", ru)
    key = pair["RU"].key.to_text()
    assert run("log", "verify-bundle", str(bundle), "--key", key).startswith("ok: log ru-nmdc: 3 entries")
    wrong = runner.invoke(app, ["log", "verify-bundle", str(bundle), "--key", pair["EE"].key.to_text()])
    assert wrong.exit_code == 2
    data = json.loads(bundle.read_text())
    data["entries"][1] = data["entries"][1].replace("note 1", "note 8")
    bundle.write_text(json.dumps(data))
    broken = runner.invoke(app, ["log", "verify-bundle", str(bundle)])
    assert broken.exit_code == 1
    assert "entries[1]" in broken.output
    with hostile(pair["RU"].paths.database) as connection:
        connection.execute("UPDATE log_entries SET data = replace(data, 'note 2', 'note 9') WHERE idx = 2")
    since = run("log", "verify", "--node", ru)  # goes on from the last sound check: entry 2 was checked then
    assert since.startswith("ok: 3 entries")
    assert "--full re-checks all" in since
    failed = runner.invoke(app, ["log", "verify", "--full", "--node", ru])
    assert failed.exit_code == 1
    assert "FAILED at entry 2" in failed.output


def test_sending_without_a_pinned_peer_for_a_member_says_what_to_do(tmp_path: Path) -> None:
    root = str(tmp_path / "ee")
    run("node", "init", "--party", "EE", "--name", "EE ops", "--dir", root)
    run("channel", "add", "RU-EE", "--members", "RU,EE", "--no-agreement", "--node", root)
    result = runner.invoke(app, ["send", "free_text", "--channel", "RU-EE", "--text", "hi", "--node", root])
    assert result.exit_code == 2
    assert "needs a peer node for party RU" in result.output
