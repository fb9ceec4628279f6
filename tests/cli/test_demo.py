"""The main job, end to end: ``riskline demo`` starts real nodes, replays the scenario, reports, escalates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.node.attachments import attachment_states
from riskline.node.audit import verify_node
from riskline.node.dialogue import actions, meetings
from riskline.node.local import LocalNode
from riskline.node.views import inbox, outbox
from riskline.storage.engine import open_database
from riskline.storage.watch_store import WatchStore


@pytest.mark.slow
def test_the_demo_plays_the_whole_story_and_leaves_verifiable_nodes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "demo"), "--no-tls"])
    assert result.exit_code == 0, result.output
    assert "link test answered automatically" in result.stdout
    assert "meeting proposal received on the Council channel" in result.stdout
    assert "undeclared_activity RU, 5 platforms" in result.stdout
    assert "predicted to enter NAVAREA I 58/" in result.stdout
    assert "clarifies within the deadline" in result.stdout
    assert "minutes approved by RU, EE and US" in result.stdout
    assert "RU-EE review JSON byte for byte the same on RU, EE" in result.stdout
    assert "NRC review JSON byte for byte the same on RU, EE, US" in result.stdout
    root = tmp_path / "demo"
    for node_id in ("ru-nmdc", "ee-mod", "us-eucom"):
        with LocalNode.open(root / node_id) as node:
            assert verify_node(node).ok
    with LocalNode.open(root / "ru-nmdc") as ru:
        received = {m.type for m in inbox(ru, limit=None).messages}
    assert {"incident_report", "request_for_clarification", "escalation_notice", "meeting_proposal",
            "link_test"} <= received
    with LocalNode.open(root / "ee-mod") as ee:
        sent = outbox(ee, limit=None).messages
    notices = [m for m in sent if m.type == "escalation_notice"]
    assert [m.level for m in notices] == ["military_commander", "charge_d_affaires"]
    for node_id in ("ru-nmdc", "ee-mod", "us-eucom"):
        with LocalNode.open(root / node_id) as node:
            [council] = [m for m in meetings(node, "NRC") if m.forum == "escalation"]
            [item] = actions(node, "NRC")
        assert (str(council.status), council.approvals) == ("minutes_approved", ("EE", "RU", "US"))
        assert (item.owner, item.is_done, item.meeting) == ("RU", True, council.id)
    database = open_database(root / "ee-mod" / "node.db")
    try:
        rules = {item.encounter.rule for item in WatchStore(database).list_incidents(limit=1000)}
    finally:
        database.close()
    assert {"air_intercept", "non_cooperative_aircraft", "repeated_low_passes", "ship_contact_range"} <= rules
    assert "non_cooperative_aircraft (" in result.stdout
    [(fixes_a, fixes_b)] = re.findall(r"non_cooperative_aircraft \(\w+\), (\d+) \+ (\d+) fixes of evidence",
                                     result.stdout)
    assert int(fixes_a) == int(fixes_b) >= 300  # the Il-20 and SK681 kept their tracks (issue 6: it was 0)
    with LocalNode.open(root / "ru-nmdc") as ru:
        reports = [m.id for m in inbox(ru, limit=None).messages if m.type == "incident_report"]
        assert len(reports) == 4
        assert [[s.state for s in attachment_states(ru, report)] for report in reports] == [["fetched"]] * 4


def test_the_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
