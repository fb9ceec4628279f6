"""``riskline log verify`` with worker processes finds exactly what one process finds."""

from __future__ import annotations

import pytest

from riskline.channel.merkle import leaf_hash
from riskline.channel.messages import MessageType
from riskline.node import audit
from riskline.node.audit import verify_node
from riskline.node.messaging import Outgoing, send_many
from riskline.testing.nodes import InProcess
from riskline.testing.tamper import hostile


@pytest.fixture
def small_parallel_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for logs of any size, in tasks of 7 entries (so that a short log still spreads over several)."""
    monkeypatch.setattr(audit, "PARALLEL_FROM", 1)
    monkeypatch.setattr(audit, "PARALLEL_CHUNK", 7)


def exchange(pair: InProcess, rounds: int) -> None:
    for number in range(rounds):
        for party in ("RU", "EE"):
            outgoing = [
                Outgoing(type=MessageType.FREE_TEXT, channel="RU-EE", body={"text": f"{party} {number} {n}"})
                for n in range(5)
            ]
            send_many(pair[party], outgoing)
        pair.deliver("RU")
        pair.deliver("EE")


@pytest.mark.usefixtures("small_parallel_runs")
def test_two_workers_pass_a_sound_log_and_name_the_first_bad_entry_as_one_process_does(pair: InProcess) -> None:
    exchange(pair, 3)
    node = pair["RU"]
    sound = verify_node(node, workers=2)
    assert sound == verify_node(node, workers=1)
    assert (sound.ok, sound.entries, sound.receipts) == (True, 30, 30)
    with hostile(node.paths.database) as connection:
        data = connection.execute("SELECT data FROM log_entries WHERE idx = 17").fetchone()[0]
        edited = bytes(data).replace(b'"text":"', b'"text":"edited ')
        connection.execute("UPDATE log_entries SET data = ?, leaf_hash = ? WHERE idx = 17", (edited, leaf_hash(edited)))
    broken = verify_node(node, workers=2)
    assert broken == verify_node(node, workers=1)
    assert broken.first_failing_entry == 17
    assert "signature does not verify" in str(broken.problems[0])
