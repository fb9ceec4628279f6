"""From the watch to the other party's screen, with real processes: two nodes over mutual TLS, the real CLI.

EE's operator watches the Baltic scenario (real incidents among real traffic) into EE's node database
(``riskline watch --node``), reports the Il-20's transponder-off pass by the SAS airliner on RU-EE
(``riskline incident report``); RU's server receives it, fetches the plot from EE by hash over mutual TLS,
and RU's operator draws the incident from the evidence RU received (``riskline incident plot --message``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskline.channel.envelope import SignedEnvelope
from riskline.node.attachments import attachment_states, read_attachment
from riskline.node.reporting import encounter_from_report
from riskline.storage import channel_store as store
from riskline.storage.engine import open_database
from riskline.storage.watch_store import WatchStore, evidence_to_json
from riskline.testing.nodes import TwoNodeHarness, wait_until

pytestmark = pytest.mark.slow


def riskline(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-c", "from riskline.cli.main import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodeHarness]:
    with TwoNodeHarness(tmp_path_factory.mktemp("report-e2e"), tls=True) as running:
        yield running


def test_an_incident_watched_into_a_node_is_reported_and_drawn_by_the_receiver_from_what_it_received(
    harness: TwoNodeHarness, tmp_path: Path
) -> None:
    ee, ru = harness["EE"].root, harness["RU"].root
    scenario = riskline("scenario", "baltic", "-o", str(tmp_path / "baltic"))
    assert scenario.returncode == 0, scenario.stderr
    watched = riskline("watch", str(tmp_path / "baltic" / "demo_positions.csv"), "--fleet",
                       str(tmp_path / "baltic" / "demo_fleet.toml"), "--node", str(ee))
    assert watched.returncode == 0, watched.stderr
    listing = riskline("incident", "list", "--node", str(ee), "--json")
    listed = [json.loads(line) for line in listing.stdout.splitlines()]
    [incident] = [i for i in listed if i["rule"] == "non_cooperative_aircraft" and i["occurred"]]

    reported = riskline("incident", "report", str(incident["id"]), "--channel", "RU-EE", "--node", str(ee),
                        "--narrative", "Il-20 with its transponder off passed 90 m from SAS SK681.", "--json")
    assert reported.returncode == 0, reported.stderr
    report = json.loads(reported.stdout)
    assert report["evidence"]["fixes_a"] == report["evidence"]["fixes_b"] >= 300
    message_id, plot = report["message"], report["plot"]

    def fetched() -> bool:
        with harness["RU"].open() as node:
            states = attachment_states(node, message_id)
        return [s.state for s in states] == ["fetched"]

    wait_until(fetched, timeout=120, interval=0.2, what="RU's server to receive the report and fetch its plot")
    with harness["RU"].open() as ru_node, harness["EE"].open() as ee_node:
        assert read_attachment(ru_node, plot["sha256"]) == read_attachment(ee_node, plot["sha256"])
        with ru_node.database.read() as connection:
            entry = store.log_entry_by_envelope(connection, message_id)
            assert entry is not None
            assert entry.direction == "in"
    database = open_database(ee / "node.db", create=False)
    try:
        stored = WatchStore(database).get_incident(int(incident["id"]))
    finally:
        database.close()
    received = SignedEnvelope.from_leaf(entry.data).envelope.body
    assert stored.encounter.evidence is not None
    assert received["evidence"] == evidence_to_json(stored.encounter.evidence)
    assert encounter_from_report(received).evidence == stored.encounter.evidence

    png = tmp_path / "received.png"
    drawn = riskline("incident", "plot", "--message", message_id[:10], "--node", str(ru), "-o", str(png))
    assert drawn.returncode == 0, drawn.stderr
    assert drawn.stderr == ""
    assert drawn.stdout.splitlines() == [
        f"attachment {plot['name']}: fetched from ee-mod, SHA-256 checked — {ru / 'attachments' / plot['sha256']}",
        f"wrote {png}",
    ]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
