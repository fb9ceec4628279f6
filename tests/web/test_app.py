"""The dashboard's HTTP face, in-process: logins, roles on every action, CSRF, the action log, reports, replies."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_support import PASSWORD, add_operators, air_scenario

from riskline.channel.messages import MessageType
from riskline.detection.rulebook import load_rulebook
from riskline.node.messaging import Outgoing, send
from riskline.node.transparency import send_notification
from riskline.storage import dashboard_store
from riskline.storage.engine import open_database
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess, make_nodes
from riskline.timeutil import to_iso
from riskline.transparency.activity import parse_notification
from riskline.watch import Watch
from riskline.web.app import create_dashboard_app
from riskline.web.backend import Dashboard
from riskline.web.replay import replay

BASE = "http://127.0.0.1:8780"


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[InProcess]:
    clock = FakeClock(1_800_000_000.0)
    made = make_nodes(tmp_path, clock)
    yield made
    made.close()


@pytest.fixture
def dashboard(nodes: InProcess) -> Dashboard:
    """EE's dashboard after the air scenario was replayed into EE's database (as fast as it goes)."""
    node = nodes["EE"]
    board = Dashboard(node.database, node=node, clock=node.clock)
    add_operators(board)
    stored = replay(board, air_scenario().observations, Watch(load_rulebook()), speed=1e12, stop=threading.Event())
    assert stored == 1
    return board


class Browser:
    """A browser's view of the app, in-process: one cookie jar across requests (``httpx.ASGITransport``)."""

    def __init__(self, board: Dashboard) -> None:
        self.app = create_dashboard_app(board)
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **options: object) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url=BASE, cookies=self.cookies) as http:
                response = await http.request(method, path, **options)  # type: ignore[arg-type]
                self.cookies.update(http.cookies)
                return response

        return asyncio.run(run())

    def get(self, path: str, **options: object) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: object) -> httpx.Response:
        return self.request("POST", path, **options)


def client(board: Dashboard) -> Browser:
    return Browser(board)


