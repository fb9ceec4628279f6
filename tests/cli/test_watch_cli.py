"""``riskline watch``, ``rules show``, ``incident`` and ``scenario`` through the real command line, in process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.incidents.report import JSON_KEYS
from riskline.storage import DatabaseUnreadable

runner = CliRunner()


@pytest.fixture(scope="module")
def baltic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baltic")
    result = runner.invoke(app, ["scenario", "baltic", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def watched(baltic: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    db = tmp_path_factory.mktemp("db") / "watch.db"
    result = runner.invoke(app, [
        "watch", str(baltic / "demo_positions.csv"), "--fleet", str(baltic / "demo_fleet.toml"), "--db", str(db),
        "--json",
    ])
    assert result.exit_code == 0, result.output
    return db, [json.loads(line) for line in result.stdout.splitlines()]


def test_json_output_is_one_object_per_encounter_with_the_documented_keys(watched: tuple[Path, list[dict]]) -> None:  # type: ignore[type-arg]
    _, encounters = watched
    assert encounters
    for encounter in encounters:
        assert tuple(encounter) == JSON_KEYS


def test_the_baltic_scenario_finds_its_reconstructed_incidents(watched: tuple[Path, list[dict]]) -> None:  # type: ignore[type-arg]
    _, encounters = watched
    occurred = {(e["rule"], e["severity"], e["party_a"], e["party_b"]) for e in encounters if e["occurred"]}
    assert {
        ("air_proximity", "high", "RU", "civil"),
        ("non_cooperative_aircraft", "high", "RU", "civil"),
        ("low_pass", "medium", "RU", "US"),
        ("repeated_low_passes", "high", "RU", "US"),
        ("air_intercept", "high", "US", "RU"),
        ("ship_contact_range", "low", "EE", "RU"),
    } <= occurred
    contact = next(e for e in encounters if e["rule"] == "ship_contact_range" and e["occurred"])
    assert contact["min_vertical_m"] is None
    assert contact["first_alert"] is not None


def test_incidents_are_stored_listed_shown_and_plotted(watched: tuple[Path, list[dict]], tmp_path: Path) -> None:  # type: ignore[type-arg]
    db, encounters = watched
    listed = runner.invoke(app, ["incident", "list", "--db", str(db), "--json", "--limit", "100"])
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == len(encounters)
    intercept = next(r for r in rows if r["rule"] == "air_intercept")
    shown = json.loads(runner.invoke(app, ["incident", "show", str(intercept["id"]), "--db", str(db)]).stdout)
    assert shown["details"]["mark"] == "S"
    assert shown["evidence"]["fixes_a"] > 100
    png = tmp_path / "intercept.png"
    plotted = runner.invoke(app, ["incident", "plot", str(intercept["id"]), "-o", str(png), "--db", str(db)])
    assert plotted.exit_code == 0, plotted.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_incident_is_a_one_line_error(watched: tuple[Path, list[dict]]) -> None:  # type: ignore[type-arg]
    db, _ = watched
    result = runner.invoke(app, ["incident", "show", "99999", "--db", str(db)])
    assert result.exit_code != 0


def test_rules_show_prints_every_rule_with_its_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "show", "--set", "air_proximity.horizontal_m=18520", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["rules"]["air_proximity"]["horizontal_m"] == 18520.0
    assert document["overrides"] == ["air_proximity.horizontal_m=18520"]
    table = runner.invoke(app, ["rules", "show"], env={"COLUMNS": "200"})
    for rule in ("air_proximity", "ship_contact_range", "territorial_entry"):
        assert rule in table.stdout
    assert "Russia–Greece INCSEA" in table.stdout


def test_real_ais_and_adsb_files_are_watched_and_counted(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, [
        "watch",
        str(data_dir / "ais" / "test_data_20211101.nm4"),
        str(data_dir / "traffic" / "full_flight_short.jsonl"),
        "--db", str(tmp_path / "w.db"),
    ], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "messages read" in result.stdout
    assert "rejected: cpr_unpaired" in result.stdout


def test_watch_without_input_is_a_usage_error() -> None:
    result = runner.invoke(app, ["watch"])
    assert result.exit_code == 2


def test_the_plot_threshold_comes_from_the_rulebook_the_run_used(watched: tuple[Path, list[dict]]) -> None:  # type: ignore[type-arg]
    from riskline.detection.rulebook import load_rulebook
    from riskline.incidents.plot import rule_threshold_m as _threshold
    from riskline.storage.engine import open_database
    from riskline.storage.watch_store import WatchStore

    db, _ = watched
    database = open_database(db, create=False)
    try:
        store = WatchStore(database)
        stored = {i.encounter.rule: i.encounter for i in store.list_incidents(limit=100)}
        [run] = store.runs()
    finally:
        database.close()
    assert _threshold(stored["air_proximity"], run.options) == 926.0
    assert _threshold(stored["air_intercept"], run.options) == 30.0
    assert _threshold(stored["ship_contact_range"], run.options) == 5556.0  # judged night
    wider = {"rulebook": load_rulebook(overrides=["air_proximity.horizontal_m=18520"]).as_dict()}
    assert _threshold(stored["air_proximity"], wider) == 18520.0
    assert _threshold(stored["air_proximity"], {}) is None


def test_watch_and_incident_list_take_a_postgresql_url_for_db(baltic: Path, postgres_url: str) -> None:
    """Issue 6: ``--db postgresql://…`` was taken as a file path; it is a SQLAlchemy URL, as the help says."""
    plain_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    watched = runner.invoke(app, [
        "watch", str(baltic / "demo_positions.csv"), "--fleet", str(baltic / "demo_fleet.toml"), "--db", plain_url,
        "--json",
    ])
    assert watched.exit_code == 0, watched.output
    found = [json.loads(line) for line in watched.stdout.splitlines()]
    listed = runner.invoke(app, ["incident", "list", "--db", plain_url, "--json", "--limit", "1000"])
    assert listed.exit_code == 0, listed.output
    stored = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(stored) == len(found) > 0
    assert sorted((e["rule"], e["a"], e["b"]) for e in stored) == sorted((e["rule"], e["a"], e["b"]) for e in found)
    assert not Path("postgresql:").exists()


def test_an_unreachable_database_url_is_a_one_line_error(baltic: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from riskline.cli.main import main; main()",
         "watch", str(baltic / "demo_positions.csv"), "--db", "postgresql://ops:pw@/riskline?host=/nonexistent-sock"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == DatabaseUnreadable.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("riskline: error: postgresql+psycopg://ops:***@/riskline?host=/nonexistent-sock: ")
