"""History fixtures: a feed several windows long, built from the Baltic scenario (real relocated traffic with
reconstructed real incidents), and what one ``Watch`` over all of it finds — the answer every cut must give."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.detection.rulebook import Rulebook, load_rulebook
from riskline.incidents.model import Encounter
from riskline.ingest.observation import Observation
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.scenarios.history_feed import repeat_positions
from riskline.tracks.attribution import Attributor
from riskline.tracks.fleet import Fleet
from riskline.watch import Watch, in_time_order

COPIES = 3
EVERY_S = 5_400.0  # [s] 1.5 h between copies: the copies fall across 2-hour windows and their borders


@pytest.fixture(scope="session")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(positions table, fleet file) of ``COPIES`` time-shifted copies of the Baltic scenario."""
    out = tmp_path_factory.mktemp("history-feed")
    result = CliRunner().invoke(app, ["scenario", "baltic", "-o", str(out)])
    assert result.exit_code == 0, result.output
    repeat_positions(out / "demo_positions.csv", out / "feed.csv", copies=COPIES, every_s=EVERY_S)
    return out / "feed.csv", out / "demo_fleet.toml"


@pytest.fixture(scope="session")
def observations(feed: tuple[Path, Path]) -> list[Observation]:
    return list(in_time_order([read_path(feed[0], IngestStats())]))


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    return load_rulebook()


@pytest.fixture(scope="session")
def attributor(feed: tuple[Path, Path]) -> Attributor:
    return Attributor(Fleet.load(feed[1]))


@pytest.fixture(scope="session")
def one_watch(observations: list[Observation], rulebook: Rulebook, attributor: Attributor) -> list[Encounter]:
    watch = Watch(rulebook, attributor=attributor)
    return list(watch.feed_all(observations)) + watch.finish()

