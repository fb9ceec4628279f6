"""``riskline history`` on Apache Beam's in-process runner gives what ``riskline watch`` gives on the same input.

Beam lives in its own environment (requirements-beam.lock: its pins differ from the main lock's), so the job
runs as a subprocess of that environment's Python: ``$RISKLINE_BEAM_PYTHON`` (``./run test`` builds
``.venv-beam`` and sets it), or the current interpreter if it has Beam.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.incidents.report import encounter_json
from riskline.scenarios.history_feed import repeat_positions
from riskline.storage import WatchStore, open_database

REPO = Path(__file__).resolve().parents[2]


def beam_python() -> str:
    configured = os.environ.get("RISKLINE_BEAM_PYTHON")
    if configured and Path(configured).is_file():
        return configured
    if importlib.util.find_spec("apache_beam") is not None:
        return sys.executable
    local = REPO / ".venv-beam" / "bin" / "python"
    if local.is_file():
        return str(local)
    pytest.skip("Apache Beam not installed: ./run test builds .venv-beam from requirements-beam.lock")


def run_history(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"}
    return subprocess.run(
        [beam_python(), "-c", "from riskline.cli.main import main; main()", "history", *arguments],
        capture_output=True, text=True, check=False, env=environment, timeout=900,
    )


def test_history_on_the_direct_runner_finds_what_the_watch_finds_line_for_line(
    feed: tuple[Path, Path], tmp_path: Path
) -> None:
    positions, fleet = feed
    watched = CliRunner().invoke(
        app, ["watch", str(positions), "--fleet", str(fleet), "--db", str(tmp_path / "w.db"), "--json"]
    )
    assert watched.exit_code == 0, watched.output
    expected = sorted(watched.stdout.splitlines())
    assert len(expected) > 0
    result = run_history(
        str(positions), "--fleet", str(fleet), "--runner", "direct", "--workers", "2",
        "--window-hours", "1.7333333333333334", "--warmup-hours", "1.1", "--tail-hours", "1.1",
        "--json", "--out", str(tmp_path / "h.db"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(result.stdout.splitlines()) == expected
    assert f"{len(expected):,} encounters" in result.stderr
    with open_database(tmp_path / "h.db") as database:
        stored = WatchStore(database).list_incidents(limit=10_000)
    assert sorted(json.dumps(encounter_json(item.encounter)) for item in stored) == expected


def test_an_unknown_runner_is_a_usage_error_naming_the_choices(feed: tuple[Path, Path]) -> None:
    result = run_history(str(feed[0]), "--runner", "local")
    assert result.returncode == 2
    assert "must be one of direct, flink, spark, dataflow, not 'local'" in result.stderr


def test_history_over_day_long_gaps_gives_the_watch_json_byte_for_byte(
    feed: tuple[Path, Path], tmp_path: Path
) -> None:
    """Two copies of the scenario a day apart, one-day windows (the defaults): the second day's partition starts a
    fresh watch, the one watch restarts its tick clock after the empty day; both give the same lines."""
    positions, fleet = feed[0].parent / "demo_positions.csv", feed[1]
    repeat_positions(positions, tmp_path / "two-days.csv", copies=2, every_s=86_400.0)
    watched = CliRunner().invoke(
        app, ["watch", str(tmp_path / "two-days.csv"), "--fleet", str(fleet), "--db", str(tmp_path / "w.db"), "--json"]
    )
    assert watched.exit_code == 0, watched.output
    expected = sorted(watched.stdout.splitlines())
    assert len(expected) > 0
    result = run_history(str(tmp_path / "two-days.csv"), "--fleet", str(fleet), "--runner", "direct", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(result.stdout.splitlines()) == expected
