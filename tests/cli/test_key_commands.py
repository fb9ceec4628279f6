"""``riskline key``: rotate, revoke and list on real node directories; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from riskline.cli.main import app
from riskline.node.local import LocalNode
from riskline.storage import channel_store as store
from riskline.testing.nodes import make_nodes

runner = CliRunner()


def riskline(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def ru_dir(tmp_path: Path) -> Path:
    nodes = make_nodes(tmp_path, clock=lambda: 1_796_000_000.0)
    root = nodes.nodes["RU"].paths.root
    for node in nodes.nodes.values():
        node.close()
    return root


def test_rotate_then_revoke_the_first_key_and_list_the_history(ru_dir: Path) -> None:
    with LocalNode.open(ru_dir) as node:
        first = node.key
    rotated = riskline("key", "rotate", "--node", str(ru_dir))
    assert rotated.exit_code == 0, rotated.output
    assert rotated.output.startswith(f"rotated ru-nmdc: {first.fingerprint} → SHA256:")
    assert "announced on 1 channel(s): RU-EE" in rotated.output
    with LocalNode.open(ru_dir) as node:
        second = node.key
    assert second != first
    assert (ru_dir / "keys" / "current").read_text() == "identity-2.pem\n"
    revoked = riskline(
        "key",
        "revoke",
        "--key",
        first.fingerprint,
        "--at",
        "2026-12-01T22:00:00Z",
        "--reason",
        "copied",
        "--node",
        str(ru_dir),
    )
    assert revoked.exit_code == 0, revoked.output
    listing = riskline("key", "list", "--node", str(ru_dir), "--json")
    rows = [json.loads(line) for line in listing.output.splitlines()]
    assert [(r["fingerprint"], r["revoked_since"], r["current"]) for r in rows] == [
        (first.fingerprint, "2026-12-01T22:00:00Z", False),
        (second.fingerprint, None, True),
    ]
    assert rows[0]["until"] == rows[1]["from"]
    with LocalNode.open(ru_dir) as node, node.database.read() as connection:
        summaries = [m.summary for m in store.list_messages(connection, types=("key_rotation", "key_revocation"))]
    assert summaries[0].startswith("ru-nmdc rotates its key to ed25519:")
    assert summaries[1].startswith("ru-nmdc revokes ed25519:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--key", "CURRENT", "--at", "2026-12-01T22:00:00Z", "--reason", "r"), "is the node's current key: rotate"),
        (("--key", "SHA256:nope", "--at", "2026-12-01T22:00:00Z", "--reason", "r"), "--key: 'SHA256:nope' is not a"),
        (("--key", "CURRENT", "--at", "yesterday", "--reason", "r"), "--at: not a time: 'yesterday'"),
        (("--key", "CURRENT", "--at", "2026-12-01T22:00:00Z", "--reason", " "), "--reason: say why"),
    ],
)
def test_bad_revocations_are_one_line_errors_and_change_nothing(
    ru_dir: Path, args: tuple[str, ...], message: str
) -> None:
    with LocalNode.open(ru_dir) as node:
        current = node.key.fingerprint
    result = riskline("key", "revoke", *(current if a == "CURRENT" else a for a in args), "--node", str(ru_dir))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("riskline: error: ")
    assert message in result.output
    listing = riskline("key", "list", "--node", str(ru_dir), "--json")
    assert [json.loads(line)["revoked_since"] for line in listing.output.splitlines()] == [None]


def test_the_key_group_help_ends_with_an_example() -> None:
    result = riskline("key", "--help")
    assert result.exit_code == 0
    assert "Example: riskline key list --node ee-node --peer ru" in result.output
