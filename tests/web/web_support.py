"""What the dashboard tests share: a small real scenario, nodes with operators, a served dashboard, a browser."""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from riskline.detection.rulebook import load_rulebook
from riskline.ingest.observation import Domain
from riskline.node.config import ListenAddress
from riskline.scenarios.scenario import Scenario, ScenarioBuilder, Side, crossing_encounter
from riskline.testing.nodes import InProcess
from riskline.watch import Watch
from riskline.web.accounts import Role
from riskline.web.backend import Dashboard
from riskline.web.replay import ReplayThread, replay
from riskline.web.server import DashboardServer

T0 = 1_700_000_000.0
"""[s] 2023-11-14 22:13:20 UTC: the scenario's start."""
PASSWORD = "correct horse battery"
OPERATORS = {"tamm": Role.DUTY_OFFICER, "kask": Role.VIEWER, "ilves": Role.COMMANDER}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
]


def air_scenario() -> Scenario:
    """A Russian Su-27 and an Estonian patrol aircraft cross 300 m apart at the same level over the Baltic
    (the air_proximity rule, predicted two minutes ahead), with two civil airliners on their own tracks."""
    builder = ScenarioBuilder(T0)
    crossing_encounter(
        builder,
        Side("su27", "RU", Domain.AIR, 220.0, alt_m=8000.0, platform_type="Su-27"),
        Side("p8", "EE", Domain.AIR, 150.0, alt_m=8000.0, platform_type="patrol aircraft"),
        lat=56.5, lon=20.0, t_cpa=T0 + 240.0, horizontal_m=300.0, vertical_m=30.0, course_deg=60.0,
        crossing_deg=110.0, lead_s=240.0, trail_s=120.0,
    )
    return builder.build()


def add_operators(dashboard: Dashboard) -> None:
    for name, role in OPERATORS.items():
        dashboard.add_operator(name, role, PASSWORD)


@dataclass
class Served:
    dashboard: Dashboard
    server: DashboardServer
    url: str
    replaying: ReplayThread | None = None

    def replay(self, scenario: Scenario, *, speed: float) -> ReplayThread:
        watch = Watch(load_rulebook())
        observations = list(scenario.observations)
        self.replaying = ReplayThread(
            lambda stop: replay(self.dashboard, observations, watch, speed=speed, stop=stop)
        ).start()
        return self.replaying


@contextlib.contextmanager
def served(nodes: InProcess | None, party: str = "EE", *, database: object | None = None) -> Iterator[Served]:
    """The dashboard of ``nodes[party]`` (or of a bare database) served on a free loopback port."""
    if nodes is not None:
        node = nodes[party]
        dashboard = Dashboard(node.database, node=node)
        add_operators(dashboard)
    else:
        from riskline.storage.engine import Database

        assert isinstance(database, Database)
        dashboard = Dashboard(database)
    server = DashboardServer(dashboard, ListenAddress("127.0.0.1", 0), sync_interval=0.2)
    url = server.start()
    result = Served(dashboard, server, url)
    try:
        yield result
    finally:
        if result.replaying is not None:
            result.replaying.stop()
        server.stop()


def is_loopback_url(url: str) -> bool:
    """Whether a request URL stays on this host (loopback, or no network at all: data:, blob:, about:)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestWatch:
    """Records every request a page makes; the tests fail on any that would leave the host."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.outside: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: object) -> None:
        url = str(getattr(request, "url", ""))
        with self._lock:
            self.seen.append(url)
            if not is_loopback_url(url):
                self.outside.append(url)
