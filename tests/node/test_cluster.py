"""``LocalCluster``: nodes pinned before they start serve mutual TLS from their first request; waits are events."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskline.channel.messages import MessageType
from riskline.node.cluster import ClusterError, DirectoryWatch, LocalCluster, NodeSpec
from riskline.node.messaging import Outgoing, send
from riskline.node.views import inbox

pytestmark = pytest.mark.slow

BILATERAL = {
    "id": "RU-EE", "kind": "bilateral", "members": ["RU", "EE"], "agreements": [],
    "levels": ["duty_officer", "military_commander", "charge_d_affaires"],
}  # fmt: skip


def test_a_link_test_is_answered_over_mutual_tls_as_soon_as_the_cluster_is_up(tmp_path: Path) -> None:
    specs = [
        NodeSpec("RU", "ru-nmdc", "Russian National Defence Management Centre", (BILATERAL,)),
        NodeSpec("EE", "ee-mod", "Estonian Defence Forces ops", (BILATERAL,)),
    ]
    with LocalCluster(tmp_path, specs, tls=True) as cluster:
        assert [line.split()[-1] for line in cluster["RU"].log_path.read_text().splitlines()[:1]] == [cluster["RU"].url]
        with cluster["EE"].open() as ee:
            test = send(ee, Outgoing(MessageType.LINK_TEST, "RU-EE", {"nonce": "cluster"})).envelope.id

        def answered() -> bool:
            with cluster["EE"].open() as ee:
                return any(m.in_reply_to == test for m in inbox(ee, limit=None).messages)

        cluster.wait_for("EE", answered, timeout=60, what="the link test reply")
        with pytest.raises(ClusterError, match=r"^timed out after 0\.2 s waiting for nothing at RU$"):
            cluster.wait_for("RU", lambda: False, timeout=0.2, what="nothing")
    assert all(member.process is None for member in cluster.nodes.values())


def test_a_directory_watch_wakes_on_a_write(tmp_path: Path) -> None:
    watch = DirectoryWatch(tmp_path)
    try:
        assert watch.uses_events
        (tmp_path / "node.db-wal").write_bytes(b"x")
        watch.wait(timeout=30.0)  # returns on the event (a missed one would still return, after 30 s)
    finally:
        watch.close()
