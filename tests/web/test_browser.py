"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright, on loopback only.

The live tests open the page first and then replay a scenario (10 or 20× real time) into a fresh node's dashboard;
the others share one node into which the scenario was replayed in full. Each test opens its own browser context.
Every request any page makes goes through a route that lets loopback through and aborts and records anything
else: each test fails if a single request would have left the host. Tests wait for events (Playwright's waits
on the page's own state), never for fixed times.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from web_support import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Served, air_scenario, is_loopback_url, served

from riskline.node.transparency import send_notification
from riskline.testing.nodes import InProcess, make_nodes
from riskline.timeutil import to_iso
from riskline.transparency.activity import parse_notification

playwright_api = pytest.importorskip("playwright.sync_api")

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    made = make_nodes(tmp_path_factory.mktemp("browser-nodes"), time.time)
    yield made
    made.close()


@pytest.fixture(scope="module")
def board(nodes: InProcess) -> Iterator[Served]:
    """EE's dashboard after the whole scenario was replayed (as fast as it goes): an alarm and an incident."""
    with served(nodes) as serving:
        replaying = serving.replay(air_scenario(), speed=1e12)
        assert replaying.finished.wait(120)
        assert replaying.error is None
        yield serving


@pytest.fixture
def empty_board(tmp_path: Path) -> Iterator[Served]:
    """A fresh EE node's dashboard with nothing replayed yet."""
    made = make_nodes(tmp_path, time.time)
    with served(made) as serving:
        yield serving
    made.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (listed in .ci/run)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Outside:
    """Requests that would have left the host (aborted), and every request seen."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.seen: list[str] = []

    def route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        self.seen.append(url)
        if is_loopback_url(url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.blocked.append(url)
            route.abort()  # type: ignore[attr-defined]


@pytest.fixture
def outside() -> Iterator[Outside]:
    watch = Outside()
    yield watch
    assert watch.blocked == [], f"requests that would have left the host: {watch.blocked}"


def open_page(browser: object, board: Served, outside: Outside, operator: str) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 850})  # type: ignore[attr-defined]
    context.route("**/*", outside.route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(board.url)
    page.fill("#login-name", operator)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    return page


def rendered(page: object, layer: str) -> int:
    return int(page.evaluate(f"() => window.rl.map.queryRenderedFeatures({{layers: ['{layer}']}}).length"))  # type: ignore[attr-defined]


def test_the_map_renders_the_platforms_of_the_replayed_scenario(
    browser: object, empty_board: Served, outside: Outside
) -> None:
    board = empty_board
    page = open_page(browser, board, outside, "tamm")
    board.replay(air_scenario(), speed=20.0)
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => window.rl.ready && window.rl.map.queryRenderedFeatures({layers: ['platforms']}).length === 2",
        timeout=WAIT_MS,
    )
    ids = page.evaluate(  # type: ignore[attr-defined]
        "() => window.rl.map.queryRenderedFeatures({layers: ['platforms']}).map(f => f.properties.id).sort()"
    )
    assert ids == ["id:p8", "id:su27"]
    page.wait_for_function("() => window.rl.map.isSourceLoaded('land')")  # type: ignore[attr-defined]
    assert page.inner_text("#legend").split("\n")[:2] == ["EE", "RU"]  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


def test_an_encounter_appears_live_while_the_scenario_replays(
    browser: object, empty_board: Served, outside: Outside
) -> None:
    board = empty_board
    page = open_page(browser, board, outside, "tamm")
    assert page.locator(".alarm[data-alarm]").count() == 0  # type: ignore[attr-defined]
    board.replay(air_scenario(), speed=10.0)  # open for about 15 s of wall time
    page.wait_for_selector("[data-testid=alarm-badge]:not([hidden])", timeout=WAIT_MS)  # type: ignore[attr-defined]
    alarm = page.locator(".alarm[data-alarm]").filter(has_text="air_proximity").first  # type: ignore[attr-defined]
    assert "EE–RU" in alarm.inner_text()
    assert "predicted" in alarm.inner_text()  # raised ahead of the breach, while only predicted
    page.click("[data-tab=encounters]")  # type: ignore[attr-defined]
    row = page.wait_for_selector("[data-testid=encounter-row]", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert "air_proximity" in row.inner_text()
    page.wait_for_function("() => window.rl.map.queryRenderedFeatures({layers: ['cpa']}).length === 1")  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


def test_acknowledge_and_send_work_and_are_logged(browser: object, board: Served, outside: Outside) -> None:
    page = open_page(browser, board, outside, "tamm")
    button = page.wait_for_selector(".alarm[data-alarm] button[data-ack]", timeout=WAIT_MS)  # type: ignore[attr-defined]
    button.click()
    page.wait_for_selector(".alarm[data-alarm].acknowledged", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert "acknowledged by tamm" in page.inner_text("#tab-alarms")  # type: ignore[attr-defined]
    page.click("[data-tab=incidents]")  # type: ignore[attr-defined]
    page.click("[data-testid=incident-row]", timeout=WAIT_MS)  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=send-report]", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert page.inner_text("[data-testid=rule-source]").strip() != "—"  # type: ignore[attr-defined]
    page.select_option("[data-testid=report-channel]", "RU-EE")  # type: ignore[attr-defined]
    page.click("[data-testid=send-report]")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=incident-log] >> text=send_report", timeout=WAIT_MS)  # type: ignore[attr-defined]
    logged = {(a["operator"], a["action"]) for a in board.dashboard.actions()}
    assert {("tamm", "acknowledge_alarm"), ("tamm", "send_report")} <= logged
    outbox = board.dashboard.channel()["outbox"]["messages"]
    assert [m["type"] for m in outbox] == ["incident_report"]
    page.click("[data-tab=channel]")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=out-row] >> text=incident_report", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_viewer_sees_no_action_and_is_refused_when_trying_anyway(
    browser: object, board: Served, outside: Outside
) -> None:
    page = open_page(browser, board, outside, "kask")
    page.wait_for_selector(".alarm[data-alarm]", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert page.locator("#tab-alarms button[data-ack], #tab-alarms button[data-resolve]").count() == 0  # type: ignore[attr-defined]
    alarm_id = board.dashboard.alarms()[0]["id"]
    status = page.evaluate(  # type: ignore[attr-defined]
        """async (id) => {
            const session = await (await fetch('/api/session')).json();
            const answer = await fetch(`/api/alarms/${id}/resolve`, {method: 'POST',
                headers: {'X-CSRF-Token': session.csrf, 'Content-Type': 'application/json'}, body: '{}'});
            return [answer.status, (await answer.json()).detail];
        }""",
        alarm_id,
    )
    assert status == [403, "kask is a viewer; resolve alarm needs a duty_officer"]
    assert board.dashboard.alarms()[0]["state"] != "resolved"


def test_no_request_leaves_the_host_on_any_page(browser: object, board: Served, outside: Outside) -> None:
    page = open_page(browser, board, outside, "ilves")
    page.wait_for_function("() => window.rl.ready", timeout=WAIT_MS)  # type: ignore[attr-defined]
    for tab in ("encounters", "incidents", "channel", "log", "alarms"):
        page.click(f"[data-tab={tab}]")  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert any(url.endswith("/static/basemap/land-50m.geojson") for url in outside.seen)
    assert any("maplibre-gl-csp-worker.js" in url for url in outside.seen)
    assert all(is_loopback_url(url) for url in outside.seen)
    assert outside.blocked == []


def declare_two_exercises(made: InProcess, now: float) -> int:
    """RU declares one exercise under way at ``now`` [s] and one ten days later; EE receives both."""
    for designation, start, end, area in (
        ("NORTHERN-COAST-2026", now - 3600, now + 86_400, [[19.0, 55.0], [20.5, 55.0], [20.5, 56.0], [19.0, 56.0]]),
        ("BALTIC-SHIELD-2026", now + 10 * 86_400, now + 13 * 86_400, [[21.0, 57.0], [22.0, 57.0], [22.0, 58.0]]),
    ):
        send_notification(made["RU"], parse_notification({
            "party": "RU", "designation": designation, "purpose": "Naval and air exercise", "states": ["RU"],
            "level_of_command": "fleet", "notified": to_iso(now), "start": to_iso(start), "end": to_iso(end),
            "area": {"type": "Polygon", "coordinates": [[*area, area[0]]]}, "troops": 9500, "naval_vessels": 6,
        }), "RU-EE")
    return made.deliver("RU").delivered


def test_declared_exercise_areas_are_outlined_solid_when_active_and_dashed_before(
    browser: object, tmp_path: Path, outside: Outside
) -> None:
    made = make_nodes(tmp_path, time.time)
    # delivery runs its own event loop: off Playwright's thread, which has one running
    with ThreadPoolExecutor(1) as elsewhere:
        assert elsewhere.submit(declare_two_exercises, made, time.time()).result() == 2
    try:
        with served(made) as board:
            page = open_page(browser, board, outside, "tamm")
            page.wait_for_function(  # type: ignore[attr-defined]
                "() => window.rl.map.queryRenderedFeatures({layers: ['exercises-line']}).length >= 2", timeout=WAIT_MS
            )
            shown = page.evaluate(  # type: ignore[attr-defined]
                "() => [...new Map(window.rl.map.queryRenderedFeatures({layers: ['exercises-line']})"
                ".map(f => [f.properties.designation, f.properties.active])).entries()].sort()"
            )
            assert shown == [["BALTIC-SHIELD-2026", False], ["NORTHERN-COAST-2026", True]]
            point = page.evaluate("() => window.rl.map.project([19.75, 55.5])")  # type: ignore[attr-defined]
            box = page.locator("#map").bounding_box()  # type: ignore[attr-defined]
            page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])  # type: ignore[attr-defined]
            popup = page.wait_for_selector(".maplibregl-popup-content", timeout=WAIT_MS)  # type: ignore[attr-defined]
            assert popup.inner_text().split("\n")[:2] == ["declared exercise area (RU): NORTHERN-COAST-2026",
                                                          "Naval and air exercise"]
            assert "declared: troops 9,500 · naval vessels 6" in popup.inner_text()
            assert "exercise areas declared: 2" in page.inner_text("#legend")  # type: ignore[attr-defined]
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        made.close()
