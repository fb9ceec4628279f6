"""A watch checkpointed mid-run and restored goes on exactly as the watch that never stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.detection.rulebook import load_rulebook
from riskline.ingest.observation import Observation
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.stream.checkpoint import (
    CheckpointRefused,
    WatchCheckpoint,
    dump_checkpoint,
    load_checkpoint,
    settings_fingerprint,
)
from riskline.tracks.attribution import Attributor
from riskline.tracks.fleet import Fleet
from riskline.watch import Watch


@pytest.fixture(scope="module")
def baltic(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Observation], Path]:
    out = tmp_path_factory.mktemp("baltic")
    result = CliRunner().invoke(app, ["scenario", "baltic", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return list(read_path(out / "demo_positions.csv", IngestStats())), out / "demo_fleet.toml"


def new_watch(fleet: Path) -> Watch:
    return Watch(load_rulebook(), attributor=Attributor(Fleet.load(fleet)))


@pytest.mark.parametrize("cut", [0.3, 0.55])
def test_a_restored_watch_closes_what_the_uninterrupted_watch_closes_field_for_field(
    baltic: tuple[list[Observation], Path], cut: float
) -> None:
    observations, fleet = baltic
    settings = settings_fingerprint(load_rulebook(), fleet)
    split = int(len(observations) * cut)
    uninterrupted = new_watch(fleet)
    expected = list(uninterrupted.feed_all(observations)) + uninterrupted.finish()
    before = new_watch(fleet)
    closed = list(before.feed_all(observations[:split]))
    assert before.tracker.open_count > 0  # encounters in progress at the checkpoint
    saved = dump_checkpoint(WatchCheckpoint(split, 7, settings, before))
    restored = load_checkpoint(saved, settings=settings, name="riskline-watch")
    assert (restored.observation_seq, restored.encounter_seq) == (split, 7)
    resumed = restored.watch
    closed += list(resumed.feed_all(observations[split:])) + resumed.finish()
    assert closed == expected  # evidence included
    assert resumed.status() == uninterrupted.status()
    assert resumed.identities() == uninterrupted.identities()


def test_a_checkpoint_taken_under_other_rules_is_refused_in_one_line(baltic: tuple[list[Observation], Path]) -> None:
    fleet = baltic[1]
    watch = new_watch(fleet)
    saved = dump_checkpoint(WatchCheckpoint(0, 0, settings_fingerprint(load_rulebook(), fleet), watch))
    other = settings_fingerprint(load_rulebook(overrides=["watch.tick_s=4"]), fleet)
    with pytest.raises(CheckpointRefused, match=r"^checkpoint 'east' was taken under another rulebook or fleet: "):
        load_checkpoint(saved, settings=other, name="east")
    with pytest.raises(CheckpointRefused, match=r"^checkpoint 'east': not a riskline watch checkpoint"):
        load_checkpoint(b"\x80\x05junk", settings=other, name="east")
    assert settings_fingerprint(load_rulebook(), None) != settings_fingerprint(load_rulebook(), fleet)


def test_a_checkpoint_of_another_version_of_the_watch_is_refused_in_one_line(
    baltic: tuple[list[Observation], Path],
) -> None:
    fleet = baltic[1]
    settings = settings_fingerprint(load_rulebook(), fleet)
    older = new_watch(fleet)
    del older.tracker.__dict__["_last_low_pass"]  # as a version whose tracker had one attribute fewer
    saved = dump_checkpoint(WatchCheckpoint(0, 0, settings, older))
    with pytest.raises(CheckpointRefused, match=r"^checkpoint 'east' was taken by another version of riskline's "):
        load_checkpoint(saved, settings=settings, name="east")
    truncated = dump_checkpoint(WatchCheckpoint(0, 0, settings, new_watch(fleet)))[:-100]
    with pytest.raises(CheckpointRefused, match=r"^checkpoint 'east' is unreadable here \("):
        load_checkpoint(truncated, settings=settings, name="east")
