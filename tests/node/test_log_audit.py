"""``riskline log audit``: a node that truncates or rewrites its log is caught by its peers' witnessing, and a
fork is proved to a third node with a portable evidence file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from riskline.channel.messages import MessageType
from riskline.channel.witness import Finding
from riskline.cli.main import app as cli
from riskline.node.app import create_app
from riskline.node.audit import verify_node
from riskline.node.audit_peers import PeerAudit, audit_peers, fork_evidence
from riskline.node.local import LocalNode
from riskline.node.messaging import Outgoing, send
from riskline.testing.nodes import InProcess, in_process_url
from riskline.testing.tamper import hostile


def _audit(nodes: InProcess, party: str, *peers: str) -> list[PeerAudit]:
    apps = {in_process_url(node): create_app(node) for node in nodes.nodes.values()}

    def transport(url: str) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=apps[url.rstrip("/")])

    return audit_peers(nodes[party], peers=list(peers) or None, transport_factory=transport)


def _say(node: LocalNode, text: str, channel: str = "RU-EE") -> str:
    return send(node, Outgoing(type=MessageType.FREE_TEXT, channel=channel, body={"text": text})).envelope.id


def _findings(audits: list[PeerAudit]) -> list[tuple[str, Finding]]:
    return [(audit.peer, observation.finding) for audit in audits for observation in audit.observations]


def _exchange(pair: InProcess, rounds: int = 3) -> None:
    for number in range(rounds):
        _say(pair["RU"], f"RU {number}")
        _say(pair["EE"], f"EE {number}")
        pair.deliver("RU")
        pair.deliver("EE")


def _truncate(node: LocalNode, keep: int, *, heads: bool) -> None:
    """What a hostile operator does to hide the last entries: delete them and every row naming them."""
    with hostile(node.paths.database) as connection:
        gone = "SELECT envelope_id FROM log_entries WHERE idx >= ?"
        for table in ("messages", "outbox", "receipts"):
            connection.execute(f"DELETE FROM {table} WHERE envelope_id IN ({gone})", (keep,))
        connection.execute("DELETE FROM log_entries WHERE idx >= ?", (keep,))
        if heads:
            connection.execute("DELETE FROM checkpoints WHERE size > ?", (keep,))


def test_witnesses_of_an_honest_exchange_agree_both_ways(pair: InProcess) -> None:
    _exchange(pair)
    assert _findings(_audit(pair, "RU")) == [("ee-mod", Finding.SOUND)]
    assert _findings(_audit(pair, "EE")) == [("ru-nmdc", Finding.SOUND)]


def test_a_log_truncated_with_its_heads_is_caught_by_the_peer_and_by_its_own_audit(pair: InProcess) -> None:
    _exchange(pair)
    ee = pair["EE"]
    size = ee.tree.size
    _truncate(ee, size - 2, heads=True)
    from_ru = _audit(pair, "RU")
    assert _findings(from_ru) == [("ee-mod", Finding.ROLLBACK)]
    assert f"ee-mod now shows {size - 2} entries of its log but signed {size} for us before" in (
        from_ru[0].observations[0].message
    )
    from_ee = _audit(pair, "EE")
    assert set(_findings(from_ee)) == {("ru-nmdc", Finding.TRUNCATED)}
    messages = [observation.message for observation in from_ee[0].observations]
    assert f"ru-nmdc cosigned our log at {size} entries but it holds {size - 2}: entries" in messages[0]
    assert f"ru-nmdc holds our signed head of {size} entries but our log holds {size - 2}" in messages


def test_a_log_truncated_without_touching_its_heads_is_caught_too(pair: InProcess) -> None:
    _exchange(pair)
    ee = pair["EE"]
    size = ee.tree.size
    _truncate(ee, size - 1, heads=False)
    assert _findings(_audit(pair, "RU")) == [("ee-mod", Finding.ROLLBACK)]
    assert set(_findings(_audit(pair, "EE"))) == {("ru-nmdc", Finding.TRUNCATED)}


def test_a_peer_that_will_not_answer_is_reported(pair: InProcess) -> None:
    _exchange(pair, 1)

    def refusing(url: str) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(lambda request: httpx.Response(503, json={"error": {"message": "down"}}))

    audits = audit_peers(pair["RU"], transport_factory=refusing)
    assert _findings(audits) == [("ee-mod", Finding.SILENT)]
    assert audits[0].observations[0].message.startswith("ee-mod did not answer: answered 503")


def test_a_fork_is_proved_to_a_third_node_with_the_evidence_file(trio: InProcess, tmp_path: Path) -> None:
    ru, ee, us = trio["RU"], trio["EE"], trio["US"]
    _say(ru, "the true history", "RU-EE")
    trio.deliver("RU")
    size = ru.tree.size
    # RU rewrites its last entry and tells the council another story under a head of the same size.
    _truncate(ru, size - 1, heads=True)
    _say(ru, "another past", "NRC")
    assert ru.tree.size == size
    trio.deliver("RU")  # EE refuses it (equivocation); US, which never saw the first head, accepts it
    audits = _audit(trio, "EE", "ru-nmdc")
    assert _findings(audits) == [("ru-nmdc", Finding.FORK)]
    proof = fork_evidence(ee, "ru-nmdc")
    assert proof is not None
    assert (proof.origin, proof.size) == ("ru-nmdc", size)
    evidence = tmp_path / "fork-ru-nmdc.json"
    runner = CliRunner()
    written = runner.invoke(
        cli, ["log", "fork-evidence", "--log", "ru-nmdc", "-o", str(evidence), "--node", str(ee.paths.root)]
    )
    assert written.exit_code == 0, written.output
    # The third node checks it offline with the key it pinned for RU.
    with us.database.read() as connection:
        pinned = connection.exec_driver_sql("SELECT key FROM peers WHERE node = 'ru-nmdc'").scalar_one()
    checked = runner.invoke(cli, ["log", "verify-evidence", str(evidence), "--key", pinned])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(
        f"ok: ru-nmdc (key {ru.key.fingerprint}) signed two different roots for size {size}"
    )
    # Gossip: US, asking EE what it witnessed, sees the head RU gave EE beside the one RU gave US.
    assert ("ee-mod", Finding.FORK) in _findings(_audit(trio, "US", "ee-mod"))
    # The heads kept as evidence are the forking log's own: EE's log verify names the fork, nothing else.
    problems = [str(problem) for problem in verify_node(ee, full=True).problems]
    assert problems
    assert all(f"ru-nmdc signed two roots for size {size}" in problem for problem in problems), problems
    document = json.loads(evidence.read_text())
    document["equivocation"]["second"]["checkpoint"]["root"] = document["equivocation"]["first"]["checkpoint"]["root"]
    evidence.write_text(json.dumps(document))
    refused = runner.invoke(cli, ["log", "verify-evidence", str(evidence)])
    assert refused.exit_code != 0
    assert refused.output.startswith("riskline: error:")
