"""Meetings, action items and the annual review between real node processes (three on loopback), through the CLI.

The servers run as separate processes (``TwoNodeHarness``); the operators' commands run in-process on the
node directories, as an operator's shell would while the server runs. Tests wait for deliveries (events in the
nodes' databases), never for a fixed time.
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.storage import channel_store as store
from riskline.testing.nodes import NodeProcess, TwoNodeHarness, wait_until
from riskline.timeutil import to_iso

pytestmark = pytest.mark.slow
runner = CliRunner()
PARTIES = ("RU", "EE", "US")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodeHarness]:
    with TwoNodeHarness(tmp_path_factory.mktemp("dialogue"), council=True) as running:
        yield running


def cli(process: NodeProcess, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--node", str(process.root)])
    assert result.exit_code == code, result.output
    return result.output


def refused(process: NodeProcess, *args: str) -> str:
    """The one line a refused command prints, after checking that the node logged nothing of its own."""
    before = sent_count(process)
    result = runner.invoke(app, [*args, "--node", str(process.root)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert sent_count(process) == before
    return lines[0]


def sent_count(process: NodeProcess) -> int:
    """Entries this node appended as their sender (deliveries from peers may arrive meanwhile)."""
    with process.open() as node, node.database.read() as connection:
        return sum(1 for entry in store.iter_log(connection) if entry.direction == "out")


def sent_id(output: str) -> str:
    """The envelope id the command printed first (``…TYPE ID seq N on CHANNEL…``)."""
    found = re.search(r"\b[0-9a-f]{32}\b", output)
    assert found is not None, output
    return found.group(0)


def meeting(process: NodeProcess, meeting_id: str) -> dict[str, Any] | None:
    for line in cli(process, "meeting", "list", "--json").splitlines():
        found = json.loads(line)
        if found["id"] == meeting_id:
            return dict(found)
    return None


def wait_status(harness: TwoNodeHarness, meeting_id: str, status: str, parties: tuple[str, ...] = PARTIES) -> None:
    for party in parties:

        def reached(party: str = party) -> bool:
            found = meeting(harness[party], meeting_id)
            return found is not None and found["status"] == status

        wait_until(reached, timeout=60, interval=0.1, what=f"meeting {meeting_id} {status} at {party}")


def all_delivered(process: NodeProcess) -> bool:
    with process.open() as node, node.database.read() as connection:
        return all(row.state == "delivered" for row in store.outbox_rows(connection))


def in_days(days: float, zone: str = "Z") -> str:
    return to_iso(time.time() + days * 86_400.0)[:16] + ("" if zone == "" else zone)


def test_the_whole_life_of_a_council_meeting(harness: TwoNodeHarness, tmp_path: Path) -> None:
    ru, ee, us = harness["RU"], harness["EE"], harness["US"]
    out = cli(
        ru, "meeting", "propose", "--channel", "NRC", "--forum", "nrc-ambassadors", "--level", "ambassador",
        "--start", in_days(2, ""), "--timezone", "Europe/Brussels", "--place", "NATO HQ, Brussels",
        "--participant", "RU=A. Grushko:ambassador", "--participant", "EE=L. Vaher:ambassador",
        "--participant", "US=J. Smith:ambassador", "--agenda", "Air safety over the Baltic",
    )  # fmt: skip
    meeting_id = sent_id(out)
    wait_status(harness, meeting_id, "proposed")
    cli(ee, "meeting", "accept", meeting_id[:8])
    wait_status(harness, meeting_id, "proposed", ("RU",))
    cli(us, "meeting", "accept", meeting_id[:8], "--note", "The US ambassador attends.")
    wait_status(harness, meeting_id, "confirmed")
    cli(ee, "meeting", "minutes", meeting_id, "--text", "The parties reviewed the Baltic incidents of the year.",
        "--decision", "Transponders on in the Baltic.", "--decision", "Next meeting in six months.")  # fmt: skip
    wait_status(harness, meeting_id, "held")
    minutes = meeting(ru, meeting_id)["minutes"]  # type: ignore[index]
    digest = minutes["sha256"]
    wrong = refused(us, "meeting", "approve", meeting_id, "--sha256", "0" * 64)
    assert wrong == (
        f"riskline: error: body.sha256: {'0' * 64} differs from the hash of minutes {minutes['id']}: {digest}"
    )
    for process in (ru, ee, us):
        cli(process, "meeting", "approve", meeting_id, "--sha256", digest)
    wait_status(harness, meeting_id, "minutes_approved")
    action = sent_id(cli(ee, "action", "add", "Exchange duty officers' numbers", "--owner", "RU",
                         "--due", in_days(30), "--meeting", meeting_id))  # fmt: skip

    def action_seen() -> bool:
        return action in cli(ru, "action", "list", "--json")

    wait_until(action_seen, timeout=60, interval=0.1, what="the action item at RU")
    cli(ru, "action", "done", action[:8], "--note", "Numbers exchanged by diplomatic note.")
    for process in (ru, ee, us):
        wait_until(lambda p=process: all_delivered(p), timeout=60, interval=0.1, what="every delivery")  # type: ignore[misc]

    def closed(process: NodeProcess) -> bool:
        return json.loads(cli(process, "action", "list", "--json").splitlines()[0])["done"] is True

    for process in (ru, ee, us):
        wait_until(lambda p=process: closed(p), timeout=60, interval=0.1, what="the action done")  # type: ignore[misc]
    shown = [json.loads(cli(process, "meeting", "show", meeting_id, "--json")) for process in (ru, ee, us)]
    assert shown[0] == shown[1] == shown[2]
    assert shown[0]["answers"] == {"EE": "ACCEPTED", "RU": "ACCEPTED", "US": "ACCEPTED"}
    assert shown[0]["approvals"] == ["EE", "RU", "US"]
    assert shown[0]["basis"] == ["NATO–Russia Founding Act 1997"]
    assert shown[0]["timezone"] == "Europe/Brussels"
    assert len(shown[0]["entries"]) == 7

    ics = tmp_path / "council.ics"
    cli(us, "meeting", "ics", meeting_id, "-o", str(ics))
    parsed = icalendar.Calendar.from_ical(ics.read_bytes())
    [event] = parsed.walk("VEVENT")
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]) == f"{meeting_id}@riskline"
    attendees = sorted((str(a), a.params["PARTSTAT"]) for a in event["ATTENDEE"])
    assert attendees == [(f"urn:riskline:party:{p}", "ACCEPTED") for p in ("EE", "RU", "US")]
    assert event.decoded("DTSTART").tzinfo.key == "Europe/Brussels"
    [todo] = parsed.walk("VTODO")
    assert (str(todo["STATUS"]), str(todo["RELATED-TO"])) == ("COMPLETED", f"{meeting_id}@riskline")
    calendar = tmp_path / "all.ics"
    assert "1 meetings, 1 action items" in cli(ee, "calendar", "-o", str(calendar), "--channel", "NRC")


def test_a_counter_proposal_needs_everyone_to_accept_the_new_terms(harness: TwoNodeHarness) -> None:
    ru, ee = harness["RU"], harness["EE"]
    meeting_id = sent_id(cli(
        ru, "meeting", "propose", "--channel", "RU-EE", "--level", "military_commander", "--start", in_days(3),
        "--place", "Narva", "--agenda", "Passes near Vaindloo",
    ))  # fmt: skip
    wait_status(harness, meeting_id, "proposed", ("EE",))
    cli(ee, "meeting", "counter", meeting_id, "--place", "Tallinn", "--reason", "Our commander is in Tallinn.")

    def countered() -> bool:
        found = meeting(ru, meeting_id)
        return found is not None and found["place"] == "Tallinn"

    wait_until(countered, timeout=60, interval=0.1, what="the counter-proposal at RU")
    assert meeting(ru, meeting_id)["answers"] == {"EE": "ACCEPTED", "RU": "NEEDS-ACTION"}  # type: ignore[index]
    cli(ru, "meeting", "accept", meeting_id)
    wait_status(harness, meeting_id, "confirmed", ("RU", "EE"))
    cli(ru, "meeting", "cancel", meeting_id, "--reason", "Postponed.")
    wait_status(harness, meeting_id, "cancelled", ("RU", "EE"))


def incident_body(row: dict[str, str], index: int) -> dict[str, Any]:
    """An incident report of one real incident of incidents.csv (REGIMES.md sources)."""
    horizontal = float(row["closest_horizontal_m"])
    vertical = float(row["closest_vertical_m"]) if row["closest_vertical_m"] else None
    start = row["date"] + "T12:00:00Z"
    return {
        "incident": {
            "rule": "low_pass" if row["domain"] == "air-sea" else "air_intercept",
            "severity": "high" if row["judged"] == "unsafe" else "medium",
            "a": row["platform_a"], "b": row["platform_b"],
            "party_a": row["party_a"], "party_b": row["party_b"], "occurred": True,
            "start": start, "end": row["date"] + "T12:01:00Z", "t_cpa": row["date"] + "T12:00:30Z",
            "min_distance_m": round(math.hypot(horizontal, vertical or 0.0), 2), "min_horizontal_m": horizontal,
            "min_vertical_m": vertical, "first_alert": None,
            "lat": float(row["lat_approx"]), "lon": float(row["lon_approx"]),
        },
        "narrative": f"{row['area']}: {row['platform_a']} and {row['platform_b']} ({row['source']}).",
    }  # fmt: skip


def test_both_ends_of_a_channel_compute_the_same_review_byte_for_byte(
    harness: TwoNodeHarness, domain_dir: Path, tmp_path: Path
) -> None:
    ru, ee = harness["RU"], harness["EE"]
    with (domain_dir / "incidents.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["closest_horizontal_m"]][:4]
    reports = []
    for index, row in enumerate(rows):
        body = tmp_path / f"incident-{index}.json"
        body.write_text(json.dumps(incident_body(row, index)), encoding="utf-8")
        reports.append(sent_id(cli(ee, "send", "incident_report", "--channel", "RU-EE", "--body-json", str(body))))
    cli(ee, "send", "link_test", "--channel", "RU-EE")
    for report in reports[:2]:
        wait_until(lambda r=report: log_has(ru, r), timeout=60, interval=0.1, what="the report at RU")  # type: ignore[misc]
        cli(ru, "reply", report, "--type", "free_text", "--text", "Routine flight; no danger intended.")
    meeting_id = sent_id(cli(
        ee, "meeting", "propose", "--channel", "RU-EE", "--level", "charge_d_affaires", "--start", in_days(5),
        "--place", "Tallinn", "--agenda", f"The year's passes=incident:{reports[0]},incident:{reports[1]}",
    ))  # fmt: skip
    wait_status(harness, meeting_id, "proposed", ("RU",))
    cli(ru, "meeting", "accept", meeting_id)
    wait_status(harness, meeting_id, "confirmed", ("RU", "EE"))
    for process in (ru, ee):
        wait_until(lambda p=process: all_delivered(p), timeout=60, interval=0.1, what="every delivery")  # type: ignore[misc]
    year = time.gmtime().tm_year
    outputs = []
    for process in (ru, ee):
        path = tmp_path / f"{process.root.name}.json"
        cli(process, "review", "--year", str(year), "--channel", "RU-EE", "-o", str(path))
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    review = json.loads(outputs[0])
    assert review["incidents"]["total"]["count"] >= 4
    assert set(reports) <= set(review["incidents"]["total"]["entries"])
    assert review["responses"]["incident_report"]["answered"] >= 2
    assert review["meetings"]["by_level"]["charge_d_affaires"]["by_state"].get("confirmed", 0) >= 1
    assert review["link_tests"]["answered"] >= 1
    for fmt in ("md", "html"):
        text = cli(ee, "review", "--year", str(year), "--channel", "RU-EE", "--format", fmt)
        assert "Response times against deadlines" in text
    html = tmp_path / "review.html"
    out = cli(ee, "review", "--year", str(year), "--channel", "RU-EE", "-o", str(html), "--send")
    assert "signed and queued on RU-EE" in out
    assert html.read_text(encoding="utf-8").count("data:image/png;base64,") == 2


def log_has(process: NodeProcess, envelope_id: str) -> bool:
    with process.open() as node, node.database.read() as connection:
        return store.message(connection, envelope_id) is not None


def test_bad_input_is_one_line_naming_the_field_and_nothing_is_stored(harness: TwoNodeHarness) -> None:
    ru, us = harness["RU"], harness["US"]
    propose = ("meeting", "propose", "--channel", "NRC", "--level", "ambassador", "--place", "Brussels")
    past = refused(ru, *propose, "--start", "2020-01-01T10:00Z", "--agenda", "Passes")
    assert past.startswith(
        "riskline: error: body.start: the meeting would start at 2020-01-01T10:00:00+00:00, in the past"
    )
    backwards = refused(ru, *propose, "--start", in_days(2), "--end", in_days(1), "--agenda", "Passes")
    assert backwards.startswith("riskline: error: body.end: the meeting would end at ")
    unknown = "ab" * 16
    citing = refused(ru, *propose, "--start", in_days(2), "--agenda", f"Passes=incident:{unknown}")
    assert citing == f"riskline: error: body.agenda.0.references.0.id: no incident report {unknown} on channel NRC"
    pair = sent_id(cli(ru, *propose, "--start", in_days(2), "--agenda", "RU–EE only",
                       "--participant", "RU", "--participant", "EE"))  # fmt: skip
    wait_status(harness, pair, "proposed", ("US",))
    intruder = refused(us, "meeting", "accept", pair)
    assert intruder == f"riskline: error: sender.party: US was not invited to meeting {pair} (invited: EE, RU)"
    year = refused(ru, "review", "--year", "1999", "--channel", "NRC")
    assert year == "riskline: error: --year: no cosigned log entries in 1999 on NRC"