def logged_in(board: Dashboard, name: str) -> tuple[Browser, str]:
    browser = client(board)
    answer = browser.post("/api/login", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return browser, answer.json()["csrf"]


def only_alarm(board: Dashboard) -> dict[str, object]:
    (alarm,) = board.alarms()
    return alarm


def actions(board: Dashboard, action: str) -> list[dict[str, object]]:
    return [a for a in board.actions() if a["action"] == action]


def test_the_replay_raised_one_alarm_for_the_encounter_and_tied_it_to_the_stored_incident(dashboard: Dashboard) -> None:
    alarm = only_alarm(dashboard)
    (incident,) = dashboard.incidents()
    assert (alarm["rule"], alarm["state"], alarm["incident_id"], alarm["occurred"]) == (
        "air_proximity", "raised", incident["id"], True
    )
    assert alarm["reason"] == "predicted encounter"  # raised while only predicted, two minutes ahead
    assert [a["target"] for a in actions(dashboard, "raise_alarm")] == [f"alarm:{alarm['id']}"]


def test_nothing_is_shown_without_a_login(dashboard: Dashboard) -> None:
    answer = client(dashboard).get("/api/state")
    assert answer.status_code == 401
    assert answer.json() == {"error": "NotLoggedIn", "detail": "not logged in (or the session expired): log in again"}


def test_a_wrong_password_is_refused_without_saying_which_half_was_wrong(dashboard: Dashboard) -> None:
    for name, password in (("tamm", "wrong password!"), ("nobody", PASSWORD)):
        answer = client(dashboard).post("/api/login", json={"name": name, "password": password})
        assert answer.status_code == 401
        assert answer.json()["detail"] == "wrong operator name or password"


def test_a_login_without_a_name_names_the_field(dashboard: Dashboard) -> None:
    answer = client(dashboard).post("/api/login", json={"password": PASSWORD})
    assert (answer.status_code, answer.json()["detail"]) == (400, "name: the operator name is required")


def test_the_session_cookie_is_http_only_and_same_site_and_the_page_gets_no_secret(dashboard: Dashboard) -> None:
    answer = client(dashboard).post("/api/login", json={"name": "tamm", "password": PASSWORD})
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert set(answer.json()) == {"operator", "role", "csrf", "read_only", "title", "can_act"}
    assert "password" not in answer.text


def test_a_duty_officer_acknowledges_and_the_action_is_logged(dashboard: Dashboard) -> None:
    browser, csrf = logged_in(dashboard, "tamm")
    alarm_id = only_alarm(dashboard)["id"]
    answer = browser.post(f"/api/alarms/{alarm_id}/acknowledge", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["acknowledged_by"]) == ("acknowledged", "tamm")
    (logged,) = actions(dashboard, "acknowledge_alarm")
    assert (logged["operator"], logged["role"], logged["target"]) == ("tamm", "duty_officer", f"alarm:{alarm_id}")


def test_a_snooze_is_on_record_with_its_reason_and_shows_as_silenced(dashboard: Dashboard) -> None:
    browser, csrf = logged_in(dashboard, "tamm")
    alarm_id = only_alarm(dashboard)["id"]
    refused = browser.post(f"/api/alarms/{alarm_id}/snooze", json={"duration_s": 900}, headers={"X-CSRF-Token": csrf})
    assert (refused.status_code, refused.json()["detail"]) == (400, "reason: a snooze needs a reason")
    answer = browser.post(
        f"/api/alarms/{alarm_id}/snooze", json={"duration_s": 900, "reason": "declared exercise"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200, answer.text
    shown = only_alarm(dashboard)
    assert (shown["state"], shown["silenced"], shown["snoozed_by"], shown["snooze_reason"]) == (
        "snoozed", True, "tamm", "declared exercise"
    )
    (logged,) = actions(dashboard, "snooze_alarm")
    assert logged["detail"] == {"duration_s": 900.0, "reason": "declared exercise"}


def test_a_snoozed_alarm_is_raised_again_when_its_time_runs_out(dashboard: Dashboard, nodes: InProcess) -> None:
    browser, csrf = logged_in(dashboard, "tamm")
    alarm_id = only_alarm(dashboard)["id"]
    browser.post(f"/api/alarms/{alarm_id}/snooze", json={"duration_s": 60, "reason": "checking with ATC"},
                 headers={"X-CSRF-Token": csrf})
    clock = nodes.clock
    assert isinstance(clock, FakeClock)
    clock.advance(61)
    dashboard.sync()
    assert (only_alarm(dashboard)["state"], only_alarm(dashboard)["reason"]) == ("raised", "snooze ran out")


def test_a_viewer_is_refused_every_action_and_nothing_changes(dashboard: Dashboard) -> None:
    browser, csrf = logged_in(dashboard, "kask")
    alarm_id = only_alarm(dashboard)["id"]
    incident_id = dashboard.incidents()[0]["id"]
    for path, body in (
        (f"/api/alarms/{alarm_id}/acknowledge", {}),
        (f"/api/alarms/{alarm_id}/resolve", {}),
        (f"/api/incidents/{incident_id}/report", {"channel": "RU-EE"}),
    ):
        answer = browser.post(path, json=body, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 403, path
        assert answer.json()["detail"].startswith("kask is a viewer; ")
    assert only_alarm(dashboard)["state"] == "raised"
    assert actions(dashboard, "send_report") == []
    assert browser.get("/api/state").status_code == 200  # but sees everything


def test_an_action_without_the_csrf_token_or_from_another_origin_is_refused(dashboard: Dashboard) -> None:
    browser, csrf = logged_in(dashboard, "tamm")
    alarm_id = only_alarm(dashboard)["id"]
    missing = browser.post(f"/api/alarms/{alarm_id}/acknowledge")
    assert (missing.status_code, missing.json()["detail"]) == (403, "CSRF token missing or wrong: reload the page")
    foreign = browser.post(
        f"/api/alarms/{alarm_id}/acknowledge", headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    )
    assert (foreign.status_code, foreign.json()["detail"]) == (
        403, "origin http://evil.example is not this dashboard (127.0.0.1:8780)"
    )
    assert only_alarm(dashboard)["state"] == "raised"


def test_sending_the_report_signs_logs_and_queues_it_on_the_chosen_channel(
    dashboard: Dashboard, nodes: InProcess
) -> None:
    browser, csrf = logged_in(dashboard, "tamm")
    incident_id = dashboard.incidents()[0]["id"]
    missing = browser.post(f"/api/incidents/{incident_id}/report", json={}, headers={"X-CSRF-Token": csrf})
    assert (missing.status_code, missing.json()["detail"]) == (
        400, "channel: the channel to send the report on is required"
    )
    answer = browser.post(
        f"/api/incidents/{incident_id}/report", json={"channel": "RU-EE"}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    message_id = answer.json()["message"]
    (sent,) = [m for m in dashboard.channel()["outbox"]["messages"] if m["id"] == message_id]
    assert (sent["type"], sent["channel"], sent["author"], sent["status"]) == (
        "incident_report", "RU-EE", "tamm (duty_officer)", "open"
    )
    assert [d["state"] for d in sent["deliveries"]] == ["pending"]
    report = nodes.deliver("EE")
    assert report is not None
    with nodes["RU"].reading() as connection:
        from riskline.storage import channel_store

        received = channel_store.message(connection, message_id)
    assert received is not None
    assert received.type == "incident_report"
    (logged,) = actions(dashboard, "send_report")
    assert logged["detail"] == {"channel": "RU-EE", "message": message_id}
    assert dashboard.incident(incident_id)["actions"][0]["action"] == "send_report"


def test_a_report_on_a_channel_the_node_does_not_have_names_it(dashboard: Dashboard) -> None:
    browser, csrf = logged_in(dashboard, "tamm")
    incident_id = dashboard.incidents()[0]["id"]
    answer = browser.post(
        f"/api/incidents/{incident_id}/report", json={"channel": "XX"}, headers={"X-CSRF-Token": csrf}
    )
    assert (answer.status_code, answer.json()["detail"]) == (400, "channel: this node has no channel 'XX'")


def test_reply_and_acknowledge_from_the_page_answer_in_the_thread(dashboard: Dashboard, nodes: InProcess) -> None:
    asked = send(nodes["RU"], Outgoing(MessageType.FREE_TEXT, "RU-EE", {"text": "Your aircraft near Kaliningrad?"}))
    nodes.deliver("RU")
    browser, csrf = logged_in(dashboard, "tamm")
    inbox = browser.get("/api/channel").json()["inbox"]["messages"]
    assert [m["id"] for m in inbox] == [asked.envelope.id]
    answer = browser.post(f"/api/messages/{asked.envelope.id[:10]}/reply", json={"text": "Routine patrol."},
                          headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    acknowledged = browser.post(f"/api/messages/{asked.envelope.id}/acknowledge", json={"note": "seen"},
                                headers={"X-CSRF-Token": csrf})
    assert acknowledged.status_code == 200, acknowledged.text
    thread = browser.get(f"/api/thread/{asked.envelope.id}").json()
    assert [(e["message"]["type"], e["body"].get("text") or e["body"].get("note")) for e in thread] == [
        ("free_text", "Your aircraft near Kaliningrad?"), ("free_text", "Routine patrol."), ("acknowledgement", "seen")
    ]
    assert [a["action"] for a in dashboard.actions()[:2]] == ["acknowledge_message", "reply"]


def test_the_incident_page_has_the_evidence_the_threshold_and_the_rules_source(dashboard: Dashboard) -> None:
    browser, _ = logged_in(dashboard, "kask")
    incident_id = dashboard.incidents()[0]["id"]
    page = browser.get(f"/api/incidents/{incident_id}").json()
    assert page["rule"] == "air_proximity"
    assert page["threshold_m"] > page["min_distance_m"]
    assert page["source"]
    assert len(page["evidence"]["separation_t"]) == len(page["evidence"]["separation_m"]) > 10
    assert min(page["evidence"]["separation_m"]) == pytest.approx(page["min_distance_m"], abs=1.0)
    assert page["channels"] == ["RU-EE"]


def test_the_page_is_served_with_a_policy_that_keeps_it_on_this_host(dashboard: Dashboard) -> None:
    answer = client(dashboard).get("/")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assets = ("/static/app.js", "/static/vendor/maplibre-gl/maplibre-gl-csp.js", "/static/basemap/land-50m.geojson")
    for asset in assets:
        assert client(dashboard).get(asset).status_code == 200, asset


def test_a_dashboard_over_a_bare_watch_database_shows_without_login_and_changes_nothing(tmp_path: Path) -> None:
    database = open_database(tmp_path / "watch.db")
    board = Dashboard(database)
    replay(board, air_scenario().observations, Watch(load_rulebook()), speed=1e12, stop=threading.Event())
    browser = client(board)
    state = browser.get("/api/state").json()
    assert (state["read_only"], state["operator"], len(state["incidents"])) == (
        True, {"name": "local-viewer", "role": "viewer"}, 1
    )
    alarm_id = state["alarms"][0]["id"]
    answer = browser.post(f"/api/alarms/{alarm_id}/acknowledge")
    assert answer.status_code == 403
    assert answer.json()["detail"].startswith("this dashboard is read-only")
    assert browser.get("/api/channel").status_code == 403
    with database.read() as connection:
        assert [a["action"] for a in dashboard_store.list_actions(connection)] == ["raise_alarm"]
    database.close()


def test_scrubbing_back_shows_the_platforms_the_watch_saw_then(dashboard: Dashboard) -> None:
    browser, _ = logged_in(dashboard, "kask")
    span = browser.get("/api/state").json()["span"]
    middle = browser.get("/api/frame", params={"t": 1_700_000_120.5}).json()
    assert span["start"] <= 1_700_000_120.5 <= span["end"]
    assert middle["from"] == "live"
    # frames come with the watch's ticks (every 2 s here, on the report that crosses one): the one before 120.5
    assert (middle["frame"]["t"], sorted(middle["frame"]["ids"])) == (1_700_000_119.0, ["id:p8", "id:su27"])


def test_hazard_areas_announced_on_the_channel_are_on_the_map(dashboard: Dashboard, nodes: InProcess) -> None:
    start = nodes.clock() + 4 * 86_400
    area = {"type": "Polygon", "coordinates": [[[19.2, 55.0], [20.0, 55.0], [20.0, 55.4], [19.2, 55.4], [19.2, 55.0]]]}
    notice = send(nodes["RU"], Outgoing(MessageType.HAZARD_NOTICE, "RU-EE", {
        "area": area, "start": start, "end": start + 6 * 3600, "nature": "naval gunnery exercise",
        "navwarn": "NAVAREA I: live firing, area closed",
    }))
    nodes.deliver("RU")
    browser, _ = logged_in(dashboard, "kask")
    (feature,) = browser.get("/api/areas").json()
    assert feature["geometry"] == area
    assert feature["properties"] == {
        "message": notice.envelope.id, "party": "RU", "nature": "naval gunnery exercise", "start": start,
        "end": start + 6 * 3600, "navwarn": "NAVAREA I: live firing, area closed",
    }
    assert browser.get("/api/state").json()["areas"] == [feature]
    assert Dashboard(nodes["EE"].database).hazard_areas() == [feature]


DAY = 86_400.0
EXERCISE_AREA = {
    "type": "Polygon", "coordinates": [[[18.0, 54.8], [21.0, 54.8], [21.0, 56.2], [18.0, 56.2], [18.0, 54.8]]]
}


def exercise(now: float, **changes: object) -> tuple[float, dict[str, object]]:
    """A RU exercise declared at ``now`` for three days from midnight 20 days later: its start [s] and its body."""
    start = now + 20 * DAY
    start -= start % DAY
    body: dict[str, object] = {
        "party": "RU", "designation": "BALTIC-SHIELD-2026", "purpose": "Naval and air exercise", "states": ["RU"],
        "level_of_command": "fleet", "notified": to_iso(now), "start": to_iso(start), "end": to_iso(start + 3 * DAY),
        "area": EXERCISE_AREA, "troops": 9500, "naval_vessels": 6, "aircraft_sorties": 12,
    }
    body.update(changes)
    return start, body


def test_exercise_areas_declared_on_the_channel_are_on_the_map_with_their_phases(
    dashboard: Dashboard, nodes: InProcess
) -> None:
    landing = {
        "type": "Polygon", "coordinates": [[[20.0, 55.0], [21.0, 55.0], [21.0, 55.5], [20.0, 55.5], [20.0, 55.0]]]
    }
    start, _ = exercise(nodes.clock())
    _, body = exercise(nodes.clock(), phases=[
        {"name": "amphibious landing", "start": to_iso(start + DAY), "end": to_iso(start + 2 * DAY), "area": landing}
    ])
    sent = send_notification(nodes["RU"], parse_notification(body), "RU-EE")
    assert nodes.deliver("RU").delivered == 1
    browser, _ = logged_in(dashboard, "kask")
    (feature,) = browser.get("/api/exercise-areas").json()
    assert feature == {
        "type": "Feature",
        "geometry": EXERCISE_AREA,
        "properties": {
            "message": sent.envelope.id, "party": "RU", "designation": "BALTIC-SHIELD-2026",
            "purpose": "Naval and air exercise", "start": start, "end": start + 3 * DAY,
            "counts": {"troops": 9500, "naval_vessels": 6, "aircraft_sorties": 12},
            "phases": [{"name": "amphibious landing", "start": start + DAY, "end": start + 2 * DAY,
                        "geometry": landing}],
        },
    }
    state = browser.get("/api/state").json()
    assert (state["exercise_areas"], state["areas"]) == ([feature], [])


def test_a_cancelled_notification_leaves_the_map_and_a_read_only_dashboard_shows_the_ones_in_force(
    dashboard: Dashboard, nodes: InProcess
) -> None:
    for designation in ("KEPT-2026", "DROPPED-2026"):
        send_notification(nodes["RU"], parse_notification(exercise(nodes.clock(), designation=designation)[1]), "RU-EE")
    assert isinstance(nodes.clock, FakeClock)
    nodes.clock.advance(60.0)
    _, cancelled = exercise(nodes.clock(), designation="DROPPED-2026", cancelled=True)
    send_notification(nodes["RU"], parse_notification(cancelled), "RU-EE")
    assert nodes.deliver("RU").delivered == 3
    browser, _ = logged_in(dashboard, "kask")
    assert [f["properties"]["designation"] for f in browser.get("/api/exercise-areas").json()] == ["KEPT-2026"]
    read_only = Dashboard(nodes["EE"].database)
    assert [f["properties"]["designation"] for f in read_only.exercise_areas()] == ["KEPT-2026"]
    assert read_only.hazard_areas() == []
